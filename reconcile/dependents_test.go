package reconcile_test

import (
	"errors"
	"net/netip"
	"slices"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/linx-net/linx/diff"
	"github.com/linx-net/linx/internal/nstest"
	"github.com/linx-net/linx/reconcile"
	"github.com/linx-net/linx/rtnl"
)

// A scope as a new user writes it on this kernel, which has no dummy: an
// impossible link d0 with an address, a port, a neighbour and routes on
// it, beside an address on an existing veth, a bridge with an address, a
// route through the bridge, a neighbour and a rule. The first pass
// converges everything that does not depend on d0, as `ip -N -j` shows;
// the report names d0 with the kernel's error and the objects on it,
// blocked by it.
func TestImpossibleLinkHoldsBackOnlyItsDependents(t *testing.T) {
	ns := nstest.New(t)
	s := ns.Open()
	ns.IP("link", "add", "v0", "type", "veth", "peer", "name", "v1")
	d := impossibleLink(true)
	r, err := reconcile.Pass(s, d, reconcile.NewLedger(), reconcile.Options{})
	var f *reconcile.Failure
	if !errors.As(err, &f) {
		t.Fatalf("pass: want a *Failure, got %v", err)
	}

	// Failed: d0, with the kernel's error.
	if len(r.Failures) != 1 || reconcile.RefOf(r.Failures[0].Op) != (reconcile.Ref{Kind: diff.KindLink, Key: "d0"}) {
		t.Fatalf("failures %v, want d0 alone", r.Failures)
	}
	var e *rtnl.Error
	if !errors.As(r.Failures[0].Err, &e) || e.Errno != unix.EOPNOTSUPP {
		t.Errorf("d0 failed with %v, want the kernel's EOPNOTSUPP", r.Failures[0].Err)
	}
	// Blocked: what is on d0, by d0, and the route only d0's address reaches.
	blocked := map[string]string{}
	for _, b := range r.Blocked {
		blocked[b.Ref.String()] = b.By.String()
	}
	for obj, by := range map[string]string{
		"link v1":                            "link d0",
		"address link=d0 prefix=10.1.0.1/24": "link d0",
		"neighbour link=d0 ip=10.1.0.9":      "link d0",
		"route family=inet table=254 dst=10.52.0.0/24 tos=0 metric=0": "link d0",
		"route family=inet table=254 dst=10.51.0.0/24 tos=0 metric=0": "address link=d0 prefix=10.1.0.1/24",
	} {
		if blocked[obj] != by {
			t.Errorf("%s: blocked by %q, want %q (blocked: %v)", obj, blocked[obj], by, blocked)
		}
	}
	if len(r.Blocked) != 5 || r.Converged {
		t.Errorf("blocked %d objects (want 5), converged %v", len(r.Blocked), r.Converged)
	}

	// Converged, as ip sees it: the bridge up with its address, the veth's
	// address, the route through the bridge, the neighbour and the rule.
	var links []struct {
		Name  string   `json:"ifname"`
		Flags []string `json:"flags"`
	}
	ns.JSON(&links, "link", "show")
	names := map[string][]string{}
	for _, l := range links {
		names[l.Name] = l.Flags
	}
	if _, ok := names["d0"]; ok {
		t.Error("d0 exists")
	}
	if !slices.Contains(names["br0"], "UP") {
		t.Errorf("br0 not up: %v", names["br0"])
	}
	var addrs []struct {
		Name  string `json:"ifname"`
		Addrs []struct {
			Local     string `json:"local"`
			PrefixLen int    `json:"prefixlen"`
		} `json:"addr_info"`
	}
	ns.JSON(&addrs, "-4", "address", "show")
	have := map[string]bool{}
	for _, a := range addrs {
		for _, x := range a.Addrs {
			have[a.Name+" "+netip.PrefixFrom(netip.MustParseAddr(x.Local), x.PrefixLen).String()] = true
		}
	}
	if !have["br0 10.0.0.1/24"] || !have["v0 10.2.0.1/24"] {
		t.Errorf("addresses: %v, want br0 10.0.0.1/24 and v0 10.2.0.1/24", have)
	}
	var routes []struct {
		Dst     string `json:"dst"`
		Gateway string `json:"gateway"`
	}
	ns.JSON(&routes, "route", "show", "proto", "76")
	if len(routes) != 1 || routes[0].Dst != "10.50.0.0/24" || routes[0].Gateway != "10.0.0.254" {
		t.Errorf("routes of protocol 76: %+v, want 10.50.0.0/24 via 10.0.0.254 alone", routes)
	}
	var neighs []struct {
		Dst string `json:"dst"`
		Dev string `json:"dev"`
	}
	ns.JSON(&neighs, "neigh", "show", "nud", "permanent")
	if len(neighs) != 1 || neighs[0].Dst != "10.0.0.9" || neighs[0].Dev != "br0" {
		t.Errorf("permanent neighbours: %+v, want 10.0.0.9 on br0", neighs)
	}
	var rules []struct {
		Priority int    `json:"priority"`
		Table    string `json:"table"`
	}
	ns.JSON(&rules, "rule", "show")
	if !slices.ContainsFunc(rules, func(r struct {
		Priority int    `json:"priority"`
		Table    string `json:"table"`
	}) bool {
		return r.Priority == 200 && r.Table == "100"
	}) {
		t.Errorf("rules: %+v, want priority 200 to table 100", rules)
	}
}

// A veth whose peer's namespace cannot be entered fails alone: the
// bridge beside it converges.
func TestVethPeerNamespaceGoneFailsAlone(t *testing.T) {
	ns := nstest.New(t)
	s := ns.Open()
	d := reconcile.Desired{Links: []reconcile.Link{
		{Name: "br0", Kind: "bridge"},
		{Name: "a0", Kind: "veth", Data: rtnl.Veth{Peer: "b0", PeerNamespace: rtnl.NamespaceAt("/run/netns/linx-t-no-such-namespace")}},
	}}
	r, err := reconcile.Pass(s, d, reconcile.NewLedger(), reconcile.Options{})
	if len(r.Failures) != 1 || r.Failures[0].Op.Kind != diff.KindLink || r.Failures[0].Op.Link.Name != "a0" || !errors.Is(r.Failures[0].Err, unix.ENOENT) {
		t.Fatalf("failures %v (err %v), want a0 with ENOENT", r.Failures, err)
	}
	var links []struct {
		Name string `json:"ifname"`
	}
	ns.JSON(&links, "link", "show", "dev", "br0")
	if len(links) != 1 {
		t.Error("br0 was not created beside the failing veth")
	}
}
