package reconcile_test

import (
	"errors"
	"net/netip"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/linx-net/linx/diff"
	"github.com/linx-net/linx/internal/nstest"
	"github.com/linx-net/linx/reconcile"
	"github.com/linx-net/linx/rtnl"
)

// ipSnap returns what `ip -j` prints for each of the commands, one
// after another: the foreign objects a test must find byte-for-byte
// unchanged.
func ipSnap(ns *nstest.NS, cmds ...[]string) string {
	var b strings.Builder
	for _, c := range cmds {
		b.WriteString(ns.IP(append([]string{"-j"}, c...)...))
		b.WriteByte('\n')
	}
	return b.String()
}

// TestIndexReuseKeepsForeignAddresses reproduces the stale keys of an
// owned bridge deleted by another writer again and again: each time the
// pass creates it again under a new index and adds its addresses. The
// ledger must not keep keys of the old indices: a foreign bridge later
// created with one of them (ip link add … index N) and given the same
// addresses keeps them, whether a pass saw the owned bridge gone (its keys
// are absent, dropped) or not (the index now names another link).
func TestIndexReuseKeepsForeignAddresses(t *testing.T) {
	ns := nstest.New(t)
	s := ns.Open()
	l, err := reconcile.OpenLedger(filepath.Join(t.TempDir(), "s.ledger"))
	if err != nil {
		t.Fatal(err)
	}
	v4, v6 := netip.MustParsePrefix("10.2.0.1/24"), netip.MustParsePrefix("fd00:2::1/64")
	d := reconcile.Desired{
		Links:     []reconcile.Link{{Name: "br0", Kind: "bridge"}},
		Addresses: []reconcile.Address{{Link: "br0", Prefix: v4}, {Link: "br0", Prefix: v6}},
	}
	var used []int
	for i := 0; i < 7; i++ {
		mustPass(t, s, d, l)
		idx := ipIndex(t, ns, "br0")
		used = append(used, idx)
		ns.IP("link", "del", "br0")
	}
	// The last deletion has not been seen by any pass: a foreign bridge
	// takes the very index the ledger last recorded, at once.
	last := used[len(used)-1]
	ns.IP("link", "add", "fb", "index", strconv.Itoa(last), "type", "bridge")
	ns.IP("addr", "add", v4.String(), "dev", "fb")
	ns.IP("addr", "add", v6.String(), "dev", "fb")
	// And another takes an index a pass saw go.
	older := used[2]
	ns.IP("link", "add", "fc", "index", strconv.Itoa(older), "type", "bridge")
	ns.IP("addr", "add", v4.String(), "dev", "fc")
	ns.IP("addr", "add", v6.String(), "dev", "fc")
	foreign := [][]string{{"addr", "show", "dev", "fb"}, {"addr", "show", "dev", "fc"}}
	before := ipSnap(ns, foreign...)

	// br0 and its addresses dropped from the desired state: the pass may
	// delete only what it owns, and it owns nothing of fb or fc.
	for _, want := range []reconcile.Desired{d, {}} {
		r := mustPass(t, s, want, l)
		for _, op := range r.Applied {
			if op.Kind == diff.KindAddress && op.Action == diff.Delete && (op.Address.Index == last || op.Address.Index == older) {
				t.Fatalf("pass deleted a foreign address: %v", op)
			}
		}
		if after := ipSnap(ns, foreign...); after != before {
			t.Fatalf("foreign addresses changed:\nbefore %s\nafter  %s", before, after)
		}
	}
	for k := range l.Owned().Addresses.All() {
		t.Errorf("ledger keeps address key %v with nothing desired", k)
	}
}

