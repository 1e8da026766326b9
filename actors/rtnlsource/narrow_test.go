package rtnlsource_test

import (
	"context"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/linx-net/linx/actors/rtnlsource"
	"github.com/linx-net/linx/actors/source"
	"github.com/linx-net/linx/internal/nstest"
	"github.com/linx-net/linx/reconcile"
	"github.com/linx-net/linx/rtnl"
)

type ipRoute struct {
	Dst      string `json:"dst"`
	Protocol string `json:"protocol"`
}

// routeProtocols returns the protocol of each route of the main table,
// by destination, as ip -j reports them.
func routeProtocols(ns *nstest.NS) map[string]string {
	var rs []ipRoute
	ns.JSON(&rs, "route", "show")
	out := make(map[string]string, len(rs))
	for _, r := range rs {
		out[r.Dst] = r.Protocol
	}
	return out
}

// watched returns a Source of ns with a new ledger, its watch and a
// handle, closed in t.Cleanup.
func watched(t *testing.T, ns *nstest.NS) (*rtnlsource.Source, source.Watch, source.Handle) {
	t.Helper()
	src, err := rtnlsource.New(ns.Namespace(), reconcile.NewLedger(), reconcile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	w, err := src.Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	h, err := src.Open(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return src, w, h
}

// TestNarrowedPasses drives a Source by hand against the kernel: the
// passes its watch's events ask for are narrowed to the routes the kernel
// reported changed, restore a route deleted by hand, leave another
// writer's route at a desired key alone (a conflict), and fall back to a
// full pass when the kernel may have flushed routes without a message (an
// address flush, a link taken down).
func TestNarrowedPasses(t *testing.T) {
	ns := nstest.New(t)
	src, w, h := watched(t, ns)
	ctx := context.Background()

	d := reconcile.Desired{
		Links: []reconcile.Link{{Name: "n0", Kind: "veth", Data: rtnl.Veth{Peer: "n1"}, State: reconcile.LinkStateUp}},
		Addresses: []reconcile.Address{
			{Link: "n0", Prefix: netip.MustParsePrefix("10.0.0.1/24")},
			{Link: "n0", Prefix: netip.MustParsePrefix("10.0.1.1/24")},
		},
	}
	for i := range 20 {
		d.Routes = append(d.Routes, reconcile.Route{Dst: netip.MustParsePrefix(fmt.Sprintf("10.5.%d.0/24", i)), Dev: "n0"})
	}
	v, err := d.Validated()
	if err != nil {
		t.Fatal(err)
	}
	// settle waits for the first event after a change, and a little for
	// the rest of its burst.
	settle := func() {
		t.Helper()
		select {
		case <-w.Events():
		case <-time.After(5 * time.Second):
			t.Fatal("no event within 5 s")
		}
		time.Sleep(50 * time.Millisecond)
		for {
			select {
			case <-w.Events():
				continue
			default:
			}
			return
		}
	}
	pass := func(why source.Trigger) source.Report {
		t.Helper()
		return src.Pass(source.WithTrigger(ctx, why), h, v)
	}
	allOurs := func(what string) {
		t.Helper()
		got := routeProtocols(ns)
		for _, r := range d.Routes {
			if got[r.Dst.String()] != "76" {
				t.Fatalf("%s: route %s has protocol %q per ip -j, want 76 (all: %v)", what, r.Dst, got[r.Dst.String()], got)
			}
		}
	}

	if rep := pass(source.TriggerFull); rep.Err != nil || !rep.Converged || rep.Narrowed {
		t.Fatalf("first pass: %+v", rep)
	}
	// The echo of the first pass's own changes has the link created
	// down: the pass after it is full, and the one after that narrowed.
	settle()
	if rep := pass(source.TriggerEvents); rep.Err != nil || rep.Narrowed || rep.Applied != 0 {
		t.Fatalf("pass over the first pass's echo: %+v, want a full pass applying nothing", rep)
	}
	if rep := pass(source.TriggerEvents); rep.Err != nil || !rep.Narrowed || rep.Applied != 0 {
		t.Fatalf("pass with no event since the last: %+v, want narrowed, applying nothing", rep)
	}
	allOurs("converged")

	// A route deleted by hand comes back in a narrowed pass.
	ns.IP("route", "del", "10.5.3.0/24", "dev", "n0")
	settle()
	if rep := pass(source.TriggerEvents); rep.Err != nil || !rep.Narrowed || rep.Applied != 1 || !rep.Converged {
		t.Fatalf("pass after a route deleted by hand: %+v, want narrowed with one op", rep)
	}
	allOurs("route restored")

	// Another writer's route replacing one at a desired key is left alone
	// and reported as a conflict, and stays reported by the narrowed
	// passes that look at other keys.
	ns.IP("route", "replace", "10.5.4.0/24", "dev", "n0", "proto", "12")
	settle()
	rep := pass(source.TriggerEvents)
	if !rep.Narrowed || rep.Conflicts != 1 || rep.Err == nil || rep.Converged {
		t.Fatalf("pass after another writer's replace: %+v, want narrowed with one conflict", rep)
	}
	if p := routeProtocols(ns)["10.5.4.0/24"]; p != "12" {
		t.Fatalf("the other writer's route has protocol %q per ip -j, want 12: a narrowed pass touched it", p)
	}
	ns.IP("route", "del", "10.5.5.0/24", "dev", "n0")
	settle()
	if rep := pass(source.TriggerEvents); !rep.Narrowed || rep.Applied != 1 || rep.Conflicts != 1 {
		t.Fatalf("narrowed pass at another key: %+v, want one op and the conflict still reported", rep)
	}
	ns.IP("route", "del", "10.5.4.0/24", "dev", "n0", "proto", "12")
	settle()
	if rep := pass(source.TriggerEvents); !rep.Narrowed || rep.Applied != 1 || rep.Conflicts != 0 || !rep.Converged {
		t.Fatalf("pass after the other writer's route went: %+v, want narrowed, converged, one op", rep)
	}
	allOurs("conflict resolved")

	// Flushing the link's addresses takes its routes with it without a
	// route message: the pass is a full one.
	ns.IP("addr", "flush", "dev", "n0")
	settle()
	if rep := pass(source.TriggerEvents); rep.Err != nil || rep.Narrowed || !rep.Converged || rep.Applied < 22 {
		t.Fatalf("pass after an address flush: %+v, want a full pass restoring 2 addresses and 20 routes", rep)
	}
	allOurs("after the address flush")
	settle()
	pass(source.TriggerEvents) // the echo

	// So does taking the link down.
	ns.IP("link", "set", "n0", "down")
	settle()
	if rep := pass(source.TriggerEvents); rep.Err != nil || rep.Narrowed || !rep.Converged || rep.Applied < 21 {
		t.Fatalf("pass after the link went down: %+v, want a full pass bringing it up and restoring 20 routes", rep)
	}
	allOurs("after the link went down")

	// Deleting one of two addresses takes no route: the pass stays
	// narrowed.
	settle()
	pass(source.TriggerEvents) // the echo, with the link coming up: full
	ns.IP("addr", "del", "10.0.1.1/24", "dev", "n0")
	settle()
	if rep := pass(source.TriggerEvents); rep.Err != nil || !rep.Narrowed || rep.Applied != 1 {
		t.Fatalf("pass after one of two addresses was deleted: %+v, want narrowed with one op", rep)
	}

	// An interval pass with no event since the pass before finds nothing:
	// no drift. A route deleted while no watch runs is drift it repairs.
	settle()
	pass(source.TriggerEvents) // the echo
	time.Sleep(50 * time.Millisecond)
	if rep := pass(source.TriggerCheck); rep.Err != nil || rep.Narrowed || rep.Applied != 0 || rep.Drift != nil {
		t.Fatalf("interval pass: %+v, want no op and no drift", rep)
	}
}

// TestBulkPassMutesItsEcho: a pass that installs reconcile.BulkRoutes
// routes does not hear their echo; its watch reports a Resync once the
// batch is sent, after which the pass is full, and a route deleted by
// hand is heard of and restored by a narrowed pass again.
func TestBulkPassMutesItsEcho(t *testing.T) {
	ns := nstest.New(t)
	src, w, h := watched(t, ns)
	ctx := context.Background()
	d := reconcile.Desired{
		Links:     []reconcile.Link{{Name: "n0", Kind: "veth", Data: rtnl.Veth{Peer: "n1"}, State: reconcile.LinkStateUp}},
		Addresses: []reconcile.Address{{Link: "n0", Prefix: netip.MustParsePrefix("10.0.0.1/24")}},
	}
	for i := range reconcile.BulkRoutes {
		d.Routes = append(d.Routes, reconcile.Route{Dst: netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 64, byte(i >> 8), byte(i)}), 32), Dev: "n0"})
	}
	v, err := d.Validated()
	if err != nil {
		t.Fatal(err)
	}
	pass := func(why source.Trigger) source.Report {
		t.Helper()
		return src.Pass(source.WithTrigger(ctx, why), h, v)
	}
	if rep := pass(source.TriggerFull); rep.Err != nil || !rep.Converged || rep.Applied < reconcile.BulkRoutes {
		t.Fatalf("bulk pass: %+v", rep)
	}
	// The link's and the address's events come as wake-ups; the routes'
	// are muted, and their unmute asks for a full pass.
	deadline := time.After(5 * time.Second)
	for resync := false; !resync; {
		select {
		case ev := <-w.Events():
			resync = ev == source.Resync
		case <-deadline:
			t.Fatal("no Resync within 5 s of the bulk pass")
		}
	}
	if rep := pass(source.TriggerEvents); rep.Err != nil || rep.Narrowed || rep.Applied != 0 {
		t.Fatalf("pass after the bulk pass's Resync: %+v, want a full pass applying nothing", rep)
	}
	ns.IP("route", "del", "10.64.0.7/32", "dev", "n0")
	select {
	case <-w.Events():
	case <-time.After(5 * time.Second):
		t.Fatal("no event for a route deleted by hand after the bulk pass")
	}
	time.Sleep(50 * time.Millisecond)
	if rep := pass(source.TriggerEvents); rep.Err != nil || !rep.Narrowed || rep.Applied != 1 {
		t.Fatalf("pass over a route deleted by hand: %+v, want narrowed, applying 1", rep)
	}
	if got := routeProtocols(ns)["10.64.0.7"]; got != "76" {
		t.Fatalf("route deleted by hand: protocol %q per ip -j after the pass, want 76", got)
	}
}
