package reconcile_test

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/linx-net/linx/diff"
	"github.com/linx-net/linx/internal/nstest"
	"github.com/linx-net/linx/reconcile"
	"github.com/linx-net/linx/rtnl"
)

// snapshot returns iproute2's JSON of what each listing shows, to compare
// foreign objects byte for byte before and after a pass.
func snapshot(ns *nstest.NS, listings ...[]string) string {
	var b strings.Builder
	for _, args := range listings {
		b.WriteString(strings.Join(args, " "))
		b.WriteString(": ")
		b.WriteString(ns.IP(append([]string{"-j"}, args...)...))
		b.WriteString("\n")
	}
	return b.String()
}

func unchanged(t *testing.T, what, before, after string) {
	t.Helper()
	if before != after {
		t.Errorf("%s changed:\nbefore: %s\nafter:  %s", what, before, after)
	}
}

// conflictOn returns the conflicts of kind whose reason holds substr.
func conflictOn(r reconcile.Report, kind diff.Kind, substr string) []diff.Conflict {
	var out []diff.Conflict
	for _, c := range r.Conflicts {
		if c.Kind == kind && strings.Contains(c.Reason+" "+c.Key, substr) {
			out = append(out, c)
		}
	}
	return out
}

func passReport(t *testing.T, s *rtnl.Socket, d reconcile.Desired, l *reconcile.Ledger) reconcile.Report {
	t.Helper()
	r, err := reconcile.Pass(s, d, l, reconcile.Options{})
	if err != nil {
		t.Fatalf("pass: %v\napplied: %v", err, r.Applied)
	}
	return r
}

// TestForeignNeighbourNeverOverwritten: a permanent neighbour another
// writer added, with another MAC, before the first pass is not
// overwritten, is reported, never enters the ledger, and is not deleted
// once dropped from desired state.
func TestForeignNeighbourNeverOverwritten(t *testing.T) {
	ns := nstest.New(t)
	s := ns.Open()
	l := reconcile.NewLedger()
	ns.IP("link", "add", "br0", "type", "bridge")
	ns.IP("neighbour", "add", "10.1.0.9", "lladdr", "02:00:00:00:00:99", "dev", "br0", "nud", "permanent")
	neigh := []string{"neighbour", "show", "dev", "br0", "to", "10.1.0.9"}
	before := snapshot(ns, neigh)

	d := reconcile.Desired{
		Links:      []reconcile.Link{{Name: "br0"}},
		Neighbours: []reconcile.Neighbour{{Link: "br0", IP: netip.MustParseAddr("10.1.0.9"), MAC: rtnl.MustParseMAC("02:00:00:00:00:01")}},
	}
	r := passReport(t, s, d, l)
	if r.Converged || len(conflictOn(r, diff.KindNeighbour, "10.1.0.9")) != 1 {
		t.Fatalf("want one neighbour conflict: converged=%v %v", r.Converged, r.Conflicts)
	}
	if c := conflictOn(r, diff.KindNeighbour, "10.1.0.9")[0]; !c.Foreign {
		t.Errorf("conflict %v is not marked Foreign", c)
	}
	unchanged(t, "the foreign neighbour", before, snapshot(ns, neigh))
	if l.Owned().Neighbours.Len() != 0 {
		t.Errorf("the ledger took the foreign neighbour: %v", l.Owned().Neighbours)
	}
	// Again: still a conflict, still untouched.
	if r := passReport(t, s, d, l); len(conflictOn(r, diff.KindNeighbour, "10.1.0.9")) != 1 || len(r.Applied) != 0 {
		t.Errorf("second pass: applied %v, conflicts %v", r.Applied, r.Conflicts)
	}
	d.Neighbours = nil
	if r := passReport(t, s, d, l); len(r.Applied) != 0 || !r.Converged {
		t.Errorf("pass without the neighbour: applied %v, conflicts %v", r.Applied, r.Conflicts)
	}
	unchanged(t, "the foreign neighbour", before, snapshot(ns, neigh))
}