// TestKeysOfObjectsDeletedWhileDown reproduces the agent stopped while
// an owned rule (priority 205) and an owned address (10.200.0.77/24 on
// fv0) are deleted by hand and dropped from the configuration. The first
// pass after the restart sees their keys absent and drops them; the
// foreign twins another tool adds afterwards are left alone.
func TestKeysOfObjectsDeletedWhileDown(t *testing.T) {
	ns := nstest.New(t)
	s := ns.Open()
	path := filepath.Join(t.TempDir(), "s.ledger")
	ns.IP("link", "add", "fv0", "type", "veth", "peer", "name", "fv1")
	rule := rtnl.Rule{From: netip.MustParsePrefix("10.5.0.0/24"), Table: 1000, Priority: 205}
	addr := netip.MustParsePrefix("10.200.0.77/24")
	d := reconcile.Desired{
		Addresses: []reconcile.Address{{Link: "fv0", Prefix: addr}},
		Rules:     []reconcile.Rule{rule},
	}
	l, err := reconcile.OpenLedger(path)
	if err != nil {
		t.Fatal(err)
	}
	mustPass(t, s, d, l)
	if o := l.Owned(); o.Rules.Len() != 1 || o.Addresses.Len() != 1 {
		t.Fatalf("ledger after the first pass: %+v", o)
	}
	// The agent stops; the objects are deleted by hand.
	ns.IP("rule", "del", "priority", "205")
	ns.IP("addr", "del", addr.String(), "dev", "fv0")

	// The agent starts again with a configuration without them.
	l, err = reconcile.OpenLedger(path)
	if err != nil {
		t.Fatal(err)
	}
	if o := l.Owned(); o.Rules.Len() != 1 || o.Addresses.Len() != 1 {
		t.Fatalf("ledger on disk: %+v", o)
	}
	mustPass(t, s, reconcile.Desired{}, l)
	if n := l.Len(); n != 0 {
		t.Fatalf("ledger holds %d keys after the pass that saw their objects gone: %+v", n, l.Owned())
	}
	// Another tool adds the twins.
	ns.IP("rule", "add", "from", "10.5.0.0/24", "table", "1000", "priority", "205")
	ns.IP("addr", "add", addr.String(), "dev", "fv0")
	foreign := [][]string{{"rule", "show", "priority", "205"}, {"addr", "show", "dev", "fv0"}}
	before := ipSnap(ns, foreign...)
	if !strings.Contains(before, "10.5.0.0") || !strings.Contains(before, "10.200.0.77") {
		t.Fatalf("foreign twins not in place: %s", before)
	}
	for i := 0; i < 2; i++ {
		// Another restart between the passes changes nothing.
		if l, err = reconcile.OpenLedger(path); err != nil {
			t.Fatal(err)
		}
		if r := mustPass(t, s, reconcile.Desired{}, l); len(r.Applied) != 0 {
			t.Fatalf("pass applied %v to foreign twins", r.Applied)
		}
	}
	if after := ipSnap(ns, foreign...); after != before {
		t.Fatalf("foreign twins changed:\nbefore %s\nafter  %s", before, after)
	}
}

// TestStaleKeyOfFlushedNeighbour: a permanent neighbour the scope owns is
// flushed by the kernel (its link went down and its MAC changed) and is
// no longer desired: the key goes, and a foreign neighbour added later
// with that IP is left alone.
func TestStaleKeyOfFlushedNeighbour(t *testing.T) {
	ns := nstest.New(t)
	s := ns.Open()
	l := reconcile.NewLedger()
	ns.IP("link", "add", "nv0", "type", "veth", "peer", "name", "nv1")
	ns.IP("link", "set", "nv0", "up")
	ip := netip.MustParseAddr("10.1.0.9")
	mac := []byte{0x02, 0, 0, 0, 0, 9}
	d := reconcile.Desired{Neighbours: []reconcile.Neighbour{{Link: "nv0", IP: ip, MAC: mac}}}
	mustPass(t, s, d, l)
	ns.IP("neigh", "del", ip.String(), "dev", "nv0") // as a flush would
	mustPass(t, s, reconcile.Desired{}, l)
	if l.Owned().Neighbours.Len() != 0 {
		t.Fatalf("neighbour key kept: %v", l.Owned().Neighbours)
	}
	ns.IP("neigh", "add", ip.String(), "lladdr", "02:00:00:00:00:aa", "dev", "nv0", "nud", "permanent")
	foreign := [][]string{{"neigh", "show", "dev", "nv0"}}
	before := ipSnap(ns, foreign...)
	if r := mustPass(t, s, reconcile.Desired{}, l); len(r.Applied) != 0 {
		t.Fatalf("pass applied %v", r.Applied)
	}
	if after := ipSnap(ns, foreign...); after != before {
		t.Fatalf("foreign neighbour changed:\nbefore %s\nafter  %s", before, after)
	}
}

