package rtnl

import (
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Family is an address family: FamilyV4 (AF_INET), FamilyV6 (AF_INET6), or
// FamilyAll (AF_UNSPEC, both) where a verb accepts either.
type Family uint8

// Address families.
const (
	FamilyAll Family = unix.AF_UNSPEC
	FamilyV4  Family = unix.AF_INET
	FamilyV6  Family = unix.AF_INET6
)

// String returns "inet", "inet6", "all", or the number.
func (f Family) String() string {
	switch f {
	case FamilyV4:
		return "inet"
	case FamilyV6:
		return "inet6"
	case FamilyAll:
		return "all"
	}
	return strconv.Itoa(int(f))
}

// Protocol is a route's (or rule's) rtm_protocol: who installed it. Linx
// owns routes by protocol; DefaultProtocol (76) is its own.
type Protocol uint8

// Well-known protocols (include/uapi/linux/rtnetlink.h).
const (
	ProtocolUnspec   Protocol = unix.RTPROT_UNSPEC
	ProtocolRedirect Protocol = unix.RTPROT_REDIRECT
	ProtocolKernel   Protocol = unix.RTPROT_KERNEL
	ProtocolBoot     Protocol = unix.RTPROT_BOOT
	ProtocolStatic   Protocol = unix.RTPROT_STATIC
	ProtocolRA       Protocol = unix.RTPROT_RA
	ProtocolDHCP     Protocol = unix.RTPROT_DHCP
	// DefaultProtocol is the protocol Linx tags its routes with unless told
	// otherwise. 76 is unassigned in /etc/iproute2/rt_protos.
	DefaultProtocol Protocol = 76
)

var protocolNames = map[Protocol]string{
	ProtocolUnspec: "unspec", ProtocolRedirect: "redirect", ProtocolKernel: "kernel",
	ProtocolBoot: "boot", ProtocolStatic: "static", ProtocolRA: "ra", ProtocolDHCP: "dhcp",
}

// String returns the protocol's iproute2 name, or its number.
func (p Protocol) String() string {
	if n, ok := protocolNames[p]; ok {
		return n
	}
	return strconv.Itoa(int(p))
}

// ParseFamily parses a family as iproute2 names it, "inet" or "inet6"
// (also "ipv4", "ipv6", "4" or "6", in any case). Anything else, the
// empty string included, yields FamilyAll and an error quoting s.
func ParseFamily(s string) (Family, error) {
	switch strings.ToLower(s) {
	case "inet", "ipv4", "4":
		return FamilyV4, nil
	case "inet6", "ipv6", "6":
		return FamilyV6, nil
	}
	return FamilyAll, fmt.Errorf("rtnl: ParseFamily(%q): want inet or inet6", s)
}

// ParseProtocol parses a protocol name (kernel, boot, static, ra, dhcp,
// redirect, unspec) or a number from 0 to 255. Anything else yields 0 and
// an error quoting s.
func ParseProtocol(s string) (Protocol, error) {
	for p, n := range protocolNames {
		if n == s {
			return p, nil
		}
	}
	n, err := strconv.ParseUint(s, 0, 8)
	if err != nil {
		return 0, fmt.Errorf("rtnl: ParseProtocol(%q): want kernel, boot, static, ra, dhcp or 0-255", s)
	}
	return Protocol(n), nil
}

// MarshalText implements encoding.TextMarshaler.
func (p Protocol) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler with ParseProtocol.
func (p *Protocol) UnmarshalText(b []byte) error {
	v, err := ParseProtocol(string(b))
	if err == nil {
		*p = v
	}
	return err
}

// Scope is a route's or address's scope: how far the destination is.
type Scope uint8

// Scopes (include/uapi/linux/rtnetlink.h).
const (
	ScopeUniverse Scope = unix.RT_SCOPE_UNIVERSE
	ScopeSite     Scope = unix.RT_SCOPE_SITE
	ScopeLink     Scope = unix.RT_SCOPE_LINK
	ScopeHost     Scope = unix.RT_SCOPE_HOST
	ScopeNowhere  Scope = unix.RT_SCOPE_NOWHERE
)

// String returns "global", "site", "link", "host", "nowhere" or the number,
// as iproute2 prints them.
func (s Scope) String() string {
	switch s {
	case ScopeUniverse:
		return "global"
	case ScopeSite:
		return "site"
	case ScopeLink:
		return "link"
	case ScopeHost:
		return "host"
	case ScopeNowhere:
		return "nowhere"
	}
	return strconv.Itoa(int(s))
}

// RouteType is a route's rtm_type.
type RouteType uint8

// Route types (include/uapi/linux/rtnetlink.h).
const (
	RouteTypeUnspec      RouteType = unix.RTN_UNSPEC
	RouteTypeUnicast     RouteType = unix.RTN_UNICAST
	RouteTypeLocal       RouteType = unix.RTN_LOCAL
	RouteTypeBroadcast   RouteType = unix.RTN_BROADCAST
	RouteTypeAnycast     RouteType = unix.RTN_ANYCAST
	RouteTypeMulticast   RouteType = unix.RTN_MULTICAST
	RouteTypeBlackhole   RouteType = unix.RTN_BLACKHOLE
	RouteTypeUnreachable RouteType = unix.RTN_UNREACHABLE
	RouteTypeProhibit    RouteType = unix.RTN_PROHIBIT
	RouteTypeThrow       RouteType = unix.RTN_THROW
	RouteTypeNAT         RouteType = unix.RTN_NAT
)

var routeTypeNames = [...]string{"unspec", "unicast", "local", "broadcast", "anycast",
	"multicast", "blackhole", "unreachable", "prohibit", "throw", "nat"}

// String returns the iproute2 name of the type, or its number.
func (t RouteType) String() string {
	if int(t) < len(routeTypeNames) {
		return routeTypeNames[t]
	}
	return strconv.Itoa(int(t))
}

// ParseRouteType parses a route type name such as "unicast" or "blackhole",
// as RouteType.String prints it. An unknown name yields 0 and an error
// quoting s.
func ParseRouteType(s string) (RouteType, error) {
	for i, n := range routeTypeNames {
		if n == s {
			return RouteType(i), nil
		}
	}
	return 0, fmt.Errorf("rtnl: ParseRouteType(%q): unknown route type", s)
}

// NeighState is a neighbour entry's NUD state bits.
type NeighState uint16

// Neighbour states (include/uapi/linux/neighbour.h).
const (
	NeighIncomplete NeighState = unix.NUD_INCOMPLETE
	NeighReachable  NeighState = unix.NUD_REACHABLE
	NeighStale      NeighState = unix.NUD_STALE
	NeighDelay      NeighState = unix.NUD_DELAY
	NeighProbe      NeighState = unix.NUD_PROBE
	NeighFailed     NeighState = unix.NUD_FAILED
	NeighNoARP      NeighState = unix.NUD_NOARP
	NeighPermanent  NeighState = unix.NUD_PERMANENT
	NeighNone       NeighState = unix.NUD_NONE
)

var neighStateNames = []struct {
	s NeighState
	n string
}{
	{NeighIncomplete, "INCOMPLETE"}, {NeighReachable, "REACHABLE"}, {NeighStale, "STALE"},
	{NeighDelay, "DELAY"}, {NeighProbe, "PROBE"}, {NeighFailed, "FAILED"},
	{NeighNoARP, "NOARP"}, {NeighPermanent, "PERMANENT"},
}

// String returns the state names as iproute2 prints them ("PERMANENT",
// "REACHABLE", "STALE|…"), or "NONE".
func (s NeighState) String() string {
	out := ""
	for _, e := range neighStateNames {
		if s&e.s != 0 {
			if out != "" {
				out += "|"
			}
			out += e.n
		}
	}
	if out == "" {
		return "NONE"
	}
	return out
}

// ParseNeighState parses one state name, case-insensitively ("permanent",
// "reachable", "stale", "noarp", …). An unknown name yields 0 and an error
// quoting s.
func ParseNeighState(s string) (NeighState, error) {
	for _, e := range neighStateNames {
		if strings.EqualFold(e.n, s) {
			return e.s, nil
		}
	}
	return 0, fmt.Errorf("rtnl: ParseNeighState(%q): unknown neighbour state", s)
}

// OperState is a link's RFC 2863 operational state (IFLA_OPERSTATE).
type OperState uint8

// Operational states.
const (
	OperUnknown        OperState = 0
	OperNotPresent     OperState = 1
	OperDown           OperState = 2
	OperLowerLayerDown OperState = 3
	OperTesting        OperState = 4
	OperDormant        OperState = 5
	OperUp             OperState = 6
)

var operStateNames = [...]string{"UNKNOWN", "NOTPRESENT", "DOWN", "LOWERLAYERDOWN", "TESTING", "DORMANT", "UP"}

// String returns the state as iproute2 prints it ("UP", "DOWN", …).
func (o OperState) String() string {
	if int(o) < len(operStateNames) {
		return operStateNames[o]
	}
	return strconv.Itoa(int(o))
}
