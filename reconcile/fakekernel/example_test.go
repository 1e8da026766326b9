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