// TestStaleKeysNeverDeleteForeignTwins: an owned address and rule are
// deleted by hand and dropped from desired state while their keys stay in
// the ledger; other writers then create objects with those keys, with a
// protocol of their own or none. The pass deletes neither.
func TestStaleKeysNeverDeleteForeignTwins(t *testing.T) {
	ns := nstest.New(t)
	s := ns.Open()
	l := reconcile.NewLedger()
	d := reconcile.Desired{
		Links:     []reconcile.Link{{Name: "fv0", Kind: "bridge"}},
		Addresses: []reconcile.Address{{Link: "fv0", Prefix: netip.MustParsePrefix("10.200.0.77/24")}, {Link: "fv0", Prefix: netip.MustParsePrefix("10.200.1.77/24")}},
		Rules: []reconcile.Rule{{From: netip.MustParsePrefix("10.5.0.0/24"), Table: 1000, Priority: 205},
			{From: netip.MustParsePrefix("10.6.0.0/24"), Table: 1000, Priority: 206}},
	}
	if r := passReport(t, s, d, l); !r.Converged {
		t.Fatalf("first pass: %v", r.Conflicts)
	}
	owned := l.Owned()
	if owned.Addresses.Len() != 2 || owned.Rules.Len() != 2 {
		t.Fatalf("ledger after the first pass: %+v", owned)
	}
	// Deleted by hand, and by another writer recreated under the same keys.
	ns.IP("address", "del", "10.200.0.77/24", "dev", "fv0")
	ns.IP("address", "del", "10.200.1.77/24", "dev", "fv0")
	ns.IP("rule", "del", "priority", "205")
	ns.IP("rule", "del", "priority", "206")
	fv0, err := s.LinkByName("fv0")
	if err != nil {
		t.Fatal(err)
	}
	var b rtnl.Batch // iproute2 6.1 cannot set an address's protocol
	b.AddressAdd(rtnl.Address{Index: fv0.Index, Prefix: netip.MustParsePrefix("10.200.0.77/24"), Protocol: 99})
	if err := s.Apply(&b); err != nil {
		t.Fatal(err)
	}
	ns.IP("address", "add", "10.200.1.77/24", "dev", "fv0")
	ns.IP("rule", "add", "from", "10.5.0.0/24", "table", "1000", "priority", "205", "protocol", "99")
	ns.IP("rule", "add", "from", "10.6.0.0/24", "table", "1000", "priority", "206")
	views := [][]string{{"address", "show", "dev", "fv0"}, {"rule", "show", "priority", "205"}, {"rule", "show", "priority", "206"}}
	before := snapshot(ns, views...)
	if got := l.Owned(); got.Addresses.Len() != 2 || got.Rules.Len() != 2 {
		t.Fatalf("the stale keys should still be in the ledger for this test: %+v", got)
	}

	d.Addresses, d.Rules = nil, nil
	r := passReport(t, s, d, l)
	for _, op := range r.Applied {
		t.Errorf("applied %v", op)
	}
	unchanged(t, "the foreign twins", before, snapshot(ns, views...))
}

// TestFlushedNeighbourKeyNeverDeletesAForeignOne: a bridge's MAC change
// makes the kernel flush its permanent neighbours, an owned one included,
// whose key stays in the ledger once it is no longer desired; a foreign
// neighbour with that IP, added later, is not deleted.
func TestFlushedNeighbourKeyNeverDeletesAForeignOne(t *testing.T) {
	ns := nstest.New(t)
	s := ns.Open()
	l := reconcile.NewLedger()
	d := reconcile.Desired{
		Links:      []reconcile.Link{{Name: "br0", Kind: "bridge", State: reconcile.LinkStateUp}},
		Neighbours: []reconcile.Neighbour{{Link: "br0", IP: netip.MustParseAddr("10.1.0.5"), MAC: rtnl.MustParseMAC("02:00:00:00:00:05")}},
	}
	passReport(t, s, d, l)
	ns.IP("link", "set", "br0", "address", "02:00:00:00:aa:01")
	if out := ns.IP("neighbour", "show", "dev", "br0", "to", "10.1.0.5"); strings.TrimSpace(out) != "" {
		t.Skipf("this kernel keeps permanent neighbours across a MAC change: %q", out)
	}
	d.Neighbours = nil
	ns.IP("neighbour", "add", "10.1.0.5", "lladdr", "02:00:00:00:00:55", "dev", "br0", "nud", "permanent")
	view := []string{"neighbour", "show", "dev", "br0", "to", "10.1.0.5"}
	before := snapshot(ns, view)
	r := passReport(t, s, d, l)
	for _, op := range r.Applied {
		if op.Kind == diff.KindNeighbour {
			t.Errorf("applied %v", op)
		}
	}
	unchanged(t, "the foreign neighbour", before, snapshot(ns, view))
}

