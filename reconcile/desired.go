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
