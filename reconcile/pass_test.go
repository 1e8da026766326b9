package reconcile_test

import (
	"errors"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"

	"github.com/linx-net/linx/diff"
	"github.com/linx-net/linx/internal/nstest"
	"github.com/linx-net/linx/reconcile"
	"github.com/linx-net/linx/rtnl"
)

type ipAddr struct {
	Ifname   string `json:"ifname"`
	AddrInfo []struct {
		Local     string `json:"local"`
		Prefixlen int    `json:"prefixlen"`
	} `json:"addr_info"`
}

// addrs returns "dev addr/len" lines from ip -j addr.
func addrs(ns *nstest.NS) map[string]bool {
	var out []ipAddr
	ns.JSON(&out, "addr", "show")
	m := map[string]bool{}
	for _, l := range out {
		for _, a := range l.AddrInfo {
			m[l.Ifname+" "+netip.PrefixFrom(netip.MustParseAddr(a.Local), a.Prefixlen).String()] = true
		}
	}
	return m
}

func desired() reconcile.Desired {
	return reconcile.Desired{
		Links: []reconcile.Link{
			{Name: "br0", Kind: "bridge", State: reconcile.LinkStateUp},
			{Name: "v0a", Kind: "veth", Data: rtnl.Veth{Peer: "v0b"}, Master: "br0", MTU: 1400, State: reconcile.LinkStateUp},
		},
		Addresses: []reconcile.Address{
			{Link: "br0", Prefix: netip.MustParsePrefix("10.0.42.1/24")},
			{Link: "br0", Prefix: netip.MustParsePrefix("10.0.43.1/24")},
		},
		Routes: []reconcile.Route{
			{Dst: netip.MustParsePrefix("10.50.0.0/24"), Via: netip.MustParseAddr("10.0.42.254"), Table: 100, Metric: 50},
			{Dst: netip.MustParsePrefix("0.0.0.0/0"), Via: netip.MustParseAddr("10.0.42.254")},
		},
		Neighbours: []reconcile.Neighbour{
			{Link: "br0", IP: netip.MustParseAddr("10.0.42.9"), MAC: rtnl.MustParseMAC("02:aa:bb:cc:dd:ee")},
		},
		Rules: []reconcile.Rule{
			{From: netip.MustParsePrefix("10.0.42.0/24"), Table: 100, Priority: 200},
		},
	}
}

func mustPass(t *testing.T, s *rtnl.Socket, d reconcile.Desired, l *reconcile.Ledger) reconcile.Report {
	t.Helper()
	r, err := reconcile.Pass(s, d, l, reconcile.Options{})
	if err != nil {
		t.Fatalf("pass: %v\napplied: %v", err, r.Applied)
	}
	return r
}

func TestConvergeAndIdempotent(t *testing.T) {
	ns := nstest.New(t)
	s := ns.Open()
	l := reconcile.NewLedger()
	r := mustPass(t, s, desired(), l)
	if !r.Converged || len(r.Applied) == 0 {
		t.Fatalf("first pass: converged=%v applied=%v conflicts=%v", r.Converged, r.Applied, r.Conflicts)
	}
	// Cross-check with iproute2.
	got := addrs(ns)
	for _, want := range []string{"br0 10.0.42.1/24", "br0 10.0.43.1/24"} {
		if !got[want] {
			t.Errorf("ip addr lacks %s: %v", want, got)
		}
	}
	link := ns.IP("-d", "link", "show", "v0a")
	if !strings.Contains(link, "mtu 1400") || !strings.Contains(link, "master br0") {
		t.Errorf("v0a: %s", link)
	}
	if out := ns.IP("route", "show", "table", "100"); !strings.Contains(out, "10.50.0.0/24 via 10.0.42.254") || !strings.Contains(out, "proto 76") || !strings.Contains(out, "metric 50") {
		t.Errorf("table 100: %s", out)
	}
	if out := ns.IP("neigh", "show", "dev", "br0"); !strings.Contains(out, "10.0.42.9 lladdr 02:aa:bb:cc:dd:ee PERMANENT") {
		t.Errorf("neigh: %s", out)
	}
	if out := ns.IP("rule", "show"); !strings.Contains(out, "200:\tfrom 10.0.42.0/24 lookup 100") {
		t.Errorf("rules: %s", out)
	}
	r2 := mustPass(t, s, desired(), l)
	if len(r2.Applied) != 0 || !r2.Converged {
		t.Fatalf("second pass applied %v (converged=%v, conflicts %v)", r2.Applied, r2.Converged, r2.Conflicts)
	}
}