// TestLedgerOfAnotherNamespace: a ledger applied in one namespace is
// refused in another, whatever its file is called, with nothing applied
// there; a plan is refused too.
func TestLedgerOfAnotherNamespace(t *testing.T) {
	a, b := nstest.New(t), nstest.New(t)
	sa, sb := a.Open(), b.Open()
	path := filepath.Join(t.TempDir(), "s6.ledger")
	l, err := reconcile.OpenLedger(path)
	if err != nil {
		t.Fatal(err)
	}
	d := reconcile.Desired{
		Links:     []reconcile.Link{{Name: "br6", Kind: "bridge"}},
		Addresses: []reconcile.Address{{Link: "br6", Prefix: netip.MustParsePrefix("10.6.0.1/24")}},
		Rules:     []reconcile.Rule{{From: netip.MustParsePrefix("10.6.0.0/24"), Table: 1006, Priority: 266}},
	}
	mustPass(t, sa, d, l)
	name, id := l.Namespace()
	if name != "path:"+a.Path() || !id.Same(sa.NamespaceID()) || id.Cookie == 0 {
		t.Fatalf("ledger namespace %q %v, want %s %v", name, id, a.Path(), sa.NamespaceID())
	}
	b.IP("link", "add", "br6", "type", "bridge")
	b.IP("addr", "add", "10.6.0.1/24", "dev", "br6")
	b.IP("rule", "add", "from", "10.6.0.0/24", "table", "1006", "priority", "266")
	foreign := [][]string{{"link", "show"}, {"addr", "show"}, {"rule", "show"}}
	before := ipSnap(b, foreign...)
	for _, apply := range []bool{true, false} {
		l, err := reconcile.OpenLedger(path) // as a restart would
		if err != nil {
			t.Fatal(err)
		}
		run := reconcile.Plan
		if apply {
			run = reconcile.Pass
		}
		r, err := run(sb, reconcile.Desired{}, l, reconcile.Options{})
		var ne *reconcile.NamespaceError
		if !errors.As(err, &ne) || len(r.Applied) != 0 || !strings.Contains(err.Error(), a.Path()) {
			t.Fatalf("apply %v in another namespace: %v, applied %v; want a *NamespaceError", apply, err, r.Applied)
		}
	}
	if after := ipSnap(b, foreign...); after != before {
		t.Fatalf("namespace B changed:\nbefore %s\nafter  %s", before, after)
	}
}

// TestProtocolClaim: a foreign route 10.202.0.0/24 proto 77 in main, and
// a scope with one desired route of protocol 77: the pass is refused,
// naming the foreign route, and nothing changes; with AdoptProtocol the
// scope takes the protocol (the undesired route goes), and from then on
// it resumes the claim without it. A protocol no route carries is
// claimed silently.
func TestProtocolClaim(t *testing.T) {
	ns, s := routesNS(t)
	ns.IP("route", "add", "10.202.0.0/24", "via", "10.0.0.2", "proto", "77")
	d := reconcile.Desired{Routes: []reconcile.Route{
		{Dst: netip.MustParsePrefix("10.203.0.0/24"), Via: netip.MustParseAddr("10.0.0.2"), Protocol: 77},
	}}
	before := ipSnap(ns, []string{"route", "show", "table", "all"})
	l := reconcile.NewLedger()
	for _, run := range []func(reconcile.Kernel, reconcile.Desired, *reconcile.Ledger, reconcile.Options) (reconcile.Report, error){reconcile.Plan, reconcile.Pass} {
		r, err := run(s, d, l, reconcile.Options{})
		var ce *reconcile.ClaimError
		if !errors.As(err, &ce) || ce.Protocol != 77 || ce.Count != 1 || !strings.Contains(err.Error(), "10.202.0.0/24") || len(r.Applied) != 0 {
			t.Fatalf("claiming protocol 77: %v, applied %v; want a *ClaimError naming 10.202.0.0/24", err, r.Applied)
		}
	}
	if err := reconcile.CheckClaim(s, d, l, reconcile.Options{}); err == nil {
		t.Fatal("CheckClaim accepted protocol 77")
	}
	if after := ipSnap(ns, []string{"route", "show", "table", "all"}); after != before {
		t.Fatalf("a refused claim changed the routes:\nbefore %s\nafter  %s", before, after)
	}
	if err := reconcile.CheckClaim(s, d, l, reconcile.Options{AdoptProtocol: true}); err != nil {
		t.Fatal(err)
	}
	r, err := reconcile.Pass(s, d, l, reconcile.Options{AdoptProtocol: true})
	if err != nil || !r.Converged {
		t.Fatalf("adopting protocol 77: %v %v", err, r.Applied)
	}
	got := ipRoutes(ns)
	if _, ok := got["10.202.0.0/24"]; ok || got["10.203.0.0/24"].Protocol != "77" {
		t.Fatalf("after adopting protocol 77: %v", got)
	}
	// Claimed: the next passes need no adoption, even with another route
	// of 77 added meanwhile (the scope owns the protocol now).
	ns.IP("route", "add", "10.204.0.0/24", "via", "10.0.0.2", "proto", "77")
	if _, err := reconcile.Pass(s, d, l, reconcile.Options{}); err != nil {
		t.Fatalf("resuming the claim: %v", err)
	}
	if got := l.Protocols(); len(got) != 2 || got[0] != rtnl.DefaultProtocol || got[1] != 77 {
		t.Fatalf("claimed protocols %v, want [76 77]", got)
	}
}
