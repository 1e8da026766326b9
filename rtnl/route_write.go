package rtnl

import (
	"encoding/binary"
	"net/netip"

	"golang.org/x/sys/unix"
)

// RouteAdd installs r. It is strict: a route with the same key (table,
// destination, TOS, metric) fails with EEXIST. It fails with an *Error; the
// kernel's extended-ack text (such as `Nexthop has invalid gateway`) is
// kept in Message, after the route.
//
// The zero values of Route mean, when a route is sent to the kernel:
//
//   - Table 0 is the main table (254). Any uint32 is accepted: the id
//     always rides RTA_TABLE, so tables above 255 work.
//   - Protocol 0 is sent as ProtocolStatic ("installed by an
//     administrator", as `ip route add proto static`) when adding or
//     replacing, never silently as boot (iproute2's default, which some
//     daemons flush). When deleting, Protocol 0 matches a route of any
//     protocol.
//   - Type 0 is unicast when adding; when deleting it matches any type.
//   - Scope 0 (global) on a unicast route with no gateway and an OIF is
//     sent as link scope, as `ip route add 10.0.0.0/24 dev eth0` does; a
//     local route gets host scope. When deleting, the scope is not matched.
//   - Metric 0 is the kernel's default priority (0 for IPv4, 1024 for
//     IPv6); when deleting, 0 matches the first route of the key.
//   - NHID 0 is no nexthop object. A non-zero NHID is sent alone: Gateway,
//     OIF, NextHops and the onlink flag, which the kernel reports from the
//     object, are not sent.
//   - SrcPrefix unset is any source; set, it is sent with its length
//     (IPv6 source routing: the kernel refuses it for IPv4).
//
// RouteAdd, RouteReplace and RouteDelete refuse before anything is sent,
// with EINVAL naming the field, a Dst that is not set, a Gateway, Src,
// SrcPrefix or next-hop gateway of another family than Dst, a SrcPrefix
// with a prefix length out of range, a TOS on an IPv6 route and
// a next-hop weight outside 1-256.
func (s *Socket) RouteAdd(r Route) error {
	return s.routeVerb("route add", unix.RTM_NEWROUTE, flagsCreate, r)
}

// RouteReplace installs r or, when a route with the same key exists,
// overwrites it in place (a new gateway, interface or protocol). It is
// idempotent. Note that the kernel matches the key without the protocol,
// so it overwrites a route another daemon installed. Failures are as
// RouteAdd's, without EEXIST.
func (s *Socket) RouteReplace(r Route) error {
	return s.routeVerb("route replace", unix.RTM_NEWROUTE, flagsReplace, r)
}

// RouteDelete removes the route r describes: Dst, SrcPrefix and Table
// select it, and each of Gateway, OIF, Metric, Protocol, Type and Src
// narrows the match when set; a non-zero NHID narrows it to routes through
// that nexthop object, in place of Gateway and OIF. A route that does not exist (already deleted included)
// fails with ESRCH: callers that converge state treat IsNotExist as
// success.
func (s *Socket) RouteDelete(r Route) error {
	return s.routeVerb("route delete", unix.RTM_DELROUTE, flagsModify, r)
}

// DefaultRouteAdd installs a default route (0.0.0.0/0 or ::/0, from the
// gateway's family) via gw in the main table. An existing default route
// with the same metric fails with EEXIST; an unreachable gateway fails with
// ENETUNREACH.
func (s *Socket) DefaultRouteAdd(gw netip.Addr) error {
	const op = "route add"
	if !gw.IsValid() {
		return invalid(op, "default route gateway is not set")
	}
	return s.RouteAdd(defaultVia(gw))
}

// DefaultRouteDelete removes the default route via gw from the main
// table. With none it fails with ESRCH.
func (s *Socket) DefaultRouteDelete(gw netip.Addr) error {
	const op = "route delete"
	if !gw.IsValid() {
		return invalid(op, "default route gateway is not set")
	}
	return s.RouteDelete(defaultVia(gw))
}

func defaultVia(gw netip.Addr) Route {
	gw = gw.Unmap()
	dst := netip.PrefixFrom(netip.IPv4Unspecified(), 0)
	if gw.Is6() {
		dst = netip.PrefixFrom(netip.IPv6Unspecified(), 0)
	}
	return Route{Dst: dst, Gateway: gw}
}

func (s *Socket) routeVerb(op string, typ, flags uint16, r Route) error {
	var e encoder
	if err := encodeRoute(&e, op, typ, flags, &r); err != nil {
		return err
	}
	return withContext(s.request(op, e.message(), nil), op, r.String())
}

