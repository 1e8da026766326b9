package rtnl

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"golang.org/x/sys/unix"
)

// Well-known routing tables.
const (
	TableUnspec  uint32 = unix.RT_TABLE_UNSPEC
	TableDefault uint32 = unix.RT_TABLE_DEFAULT // 253
	TableMain    uint32 = unix.RT_TABLE_MAIN    // 254
	TableLocal   uint32 = unix.RT_TABLE_LOCAL   // 255
)

// Route is an entry of a routing table (RTM_NEWROUTE), and the description
// of one to install.
type Route struct {
	// Dst is the destination prefix. A default route is 0.0.0.0/0 or ::/0;
	// Dst also gives the route's family.
	Dst netip.Prefix
	// Src is the preferred source address (RTA_PREFSRC); invalid for none.
	Src netip.Addr
	// Gateway is the next hop (RTA_GATEWAY); invalid for a directly
	// connected route.
	Gateway netip.Addr
	// OIF is the index of the outgoing interface; 0 for none.
	OIF int
	// Table is the routing table id, any uint32 (254 is main). Zero means
	// main when installing.
	Table uint32
	// Protocol says who installed the route; Linx owns routes by it.
	Protocol Protocol
	// Metric is the route's priority (RTA_PRIORITY); lower wins.
	Metric uint32
	// Type is the route type; zero means unicast when installing.
	Type RouteType
	// Scope is the route's scope. When installing, a zero (global) scope on
	// a route with no gateway and an interface is sent as link scope, as
	// `ip route add` does.
	Scope Scope
	// TOS is the type-of-service selector (IPv4 only).
	TOS uint8
	// Flags are the RTNH_F_* / RTM_F_* flags the kernel reports (onlink,
	// linkdown, …).
	Flags uint32
	// NextHops are the paths of a multipath route (RTA_MULTIPATH); nil for
	// a single-path route, whose next hop is Gateway and OIF.
	NextHops []NextHop
	// NHID is the id of the nexthop object the route uses (RTA_NH_ID, `ip
	// route add … nhid 5`); 0 for none. The kernel reports the object's
	// gateway and interface (or paths) with it, in Gateway, OIF and
	// NextHops; when sending, a non-zero NHID is sent alone, without them.
	NHID uint32
	// SrcPrefix is the source prefix the route applies to (RTA_SRC with
	// rtm_src_len, `ip -6 route add … from fd00::/64`; IPv6 only); the zero
	// Prefix for any source. The kernel keys an IPv6 route by Dst and
	// SrcPrefix both.
	SrcPrefix netip.Prefix
}

// NextHop is one path of a multipath route.
type NextHop struct {
	Gateway netip.Addr
	OIF     int
	// Weight is the path's relative weight, 1 to 256 (rtnh_hops + 1).
	Weight int
}

// Family returns FamilyV4 or FamilyV6, from Dst.
func (r Route) Family() Family { return familyOf(r.Dst.Addr()) }

// IsDefault reports whether the route's destination is 0.0.0.0/0 or ::/0.
func (r Route) IsDefault() bool { return r.Dst.IsValid() && r.Dst.Bits() == 0 }

