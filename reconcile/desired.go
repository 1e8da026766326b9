package reconcile

import (
	"fmt"
	"net"
	"net/netip"

	"github.com/linx-net/linx/rtnl"
)

// Desired is the state a pass converges a namespace onto, authored by
// interface name: indices are resolved on every pass, so a link that is
// recreated keeps its addresses and routes.
//
// The zero Desired wants nothing; a pass with it deletes everything the
// ledger says this scope created before, and touches nothing else.
type Desired struct {
	Links      []Link
	Addresses  []Address
	Routes     []Route
	Neighbours []Neighbour
	Rules      []Rule
	// Nexthops are nexthop objects and groups, which routes name by id
	// (Route.Nexthop). They are owned by protocol, as routes are (see
	// Nexthop).
	Nexthops []Nexthop
}

// Link is a desired interface.
//
// With a Kind, the link is created when missing (and owned). A link of
// that name that this scope did not create (not in its ledger) is another
// writer's: the desired link is a conflict and the link is left untouched,
// as are the addresses, neighbours and routes desired on it and the links
// desired as its ports, unless Adopt is set and the link is of the desired
// kind. With no Kind, the link must already exist (a NIC, or one made by
// someone else) and only its MTU, MAC, master and up or down state are
// converged; it is never deleted.
type Link struct {
	// Name is the interface name (at most 15 bytes).
	Name string
	// Kind is the link kind to create: "veth", "bridge", "macvlan",
	// "macvtap", "ipvlan", "vlan", "vxlan", "dummy" or "ifb"; "" for an
	// existing link that is only configured.
	Kind string
	// Parent names the lower device of a macvlan, macvtap, ipvlan or vlan
	// (required) or of a vxlan (optional).
	Parent string
	// Master names the bridge to enslave the link to; "" leaves the
	// master alone.
	Master string
	// MTU in bytes; 0 leaves it alone.
	MTU int
	// MAC is the hardware address; nil leaves it alone.
	MAC net.HardwareAddr
	// State is the administrative state to converge the link onto: up,
	// down, or (LinkStateAny, the zero value) left as it is.
	State LinkState
	// Data holds the kind's settings: rtnl.Macvlan, rtnl.IPVlan, rtnl.VLAN,
	// rtnl.Vxlan or rtnl.Veth (whose Peer names the other end, created with
	// it). Nil uses the kind's defaults.
	Data rtnl.LinkData
	// Adopt lets the link configure a link of its name and Kind that
	// another writer created: its MTU, MAC, master and state are converged
	// and what is desired on it is applied, but it is never deleted or
	// recreated (it does not become owned). A link of another kind stays a
	// conflict. False (the default) leaves another writer's link alone.
	// Without a Kind it changes nothing: such a link always configures the
	// existing one.
	Adopt bool
}

// LinkState is the administrative state desired of a link (IFF_UP, what
// `ip link set dev NAME up|down` sets). The zero value, LinkStateAny,
// leaves the link up or down as it is.
type LinkState uint8

// Link states.
const (
	// LinkStateAny leaves the link's state alone: a link someone else
	// brought up or down stays so. A link created with it stays down, as
	// the kernel creates it.
	LinkStateAny LinkState = iota
	// LinkStateUp brings the link up, and up again whenever it is found
	// down.
	LinkStateUp
	// LinkStateDown takes the link down, and down again whenever it is
	// found up; a link created with it stays down.
	LinkStateDown
)

// String returns "any", "up" or "down"; "LinkState(N)" for a value out of
// range.
func (s LinkState) String() string {
	switch s {
	case LinkStateAny:
		return "any"
	case LinkStateUp:
		return "up"
	case LinkStateDown:
		return "down"
	}
	return fmt.Sprintf("LinkState(%d)", uint8(s))
}

// Address is a desired IP address on an interface.
type Address struct {
	// Link names the interface.
	Link string
	// Prefix is the address with its prefix length, as 10.0.0.2/24.
	Prefix netip.Prefix
}

