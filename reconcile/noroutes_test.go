package reconcile_test

import (
	"errors"
	"net/netip"
	"testing"

	"github.com/linx-net/linx/reconcile"
	"github.com/linx-net/linx/reconcile/fakekernel"
	"github.com/linx-net/linx/rtnl"
)

// A scope with NoRoutes converges its links and addresses and leaves
// every route and nexthop alone, those of its protocol included; it may
// not desire a route.
func TestNoRoutesLeavesRoutesAlone(t *testing.T) {
	k := fakekernel.New(rtnl.Host(), rtnl.NamespaceID{Dev: 1, Inode: 2})
	route := rtnl.Route{Dst: netip.MustParsePrefix("10.9.0.0/24"), OIF: 1, Protocol: rtnl.DefaultProtocol, Scope: rtnl.ScopeLink}
	var b rtnl.Batch
	b.RouteAdd(route)
	b.NexthopAdd(rtnl.Nexthop{ID: 7, Blackhole: true, Protocol: rtnl.DefaultProtocol})
	if err := k.ApplyWith(&b, rtnl.ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	d := reconcile.Desired{Addresses: []reconcile.Address{{Link: "lo", Prefix: netip.MustParsePrefix("10.8.0.1/32")}}}
	o := reconcile.Options{NoRoutes: true}
	l := reconcile.NewLedger()
	for i := range 2 {
		rep, err := reconcile.Pass(k, d, l, o)
		if err != nil {
			t.Fatalf("pass %d: %v", i, err)
		}
		if !rep.Converged {
			t.Fatalf("pass %d: not converged: %+v", i, rep)
		}
	}
	routes, err := k.RoutesFiltered(rtnl.RouteFilter{Protocol: rtnl.DefaultProtocol})
	if err != nil || len(routes) != 1 {
		t.Fatalf("routes of protocol 76 after NoRoutes passes: %v, %v; want the one there before", routes, err)
	}
	if nhs, err := k.Nexthops(); err != nil || len(nhs) != 1 {
		t.Fatalf("nexthops after NoRoutes passes: %v, %v; want the one there before", nhs, err)
	}
	// Without NoRoutes the same scope owns protocol 76 and would delete
	// that route: the claim check refuses it first.
	if _, err := reconcile.Pass(k, d, reconcile.NewLedger(), reconcile.Options{}); err == nil {
		t.Fatal("a pass owning protocol 76 took the foreign route's protocol without a word")
	}

	d.Routes = []reconcile.Route{{Dst: netip.MustParsePrefix("10.7.0.0/24"), Dev: "lo"}}
	_, err = reconcile.Pass(k, d, l, o)
	var ie *reconcile.InvalidError
	if !errors.As(err, &ie) {
		t.Fatalf("NoRoutes with a desired route: %v, want an *InvalidError", err)
	}
}
