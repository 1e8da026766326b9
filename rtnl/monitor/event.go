package monitor

import (
	"encoding/binary"
	"fmt"
	"strings"

	"github.com/linx-net/linx/rtnl"
	"golang.org/x/sys/unix"
)

// Op says what an Event reports. The zero Op is invalid and never appears
// in an event.
type Op uint8

// The ops an Event carries. Each New/Del pair matches one kind of resource;
// ResyncNeeded carries none.
const (
	NewLink Op = iota + 1 // a link was created or changed (RTM_NEWLINK)
	DelLink               // a link was deleted (RTM_DELLINK)
	NewAddress
	DelAddress
	NewRoute
	DelRoute
	NewNeighbour
	DelNeighbour
	NewRule
	DelRule
	// ResyncNeeded says that changes were lost: the kernel dropped
	// notifications (ENOBUFS), the consumer fell behind and queued events
	// were discarded, or a receive failed. The consumer must re-list
	// everything it cares about.
	ResyncNeeded
	// NewNexthop and DelNexthop report nexthop objects (RTM_NEWNEXTHOP,
	// RTM_DELNEXTHOP). Deleting a nexthop deletes the routes that use it
	// without a route notification: the nexthop's is the only hint.
	NewNexthop
	DelNexthop
)

var opNames = [...]string{
	NewLink:      "link",
	DelLink:      "deleted link",
	NewAddress:   "address",
	DelAddress:   "deleted address",
	NewRoute:     "route",
	DelRoute:     "deleted route",
	NewNeighbour: "neigh",
	DelNeighbour: "deleted neigh",
	NewRule:      "rule",
	DelRule:      "deleted rule",
	ResyncNeeded: "resync",
	NewNexthop:   "nexthop",
	DelNexthop:   "deleted nexthop",
}

// String returns the op in the words of `ip monitor`: "link", "address",
// "route", "neigh", "rule", "nexthop", each prefixed by "deleted " for a
// deletion, and
// "resync" for ResyncNeeded. An unknown op prints as "Op(N)".
func (o Op) String() string {
	if int(o) < len(opNames) && opNames[o] != "" {
		return opNames[o]
	}
	return fmt.Sprintf("Op(%d)", uint8(o))
}

// IsDelete reports whether o reports the deletion of a resource.
func (o Op) IsDelete() bool {
	switch o {
	case DelLink, DelAddress, DelRoute, DelNeighbour, DelRule, DelNexthop:
		return true
	}
	return false
}

// Event is one change notification from the kernel, or a ResyncNeeded
// signal. The zero Event is invalid (its Op is 0).
//
// For a New or Del op exactly one of the resource fields is set, decoded by
// the same rtnl codec as the list verbs use, so that it equals the entry a
// re-list returns. A deletion reports the resource as the kernel left it
// at removal, which differs from the last listed entry where the removal
// itself changed it: a deleted veth has lost its peer (ParentIndex 0), and
// a deleted neighbour was first failed (State NeighFailed, no
// HardwareAddr, also reported as a NewNeighbour). If the kernel's message
// could not be decoded, every resource field is nil and Err says why; the
// op is still right, and the event is still a valid hint.
//
// For ResyncNeeded every resource field is nil; Err is nil when the kernel
// dropped notifications or the consumer fell behind, and holds the receive
// error otherwise.
//
// Events are wake-up hints, not deltas: see the package documentation.
type Event struct {
	Op        Op
	Link      *rtnl.Link
	Address   *rtnl.Address
	Route     *rtnl.Route
	Neighbour *rtnl.Neighbour
	Rule      *rtnl.Rule
	Nexthop   *rtnl.Nexthop
	Err       error
}

// Resource returns the event's resource as an rtnl.Link, rtnl.Address,
// rtnl.Route, rtnl.Neighbour, rtnl.Rule or rtnl.Nexthop value, or nil for
// ResyncNeeded and
// for a message that could not be decoded.
func (e Event) Resource() any {
	switch {
	case e.Link != nil:
		return *e.Link
	case e.Address != nil:
		return *e.Address
	case e.Route != nil:
		return *e.Route
	case e.Neighbour != nil:
		return *e.Neighbour
	case e.Rule != nil:
		return *e.Rule
	case e.Nexthop != nil:
		return *e.Nexthop
	}
	return nil
}

// String returns the op followed by the resource, such as
// "deleted address Address<10.0.0.1/24 ifindex=2>", the op and the error
// for an undecodable message, or "resync".
func (e Event) String() string {
	var b strings.Builder
	b.WriteString(e.Op.String())
	if r := e.Resource(); r != nil {
		fmt.Fprintf(&b, " %v", r)
	}
	if e.Err != nil {
		fmt.Fprintf(&b, " (error: %v)", e.Err)
	}
	return b.String()
}

