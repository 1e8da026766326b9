package rtnl

import (
	"fmt"
	"net"
	"net/netip"

	"golang.org/x/sys/unix"
)

// NeighbourAdd adds a permanent (static) entry mapping ip to mac on the
// link called link: ARP for an IPv4 address, NDP for an IPv6 one. It is
// strict: an entry for ip on that link, even a learned one, fails with
// EEXIST (use NeighbourSet to overwrite).
//
// It fails with an *Error: ENODEV for an unknown link; EINVAL before
// anything is sent for an address that is not set or a malformed MAC.
func (s *Socket) NeighbourAdd(link string, ip netip.Addr, mac net.HardwareAddr) error {
	const op = "neighbour add"
	idx, err := s.resolveLink(op, link)
	if err != nil {
		return err
	}
	n := Neighbour{Index: idx, IP: ip, HardwareAddr: mac, State: NeighPermanent}
	return s.neighbourVerb(op, unix.RTM_NEWNEIGH, flagsCreate, n, link)
}

// NeighbourSet creates or replaces the entry for n.IP on the link whose
// index is n.Index, with n.HardwareAddr (required) and n.State; State 0
// means NeighPermanent (never, as with a zero state elsewhere, an entry
// without a MAC). n.Flags (NTF_*) are sent as given, and n.Protocol when
// not 0 (the kernel keeps the one it holds otherwise). Failures are as
// NeighbourAdd's, without EEXIST; an unknown index fails with ENODEV.
func (s *Socket) NeighbourSet(n Neighbour) error {
	return s.neighbourVerb("neighbour replace", unix.RTM_NEWNEIGH, flagsReplace, n, "")
}

// NeighbourDelete removes the entry for ip on the link called link. An
// entry that does not exist (already deleted included) fails with ENOENT:
// callers that converge state treat IsNotExist as success.
func (s *Socket) NeighbourDelete(link string, ip netip.Addr) error {
	const op = "neighbour delete"
	idx, err := s.resolveLink(op, link)
	if err != nil {
		return err
	}
	return s.neighbourVerb(op, unix.RTM_DELNEIGH, flagsModify, Neighbour{Index: idx, IP: ip}, link)
}

func (s *Socket) neighbourVerb(op string, typ, flags uint16, n Neighbour, link string) error {
	var e encoder
	if err := encodeNeighbour(&e, op, typ, flags, n); err != nil {
		return err
	}
	where := fmt.Sprintf("ifindex %d", n.Index)
	if link != "" {
		where = fmt.Sprintf("%q", link)
	}
	return withContext(s.request(op, e.message(), nil), op, fmt.Sprintf("neighbour %s on %s", n.IP, where))
}

// encodeNeighbour appends an RTM_NEWNEIGH or RTM_DELNEIGH request for n.
func encodeNeighbour(e *encoder, op string, typ, flags uint16, n Neighbour) error {
	if !n.IP.IsValid() {
		return invalid(op, "neighbour address is not set")
	}
	if n.Index <= 0 {
		return invalid(op, "neighbour %s: interface index %d: want a positive index", n.IP, n.Index)
	}
	ip := n.IP.Unmap()
	state := n.State
	if typ == unix.RTM_NEWNEIGH {
		if err := checkMAC(op, "neighbour MAC", n.HardwareAddr); err != nil {
			return err
		}
		if state == 0 {
			state = NeighPermanent
		}
	}
	e.begin(typ, flags)
	e.fixed(ndmsg(familyOf(ip), n.Index, state, n.Flags))
	e.addr(unix.NDA_DST, ip)
	if typ == unix.RTM_NEWNEIGH {
		e.attr(unix.NDA_LLADDR, n.HardwareAddr)
		if n.Protocol != 0 {
			e.u8(ndaProtocol, uint8(n.Protocol))
		}
	}
	e.end()
	return nil
}
