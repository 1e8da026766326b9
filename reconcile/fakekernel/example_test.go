package fakekernel_test

import (
	"fmt"
	"log"
	"net/netip"

	"github.com/linx-net/linx/reconcile"
	"github.com/linx-net/linx/reconcile/fakekernel"
	"github.com/linx-net/linx/rtnl"
)

// A pass runs against the fake kernel as against a socket, without root:
// the first creates, the second finds nothing to do.
func Example() {
	k := fakekernel.New(rtnl.Host(), rtnl.NamespaceID{Dev: 1, Inode: 1})
	d := reconcile.Desired{
		Links:     []reconcile.Link{{Name: "br0", Kind: "bridge", State: reconcile.LinkStateUp}},
		Addresses: []reconcile.Address{{Link: "br0", Prefix: netip.MustParsePrefix("10.0.42.1/24")}},
		Routes:    []reconcile.Route{{Dst: netip.MustParsePrefix("10.50.0.0/24"), Via: netip.MustParseAddr("10.0.42.254")}},
	}
	l := reconcile.NewLedger()
	for range 2 {
		r, err := reconcile.Pass(k, d, l, reconcile.Options{})
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println("converged:", r.Converged, "applied:", len(r.Applied))
	}
	routes, _ := k.RoutesFiltered(rtnl.RouteFilter{Protocol: rtnl.DefaultProtocol})
	fmt.Println(routes[0].Dst, "via", routes[0].Gateway, "oif", routes[0].OIF)
	// Output:
	// converged: true applied: 3
	// converged: true applied: 0
	// 10.50.0.0/24 via 10.0.42.254 oif 2
}

// A plan is a pass run against a copy: the copy meets the other writer's
// route at the desired key, as the kernel would, and the original keeps
// what it had.
func ExampleCopy() {
	k := fakekernel.New(rtnl.Host(), rtnl.NamespaceID{Dev: 1, Inode: 1})
	// Another writer's bridge and route (protocol 77).
	other := reconcile.Desired{
		Links:     []reconcile.Link{{Name: "br0", Kind: "bridge", State: reconcile.LinkStateUp}},
		Addresses: []reconcile.Address{{Link: "br0", Prefix: netip.MustParsePrefix("10.0.42.1/24")}},
		Routes:    []reconcile.Route{{Dst: netip.MustParsePrefix("10.10.0.0/16"), Dev: "br0"}},
	}
	if _, err := reconcile.Pass(k, other, reconcile.NewLedger(), reconcile.Options{Protocol: 77}); err != nil {
		log.Fatal(err)
	}

	c, err := fakekernel.Copy(k, fakekernel.CopyOptions{})
	if err != nil {
		log.Fatal(err)
	}
	d := reconcile.Desired{Routes: []reconcile.Route{
		{Dst: netip.MustParsePrefix("10.10.0.0/16"), Via: netip.MustParseAddr("10.0.42.254")},
		{Dst: netip.MustParsePrefix("10.11.0.0/16"), Via: netip.MustParseAddr("10.0.42.254")},
	}}
	r, err := reconcile.Pass(c, d, reconcile.NewLedger(), reconcile.Options{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("would apply:", r.Applied)
	fmt.Println("conflicts:", len(r.Conflicts), r.Conflicts[0].Key)
	mine, _ := k.RoutesFiltered(rtnl.RouteFilter{Protocol: rtnl.DefaultProtocol})
	fmt.Println("routes of the scope in the original:", len(mine))
	// Output:
	// would apply: [create Route<10.11.0.0/16 via 10.0.42.254 proto=76>]
	// conflicts: 1 family=inet table=254 dst=10.10.0.0/16 tos=0 metric=0
	// routes of the scope in the original: 0
}