// Route is a desired route.
type Route struct {
	// Dst is the destination; 0.0.0.0/0 or ::/0 for a default route.
	Dst netip.Prefix
	// Via is the gateway; invalid for a route straight out of Dev.
	Via netip.Addr
	// Dev names the outgoing interface; "" lets the kernel choose it from
	// Via (which must then be reachable).
	Dev string
	// Table is the routing table; 0 means main (254).
	Table uint32
	// Metric is the route's priority.
	Metric uint32
	// Protocol overrides the pass's ownership protocol for this route; 0
	// uses Options.Protocol. The pass then owns that protocol too: every
	// route of it in the namespace that is not desired is deleted, as for
	// the pass's own. Another writer's protocol (kernel, boot, static, a
	// routing daemon's; see CheckProtocol) is refused.
	Protocol rtnl.Protocol
	// Type is the route type; 0 means unicast. Blackhole, unreachable and
	// prohibit routes take no Via or Dev.
	Type rtnl.RouteType
	// Src is the preferred source address; optional.
	Src netip.Addr
	// From is the source prefix of an IPv6 source-specific route (`ip -6
	// route add DST from PREFIX`): routes to one destination from
	// different sources are different routes. Invalid (unset) for none;
	// IPv4 routes take none.
	From netip.Prefix
	// NextHops makes the route multipath (RTA_MULTIPATH): the kernel
	// spreads flows over the paths by weight. Via and Dev are then unset.
	NextHops []NextHop
	// Nexthop routes through the nexthop object of that id, which
	// Desired.Nexthops must hold; Via, Dev and NextHops are then unset. 0
	// for none.
	Nexthop uint32
}

// NextHop is one path of a multipath route.
type NextHop struct {
	// Via is the path's gateway; invalid for a path straight out of Dev.
	Via netip.Addr
	// Dev names the path's outgoing interface; "" lets the kernel choose
	// it from Via.
	Dev string
	// Weight is the path's share, 1 to 256; 0 means 1.
	Weight int
}

// Nexthop is a desired nexthop object (`ip nexthop`): a gateway and
// device, a device alone, a blackhole, or a group of other desired
// nexthops. Routes name it by ID, so changing it moves every route
// through it in one message: a group whose members change is replaced in
// place, and the routes are not touched.
//
// Nexthops are owned by protocol, as routes are: a pass creates them
// with its protocol, deletes those of its protocol that are not desired,
// and never changes or deletes one of another protocol. A desired id
// held by another writer's nexthop is a conflict and left alone; so is
// deleting a nexthop of the scope that another writer's route or group
// still uses, since the kernel would delete that route or shrink that
// group with it.
type Nexthop struct {
	// ID is the nexthop's id, 1 to 2^32-1.
	ID uint32
	// Via is the gateway of a single nexthop.
	Via netip.Addr
	// Dev names the interface of a single nexthop; required without Via.
	Dev string
	// Blackhole makes a nexthop that drops packets; it takes no Via or
	// Dev.
	Blackhole bool
	// Group lists the members of a group: the ids of single nexthops
	// desired here, with their weights (0 means 1). Nil for a single
	// nexthop.
	Group []rtnl.NexthopMember
	// Type is the group's type: multipath (the zero value) or resilient.
	Type rtnl.NexthopGroupType
	// Resilient holds a resilient group's bucket settings; the zero value
	// of each field leaves it to the kernel.
	Resilient rtnl.Resilient
}

// Neighbour is a desired static ARP or NDP entry.
type Neighbour struct {
	// Link names the interface.
	Link string
	// IP is the neighbour's address.
	IP netip.Addr
	// MAC is its hardware address.
	MAC net.HardwareAddr
}

// Rule is a desired policy-routing rule; see rtnl.Rule for the fields.
// Table is required; a Priority of 0 is refused, since the kernel would
// choose one and the rule could then not be found again by its key. Its
// Protocol is not used: the pass writes Options.Protocol on every rule it
// creates, which marks the rule as the scope's.
type Rule = rtnl.Rule

// DefaultDst returns the default route's destination (0.0.0.0/0 or ::/0)
// of family f, the form both encodings of desired state write as
// "default". With FamilyAll the family is via's when it is set, else
// src's, else IPv4.
func DefaultDst(f rtnl.Family, via, src netip.Addr) netip.Prefix {
	if f == rtnl.FamilyV6 || f == rtnl.FamilyAll && (via.Is6() || !via.IsValid() && src.Is6()) {
		return netip.PrefixFrom(netip.IPv6Unspecified(), 0)
	}
	return netip.PrefixFrom(netip.IPv4Unspecified(), 0)
}
