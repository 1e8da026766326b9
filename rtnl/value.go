package rtnl

import (
	"fmt"
	"net"
	"net/netip"
)

// Values: Linx speaks the standard library's netip.Addr, netip.Prefix and
// net.HardwareAddr. The helpers below fill the few gaps between those types
// and what a network program needs every day: must-parse for MAC literals and
// the subnet arithmetic of network, broadcast and containment.
//
// For addresses and prefixes use netip itself: netip.MustParseAddr("10.0.0.5")
// and netip.MustParsePrefix("10.0.42.5/24"). netip.ParsePrefix keeps the host
// bits (10.0.42.5/24 stays 10.0.42.5/24, which is what an interface address
// is); Network or Prefix.Masked gives the subnet.

// ParseMAC parses an IEEE 802 EUI-48 (6-byte) MAC address in any form
// net.ParseMAC accepts: "02:aa:bb:cc:dd:ee", "02-aa-bb-cc-dd-ee" or
// "02aa.bbcc.ddee", hex digits in either case.
//
// ParseMAC is stricter than net.ParseMAC: it refuses the 8-byte EUI-64 and
// 20-byte InfiniBand forms, which no Ethernet-like link Linx manages carries.
// On failure it returns a nil address and an error quoting s.
func ParseMAC(s string) (net.HardwareAddr, error) {
	mac, err := net.ParseMAC(s)
	if err != nil {
		return nil, fmt.Errorf("rtnl: ParseMAC(%q): not a MAC address", s)
	}
	if len(mac) != 6 {
		return nil, fmt.Errorf("rtnl: ParseMAC(%q): %d bytes, want a 6-byte EUI-48 address", s, len(mac))
	}
	return mac, nil
}

// MustParseMAC is ParseMAC for literals known to be valid, as in tests and
// examples. It panics, with the input quoted, when s is not a 6-byte MAC
// address.
func MustParseMAC(s string) net.HardwareAddr {
	mac, err := ParseMAC(s)
	if err != nil {
		panic(err)
	}
	return mac
}

// Network returns the first address of p, with the host bits cleared:
// Network(10.0.42.5/24) is 10.0.42.0, Network(fd00::1/64) is fd00::.
// It returns the zero netip.Addr for an invalid prefix.
func Network(p netip.Prefix) netip.Addr {
	if !p.IsValid() {
		return netip.Addr{}
	}
	return p.Masked().Addr()
}

// Broadcast returns the last address of p, with the host bits set:
// Broadcast(10.0.42.5/24) is 10.0.42.255. For a /32 it is the address
// itself and for a /31 (RFC 3021, which has no broadcast) the higher of the
// two addresses.
//
// IPv6 has no broadcast; for an IPv6 prefix Broadcast returns the prefix's
// last address by the same rule (Broadcast(fd00::1/64) is
// fd00::ffff:ffff:ffff:ffff), which is what callers computing a range want.
// It returns the zero netip.Addr for an invalid prefix.
func Broadcast(p netip.Prefix) netip.Addr {
	if !p.IsValid() {
		return netip.Addr{}
	}
	a := p.Addr()
	if a.Is4() {
		b := a.As4()
		setHostBits(b[:], p.Bits())
		return netip.AddrFrom4(b)
	}
	b := a.As16()
	setHostBits(b[:], p.Bits())
	return netip.AddrFrom16(b)
}

// setHostBits sets every bit of b after the first bits bits.
func setHostBits(b []byte, bits int) {
	for i := range b {
		switch {
		case bits >= (i+1)*8:
		case bits <= i*8:
			b[i] = 0xff
		default:
			b[i] |= 0xff >> (bits - i*8)
		}
	}
}

// Contains reports whether a lies inside the subnet of p, ignoring p's host
// bits: Contains(10.0.0.0/8, 10.99.0.5) and Contains(10.0.42.5/24,
// 10.0.42.9) are both true.
//
// An IPv4-mapped IPv6 address (::ffff:10.1.2.3, as net.IP often yields) is
// treated as its IPv4 form, and an IPv6 zone is ignored (fe80::1%eth0 lies
// in fe80::/10); otherwise an IPv4 address never lies in an IPv6 prefix nor
// the reverse. Contains is false when p or a is invalid.
func Contains(p netip.Prefix, a netip.Addr) bool {
	if !p.IsValid() || !a.IsValid() {
		return false
	}
	if p.Addr().Is4() {
		a = a.Unmap()
	}
	return p.Masked().Contains(a.WithZone(""))
}