// String returns `Route<default via 192.168.1.1 oif=2>` or
// `Route<192.168.1.0/24 oif=2>`; a source prefix (`from fd00::/64`), a
// nexthop object (`nhid=5`), a table other than main, a metric, a
// protocol other than kernel/boot and a type other than unicast are added.
func (r Route) String() string {
	var b strings.Builder
	b.WriteString("Route<")
	if r.Type != RouteTypeUnicast && r.Type != RouteTypeUnspec {
		b.WriteString(r.Type.String())
		b.WriteByte(' ')
	}
	if r.IsDefault() {
		b.WriteString("default")
	} else {
		b.WriteString(r.Dst.String())
	}
	if r.SrcPrefix.IsValid() {
		b.WriteString(" from ")
		b.WriteString(r.SrcPrefix.String())
	}
	if r.NHID != 0 {
		fmt.Fprintf(&b, " nhid=%d", r.NHID)
	}
	if r.Gateway.IsValid() {
		b.WriteString(" via ")
		b.WriteString(r.Gateway.String())
	}
	if r.OIF != 0 {
		fmt.Fprintf(&b, " oif=%d", r.OIF)
	}
	for _, nh := range r.NextHops {
		fmt.Fprintf(&b, " nexthop(via %s oif=%d weight=%d)", nh.Gateway, nh.OIF, nh.Weight)
	}
	if r.Table != TableMain && r.Table != TableUnspec {
		fmt.Fprintf(&b, " table=%d", r.Table)
	}
	if r.Metric != 0 {
		fmt.Fprintf(&b, " metric=%d", r.Metric)
	}
	switch r.Protocol {
	case ProtocolKernel, ProtocolBoot, ProtocolUnspec:
	default:
		fmt.Fprintf(&b, " proto=%s", r.Protocol)
	}
	b.WriteByte('>')
	return b.String()
}

const sizeofRtmsg = 12

// rtaNHID is RTA_NH_ID (include/uapi/linux/rtnetlink.h, Linux 5.3), the id
// of a route's nexthop object; golang.org/x/sys/unix does not name it.
const rtaNHID = 30

// rtmsg is struct rtmsg.
type rtmsg struct {
	Family   uint8
	DstLen   uint8
	SrcLen   uint8
	TOS      uint8
	Table    uint8
	Protocol uint8
	Scope    uint8
	Type     uint8
	Flags    uint32
}

func (m rtmsg) bytes() []byte {
	b := make([]byte, sizeofRtmsg)
	b[0], b[1], b[2], b[3] = m.Family, m.DstLen, m.SrcLen, m.TOS
	b[4], b[5], b[6], b[7] = m.Table, m.Protocol, m.Scope, m.Type
	binary.NativeEndian.PutUint32(b[8:], m.Flags)
	return b
}

// decodeRoute decodes an RTM_NEWROUTE/RTM_DELROUTE payload into r. It
// reports false for a family other than IPv4 and IPv6 (multicast routing
// tables), which callers skip.
func decodeRoute(b []byte, r *Route) (bool, error) {
	*r = Route{}
	return decodeRouteZeroed(b, r)
}