// The guide's self-heal story.
func TestSelfHeal(t *testing.T) {
	ns := nstest.New(t)
	s := ns.Open()
	l := reconcile.NewLedger()
	mustPass(t, s, desired(), l)

	// Deleted by hand: the next pass restores it.
	ns.IP("addr", "del", "10.0.42.1/24", "dev", "br0")
	r := mustPass(t, s, desired(), l)
	if len(r.Applied) == 0 || !addrs(ns)["br0 10.0.42.1/24"] {
		t.Fatalf("address not restored: %v", r.Applied)
	}

	// A foreign address that appeared stays; a foreign route is invisible.
	ns.IP("addr", "add", "10.0.99.1/24", "dev", "br0")
	ns.IP("route", "add", "10.77.0.0/16", "via", "10.0.42.254", "proto", "static")
	// Dropped from desired: the next pass removes it.
	d := desired()
	d.Addresses = d.Addresses[:1]
	r = mustPass(t, s, d, l)
	got := addrs(ns)
	if got["br0 10.0.43.1/24"] {
		t.Errorf("dropped address still present: %v", got)
	}
	if !got["br0 10.0.99.1/24"] {
		t.Errorf("foreign address removed: %v", got)
	}
	if out := ns.IP("route", "show", "10.77.0.0/16"); !strings.Contains(out, "proto static") {
		t.Errorf("foreign route touched: %q", out)
	}
	for _, op := range r.Applied {
		if op.Kind != diff.KindAddress || op.Action != diff.Delete {
			t.Errorf("unexpected op %v", op)
		}
	}
}