// groups are the rtnetlink multicast groups a Monitor joins: every kind of
// resource Linx manages.
var groups = []int{
	unix.RTNLGRP_LINK,
	unix.RTNLGRP_IPV4_IFADDR,
	unix.RTNLGRP_IPV6_IFADDR,
	unix.RTNLGRP_IPV4_ROUTE,
	unix.RTNLGRP_IPV6_ROUTE,
	unix.RTNLGRP_NEIGH,
	unix.RTNLGRP_IPV4_RULE,
	unix.RTNLGRP_IPV6_RULE,
}

// optionalGroups are joined when the kernel has them: nexthop objects
// (RTNLGRP_NEXTHOP, Linux 5.3+).
var optionalGroups = []int{
	unix.RTNLGRP_NEXTHOP,
}

// decodeEvent turns one notification (message type and payload) into an
// Event. ok is false for messages Linx does not model: other message types,
// bridge port and forwarding-database notifications, multicast routes.
func decodeEvent(typ uint16, payload []byte) (ev Event, ok bool) {
	var err error
	modelled := true
	switch typ {
	case unix.RTM_NEWLINK, unix.RTM_DELLINK:
		ev.Op = pickOp(typ == unix.RTM_DELLINK, NewLink, DelLink)
		// Bridge port notifications (ifi_family AF_BRIDGE) describe a
		// port's bridging state, not the link a list returns.
		if len(payload) > 0 && payload[0] != unix.AF_UNSPEC {
			return Event{}, false
		}
		var l rtnl.Link
		l, err = rtnl.DecodeLink(payload)
		ev.Link = &l
	case unix.RTM_NEWADDR, unix.RTM_DELADDR:
		ev.Op = pickOp(typ == unix.RTM_DELADDR, NewAddress, DelAddress)
		var a rtnl.Address
		a, err = rtnl.DecodeAddress(payload)
		ev.Address = &a
	case unix.RTM_NEWROUTE, unix.RTM_DELROUTE:
		ev.Op = pickOp(typ == unix.RTM_DELROUTE, NewRoute, DelRoute)
		var r rtnl.Route
		r, modelled, err = rtnl.DecodeRoute(payload)
		ev.Route = &r
	case unix.RTM_NEWNEIGH, unix.RTM_DELNEIGH:
		ev.Op = pickOp(typ == unix.RTM_DELNEIGH, NewNeighbour, DelNeighbour)
		var n rtnl.Neighbour
		n, modelled, err = rtnl.DecodeNeighbour(payload)
		ev.Neighbour = &n
	case unix.RTM_NEWRULE, unix.RTM_DELRULE:
		ev.Op = pickOp(typ == unix.RTM_DELRULE, NewRule, DelRule)
		var r rtnl.Rule
		r, modelled, err = rtnl.DecodeRule(payload)
		ev.Rule = &r
	case unix.RTM_NEWNEXTHOP, unix.RTM_DELNEXTHOP:
		ev.Op = pickOp(typ == unix.RTM_DELNEXTHOP, NewNexthop, DelNexthop)
		var n rtnl.Nexthop
		n, err = rtnl.DecodeNexthop(payload)
		ev.Nexthop = &n
	default:
		return Event{}, false
	}
	switch {
	case err != nil:
		// The op is still right: a hint without its resource.
		return Event{Op: ev.Op, Err: fmt.Errorf("decoding %s: %w", ev.Op, err)}, true
	case !modelled:
		return Event{}, false
	}
	return ev, true
}

// pickOp returns del for a deletion notification and add otherwise.
func pickOp(isDel bool, add, del Op) Op {
	if isDel {
		return del
	}
	return add
}

// splitMessages calls fn for every netlink message in one datagram, with
// its type and payload. It stops at the first malformed header; a
// notification datagram from the kernel never has one.
func splitMessages(b []byte, fn func(typ uint16, payload []byte)) {
	for len(b) >= unix.NLMSG_HDRLEN {
		n := int(binary.NativeEndian.Uint32(b[0:4]))
		if n < unix.NLMSG_HDRLEN || n > len(b) {
			return
		}
		fn(binary.NativeEndian.Uint16(b[4:6]), b[unix.NLMSG_HDRLEN:n])
		b = b[min((n+unix.NLMSG_ALIGNTO-1)&^(unix.NLMSG_ALIGNTO-1), len(b)):]
	}
}
