package rtnl

import (
	"net/netip"

	"golang.org/x/sys/unix"
)

// The Each verbs stream a dump: they decode each entry as its datagram
// arrives and hand it to a callback, so that listing a table of a million
// routes costs the memory of one datagram, not of the table. They differ
// from the list verbs (Routes, Addresses, …) in two ways:
//
//  1. The value passed to the callback is reused for the next entry: it is
//     valid only during the call. Copy what must outlive it.
//  2. A dump the kernel flags as interrupted by a concurrent change
//     (NLM_F_DUMP_INTR) cannot be restarted, since its entries have been
//     handed out already. The verb goes on to the end and then fails with
//     EINTR: the listing may have missed or repeated entries that changed
//     while it ran, as `ip` warns "Dump was interrupted and may be
//     inconsistent".
//
// An error returned by the callback stops the dump (the rest is read and
// dropped) and is returned as is.

// MatchesDst reports whether a route to dst passes the destination
// filters of f: within Root and containing Match, each when set.
func (f RouteFilter) MatchesDst(dst netip.Prefix) bool {
	if f.Root.IsValid() {
		if dst.Addr().Is4() != f.Root.Addr().Is4() || dst.Bits() < f.Root.Bits() ||
			!f.Root.Contains(dst.Addr()) {
			return false
		}
	}
	if f.Match.IsValid() {
		if dst.Addr().Is4() != f.Match.Addr().Is4() || dst.Bits() > f.Match.Bits() ||
			!dst.Masked().Contains(f.Match.Addr()) {
			return false
		}
	}
	return true
}

// family returns the family to ask the kernel for: f.Family, or that of
// a destination filter when f.Family is FamilyAll.
func (f RouteFilter) family() Family {
	if f.Family != FamilyAll {
		return f.Family
	}
	for _, p := range []netip.Prefix{f.Root, f.Match} {
		if p.IsValid() {
			return familyOf(p.Addr())
		}
	}
	return FamilyAll
}

// routeDumpRequest returns the RTM_GETROUTE dump request for f: the family,
// protocol and type in the header, the table and interface as attributes,
// all of which the kernel filters on under NETLINK_GET_STRICT_CHK.
func routeDumpRequest(f RouteFilter) []byte {
	var e encoder
	e.begin(unix.RTM_GETROUTE, unix.NLM_F_DUMP)
	e.fixed(rtmsg{Family: uint8(f.family()), Protocol: uint8(f.Protocol), Type: uint8(f.Type)}.bytes())
	if f.Table != 0 {
		e.u32(unix.RTA_TABLE, f.Table)
	}
	if f.OIF != 0 {
		e.u32(unix.RTA_OIF, uint32(f.OIF))
	}
	e.end()
	return e.message()
}

// keep reports whether r, decoded from a dump for f, passes f. The kernel
// filters the header fields already; they are checked again since a
// kernel without strict checking ignores them.
func (f RouteFilter) keep(r *Route) bool {
	switch {
	case f.Family != FamilyAll && r.Family() != f.Family,
		f.Table != 0 && r.Table != f.Table,
		f.Protocol != 0 && r.Protocol != f.Protocol,
		f.Type != 0 && r.Type != f.Type:
		return false
	}
	return f.MatchesDst(r.Dst)
}

// streamDump runs one dump request without restarting it, turning an
// interruption into EINTR after the last entry.
func (s *Socket) streamDump(op string, msg []byte, fn func(h header, payload []byte) error) error {
	err := s.request(op, msg, fn)
	if err == errInterrupted {
		return newError(op, unix.EINTR, "dump interrupted by a concurrent change; the listing may be inconsistent")
	}
	return err
}

// EachRoute calls fn for every route that matches f, as the dump arrives
// (see the Each verbs above). The table, protocol, type, family and
// interface are filtered by the kernel; Root and Match here. A table that
// does not exist yet holds no routes: fn is not called and the result is
// nil. Other failures are as RoutesFiltered's, and fn's own error.
func (s *Socket) EachRoute(f RouteFilter, fn func(*Route) error) error {
	const op = "route list"
	var r Route
	err := s.streamDump(op, routeDumpRequest(f), func(h header, m []byte) error {
		if h.Type != unix.RTM_NEWROUTE {
			return nil
		}
		ok, err := decodeRoute(m, &r)
		if err != nil {
			return newError(op, unix.EBADMSG, "decoding: %v", err)
		}
		if !ok || !f.keep(&r) {
			return nil
		}
		return fn(&r)
	})
	if f.Table != 0 && IsNotExist(err) {
		return nil
	}
	return err
}

// AddressFilter selects addresses in the kernel (strict dump filtering):
// only the fields that are set filter. The zero value selects every
// address.
type AddressFilter struct {
	// Family restricts to FamilyV4 or FamilyV6; FamilyAll lists both.
	Family Family
	// Index restricts to one interface; 0 lists all.
	Index int
}