func TestForeignRouteConflict(t *testing.T) {
	ns := nstest.New(t)
	s := ns.Open()
	l := reconcile.NewLedger()
	mustPass(t, s, desired(), l)
	ns.IP("route", "add", "10.60.0.0/24", "via", "10.0.42.254", "proto", "static")
	d := desired()
	d.Routes = append(d.Routes, reconcile.Route{Dst: netip.MustParsePrefix("10.60.0.0/24"), Via: netip.MustParseAddr("10.0.42.253")})
	r, err := reconcile.Pass(s, d, l, reconcile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if r.Converged || len(r.Conflicts) != 1 || r.Conflicts[0].Kind != diff.KindRoute {
		t.Fatalf("want one route conflict, got converged=%v %v", r.Converged, r.Conflicts)
	}
	if out := ns.IP("route", "show", "10.60.0.0/24"); !strings.Contains(out, "via 10.0.42.254") || !strings.Contains(out, "proto static") {
		t.Errorf("foreign route changed: %q", out)
	}
}

func TestFailFastUnknownInterface(t *testing.T) {
	ns := nstest.New(t)
	s := ns.Open()
	d := desired()
	d.Addresses = append([]reconcile.Address{{Link: "eth9", Prefix: netip.MustParsePrefix("10.9.0.1/24")}}, d.Addresses...)
	r, err := reconcile.Pass(s, d, reconcile.NewLedger(), reconcile.Options{FailFast: true})
	var f *reconcile.Failure
	if !errors.As(err, &f) || !strings.Contains(err.Error(), `no such interface "eth9"`) || r.Failed == nil {
		t.Fatalf("want failure naming eth9, got %v", err)
	}
	if got := addrs(ns); got["br0 10.0.42.1/24"] || got["br0 10.0.43.1/24"] {
		t.Errorf("addresses applied after the failure: %v", got)
	}
	if out, _ := ns.TryIP("route", "show", "table", "all", "proto", "76"); out != "" {
		t.Errorf("routes applied after the failure: %s", out)
	}
}

func TestInvalidDesiredAppliesNothing(t *testing.T) {
	ns := nstest.New(t)
	s := ns.Open()
	d := desired()
	d.Links = append(d.Links, reconcile.Link{Name: "x", Kind: "bogus"})
	d.Addresses = append(d.Addresses, reconcile.Address{Link: "br0"})
	_, err := reconcile.Pass(s, d, reconcile.NewLedger(), reconcile.Options{})
	var ie *reconcile.InvalidError
	if !errors.As(err, &ie) || len(ie.Problems) != 2 {
		t.Fatalf("want 2 problems, got %v", err)
	}
	if _, err := s.LinkByName("br0"); !rtnl.IsNotExist(err) {
		t.Errorf("br0 was created: %v", err)
	}
}

// The ledger survives the process: a new ledger loaded from disk still
// removes what the old one created.
func TestLedgerPersists(t *testing.T) {
	ns := nstest.New(t)
	s := ns.Open()
	path := filepath.Join(t.TempDir(), "state", "scope.json")
	l, err := reconcile.OpenLedger(path)
	if err != nil {
		t.Fatal(err)
	}
	mustPass(t, s, desired(), l)

	l2, err := reconcile.OpenLedger(path)
	if err != nil {
		t.Fatal(err)
	}
	if l2.Len() != l.Len() || l2.Len() == 0 {
		t.Fatalf("reloaded ledger has %d keys, want %d", l2.Len(), l.Len())
	}
	r := mustPass(t, s, reconcile.Desired{}, l2)
	if !r.Converged {
		t.Fatalf("teardown pass: %v", r.Conflicts)
	}
	if _, err := s.LinkByName("br0"); !rtnl.IsNotExist(err) {
		t.Errorf("br0 still present after teardown: %v", err)
	}
	if out := ns.IP("route", "show", "table", "all", "proto", "76"); out != "" {
		t.Errorf("owned routes left: %s", out)
	}
	if out := ns.IP("rule", "show", "priority", "200"); out != "" {
		t.Errorf("owned rule left: %s", out)
	}
	if l2.Len() != 0 {
		t.Errorf("ledger not emptied: %d keys", l2.Len())
	}
}

func TestPlanAppliesNothing(t *testing.T) {
	ns := nstest.New(t)
	s := ns.Open()
	r, err := reconcile.Plan(s, desired(), reconcile.NewLedger(), reconcile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[diff.Kind]int{}
	for _, op := range r.Applied {
		if op.Action == diff.Create {
			kinds[op.Kind]++
		}
	}
	if kinds[diff.KindLink] != 2 || kinds[diff.KindAddress] != 2 || kinds[diff.KindRoute] != 2 || kinds[diff.KindNeighbour] != 1 || kinds[diff.KindRule] != 1 {
		t.Errorf("plan: %v", r.Applied)
	}
	if _, err := s.LinkByName("br0"); !rtnl.IsNotExist(err) {
		t.Errorf("plan created br0: %v", err)
	}
}

// A pass that deletes an address looks again (the kernel may have flushed
// routes with it); its conflicts are still reported once.
func TestConflictsReportedOnceWhenPassLooksAgain(t *testing.T) {
	ns := nstest.New(t)
	s := ns.Open()
	l := reconcile.NewLedger()
	mustPass(t, s, desired(), l)
	ns.IP("route", "add", "10.60.0.0/24", "via", "10.0.42.254", "proto", "static")
	d := desired()
	d.Addresses = d.Addresses[:1] // drops an owned address: the pass looks again
	d.Routes = append(d.Routes, reconcile.Route{Dst: netip.MustParsePrefix("10.60.0.0/24"), Via: netip.MustParseAddr("10.0.42.253")})
	r, err := reconcile.Pass(s, d, l, reconcile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Conflicts) != 1 {
		t.Fatalf("conflicts = %v, want exactly one", r.Conflicts)
	}
}

// A scope may not own another writer's protocol.
func TestPassRefusesOthersProtocol(t *testing.T) {
	ns := nstest.New(t)
	s := ns.Open()
	_, err := reconcile.Pass(s, desired(), reconcile.NewLedger(), reconcile.Options{Protocol: rtnl.ProtocolBoot})
	if err == nil || !strings.Contains(err.Error(), "protocol 3 (boot) belongs to another writer") {
		t.Fatalf("Pass with protocol boot = %v", err)
	}
	if _, err := s.LinkByName("br0"); !rtnl.IsNotExist(err) {
		t.Errorf("br0 created: %v", err)
	}
}
