package reconcile

import (
	"fmt"
	"slices"

	"github.com/linx-net/linx/rtnl"
)

// othersProtocols are the route protocols other writers use: the kernel's
// own, iproute2's default (boot), static configuration, and the routing
// daemons of /etc/iproute2/rt_protos. A scope owns every route of its
// protocol and deletes those it does not want, so owning one of these would
// delete other writers' routes.
var othersProtocols = map[rtnl.Protocol]string{
	0: "unspec", 1: "redirect", 2: "kernel", 3: "boot", 4: "static",
	8: "gated", 9: "ra", 10: "mrt", 11: "zebra", 12: "bird", 13: "dnrouted",
	14: "xorp", 15: "ntk", 16: "dhcp", 17: "mrouted", 18: "keepalived",
	42: "babel", 99: "openr", 186: "bgp", 187: "isis", 188: "ospf",
	189: "rip", 192: "eigrp",
}

// CheckProtocol returns nil when p may own routes, or an error naming the
// writer p belongs to: the kernel (2), iproute2's default (boot, 3),
// static configuration (4), a routing daemon (zebra, bird, bgp, …) or
// unspec (0).
func CheckProtocol(p rtnl.Protocol) error {
	if name, ok := othersProtocols[p]; ok {
		return fmt.Errorf("protocol %d (%s) belongs to another writer: owning it would delete their routes; use a number of its own, such as %d", p, name, rtnl.DefaultProtocol)
	}
	return nil
}

// Protocols returns the route protocols a pass of d owns when its
// Options.Protocol is own (0 meaning rtnl.DefaultProtocol): own first,
// then every other Protocol a route of d overrides it with, once each, in
// the order of the routes. The pass lists the routes of each, and deletes
// those it does not desire, so two scopes sharing a namespace must not
// share any of them. It never fails; it does not check the protocols (see
// CheckProtocol and Validate).
func (d Desired) Protocols(own rtnl.Protocol) []rtnl.Protocol {
	if own == 0 {
		own = rtnl.DefaultProtocol
	}
	protos := []rtnl.Protocol{own}
	for i := range d.Routes {
		if p := d.Routes[i].Protocol; p != 0 && !slices.Contains(protos, p) {
			protos = append(protos, p)
		}
	}
	return protos
}
