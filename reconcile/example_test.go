package reconcile_test

import (
	"fmt"
	"net/netip"

	"github.com/linx-net/linx/reconcile"
	"github.com/linx-net/linx/rtnl"
)

// A route's Protocol override makes the pass own that protocol too: two
// scopes in one namespace must not share any of the protocols listed.
func ExampleDesired_Protocols() {
	d := reconcile.Desired{Routes: []reconcile.Route{
		{Dst: netip.MustParsePrefix("10.1.0.0/16"), Dev: "eth0"},
		{Dst: netip.MustParsePrefix("10.2.0.0/16"), Dev: "eth0", Protocol: 90},
		{Dst: netip.MustParsePrefix("10.3.0.0/16"), Dev: "eth0", Protocol: 90},
	}}
	fmt.Println(d.Protocols(0))
	fmt.Println(d.Protocols(rtnl.Protocol(77)))
	// Output:
	// [76 90]
	// [77 90]
}