// decodeRouteZeroed is decodeRoute into an r that is the zero Route
// already, such as a slot of a fresh slice: it writes only the fields the
// message sets. A listing of 100,000 routes is bound by writing its 17 MB
// of Routes; rewriting each whole, zeros included, costs a fifth of the
// decoding again.
func decodeRouteZeroed(b []byte, r *Route) (bool, error) {
	if len(b) < sizeofRtmsg {
		return false, fmt.Errorf("rtmsg: %d bytes, want %d", len(b), sizeofRtmsg)
	}
	family := b[0]
	if family != unix.AF_INET && family != unix.AF_INET6 {
		return false, nil
	}
	r.TOS = b[3]
	r.Table = uint32(b[4])
	r.Protocol = Protocol(b[5])
	r.Scope = Scope(b[6])
	r.Type = RouteType(b[7])
	r.Flags = binary.NativeEndian.Uint32(b[8:12])
	var dst, src netip.Addr
	// attrDecoder.Next, written out: too large to be inlined, it cost a
	// third of the decoding, called for every attribute of a listing. The
	// getters still record the first malformed value.
	var ad attrDecoder
	for rest := b[sizeofRtmsg:]; len(rest) >= unix.SizeofRtAttr && ad.err == nil; {
		l := int(binary.NativeEndian.Uint16(rest))
		if l < unix.SizeofRtAttr || l > len(rest) {
			return false, fmt.Errorf("route: attribute length %d out of range (%d bytes left)", l, len(rest))
		}
		ad.typ = binary.NativeEndian.Uint16(rest[2:]) &^ (unix.NLA_F_NESTED | unix.NLA_F_NET_BYTEORDER)
		ad.data = rest[unix.SizeofRtAttr:l]
		rest = rest[min(rtaAlign(l), len(rest)):]
		switch ad.typ {
		case unix.RTA_DST:
			dst = ad.Addr()
		case unix.RTA_SRC:
			src = ad.Addr()
		case rtaNHID:
			r.NHID = ad.Uint32()
		case unix.RTA_GATEWAY:
			r.Gateway = ad.Addr()
		case unix.RTA_PREFSRC:
			r.Src = ad.Addr()
		case unix.RTA_OIF:
			r.OIF = int(ad.Uint32())
		case unix.RTA_PRIORITY:
			r.Metric = ad.Uint32()
		case unix.RTA_TABLE:
			r.Table = ad.Uint32()
		case unix.RTA_MULTIPATH:
			nh, err := decodeMultipath(ad.Bytes(), family)
			if err != nil {
				return false, err
			}
			r.NextHops = nh
		}
	}
	if err := ad.Err(); err != nil {
		return false, fmt.Errorf("route: %w", err)
	}
	if !dst.IsValid() {
		if family == unix.AF_INET {
			dst = netip.IPv4Unspecified()
		} else {
			dst = netip.IPv6Unspecified()
		}
	}
	bits := int(b[1])
	if bits > dst.BitLen() {
		return false, fmt.Errorf("route: prefix length %d for %s", bits, dst)
	}
	r.Dst = netip.PrefixFrom(dst, bits)
	if src.IsValid() {
		srcBits := int(b[2])
		if srcBits > src.BitLen() {
			return false, fmt.Errorf("route: source prefix length %d for %s", srcBits, src)
		}
		r.SrcPrefix = netip.PrefixFrom(src, srcBits)
	}
	return true, nil
}

// decodeMultipath decodes RTA_MULTIPATH: a run of struct rtnexthop, each
// followed by its own attributes.
func decodeMultipath(b []byte, family uint8) ([]NextHop, error) {
	var out []NextHop
	for len(b) >= 8 {
		l := int(binary.NativeEndian.Uint16(b[0:2]))
		if l < 8 || l > len(b) {
			return nil, fmt.Errorf("route: rtnexthop length %d out of range", l)
		}
		nh := NextHop{Weight: int(b[3]) + 1, OIF: int(binary.NativeEndian.Uint32(b[4:8]))}
		ad := newAttrDecoder(b[8:l])
		for ad.Next() {
			if ad.Type() == unix.RTA_GATEWAY {
				nh.Gateway = ad.Addr()
			}
		}
		if err := ad.Err(); err != nil {
			return nil, fmt.Errorf("route nexthop: %w", err)
		}
		out = append(out, nh)
		b = b[min(rtaAlign(l), len(b)):]
	}
	return out, nil
}

// RouteFilter selects routes in the kernel, before they are sent (strict
// dump filtering): only the fields that are set filter.
type RouteFilter struct {
	// Family restricts to FamilyV4 or FamilyV6; FamilyAll lists both.
	Family Family
	// Table restricts to one table; 0 lists every table.
	Table uint32
	// Protocol restricts to routes of one protocol; 0 lists all.
	Protocol Protocol
	// OIF restricts to routes through one interface index; 0 lists all.
	// The kernel counts a multipath route whose paths use the interface.
	OIF int
	// Type restricts to routes of one type (unicast, local, blackhole…);
	// 0 lists all.
	Type RouteType
	// Root, when valid, keeps the routes whose destination lies within it
	// (`ip route show root P`): as long as or longer than Root, inside
	// it. The kernel cannot filter by destination: this one is applied as
	// the dump is read.
	Root netip.Prefix
	// Match, when valid, keeps the routes whose destination contains it
	// (`ip route show match P`): as long as or shorter than Match, with
	// Match's address inside. Root and Match both set to P keep the route
	// to exactly P. Applied as the dump is read, like Root.
	Match netip.Prefix
}

