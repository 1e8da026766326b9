package reconcile_test

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"testing"

	"github.com/linx-net/linx/reconcile"
	"github.com/linx-net/linx/reconcile/fakekernel"
	"github.com/linx-net/linx/rtnl"
)

func TestJournal(t *testing.T) {
	route := func(i int) rtnl.Route {
		return rtnl.Route{Dst: netip.MustParsePrefix(fmt.Sprintf("10.%d.%d.0/24", i>>8, i&255)), Protocol: 76, OIF: 2}
	}
	var j reconcile.Journal
	if j.Full() == "" || j.Empty() {
		t.Fatalf("a zero journal knows nothing, want full: %q empty %v", j.Full(), j.Empty())
	}
	j.Take()
	if j.Full() != "" || !j.Empty() {
		t.Fatalf("a taken journal: full %q, empty %v", j.Full(), j.Empty())
	}
	// The last event per key is what stays.
	j.Route(route(1), false)
	j.Route(route(1), true)
	j.Route(route(2), false)
	j.Other()
	if got := j.Take(); got.Len() != 2 || got.Events() != 4 || got.Full() != "" {
		t.Fatalf("taken: %d keys, %d events, full %q; want 2, 4, none", got.Len(), got.Events(), got.Full())
	}
	for _, tc := range []struct {
		name string
		feed func(j *reconcile.Journal)
	}{
		{"lost events", func(j *reconcile.Journal) { j.Lost("overrun") }},
		{"link down", func(j *reconcile.Journal) { j.Link(rtnl.Link{Name: "x"}, false) }},
		{"link deleted", func(j *reconcile.Journal) { j.Link(rtnl.Link{Name: "x", Flags: net.FlagUp}, true) }},
		{"nexthop", func(j *reconcile.Journal) { j.Nexthop() }},
		{"too many keys", func(j *reconcile.Journal) {
			for i := range 5 {
				j.Route(route(i), false)
			}
		}},
	} {
		j := reconcile.Journal{Limit: 4}
		j.Take()
		tc.feed(&j)
		if j.Full() == "" {
			t.Errorf("%s: journal not full", tc.name)
		}
		if j.Take(); j.Full() != "" {
			t.Errorf("%s: taking the journal does not empty it: %q", tc.name, j.Full())
		}
	}
	// A link up (say, its carrier changed) is not a reason for a full pass.
	j.Link(rtnl.Link{Name: "x", Flags: net.FlagUp}, false)
	if j.Full() != "" {
		t.Errorf("link up made the journal full: %q", j.Full())
	}
}

// A loop that sees the kernel's events narrows the passes between full
// ones to what the events reported: here a route deleted by hand.
func ExampleNarrowing_Pass() {
	k := fakekernel.New(rtnl.Host(), rtnl.NamespaceID{Dev: 1, Inode: 1})
	d := reconcile.Desired{}
	for i := range 1000 {
		d.Routes = append(d.Routes, reconcile.Route{
			Dst: netip.MustParsePrefix(fmt.Sprintf("10.%d.%d.0/24", i>>8, i&255)), Type: rtnl.RouteTypeBlackhole})
	}
	v, err := d.Validated()
	if err != nil {
		panic(err)
	}
	l := reconcile.NewLedger()
	var (
		n reconcile.Narrowing
		j reconcile.Journal // fed by a monitor's events in a real loop
	)
	j.Take()
	rep, err := n.Full(k, v, l, reconcile.Options{})
	fmt.Println("full:", len(rep.Applied), "ops", err)

	// Someone deletes a route; the monitor reports it.
	gone := rtnl.Route{Dst: netip.MustParsePrefix("10.0.7.0/24"), Type: rtnl.RouteTypeBlackhole, Protocol: rtnl.DefaultProtocol}
	var b rtnl.Batch
	b.RouteDelete(gone)
	if err := k.ApplyWith(&b, rtnl.ApplyOptions{}); err != nil {
		panic(err)
	}
	j.Route(gone, true)

	changed := j.Take()
	rep, err = n.Pass(k, v, l, reconcile.Options{}, &changed)
	fmt.Println("narrowed:", rep.Narrowed, rep.Applied, err)
	// Output:
	// full: 1000 ops <nil>
	// narrowed: true [create Route<blackhole 10.0.7.0/24 proto=76>] <nil>
}

// A pass that recreates an object whose key the ledger holds already (an
// address deleted by hand) does not rewrite the ledger file: nothing in
// it changed, and a save waits for an fsync.
func TestLedgerNotRewrittenForAKnownKey(t *testing.T) {
	path := t.TempDir() + "/ledger"
	l, err := reconcile.OpenLedger(path)
	if err != nil {
		t.Fatal(err)
	}
	k := fakekernel.New(rtnl.Host(), rtnl.NamespaceID{Dev: 1, Inode: 3})
	d := reconcile.Desired{Addresses: []reconcile.Address{{Link: "lo", Prefix: netip.MustParsePrefix("10.9.0.1/32")}}}
	if _, err := reconcile.Pass(k, d, l, reconcile.Options{}); err != nil {
		t.Fatal(err)
	}
	before, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	var b rtnl.Batch
	b.AddressDelete(rtnl.Address{Index: 1, Prefix: d.Addresses[0].Prefix})
	if err := k.ApplyWith(&b, rtnl.ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	rep, err := reconcile.Pass(k, d, l, reconcile.Options{})
	if err != nil || len(rep.Applied) != 1 {
		t.Fatalf("second pass: %v %v, want the address back", rep.Applied, err)
	}
	after, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if !after.ModTime().Equal(before.ModTime()) || !os.SameFile(before, after) {
		t.Errorf("the ledger file was rewritten (%v, then %v)", before.ModTime(), after.ModTime())
	}
}
