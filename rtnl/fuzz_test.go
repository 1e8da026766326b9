package rtnl

import (
	"bytes"
	"net"
	"net/netip"
	"reflect"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Fuzz targets for every parser of outside input in this package: the text
// parsers (command line, configuration) and the message decoders (bytes
// from the kernel, or from a monitor socket). Run one with, for example,
//
//	go test -run '^$' -fuzz FuzzDecodeRoute ./rtnl
//
// Each must never panic. Where an inverse exists the target also checks the
// round trip: text parsers through String, decoders through the test
// encoders of decode_test.go.

func FuzzParseMAC(f *testing.F) {
	for _, s := range []string{"02:aa:bb:cc:dd:ee", "02-AA-BB-CC-DD-EE", "02aa.bbcc.ddee", "", "02:aa:bb:cc:dd:ee:ff:00", "zz:zz:zz:zz:zz:zz"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		mac, err := ParseMAC(s)
		if err != nil {
			if mac != nil {
				t.Fatalf("ParseMAC(%q) returned %v with error %v", s, mac, err)
			}
			return
		}
		if len(mac) != 6 {
			t.Fatalf("ParseMAC(%q) = %d bytes", s, len(mac))
		}
		again, err := ParseMAC(mac.String())
		if err != nil || !bytes.Equal(again, mac) {
			t.Fatalf("ParseMAC(%q) = %s, which re-parses to %v, %v", s, mac, again, err)
		}
		if std, err := net.ParseMAC(s); err != nil || !bytes.Equal(std, mac) {
			t.Fatalf("ParseMAC(%q) = %s, net.ParseMAC = %v, %v", s, mac, std, err)
		}
	})
}

// FuzzSubnet checks the subnet helpers' invariants on any prefix and
// address netip accepts.
func FuzzSubnet(f *testing.F) {
	f.Add("10.0.42.5/24", "10.0.42.9")
	f.Add("fd00::1/64", "fd00::ffff")
	f.Add("10.0.0.0/8", "::ffff:10.1.2.3")
	f.Add("fe80::/10", "fe80::1%eth0")
	f.Fuzz(func(t *testing.T, ps, as string) {
		p, err := netip.ParsePrefix(ps)
		if err != nil {
			return
		}
		n, b := Network(p), Broadcast(p)
		if n.BitLen() != p.Addr().BitLen() || b.BitLen() != p.Addr().BitLen() || b.Less(n) {
			t.Fatalf("%s: network %s, broadcast %s", p, n, b)
		}
		if !Contains(p, n) || !Contains(p, b) || !Contains(p, p.Addr()) {
			t.Fatalf("%s does not contain its network %s, broadcast %s or address", p, n, b)
		}
		if netip.PrefixFrom(n, p.Bits()) != p.Masked() {
			t.Fatalf("Network(%s) = %s, Masked = %s", p, n, p.Masked())
		}
		a, err := netip.ParseAddr(as)
		if err != nil {
			return
		}
		c := a.WithZone("")
		if p.Addr().Is4() {
			c = c.Unmap()
		}
		in := Contains(p, a)
		between := c.BitLen() == n.BitLen() && !c.Less(n) && !b.Less(c)
		if in != between {
			t.Fatalf("Contains(%s, %s) = %v, but lies between %s and %s: %v", p, a, in, n, b, between)
		}
	})
}

func FuzzParseNamespace(f *testing.F) {
	for _, s := range []string{"", "host", "pid:1", "pid:0", "pid:-3", "pid:+7", "path:/var/run/netns/x", "path:", "bogus"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ns, err := ParseNamespace(s)
		if err != nil {
			return
		}
		again, err := ParseNamespace(ns.String())
		if err != nil || again != ns {
			t.Fatalf("ParseNamespace(%q) = %v, which re-parses to %v, %v", s, ns, again, err)
		}
		var u Namespace
		text, _ := ns.MarshalText()
		if err := u.UnmarshalText(text); err != nil || u != ns {
			t.Fatalf("text round trip of %v: %v, %v", ns, u, err)
		}
		if ns.PID() < 0 || (ns.IsHost() != (ns.String() == "host")) {
			t.Fatalf("ParseNamespace(%q) = %#v", s, ns)
		}
	})
}

func FuzzParseProtocol(f *testing.F) {
	for _, s := range []string{"kernel", "boot", "static", "76", "0x10", "255", "256", "-1", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParseProtocol(s)
		if err != nil {
			return
		}
		again, err := ParseProtocol(p.String())
		if err != nil || again != p {
			t.Fatalf("ParseProtocol(%q) = %v, which re-parses to %v, %v", s, p, again, err)
		}
	})
}