// TestSameNameBridgeNotAdopted: a bridge br0 another writer made is not
// configured by a desired bridge br0 (no port enslaved, MTU unchanged, a
// conflict); with adopt it is.
func TestSameNameBridgeNotAdopted(t *testing.T) {
	ns := nstest.New(t)
	s := ns.Open()
	l := reconcile.NewLedger()
	ns.IP("link", "add", "br0", "type", "bridge")
	views := [][]string{{"link", "show", "dev", "br0"}, {"address", "show", "dev", "br0"}}
	before := snapshot(ns, views...)
	d := reconcile.Desired{
		Links: []reconcile.Link{
			{Name: "br0", Kind: "bridge", MTU: 1400, State: reconcile.LinkStateUp},
			{Name: "v0a", Kind: "veth", Data: rtnl.Veth{Peer: "v0b"}, Master: "br0", State: reconcile.LinkStateUp},
		},
		Addresses: []reconcile.Address{{Link: "br0", Prefix: netip.MustParsePrefix("10.3.0.1/24")}},
	}
	r := passReport(t, s, d, l)
	if len(conflictOn(r, diff.KindLink, "br0")) == 0 || r.Converged {
		t.Fatalf("want a conflict on br0: %v", r.Conflicts)
	}
	if len(conflictOn(r, diff.KindLink, `its master "br0"`)) != 1 || len(conflictOn(r, diff.KindAddress, "10.3.0.1/24")) != 1 {
		t.Errorf("want the port and the address held back as conflicts: %v", r.Conflicts)
	}
	unchanged(t, "the foreign bridge", before, snapshot(ns, views...))
	if out := ns.IP("link", "show", "v0a"); strings.Contains(out, "master") {
		t.Errorf("v0a enslaved to the foreign bridge: %s", out)
	}
	if r := passReport(t, s, d, l); len(r.Applied) != 0 {
		t.Errorf("second pass applied %v", r.Applied)
	}

	d.Links[0].Adopt = true
	if r := passReport(t, s, d, l); !r.Converged {
		t.Fatalf("with adopt: %v", r.Conflicts)
	}
	if out := ns.IP("link", "show", "br0"); !strings.Contains(out, "mtu 1400") || !strings.Contains(out, "UP") {
		t.Errorf("adopted br0 not configured: %s", out)
	}
	if out := ns.IP("link", "show", "v0a"); !strings.Contains(out, "master br0") {
		t.Errorf("v0a not enslaved to the adopted br0: %s", out)
	}
	if !addrs(ns)["br0 10.3.0.1/24"] {
		t.Errorf("address not added to the adopted br0: %v", addrs(ns))
	}
	// Adopted, never owned: dropped from desired, br0 stays.
	if r := passReport(t, s, reconcile.Desired{}, l); !r.Converged {
		t.Fatalf("empty desired: %v", r.Conflicts)
	}
	if _, err := s.LinkByName("br0"); err != nil {
		t.Errorf("the adopted bridge was deleted: %v", err)
	}
}

// TestOtherKindLinkGetsNothing: a link br1 of another kind, another
// writer's, is a conflict for a desired bridge br1, and the addresses
// desired on br1 are not added to it.
func TestOtherKindLinkGetsNothing(t *testing.T) {
	ns := nstest.New(t)
	s := ns.Open()
	l := reconcile.NewLedger()
	ns.IP("link", "add", "br1", "type", "veth", "peer", "name", "br1p")
	views := [][]string{{"link", "show", "dev", "br1"}, {"address", "show", "dev", "br1"}}
	before := snapshot(ns, views...)
	d := reconcile.Desired{
		Links:     []reconcile.Link{{Name: "br1", Kind: "bridge", State: reconcile.LinkStateUp}},
		Addresses: []reconcile.Address{{Link: "br1", Prefix: netip.MustParsePrefix("10.4.0.1/24")}, {Link: "br1", Prefix: netip.MustParsePrefix("fd00:4::1/64")}},
		Routes:    []reconcile.Route{{Dst: netip.MustParsePrefix("10.44.0.0/16"), Dev: "br1"}},
	}
	r := passReport(t, s, d, l)
	if len(conflictOn(r, diff.KindLink, `is of kind "veth", desired "bridge"`)) != 1 ||
		len(conflictOn(r, diff.KindAddress, "br1")) != 2 || len(conflictOn(r, diff.KindRoute, "br1")) != 1 {
		t.Fatalf("want the link, both addresses and the route as conflicts: %v", r.Conflicts)
	}
	if len(r.Applied) != 0 {
		t.Errorf("applied %v", r.Applied)
	}
	unchanged(t, "the foreign br1", before, snapshot(ns, views...))
}

