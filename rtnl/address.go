package rtnl

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"strconv"

	"golang.org/x/sys/unix"
)

// Address is an IP address assigned to an interface (RTM_NEWADDR).
type Address struct {
	// Index is the interface's index.
	Index int
	// Prefix is the address with its prefix length, as 10.0.42.5/24: the
	// host bits are kept (use Network for the subnet).
	Prefix netip.Prefix
	// Peer is the other end of a point-to-point address (IFA_ADDRESS when
	// it differs from IFA_LOCAL); invalid otherwise.
	Peer netip.Addr
	// Broadcast is the IPv4 broadcast address, when one is set.
	Broadcast netip.Addr
	// Label is the IPv4 address label (IFA_LABEL), "" when none.
	Label string
	// Scope of the address (ScopeUniverse is "global").
	Scope Scope
	// Flags are the IFA_F_* flags (permanent, nodad, …).
	Flags uint32
	// Protocol says who installed the address (IFA_PROTO, kept by Linux
	// 6.1 and later; an older kernel ignores it when adding and reports
	// none). 0 (AddressProtocolUnspec) when none was given.
	Protocol AddressProtocol
}

// ifaProto is IFA_PROTO (include/uapi/linux/if_addr.h, Linux 6.1), which
// golang.org/x/sys/unix does not name.
const ifaProto = 11

// AddressProtocol is an address's IFA_PROTO: who installed it. The kernel
// uses 1 to 3 for the addresses it makes itself; any other value is a
// writer's own, as a route's Protocol is (Linx writes its scope's
// protocol, 76 by default).
type AddressProtocol uint8

// Address protocols the kernel sets itself (IFAPROT_* in
// include/uapi/linux/if_addr.h).
const (
	AddressProtocolUnspec   AddressProtocol = 0
	AddressProtocolKernelLO AddressProtocol = 1 // the loopback address
	AddressProtocolKernelRA AddressProtocol = 2 // from a router advertisement
	AddressProtocolKernelLL AddressProtocol = 3 // an IPv6 link-local address
)

// String returns the protocol's iproute2 name (unspec, kernel_lo,
// kernel_ra, kernel_ll), or its number.
func (p AddressProtocol) String() string {
	switch p {
	case AddressProtocolUnspec:
		return "unspec"
	case AddressProtocolKernelLO:
		return "kernel_lo"
	case AddressProtocolKernelRA:
		return "kernel_ra"
	case AddressProtocolKernelLL:
		return "kernel_ll"
	}
	return strconv.Itoa(int(p))
}

// Family returns FamilyV4 or FamilyV6 from the prefix.
func (a Address) Family() Family { return familyOf(a.Prefix.Addr()) }

// String returns `Address<192.168.1.42/24 ifindex=2>`.
func (a Address) String() string {
	return fmt.Sprintf("Address<%s ifindex=%d>", a.Prefix, a.Index)
}

func familyOf(a netip.Addr) Family {
	switch {
	case a.Is4():
		return FamilyV4
	case a.Is6():
		return FamilyV6
	}
	return FamilyAll
}

const sizeofIfaddrmsg = 8

func ifaddrmsg(family Family, prefixLen uint8, flags uint8, scope Scope, index int) []byte {
	b := make([]byte, sizeofIfaddrmsg)
	b[0] = uint8(family)
	b[1] = prefixLen
	b[2] = flags
	b[3] = uint8(scope)
	binary.NativeEndian.PutUint32(b[4:], uint32(index))
	return b
}

// decodeAddress decodes an RTM_NEWADDR/RTM_DELADDR payload.
func decodeAddress(b []byte) (Address, error) {
	if len(b) < sizeofIfaddrmsg {
		return Address{}, fmt.Errorf("ifaddrmsg: %d bytes, want %d", len(b), sizeofIfaddrmsg)
	}
	bits := int(b[1])
	a := Address{
		Flags: uint32(b[2]),
		Scope: Scope(b[3]),
		Index: int(binary.NativeEndian.Uint32(b[4:8])),
	}
	var local, address netip.Addr
	ad := newAttrDecoder(b[sizeofIfaddrmsg:])
	for ad.Next() {
		switch ad.Type() {
		case unix.IFA_LOCAL:
			local = ad.Addr()
		case unix.IFA_ADDRESS:
			address = ad.Addr()
		case unix.IFA_BROADCAST:
			a.Broadcast = ad.Addr()
		case unix.IFA_LABEL:
			a.Label = ad.String()
		case unix.IFA_FLAGS:
			a.Flags = ad.Uint32()
		case ifaProto:
			a.Protocol = AddressProtocol(ad.Uint8())
		}
	}
	if err := ad.Err(); err != nil {
		return Address{}, fmt.Errorf("address on ifindex %d: %w", a.Index, err)
	}
	// IFA_LOCAL is the interface's own address; IFA_ADDRESS is the same or,
	// on a point-to-point link, the peer. IPv6 sends only IFA_ADDRESS.
	ip := local
	if !ip.IsValid() {
		ip = address
	} else if address.IsValid() && address != local {
		a.Peer = address
	}
	if !ip.IsValid() {
		return Address{}, fmt.Errorf("address on ifindex %d: no IFA_LOCAL or IFA_ADDRESS", a.Index)
	}
	p, err := ip.Prefix(bits)
	if err != nil {
		return Address{}, fmt.Errorf("address on ifindex %d: prefix length %d: %w", a.Index, bits, err)
	}
	a.Prefix = netip.PrefixFrom(ip, p.Bits())
	return a, nil
}

// Addresses returns every address of every interface, IPv4 and IPv6.
// On failure it returns an *Error (see Errors in the package
// documentation) and a nil list.
func (s *Socket) Addresses() ([]Address, error) {
	return s.listAddresses("address list", FamilyAll, 0)
}

// AddressesOf returns the addresses of the interface called name. An
// unknown name fails with ENODEV.
func (s *Socket) AddressesOf(name string) ([]Address, error) {
	idx, err := s.resolveLink("address list", name)
	if err != nil {
		return nil, err
	}
	return s.listAddresses("address list", FamilyAll, idx)
}

// listAddresses dumps addresses of family (FamilyAll for both), filtered
// in the kernel to one interface when index is not 0.
func (s *Socket) listAddresses(op string, family Family, index int) ([]Address, error) {
	var e encoder
	e.begin(unix.RTM_GETADDR, unix.NLM_F_DUMP)
	e.fixed(ifaddrmsg(family, 0, 0, 0, index))
	e.end()
	var out []Address
	err := s.dump(op, e.message(), func() { out = out[:0] }, func(h header, m []byte) error {
		if h.Type != unix.RTM_NEWADDR {
			return nil
		}
		a, err := decodeAddress(m)
		if err != nil {
			return newError(op, unix.EBADMSG, "decoding: %v", err)
		}
		if index == 0 || a.Index == index {
			out = append(out, a)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