// FuzzParseEnums covers the other enum parsers, which round-trip through
// String.
func FuzzParseEnums(f *testing.F) {
	for _, s := range []string{"unicast", "blackhole", "permanent", "STALE", "bridge", "l3s", "nat", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if v, err := ParseRouteType(s); err == nil {
			if again, err := ParseRouteType(v.String()); err != nil || again != v {
				t.Fatalf("ParseRouteType(%q) = %v, re-parses to %v, %v", s, v, again, err)
			}
		}
		if v, err := ParseNeighState(s); err == nil {
			if again, err := ParseNeighState(v.String()); err != nil || again != v {
				t.Fatalf("ParseNeighState(%q) = %v, re-parses to %v, %v", s, v, again, err)
			}
		}
		if v, err := ParseMacvlanMode(s); err == nil {
			if again, err := ParseMacvlanMode(v.String()); err != nil || again != v {
				t.Fatalf("ParseMacvlanMode(%q) = %v, re-parses to %v, %v", s, v, again, err)
			}
		}
		if v, err := ParseIPVlanMode(s); err == nil {
			if again, err := ParseIPVlanMode(v.String()); err != nil || again != v {
				t.Fatalf("ParseIPVlanMode(%q) = %v, re-parses to %v, %v", s, v, again, err)
			}
		}
	})
}

// seedLinks, seedAddresses, … are well-formed messages the decoder fuzz
// targets start from.
func seedLinks() [][]byte {
	st := LinkStats64{RxPackets: 1, TxPackets: 2, RxBytes: 3, RxOtherhostDropped: 25}
	return [][]byte{
		testEncodeLink(Link{Index: 1, Name: "lo", MTU: 65536, Flags: net.FlagUp | net.FlagLoopback}, &st),
		testEncodeLink(Link{Index: 7, Name: "mv0", Kind: "macvlan", MTU: 1400, ParentIndex: 3, MasterIndex: 9,
			HardwareAddr: MustParseMAC("02:aa:bb:cc:dd:ee"), Data: Macvlan{Mode: MacvlanBridge}}, nil),
		testEncodeLink(Link{Index: 4, Name: "vx0", Kind: "vxlan", Data: Vxlan{VNI: 42, Port: 4789,
			Local: netip.MustParseAddr("fd00::1"), Group: netip.MustParseAddr("ff05::1")}}, nil),
		testEncodeLink(Link{Index: 6, Name: "vl", Kind: "vlan", Data: VLAN{ID: 7}}, nil),
		testEncodeLink(Link{Index: 8, Name: "ipv", Kind: "ipvlan", Data: IPVlan{Mode: IPVlanL3}}, nil),
		testEncodeLink(Link{Index: 11, Name: "ve0", Kind: "veth", Data: Veth{}}, nil),
	}
}

func FuzzDecodeLink(f *testing.F) {
	for _, b := range seedLinks() {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		l, err := DecodeLink(b)
		if err != nil {
			return
		}
		again, err := DecodeLink(testEncodeLink(l, nil))
		if err != nil || !reflect.DeepEqual(again, l) {
			t.Fatalf("round trip:\n got %#v, %v\nwant %#v", again, err, l)
		}
	})
}

func FuzzDecodeLinkStats(f *testing.F) {
	for _, b := range seedLinks() {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := DecodeLinkStats(b)
		if err != nil {
			return
		}
		again, err := DecodeLinkStats(testEncodeLink(Link{Index: s.Index, Name: s.Name}, &s.Link))
		if err != nil || again != s {
			t.Fatalf("round trip:\n got %#v, %v\nwant %#v", again, err, s)
		}
	})
}

func FuzzDecodeAddress(f *testing.F) {
	for _, a := range []Address{
		{Index: 2, Prefix: netip.MustParsePrefix("192.168.1.42/24"), Broadcast: netip.MustParseAddr("192.168.1.255"), Label: "eth0"},
		{Index: 3, Prefix: netip.MustParsePrefix("10.9.0.1/32"), Peer: netip.MustParseAddr("10.9.0.2")},
		{Index: 1, Prefix: netip.MustParsePrefix("::1/128"), Scope: ScopeHost, Flags: 0x280},
	} {
		f.Add(testEncodeAddress(a))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := DecodeAddress(b)
		if err != nil {
			return
		}
		again, err := DecodeAddress(testEncodeAddress(a))
		if err != nil || !reflect.DeepEqual(again, a) {
			t.Fatalf("round trip:\n got %#v, %v\nwant %#v", again, err, a)
		}
	})
}

func FuzzDecodeRoute(f *testing.F) {
	for _, r := range []Route{
		{Dst: netip.MustParsePrefix("0.0.0.0/0"), Gateway: netip.MustParseAddr("192.168.1.1"), OIF: 2, Table: 254, Type: 1},
		{Dst: netip.MustParsePrefix("fd00:1::/64"), Src: netip.MustParseAddr("fd00::1"), OIF: 4, Table: 1000, Metric: 1024, Protocol: 76},
		{Dst: netip.MustParsePrefix("10.2.0.0/16"), Table: 100, Type: 1, NextHops: []NextHop{
			{Gateway: netip.MustParseAddr("10.0.0.2"), OIF: 2, Weight: 1}, {OIF: 3, Weight: 3}}},
	} {
		f.Add(testEncodeRoute(r))
	}
	for _, r := range nhidRoutes { // nexthop objects and source prefixes
		f.Add(testEncodeRoute(r))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, ok, err := DecodeRoute(b)
		if err != nil || !ok {
			return
		}
		again, ok, err := DecodeRoute(testEncodeRoute(r))
		if err != nil || !ok || !reflect.DeepEqual(again, r) {
			t.Fatalf("round trip:\n got %#v, %v, %v\nwant %#v", again, ok, err, r)
		}
	})
}