// checkRoute refuses a route the kernel would misread or refuse vaguely.
func checkRoute(op string, r *Route) error {
	if err := checkPrefix(op, "route destination", r.Dst); err != nil {
		return err
	}
	dst := r.Dst.Addr()
	if dst.Is4In6() {
		return invalid(op, "route destination %s is an IPv4-mapped IPv6 prefix; use the IPv4 prefix", r.Dst)
	}
	v4 := dst.Is4()
	same := func(what string, a netip.Addr) error {
		if a.IsValid() && a.Unmap().Is4() != v4 {
			return invalid(op, "route to %s: %s %s is of another family than the destination", r.Dst, what, a)
		}
		return nil
	}
	if err := same("gateway", r.Gateway); err != nil {
		return err
	}
	if err := same("source", r.Src); err != nil {
		return err
	}
	for _, nh := range r.NextHops {
		if err := same("next-hop gateway", nh.Gateway); err != nil {
			return err
		}
		if nh.Weight < 0 || nh.Weight > 256 {
			return invalid(op, "route to %s: next-hop weight %d out of range 1-256", r.Dst, nh.Weight)
		}
	}
	if r.SrcPrefix != (netip.Prefix{}) {
		if err := checkPrefix(op, "route source prefix", r.SrcPrefix); err != nil {
			return err
		}
		if r.SrcPrefix.Addr().Unmap().Is4() != v4 {
			return invalid(op, "route to %s: source prefix %s is of another family than the destination", r.Dst, r.SrcPrefix)
		}
	}
	if !v4 && r.TOS != 0 {
		return invalid(op, "route to %s: TOS is for IPv4 routes only", r.Dst)
	}
	if r.OIF < 0 {
		return invalid(op, "route to %s: OIF %d is negative", r.Dst, r.OIF)
	}
	return nil
}

// encodeRoute appends an RTM_NEWROUTE or RTM_DELROUTE request for r,
// without allocating beyond the encoder's buffer.
func encodeRoute(e *encoder, op string, typ, flags uint16, r *Route) error {
	if err := checkRoute(op, r); err != nil {
		return err
	}
	dst := r.Dst.Addr()
	del := typ == unix.RTM_DELROUTE
	table := r.Table
	if table == 0 {
		table = TableMain
	}
	hdrTable := uint8(unix.RT_TABLE_COMPAT)
	if table < 256 {
		hdrTable = uint8(table)
	}
	proto, rtype, scope := r.Protocol, r.Type, r.Scope
	if !del {
		if proto == 0 {
			proto = ProtocolStatic
		}
		if rtype == 0 {
			rtype = RouteTypeUnicast
		}
		if scope == ScopeUniverse && len(r.NextHops) == 0 && !r.Gateway.IsValid() && r.NHID == 0 {
			switch {
			case rtype == RouteTypeLocal:
				scope = ScopeHost
			case rtype == RouteTypeUnicast && r.OIF != 0:
				scope = ScopeLink
			}
		}
	} else {
		scope = ScopeNowhere // match any scope, as `ip route del` does
	}
	var srcLen uint8
	if r.SrcPrefix.IsValid() {
		srcLen = uint8(r.SrcPrefix.Bits())
	}
	// A route through a nexthop object is sent with its id alone: the
	// kernel refuses a gateway, interface or paths beside RTA_NH_ID, and
	// the onlink flag belongs to the object.
	nhObject := r.NHID != 0
	rflags := r.Flags & unix.RTNH_F_ONLINK
	if nhObject {
		rflags = 0
	}
	e.begin(typ, flags)
	e.b = append(e.b, uint8(familyOf(dst)), uint8(r.Dst.Bits()), srcLen, r.TOS,
		hdrTable, uint8(proto), uint8(scope), uint8(rtype))
	e.b = binary.NativeEndian.AppendUint32(e.b, rflags)
	e.u32(unix.RTA_TABLE, table)
	e.addr(unix.RTA_DST, dst)
	if r.SrcPrefix.IsValid() {
		e.addr(unix.RTA_SRC, r.SrcPrefix.Addr().Unmap())
	}
	if nhObject {
		e.u32(rtaNHID, r.NHID)
	}
	if r.Gateway.IsValid() && !nhObject {
		e.addr(unix.RTA_GATEWAY, r.Gateway.Unmap())
	}
	if r.Src.IsValid() {
		e.addr(unix.RTA_PREFSRC, r.Src.Unmap())
	}
	if r.OIF != 0 && !nhObject {
		e.u32(unix.RTA_OIF, uint32(r.OIF))
	}
	if r.Metric != 0 {
		e.u32(unix.RTA_PRIORITY, r.Metric)
	}
	if len(r.NextHops) > 0 && !nhObject {
		// RTA_MULTIPATH is a run of rtnexthop, not attributes: no
		// NLA_F_NESTED, as iproute2 sends it.
		mp := len(e.b)
		e.b = binary.NativeEndian.AppendUint16(e.b, 0)
		e.b = binary.NativeEndian.AppendUint16(e.b, unix.RTA_MULTIPATH)
		for _, nh := range r.NextHops {
			at := len(e.b)
			w := nh.Weight
			if w == 0 {
				w = 1
			}
			// struct rtnexthop: len, flags, hops (weight-1), ifindex.
			e.b = binary.NativeEndian.AppendUint16(e.b, 0)
			e.b = append(e.b, 0, uint8(w-1))
			e.b = binary.NativeEndian.AppendUint32(e.b, uint32(nh.OIF))
			if nh.Gateway.IsValid() {
				e.addr(unix.RTA_GATEWAY, nh.Gateway.Unmap())
			}
			binary.NativeEndian.PutUint16(e.b[at:], uint16(len(e.b)-at))
		}
		binary.NativeEndian.PutUint16(e.b[mp:], uint16(len(e.b)-mp))
	}
	e.end()
	return nil
}
