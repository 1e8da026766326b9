package rtnl

import (
	"errors"
	"fmt"
	"net/netip"

	"golang.org/x/sys/unix"
)

// AddressAdd assigns prefix p (such as 10.0.42.5/24 or fc00::42:5/64; the
// family is the address's) to the link called name. It is strict: an
// address already assigned fails with EEXIST.
//
// It fails with an *Error: ENODEV `no such interface "nope0"` for an
// unknown link; EINVAL before anything is sent for an invalid prefix or a
// prefix length out of range.
func (s *Socket) AddressAdd(link string, p netip.Prefix) error {
	return s.addressVerb("address add", unix.RTM_NEWADDR, flagsCreate, link, p)
}

// AddressReplace assigns prefix p to the link called name, or updates it
// in place when it is already assigned (create-or-replace: idempotent).
// Failures are as AddressAdd's, without EEXIST.
func (s *Socket) AddressReplace(link string, p netip.Prefix) error {
	return s.addressVerb("address replace", unix.RTM_NEWADDR, flagsReplace, link, p)
}

// AddressDelete removes prefix p from the link called name. An address
// that is not assigned (already deleted included) fails with
// EADDRNOTAVAIL: callers that converge state treat IsNotExist as success.
// Other failures are as AddressAdd's.
//
// p is the local address with its prefix length, as Address.Prefix holds
// it, point-to-point addresses included (10.0.0.1/32 for `10.0.0.1 peer
// 10.0.0.2/32`). The kernel finds an IPv4 address by its peer, so when it
// answers EADDRNOTAVAIL for an IPv4 p, AddressDelete lists the link's
// addresses and, if one has p as its local address and prefix length and
// a peer, deletes that one (the first, if several peers share p).
func (s *Socket) AddressDelete(link string, p netip.Prefix) error {
	return s.addressVerb("address delete", unix.RTM_DELADDR, flagsModify, link, p)
}

func (s *Socket) addressVerb(op string, typ, flags uint16, link string, p netip.Prefix) error {
	if err := checkPrefix(op, "address", p); err != nil {
		return err
	}
	idx, err := s.resolveLink(op, link)
	if err != nil {
		return err
	}
	var e encoder
	if err := encodeAddress(&e, op, typ, flags, Address{Index: idx, Prefix: p}); err != nil {
		return err
	}
	err = s.request(op, e.message(), nil)
	if typ == unix.RTM_DELADDR && errors.Is(err, unix.EADDRNOTAVAIL) && p.Addr().Unmap().Is4() {
		err = s.deletePeerAddress(op, idx, p, err)
	}
	return withContext(err, op, fmt.Sprintf("%s on %q", p, link))
}

// deletePeerAddress deletes the IPv4 point-to-point address of interface
// idx whose local address and prefix length are p, sending its peer as
// IFA_ADDRESS: inet_rtm_deladdr (net/ipv4/devinet.c) matches IFA_LOCAL
// and IFA_ADDRESS both, and IFA_ADDRESS of a point-to-point address is the
// peer. With no such address it returns notFound, the kernel's first
// answer.
func (s *Socket) deletePeerAddress(op string, idx int, p netip.Prefix, notFound error) error {
	as, err := s.listAddresses(op, FamilyV4, idx)
	if err != nil {
		return err
	}
	p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits())
	for _, a := range as {
		if a.Prefix != p || !a.Peer.IsValid() {
			continue
		}
		var e encoder
		if err := encodeAddress(&e, op, unix.RTM_DELADDR, flagsModify, Address{Index: idx, Prefix: p, Peer: a.Peer}); err != nil {
			return err
		}
		return s.request(op, e.message(), nil)
	}
	return notFound
}

// checkPrefix refuses an invalid prefix, naming what it is (what) and
// telling a bad length apart from a missing address.
func checkPrefix(op, what string, p netip.Prefix) error {
	if p.IsValid() {
		return nil
	}
	if a := p.Addr(); a.IsValid() {
		return invalid(op, "%s %s: prefix length out of range 0-%d", what, a, a.Unmap().BitLen())
	}
	return invalid(op, "%s is not set", what)
}

// encodeAddress appends an RTM_NEWADDR or RTM_DELADDR request for a. It
// uses a.Index, a.Prefix, a.Peer, a.Broadcast, a.Label, a.Scope,
// a.Flags and a.Protocol (each only when set; the protocol on a create or
// replace only).
func encodeAddress(e *encoder, op string, typ, flags uint16, a Address) error {
	if err := checkPrefix(op, "address", a.Prefix); err != nil {
		return err
	}
	if a.Index <= 0 {
		return invalid(op, "address %s: interface index %d: want a positive index", a.Prefix, a.Index)
	}
	ip := a.Prefix.Addr().Unmap()
	bits := a.Prefix.Bits()
	if bits > ip.BitLen() {
		return invalid(op, "address %s: prefix length %d out of range 0-%d", ip, bits, ip.BitLen())
	}
	for _, x := range []struct {
		name string
		v    netip.Addr
	}{{"peer", a.Peer}, {"broadcast", a.Broadcast}} {
		if x.v.IsValid() && x.v.Unmap().Is4() != ip.Is4() {
			return invalid(op, "address %s: %s %s is of another family", ip, x.name, x.v)
		}
	}
	if len(a.Label) >= unix.IFNAMSIZ {
		return invalid(op, "address %s: label %q longer than %d bytes", ip, a.Label, unix.IFNAMSIZ-1)
	}
	e.begin(typ, flags)
	e.fixed(ifaddrmsg(familyOf(ip), uint8(bits), uint8(a.Flags), a.Scope, a.Index))
	e.addr(unix.IFA_LOCAL, ip)
	if a.Peer.IsValid() {
		e.addr(unix.IFA_ADDRESS, a.Peer.Unmap())
	} else {
		e.addr(unix.IFA_ADDRESS, ip)
	}
	if a.Broadcast.IsValid() {
		e.addr(unix.IFA_BROADCAST, a.Broadcast.Unmap())
	}
	if a.Label != "" {
		e.str(unix.IFA_LABEL, a.Label)
	}
	if a.Flags > 0xff {
		e.u32(unix.IFA_FLAGS, a.Flags)
	}
	if a.Protocol != 0 && typ == unix.RTM_NEWADDR {
		e.u8(ifaProto, uint8(a.Protocol))
	}
	e.end()
	return nil
}
