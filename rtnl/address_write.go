package rtnl

import (
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
	return withContext(s.request(op, e.message(), nil), op, fmt.Sprintf("%s on %q", p, link))
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
// uses a.Index, a.Prefix, a.Peer, a.Broadcast, a.Label, a.Scope and
// a.Flags (each only when set).
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
	e.end()
	return nil
}