// TestForeignDownBridgeStaysDown: a desired {name: fb, kind: bridge, up:
// true} does not bring up another writer's bridge fb that is down.
func TestForeignDownBridgeStaysDown(t *testing.T) {
	ns := nstest.New(t)
	s := ns.Open()
	ns.IP("link", "add", "fb", "type", "bridge")
	view := []string{"link", "show", "dev", "fb"}
	before := snapshot(ns, view)
	d := reconcile.Desired{Links: []reconcile.Link{{Name: "fb", Kind: "bridge", State: reconcile.LinkStateUp}}}
	r := passReport(t, s, d, reconcile.NewLedger())
	if len(conflictOn(r, diff.KindLink, "fb")) != 1 || r.Converged || len(r.Applied) != 0 {
		t.Fatalf("want one conflict on fb and nothing applied: applied %v, conflicts %v", r.Applied, r.Conflicts)
	}
	unchanged(t, "the foreign bridge", before, snapshot(ns, view))
}

// TestZeroLengthRulesConverge: rules with a /0 selector, which the kernel
// stores with none, are created, recognised as the scope's on the next
// pass, and deleted once dropped.
func TestZeroLengthRulesConverge(t *testing.T) {
	ns := nstest.New(t)
	s := ns.Open()
	l := reconcile.NewLedger()
	d := reconcile.Desired{Rules: []reconcile.Rule{
		{From: netip.MustParsePrefix("0.0.0.0/0"), Table: 1999, Priority: 1},
		{To: netip.MustParsePrefix("0.0.0.0/0"), Table: 1999, Priority: 2},
		{From: netip.MustParsePrefix("::/0"), Table: 1999, Priority: 3},
	}}
	r := passReport(t, s, d, l)
	if len(r.Applied) != 3 || !r.Converged {
		t.Fatalf("first pass: applied %v, conflicts %v", r.Applied, r.Conflicts)
	}
	for _, fam := range []string{"-4", "-6"} {
		if out := ns.IP(fam, "rule", "show", "table", "1999"); !strings.Contains(out, "proto 76") {
			t.Errorf("ip %s rule: %s; want the rules, marked proto 76", fam, out)
		}
	}
	if r := passReport(t, s, d, l); len(r.Applied) != 0 || !r.Converged {
		t.Fatalf("second pass: applied %v, conflicts %v; want converged with no ops", r.Applied, r.Conflicts)
	}
	if r := passReport(t, s, reconcile.Desired{}, l); len(r.Applied) != 3 || !r.Converged {
		t.Fatalf("dropped: applied %v, conflicts %v", r.Applied, r.Conflicts)
	}
	for _, fam := range []string{"-4", "-6"} {
		if out := ns.IP(fam, "rule", "show", "table", "1999"); strings.TrimSpace(out) != "" {
			t.Errorf("ip %s rule still shows: %s", fam, out)
		}
	}
}

// TestLearnedNeighbourReplaced: an entry in a state the kernel learns
// (stale), no writer's, gives way to the desired static entry, which is
// then the scope's: deleted once dropped.
func TestLearnedNeighbourReplaced(t *testing.T) {
	ns := nstest.New(t)
	s := ns.Open()
	l := reconcile.NewLedger()
	ns.IP("link", "add", "br0", "type", "bridge")
	ns.IP("neighbour", "add", "10.1.0.20", "lladdr", "02:00:00:00:00:99", "dev", "br0", "nud", "stale")
	d := reconcile.Desired{
		Links:      []reconcile.Link{{Name: "br0"}},
		Neighbours: []reconcile.Neighbour{{Link: "br0", IP: netip.MustParseAddr("10.1.0.20"), MAC: rtnl.MustParseMAC("02:00:00:00:00:20")}},
	}
	if r := passReport(t, s, d, l); !r.Converged {
		t.Fatalf("first pass: %v", r.Conflicts)
	}
	if out := ns.IP("neighbour", "show", "dev", "br0", "to", "10.1.0.20"); !strings.Contains(out, "lladdr 02:00:00:00:00:20 PERMANENT proto 76") {
		t.Fatalf("neighbour: %q; want the desired static entry, marked", out)
	}
	if r := passReport(t, s, d, l); len(r.Applied) != 0 || !r.Converged {
		t.Fatalf("second pass: applied %v, conflicts %v", r.Applied, r.Conflicts)
	}
	d.Neighbours = nil
	passReport(t, s, d, l)
	if out := ns.IP("neighbour", "show", "dev", "br0", "to", "10.1.0.20"); strings.TrimSpace(out) != "" {
		t.Errorf("dropped neighbour still there: %q", out)
	}
}