func FuzzDecodeNeighbour(f *testing.F) {
	for _, n := range []Neighbour{
		{Index: 2, IP: netip.MustParseAddr("192.168.1.1"), HardwareAddr: MustParseMAC("aa:bb:cc:dd:ee:ff"), State: NeighPermanent},
		{Index: 3, IP: netip.MustParseAddr("fd00::9"), State: NeighIncomplete, Flags: 0x80},
	} {
		f.Add(testEncodeNeighbour(n))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		n, ok, err := DecodeNeighbour(b)
		if err != nil || !ok {
			return
		}
		again, ok, err := DecodeNeighbour(testEncodeNeighbour(n))
		if err != nil || !ok || !reflect.DeepEqual(again, n) {
			t.Fatalf("round trip:\n got %#v, %v, %v\nwant %#v", again, ok, err, n)
		}
	})
}

func FuzzDecodeRule(f *testing.F) {
	for _, r := range []Rule{
		{Family: FamilyV4, Priority: 32766, Table: 254},
		{Family: FamilyV4, Priority: 100, Table: 100, From: netip.MustParsePrefix("10.0.0.0/24"), FwMark: 1, FwMask: 0xff, IIF: "eth0"},
		{Family: FamilyV6, Priority: 300, Table: 100000, To: netip.MustParsePrefix("fd00::/8"), Invert: true, Protocol: 4},
	} {
		f.Add(testEncodeRule(r))
	}
	for _, r := range selectorRules { // every other selector
		f.Add(testEncodeRule(r))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, ok, err := DecodeRule(b)
		if err != nil || !ok {
			return
		}
		again, ok, err := DecodeRule(testEncodeRule(r))
		if err != nil || !ok || again != r {
			t.Fatalf("round trip:\n got %#v, %v, %v\nwant %#v", again, ok, err, r)
		}
		_ = r.String()
	})
}

// FuzzDecodeNexthop checks that decoding never panics and that a decoded
// nexthop the encoder accepts survives encoding and decoding again, with
// the fields the kernel reports but never takes (scope, encapsulation,
// flags other than onlink, how long a group has been unbalanced) cleared.
func FuzzDecodeNexthop(f *testing.F) {
	for _, n := range []Nexthop{
		{ID: 1, Gateway: netip.MustParseAddr("10.1.0.2"), OIF: 3, Protocol: 76},
		{ID: 2, Gateway: netip.MustParseAddr("fd00::2"), OIF: 3, Flags: unix.RTNH_F_ONLINK},
		{ID: 3, Blackhole: true},
		{ID: 4, OIF: 7, Family: FamilyV6},
		{ID: 10, Group: []NexthopMember{{ID: 1, Weight: 3}, {ID: 2, Weight: 300}}},
		{ID: 11, Group: []NexthopMember{{ID: 1}}, GroupType: NexthopGroupResilient,
			Resilient: &Resilient{Buckets: 8, IdleTimer: 10 * time.Second, UnbalancedTimer: 20 * time.Second}},
	} {
		var e encoder
		if err := encodeNexthop(&e, "seed", unix.RTM_NEWNEXTHOP, flagsCreate, n); err != nil {
			f.Fatal(err)
		}
		f.Add(e.message()[unix.NLMSG_HDRLEN:])
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		n, err := DecodeNexthop(b)
		if err != nil {
			return
		}
		n.Scope, n.EncapType = 0, 0
		n.Flags &= unix.RTNH_F_ONLINK
		if n.Protocol == 0 {
			n.Protocol = ProtocolStatic
		}
		if n.Group != nil {
			n.Family = FamilyAll
		}
		if r := n.Resilient; r != nil {
			r.UnbalancedTime = 0
		}
		var e encoder
		if encodeNexthop(&e, "fuzz", unix.RTM_NEWNEXTHOP, flagsCreate, n) != nil {
			return
		}
		again, err := DecodeNexthop(e.message()[unix.NLMSG_HDRLEN:])
		if err != nil {
			t.Fatalf("re-decoding %v: %v", n, err)
		}
		if n.Group == nil && n.Family == FamilyAll { // what the encoder sends
			n.Family = FamilyV4
			if n.Gateway.IsValid() {
				n.Family = familyOf(n.Gateway.Unmap())
			}
		}
		if !reflect.DeepEqual(again, n) {
			t.Fatalf("round trip:\n got %#v\nwant %#v", again, n)
		}
	})
}