// EachAddress calls fn for every address that matches f, as the dump
// arrives (see the Each verbs above). Failures are as Addresses's, and
// fn's own error.
func (s *Socket) EachAddress(f AddressFilter, fn func(*Address) error) error {
	const op = "address list"
	var e encoder
	e.begin(unix.RTM_GETADDR, unix.NLM_F_DUMP)
	e.fixed(ifaddrmsg(f.Family, 0, 0, 0, f.Index))
	e.end()
	var a Address
	return s.streamDump(op, e.message(), func(h header, m []byte) error {
		if h.Type != unix.RTM_NEWADDR {
			return nil
		}
		var err error
		if a, err = decodeAddress(m); err != nil {
			return newError(op, unix.EBADMSG, "decoding: %v", err)
		}
		if (f.Index != 0 && a.Index != f.Index) || (f.Family != FamilyAll && a.Family() != f.Family) {
			return nil
		}
		return fn(&a)
	})
}

// NeighbourFilter selects ARP and NDP entries in the kernel (strict dump
// filtering): only the fields that are set filter. The zero value selects
// every entry.
type NeighbourFilter struct {
	// Family restricts to FamilyV4 (ARP) or FamilyV6 (NDP); FamilyAll
	// lists both.
	Family Family
	// Index restricts to one interface; 0 lists all.
	Index int
}

// EachNeighbour calls fn for every ARP and NDP entry that matches f, as
// the dump arrives (see the Each verbs above). Entries of other families
// (bridge forwarding entries) are skipped. Failures are as Neighbours's,
// and fn's own error.
func (s *Socket) EachNeighbour(f NeighbourFilter, fn func(*Neighbour) error) error {
	const op = "neighbour list"
	var e encoder
	e.begin(unix.RTM_GETNEIGH, unix.NLM_F_DUMP)
	e.fixed(ndmsg(f.Family, 0, 0, 0))
	if f.Index != 0 {
		e.u32(unix.NDA_IFINDEX, uint32(f.Index))
	}
	e.end()
	var n Neighbour
	return s.streamDump(op, e.message(), func(h header, m []byte) error {
		if h.Type != unix.RTM_NEWNEIGH {
			return nil
		}
		var (
			ok  bool
			err error
		)
		if n, ok, err = decodeNeighbour(m); err != nil {
			return newError(op, unix.EBADMSG, "decoding: %v", err)
		}
		if !ok || (f.Index != 0 && n.Index != f.Index) || (f.Family != FamilyAll && n.Family() != f.Family) {
			return nil
		}
		return fn(&n)
	})
}

// EachRule calls fn for every policy rule of family (FamilyAll for IPv4
// and IPv6), as the dump arrives (see the Each verbs above), in the
// kernel's order. Failures are as Rules's, and fn's own error.
func (s *Socket) EachRule(family Family, fn func(*Rule) error) error {
	const op = "rule list"
	var e encoder
	e.begin(unix.RTM_GETRULE, unix.NLM_F_DUMP)
	hdr := make([]byte, sizeofFibRuleHdr)
	hdr[0] = uint8(family)
	e.fixed(hdr)
	e.end()
	var r Rule
	return s.streamDump(op, e.message(), func(h header, m []byte) error {
		if h.Type != unix.RTM_NEWRULE {
			return nil
		}
		var (
			ok  bool
			err error
		)
		if r, ok, err = decodeRule(m); err != nil {
			return newError(op, unix.EBADMSG, "decoding: %v", err)
		}
		if !ok || (family != FamilyAll && r.Family != family) {
			return nil
		}
		return fn(&r)
	})
}

// EachLink calls fn for every link, ordered by index, as the dump arrives
// (see the Each verbs above), with the link's counters when stats is true
// (zero counters otherwise: the kernel is asked to leave them out).
// Failures are as Links's, and fn's own error.
func (s *Socket) EachLink(stats bool, fn func(*Link, *LinkStats64) error) error {
	const op = "link list"
	var e encoder
	e.begin(unix.RTM_GETLINK, unix.NLM_F_DUMP)
	e.fixed(ifinfomsg{Family: unix.AF_UNSPEC}.bytes())
	if !stats {
		e.u32(unix.IFLA_EXT_MASK, rtextFilterSkipStats)
	}
	e.end()
	var st LinkStats64
	return s.streamDump(op, e.message(), func(h header, m []byte) error {
		if h.Type != unix.RTM_NEWLINK {
			return nil
		}
		st = LinkStats64{}
		l, err := decodeLink(m, &st)
		if err != nil {
			return newError(op, unix.EBADMSG, "decoding: %v", err)
		}
		return fn(&l, &st)
	})
}

// EachNexthop calls fn for every nexthop object that f selects, groups
// included, as the dump arrives (see the Each verbs above), in the
// kernel's order (by id). Failures are as NexthopsFiltered's, and fn's
// own error.
func (s *Socket) EachNexthop(f NexthopFilter, fn func(*Nexthop) error) error {
	const op = "nexthop list"
	return s.streamDump(op, nexthopDump(f), func(h header, m []byte) error {
		if h.Type != unix.RTM_NEWNEXTHOP {
			return nil
		}
		n, err := decodeNexthop(m)
		if err != nil {
			return newError(op, unix.EBADMSG, "decoding: %v", err)
		}
		if f.Protocol != 0 && n.Protocol != f.Protocol {
			return nil
		}
		return fn(&n)
	})
}