// Routes returns the routes of every table (ids above 255 included), IPv4
// and IPv6. Cached (cloned) entries are not included. On failure it returns an *Error (see Errors in the package
// documentation) and a nil list.
func (s *Socket) Routes() ([]Route, error) {
	return s.RoutesFiltered(RouteFilter{})
}

// RoutesFiltered returns the routes that match f, filtered by the kernel
// so that the cost is that of the matching routes. A table that does not
// exist yet holds no routes: it yields an empty list, not an error. Other
// failures are as Routes's.
func (s *Socket) RoutesFiltered(f RouteFilter) ([]Route, error) {
	const op = "route list"
	var out []Route
	// A listing is sized from the previous one with the same filter (plus
	// slack for growth): filling fresh memory once is what listing 100,000
	// routes costs beyond the kernel's own time; regrowing costs a third
	// more.
	all := f == RouteFilter{}
	var n int64
	if all {
		n = s.routeHint.Load()
	} else if h := s.filteredHint.Load(); h != nil && h.f == f {
		n = int64(h.n)
	}
	if n > 0 {
		out = make([]Route, 0, n+n/16+16)
	}
	// Every slot past len(out) is the zero Route (slices are made and
	// grown zeroed, and a slot given back is cleared), so that routes are
	// decoded with decodeRouteZeroed.
	reset := func() {
		clear(out)
		out = out[:0]
	}
	err := s.dump(op, routeDumpRequest(f), reset, func(h header, m []byte) error {
		if h.Type != unix.RTM_NEWROUTE {
			return nil
		}
		// Double the capacity when full: append grows large slices by
		// only 1.25x, which copies a 100,000-route table about five times.
		if len(out) == cap(out) {
			out = slices.Grow(out, max(len(out), 64))
		}
		// Decoded in place, not copied in.
		out = out[:len(out)+1]
		r := &out[len(out)-1]
		ok, err := decodeRouteZeroed(m, r)
		if err != nil {
			*r = Route{}
			out = out[:len(out)-1]
			return newError(op, unix.EBADMSG, "decoding: %v", err)
		}
		if !ok || !all && !f.keep(r) {
			*r = Route{}
			out = out[:len(out)-1]
		}
		return nil
	})
	// A table that does not exist yet holds no routes.
	if f.Table != 0 && IsNotExist(err) {
		return out[:0], nil
	}
	if err == nil {
		if all {
			s.routeHint.Store(int64(len(out)))
		} else {
			s.filteredHint.Store(&routeListHint{f: f, n: len(out)})
		}
	}
	if err != nil {
		return nil, err
	}
	return out, nil
}

// routeListHint is the filter and length of a socket's last filtered route
// listing, which sizes the next one with that filter.
type routeListHint struct {
	f RouteFilter
	n int
}

// RouteGet returns the route the kernel would use to reach dst, as
// `ip route get` prints it. With no route it fails with ENETUNREACH:
// `no route to 1.1.1.1`.
func (s *Socket) RouteGet(dst netip.Addr) (Route, error) {
	const op = "route get"
	if !dst.IsValid() {
		return Route{}, invalid(op, "destination address is not set")
	}
	dst = dst.Unmap()
	var e encoder
	e.begin(unix.RTM_GETROUTE, 0)
	e.fixed(rtmsg{Family: uint8(familyOf(dst)), DstLen: uint8(dst.BitLen())}.bytes())
	e.addr(unix.RTA_DST, dst)
	e.end()
	var (
		r  Route
		ok bool
	)
	err := s.request(op, e.message(), func(h header, m []byte) error {
		if h.Type != unix.RTM_NEWROUTE {
			return nil
		}
		var err error
		ok, err = decodeRoute(m, &r)
		return err
	})
	if err != nil {
		return Route{}, withContext(err, op, "no route to "+dst.String())
	}
	if !ok {
		return Route{}, newError(op, unix.ENETUNREACH, "no route to %s", dst)
	}
	return r, nil
}
