package rtnl

import (
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"reflect"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// The test encoders below build rtnetlink payloads (the bytes after the
// nlmsghdr) from the package's structs, the way the kernel lays them out.
// Unit tests decode them back; the fuzz targets use them to check that any
// message that decodes re-encodes to the same struct.

// payload finishes e and returns its message without the nlmsghdr.
func payload(e *encoder) []byte {
	e.end()
	return append([]byte(nil), e.message()[unix.NLMSG_HDRLEN:]...)
}

func rawFlags(f net.Flags) uint32 {
	var raw uint32
	for _, m := range []struct {
		f   net.Flags
		raw uint32
	}{
		{net.FlagUp, unix.IFF_UP}, {net.FlagBroadcast, unix.IFF_BROADCAST},
		{net.FlagLoopback, unix.IFF_LOOPBACK}, {net.FlagPointToPoint, unix.IFF_POINTOPOINT},
		{net.FlagMulticast, unix.IFF_MULTICAST}, {net.FlagRunning, unix.IFF_RUNNING},
	} {
		if f&m.f != 0 {
			raw |= m.raw
		}
	}
	return raw
}

func testEncodeLink(l Link, st *LinkStats64) []byte {
	var e encoder
	e.begin(unix.RTM_NEWLINK, 0)
	e.fixed(ifinfomsg{Family: unix.AF_UNSPEC, Type: unix.ARPHRD_ETHER, Index: int32(l.Index), Flags: rawFlags(l.Flags)}.bytes())
	e.str(unix.IFLA_IFNAME, l.Name)
	e.u32(unix.IFLA_MTU, uint32(l.MTU))
	e.u32(unix.IFLA_TXQLEN, uint32(l.TxQueueLen))
	e.u8(unix.IFLA_OPERSTATE, uint8(l.OperState))
	if len(l.HardwareAddr) > 0 {
		e.attr(unix.IFLA_ADDRESS, l.HardwareAddr)
	}
	if l.ParentIndex != 0 {
		e.u32(unix.IFLA_LINK, uint32(l.ParentIndex))
	}
	if l.ParentElsewhere {
		e.u32(unix.IFLA_LINK_NETNSID, uint32(l.ParentNamespaceID))
	}
	if l.MasterIndex != 0 {
		e.u32(unix.IFLA_MASTER, uint32(l.MasterIndex))
	}
	if l.Kind != "" {
		e.nest(unix.IFLA_LINKINFO)
		e.str(unix.IFLA_INFO_KIND, l.Kind)
		switch d := l.Data.(type) {
		case Macvlan:
			e.nest(unix.IFLA_INFO_DATA)
			e.u32(unix.IFLA_MACVLAN_MODE, uint32(d.Mode))
			e.endNest()
		case IPVlan:
			e.nest(unix.IFLA_INFO_DATA)
			e.u16(unix.IFLA_IPVLAN_MODE, uint16(d.Mode))
			e.endNest()
		case VLAN:
			e.nest(unix.IFLA_INFO_DATA)
			e.u16(unix.IFLA_VLAN_ID, d.ID)
			e.endNest()
		case Vxlan:
			e.nest(unix.IFLA_INFO_DATA)
			e.u32(unix.IFLA_VXLAN_ID, d.VNI)
			e.beU16(unix.IFLA_VXLAN_PORT, d.Port)
			for _, a := range []struct {
				v4, v6 uint16
				a      netip.Addr
			}{
				{unix.IFLA_VXLAN_LOCAL, unix.IFLA_VXLAN_LOCAL6, d.Local},
				{unix.IFLA_VXLAN_GROUP, unix.IFLA_VXLAN_GROUP6, d.Remote},
				{unix.IFLA_VXLAN_GROUP, unix.IFLA_VXLAN_GROUP6, d.Group},
			} {
				switch {
				case a.a.Is4():
					e.addr(a.v4, a.a)
				case a.a.Is6():
					e.addr(a.v6, a.a)
				}
			}
			// The kernel always reports learning, on (1) or off (0).
			learning := uint8(1)
			if d.NoLearning {
				learning = 0
			}
			e.u8(unix.IFLA_VXLAN_LEARNING, learning)
			e.endNest()
		}
		e.endNest()
	}
	if st != nil {
		v := reflect.ValueOf(*st)
		b := make([]byte, 0, 8*v.NumField())
		for i := range v.NumField() {
			b = binary.NativeEndian.AppendUint64(b, v.Field(i).Uint())
		}
		e.attr(unix.IFLA_STATS64, b)
	}
	return payload(&e)
}

func testEncodeAddress(a Address) []byte {
	var e encoder
	e.begin(unix.RTM_NEWADDR, 0)
	e.fixed(ifaddrmsg(a.Family(), uint8(a.Prefix.Bits()), uint8(a.Flags), a.Scope, a.Index))
	if a.Peer.IsValid() {
		e.addr(unix.IFA_LOCAL, a.Prefix.Addr())
		e.addr(unix.IFA_ADDRESS, a.Peer)
	} else {
		e.addr(unix.IFA_ADDRESS, a.Prefix.Addr())
	}
	if a.Broadcast.IsValid() {
		e.addr(unix.IFA_BROADCAST, a.Broadcast)
	}
	if a.Label != "" {
		e.str(unix.IFA_LABEL, a.Label)
	}
	e.u32(unix.IFA_FLAGS, a.Flags)
	return payload(&e)
}

func testEncodeRoute(r Route) []byte {
	var e encoder
	e.begin(unix.RTM_NEWROUTE, 0)
	table := uint8(unix.RT_TABLE_COMPAT)
	if r.Table < 256 {
		table = uint8(r.Table)
	}
	e.fixed(rtmsg{Family: uint8(r.Family()), DstLen: uint8(r.Dst.Bits()), TOS: r.TOS, Table: table,
		Protocol: uint8(r.Protocol), Scope: uint8(r.Scope), Type: uint8(r.Type), Flags: r.Flags}.bytes())
	e.u32(unix.RTA_TABLE, r.Table)
	e.addr(unix.RTA_DST, r.Dst.Addr())
	if r.Gateway.IsValid() {
		e.addr(unix.RTA_GATEWAY, r.Gateway)
	}
	if r.Src.IsValid() {
		e.addr(unix.RTA_PREFSRC, r.Src)
	}
	if r.OIF != 0 {
		e.u32(unix.RTA_OIF, uint32(r.OIF))
	}
	if r.Metric != 0 {
		e.u32(unix.RTA_PRIORITY, r.Metric)
	}
	testEncodeRouteSource(&e, r)
	if r.NextHops != nil {
		var mp []byte
		for _, nh := range r.NextHops {
			var sub encoder
			if nh.Gateway.IsValid() {
				sub.addr(unix.RTA_GATEWAY, nh.Gateway)
			}
			hdr := make([]byte, 8)
			binary.NativeEndian.PutUint16(hdr[0:], uint16(8+len(sub.b)))
			hdr[3] = uint8(nh.Weight - 1)
			binary.NativeEndian.PutUint32(hdr[4:], uint32(nh.OIF))
			mp = append(append(mp, hdr...), sub.b...)
		}
		e.attr(unix.RTA_MULTIPATH, mp)
	}
	return payload(&e)
}

func testEncodeNeighbour(n Neighbour) []byte {
	var e encoder
	e.begin(unix.RTM_NEWNEIGH, 0)
	e.fixed(ndmsg(n.Family(), n.Index, n.State, n.Flags))
	e.addr(unix.NDA_DST, n.IP)
	if len(n.HardwareAddr) > 0 {
		e.attr(unix.NDA_LLADDR, n.HardwareAddr)
	}
	return payload(&e)
}

func testEncodeRule(r Rule) []byte {
	var e encoder
	e.begin(unix.RTM_NEWRULE, 0)
	h := rtmsg{Family: uint8(r.Family), TOS: r.TOS}.bytes()
	if r.To.IsValid() {
		h[1] = uint8(r.To.Bits())
	}
	if r.From.IsValid() {
		h[2] = uint8(r.From.Bits())
	}
	if r.Table < 256 {
		h[4] = uint8(r.Table)
	} else {
		h[4] = unix.RT_TABLE_COMPAT
	}
	h[7] = uint8(r.Action)
	if r.Invert {
		binary.NativeEndian.PutUint32(h[8:], unix.FIB_RULE_INVERT)
	}
	e.fixed(h)
	e.u32(unix.FRA_TABLE, r.Table)
	if r.Priority != 0 {
		e.u32(unix.FRA_PRIORITY, r.Priority)
	}
	if r.From.IsValid() {
		e.addr(unix.FRA_SRC, r.From.Addr())
	}
	if r.To.IsValid() {
		e.addr(unix.FRA_DST, r.To.Addr())
	}
	if r.FwMark != 0 {
		e.u32(unix.FRA_FWMARK, r.FwMark)
	}
	if r.FwMask != 0 {
		e.u32(unix.FRA_FWMASK, r.FwMask)
	}
	if r.IIF != "" {
		e.str(unix.FRA_IIFNAME, r.IIF)
	}
	if r.OIF != "" {
		e.str(unix.FRA_OIFNAME, r.OIF)
	}
	if r.Protocol != 0 {
		e.u8(unix.FRA_PROTOCOL, uint8(r.Protocol))
	}
	testEncodeRuleSelectors(&e, r)
	return payload(&e)
}

func TestDecodeLink(t *testing.T) {
	want := Link{
		Index: 7, Name: "mv0", Kind: "macvlan", MTU: 1400,
		Flags: net.FlagUp | net.FlagBroadcast | net.FlagMulticast | net.FlagRunning, OperState: OperUp,
		HardwareAddr: MustParseMAC("02:aa:bb:cc:dd:ee"), MasterIndex: 9, ParentIndex: 3, TxQueueLen: 1000,
		Data: Macvlan{Mode: MacvlanBridge},
	}
	got, err := DecodeLink(testEncodeLink(want, nil))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("DecodeLink:\n got %#v\nwant %#v", got, want)
	}
	if !got.Up() || got.String() != `Link<"mv0" (7) UP MTU=1400>` {
		t.Fatalf("Up() = %v, String() = %s", got.Up(), got)
	}

	for _, l := range []Link{
		{Index: 1, Name: "lo", MTU: 65536, Flags: net.FlagUp | net.FlagLoopback, OperState: OperUnknown},
		{Index: 4, Name: "vx0", Kind: "vxlan", MTU: 1450, Data: Vxlan{VNI: 42, Port: 4789,
			Local: netip.MustParseAddr("10.0.0.1"), Group: netip.MustParseAddr("239.1.1.1")}},
		{Index: 5, Name: "vx6", Kind: "vxlan", MTU: 1430, Data: Vxlan{VNI: 16777215, Port: 8472,
			Local: netip.MustParseAddr("fd00::1"), Remote: netip.MustParseAddr("fd00::2"), NoLearning: true}},
		{Index: 6, Name: "vl", Kind: "vlan", MTU: 1500, ParentIndex: 2, Data: VLAN{ID: 4094}},
		{Index: 8, Name: "ipv", Kind: "ipvlan", MTU: 1500, ParentIndex: 2, Data: IPVlan{Mode: IPVlanL3S}},
		{Index: 10, Name: "tap0", Kind: "macvtap", MTU: 1500, ParentIndex: 2, Data: Macvlan{Mode: MacvlanVEPA, Tap: true}},
		{Index: 11, Name: "ve0", Kind: "veth", MTU: 1500, ParentIndex: 12, Data: Veth{}},
		{Index: 13, Name: "br0", Kind: "bridge", MTU: 1500},
	} {
		got, err := DecodeLink(testEncodeLink(l, nil))
		if err != nil || !reflect.DeepEqual(got, l) {
			t.Errorf("DecodeLink(%s) = %#v, %v; want %#v", l.Name, got, err, l)
		}
	}

	// IFLA_LINK naming the link itself means no lower device.
	self, err := DecodeLink(testEncodeLink(Link{Index: 2, Name: "eth0", ParentIndex: 2}, nil))
	if err != nil || self.ParentIndex != 0 {
		t.Errorf("link with IFLA_LINK == index: ParentIndex = %d, %v; want 0", self.ParentIndex, err)
	}
	if down := (Link{Index: 3, Name: "wlan0", MTU: 1500}); down.Up() || down.String() != `Link<"wlan0" (3) DOWN MTU=1500>` {
		t.Errorf("String() = %s", down)
	}
}

func TestDecodeLinkStats(t *testing.T) {
	var st LinkStats64
	v := reflect.ValueOf(&st).Elem()
	if v.NumField() != 25 {
		t.Fatalf("LinkStats64 has %d fields, want the kernel's 25", v.NumField())
	}
	for i := range v.NumField() {
		v.Field(i).SetUint(uint64(i+1) * 1000003)
	}
	got, err := DecodeLinkStats(testEncodeLink(Link{Index: 2, Name: "eth0"}, &st))
	if err != nil {
		t.Fatal(err)
	}
	if got.Index != 2 || got.Name != "eth0" || got.Link != st {
		t.Fatalf("DecodeLinkStats = %+v, want %+v", got, st)
	}
	if got.Link.RxNoHandler != 24*1000003 || got.Link.RxOtherhostDropped != 25*1000003 {
		t.Fatalf("last two fields: %d %d", got.Link.RxNoHandler, got.Link.RxOtherhostDropped)
	}

	// An older kernel's 23-field IFLA_STATS64 leaves the last two zero.
	short := decodeStats64(testEncodeLink(Link{}, &st)[0:0])
	if short != (LinkStats64{}) {
		t.Fatalf("empty IFLA_STATS64 decoded to %+v", short)
	}
	b := make([]byte, 23*8)
	for i := range 23 {
		binary.NativeEndian.PutUint64(b[i*8:], uint64(i+1))
	}
	old := decodeStats64(b)
	if old.RxPackets != 1 || old.TxCompressed != 23 || old.RxNoHandler != 0 || old.RxOtherhostDropped != 0 {
		t.Fatalf("23-field stats decoded to %+v", old)
	}
}

func TestDecodeAddress(t *testing.T) {
	for _, want := range []Address{
		{Index: 2, Prefix: netip.MustParsePrefix("192.168.1.42/24"), Broadcast: netip.MustParseAddr("192.168.1.255"),
			Label: "eth0", Scope: ScopeUniverse, Flags: unix.IFA_F_PERMANENT},
		{Index: 3, Prefix: netip.MustParsePrefix("10.9.0.1/32"), Peer: netip.MustParseAddr("10.9.0.2"), Scope: ScopeUniverse, Flags: unix.IFA_F_PERMANENT},
		{Index: 1, Prefix: netip.MustParsePrefix("::1/128"), Scope: ScopeHost, Flags: unix.IFA_F_PERMANENT | unix.IFA_F_NOPREFIXROUTE},
		{Index: 4, Prefix: netip.MustParsePrefix("fe80::1/64"), Scope: ScopeLink},
	} {
		got, err := DecodeAddress(testEncodeAddress(want))
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("DecodeAddress(%s) = %#v, %v; want %#v", want.Prefix, got, err, want)
		}
	}

	// IPv4 as the kernel sends it: IFA_LOCAL and IFA_ADDRESS equal.
	var e encoder
	e.begin(unix.RTM_NEWADDR, 0)
	e.fixed(ifaddrmsg(FamilyV4, 24, 0, 0, 2))
	e.addr(unix.IFA_ADDRESS, netip.MustParseAddr("10.0.42.5"))
	e.addr(unix.IFA_LOCAL, netip.MustParseAddr("10.0.42.5"))
	a, err := DecodeAddress(payload(&e))
	if err != nil || a.Prefix != netip.MustParsePrefix("10.0.42.5/24") || a.Peer.IsValid() || a.Family() != FamilyV4 {
		t.Fatalf("DecodeAddress = %+v, %v", a, err)
	}
	if a.String() != "Address<10.0.42.5/24 ifindex=2>" {
		t.Fatalf("String() = %s", a)
	}
}

func TestDecodeRoute(t *testing.T) {
	for _, want := range []Route{
		{Dst: netip.MustParsePrefix("0.0.0.0/0"), Gateway: netip.MustParseAddr("192.168.1.1"), OIF: 2,
			Table: TableMain, Protocol: ProtocolStatic, Type: RouteTypeUnicast, Metric: 100},
		{Dst: netip.MustParsePrefix("10.1.0.0/16"), Src: netip.MustParseAddr("10.0.0.1"), OIF: 3,
			Table: 1000, Protocol: DefaultProtocol, Type: RouteTypeUnicast, Scope: ScopeLink, Metric: 5},
		{Dst: netip.MustParsePrefix("fd00:1::/64"), Gateway: netip.MustParseAddr("fe80::1"), OIF: 4,
			Table: 100, Protocol: ProtocolBoot, Type: RouteTypeUnicast, Metric: 1024},
		{Dst: netip.MustParsePrefix("10.99.0.0/24"), Table: TableMain, Type: RouteTypeBlackhole, Protocol: ProtocolBoot},
		{Dst: netip.MustParsePrefix("10.2.0.0/16"), Table: 4000000000, Type: RouteTypeUnicast, Protocol: ProtocolStatic,
			NextHops: []NextHop{{Gateway: netip.MustParseAddr("10.0.0.2"), OIF: 2, Weight: 1}, {Gateway: netip.MustParseAddr("10.0.0.3"), OIF: 3, Weight: 256}}},
	} {
		got, ok, err := DecodeRoute(testEncodeRoute(want))
		if err != nil || !ok || !reflect.DeepEqual(got, want) {
			t.Errorf("DecodeRoute(%s) = %#v, %v, %v; want %#v", want.Dst, got, ok, err, want)
		}
	}

	// A default route has no RTA_DST at all.
	var e encoder
	e.begin(unix.RTM_NEWROUTE, 0)
	e.fixed(rtmsg{Family: unix.AF_INET6, Table: unix.RT_TABLE_MAIN, Protocol: unix.RTPROT_RA, Type: unix.RTN_UNICAST}.bytes())
	e.addr(unix.RTA_GATEWAY, netip.MustParseAddr("fe80::1"))
	e.u32(unix.RTA_OIF, 2)
	r, ok, err := DecodeRoute(payload(&e))
	if err != nil || !ok || r.Dst != netip.MustParsePrefix("::/0") || !r.IsDefault() || r.Table != TableMain || r.Family() != FamilyV6 {
		t.Fatalf("default route decoded to %+v, %v, %v", r, ok, err)
	}

	// Multicast routing tables (RTNL_FAMILY_IPMR) are skipped, not errors.
	e = encoder{}
	e.begin(unix.RTM_NEWROUTE, 0)
	e.fixed(rtmsg{Family: 128}.bytes())
	if _, ok, err := DecodeRoute(payload(&e)); ok || err != nil {
		t.Fatalf("IPMR route: ok=%v err=%v; want false, nil", ok, err)
	}
}

func TestDecodeNeighbour(t *testing.T) {
	for _, want := range []Neighbour{
		{Index: 2, IP: netip.MustParseAddr("192.168.1.1"), HardwareAddr: MustParseMAC("aa:bb:cc:dd:ee:ff"), State: NeighPermanent},
		{Index: 3, IP: netip.MustParseAddr("fd00::9"), HardwareAddr: MustParseMAC("02:00:00:00:00:09"), State: NeighReachable, Flags: unix.NTF_ROUTER},
		{Index: 2, IP: netip.MustParseAddr("10.0.0.77"), State: NeighFailed},
	} {
		got, ok, err := DecodeNeighbour(testEncodeNeighbour(want))
		if err != nil || !ok || !reflect.DeepEqual(got, want) {
			t.Errorf("DecodeNeighbour(%s) = %#v, %v, %v; want %#v", want.IP, got, ok, err, want)
		}
	}
	// Bridge FDB entries (AF_BRIDGE) are skipped.
	if _, ok, err := DecodeNeighbour(ndmsg(Family(unix.AF_BRIDGE), 2, NeighPermanent, 0)); ok || err != nil {
		t.Fatalf("AF_BRIDGE entry: ok=%v err=%v; want false, nil", ok, err)
	}
}

func TestDecodeRule(t *testing.T) {
	for _, want := range []Rule{
		{Family: FamilyV4, Table: TableLocal},
		{Family: FamilyV4, Priority: 32766, Table: TableMain},
		{Family: FamilyV4, Priority: 100, Table: 100, From: netip.MustParsePrefix("10.0.0.0/24"), Protocol: ProtocolStatic},
		{Family: FamilyV4, Priority: 200, Table: 1000, FwMark: 0x10, FwMask: 0xff, IIF: "veth0", Invert: true},
		{Family: FamilyV6, Priority: 300, Table: 100000, From: netip.MustParsePrefix("fd00:1::/64"), To: netip.MustParsePrefix("fd00:2::/48"), OIF: "veth1"},
		{Family: FamilyV4, Priority: 400, Action: RuleBlackhole},
	} {
		got, ok, err := DecodeRule(testEncodeRule(want))
		if err != nil || !ok || !reflect.DeepEqual(got, want) {
			t.Errorf("DecodeRule(%s) = %#v, %v, %v; want %#v", want, got, ok, err, want)
		}
	}
}

// TestDecodeMalformed feeds each decoder truncated and inconsistent input:
// every case must return an error (never panic, never a partial value).
func TestDecodeMalformed(t *testing.T) {
	link := testEncodeLink(Link{Index: 2, Name: "eth0", MTU: 1500}, nil)
	addr := testEncodeAddress(Address{Index: 2, Prefix: netip.MustParsePrefix("10.0.0.1/24")})
	route := testEncodeRoute(Route{Dst: netip.MustParsePrefix("10.0.0.0/24"), Table: 254, OIF: 2})
	neigh := testEncodeNeighbour(Neighbour{Index: 2, IP: netip.MustParseAddr("10.0.0.2"), HardwareAddr: MustParseMAC("02:00:00:00:00:02")})
	rule := testEncodeRule(Rule{Family: FamilyV4, Priority: 5, Table: 100, From: netip.MustParsePrefix("10.0.0.0/8")})

	// attr overwrites the first attribute's header (after a fixed header of
	// size hdr) with length l and type typ.
	attr := func(b []byte, hdr int, l, typ uint16) []byte {
		c := append([]byte(nil), b...)
		binary.NativeEndian.PutUint16(c[hdr:], l)
		binary.NativeEndian.PutUint16(c[hdr+2:], typ)
		return c
	}
	decoders := map[string]func([]byte) error{
		"link":      func(b []byte) error { _, err := DecodeLink(b); return err },
		"linkstats": func(b []byte) error { _, err := DecodeLinkStats(b); return err },
		"address":   func(b []byte) error { _, err := DecodeAddress(b); return err },
		"route":     func(b []byte) error { _, _, err := DecodeRoute(b); return err },
		"neighbour": func(b []byte) error { _, _, err := DecodeNeighbour(b); return err },
		"rule":      func(b []byte) error { _, _, err := DecodeRule(b); return err },
	}
	for _, tc := range []struct {
		decoder, name string
		b             []byte
		want          string
	}{
		{"link", "empty", nil, "ifinfomsg: 0 bytes, want 16"},
		{"linkstats", "short header", link[:15], "ifinfomsg: 15 bytes, want 16"},
		{"link", "attribute past the end", attr(link, 16, 200, unix.IFLA_IFNAME), "link 2: attribute length 200 out of range"},
		{"link", "attribute shorter than its header", attr(link, 16, 2, unix.IFLA_IFNAME), "link 2: attribute length 2 out of range"},
		{"link", "2-byte MTU", attr(link, 16, 6, unix.IFLA_MTU), "link 2: attribute 4: want 4 bytes, got 2 bytes"},
		{"address", "short header", addr[:7], "ifaddrmsg: 7 bytes, want 8"},
		{"address", "no address attribute", addr[:8], "address on ifindex 2: no IFA_LOCAL or IFA_ADDRESS"},
		{"address", "5-byte address", attr(addr, 8, 9, unix.IFA_ADDRESS), "want a 4- or 16-byte address, got 5 bytes"},
		{"address", "prefix length 33", func() []byte { c := append([]byte(nil), addr...); c[1] = 33; return c }(), "prefix length 33"},
		{"route", "short header", route[:11], "rtmsg: 11 bytes, want 12"},
		{"route", "prefix length 40", func() []byte { c := append([]byte(nil), route...); c[1] = 40; return c }(), "route: prefix length 40 for 10.0.0.0"},
		{"route", "truncated table", attr(route, 12, 6, unix.RTA_TABLE), "route: attribute 15: want 4 bytes, got 2 bytes"},
		{"route", "attribute past the end", attr(route, 12, 200, unix.RTA_TABLE), "route: attribute length 200 out of range"},
		{"route", "attribute shorter than its header", attr(route, 12, 2, unix.RTA_TABLE), "route: attribute length 2 out of range"},
		{"route", "5-byte gateway", attr(route, 12, 9, unix.RTA_GATEWAY), "route: attribute 5: want a 4- or 16-byte address, got 5 bytes"},
		{"route", "bad nexthop length", func() []byte {
			var e encoder
			e.begin(unix.RTM_NEWROUTE, 0)
			e.fixed(rtmsg{Family: unix.AF_INET}.bytes())
			e.attr(unix.RTA_MULTIPATH, []byte{3, 0, 0, 0, 2, 0, 0, 0})
			return payload(&e)
		}(), "route: rtnexthop length 3 out of range"},
		{"neighbour", "short header", neigh[:11], "ndmsg: 11 bytes, want 12"},
		{"neighbour", "no destination", neigh[:12], "neighbour on ifindex 2: no NDA_DST"},
		{"neighbour", "3-byte destination", attr(neigh, 12, 7, unix.NDA_DST), "want a 4- or 16-byte address, got 3 bytes"},
		{"rule", "short header", rule[:11], "fib_rule_hdr: 11 bytes, want 12"},
		{"rule", "1-byte priority", attr(rule, 12, 5, unix.FRA_PRIORITY), "rule: attribute 6: want 4 bytes, got 1 bytes"},
		{"rule", "source length 40", func() []byte { c := append([]byte(nil), rule...); c[2] = 40; return c }(), "rule: source prefix length 40 for 10.0.0.0"},
	} {
		err := decoders[tc.decoder](tc.b)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s, %s: err = %v; want one containing %q", tc.decoder, tc.name, err, tc.want)
		}
	}
}

// TestStringFormats pins the inspect lines of issue 2, item 5.
func TestStringFormats(t *testing.T) {
	for _, tc := range []struct {
		v    interface{ String() string }
		want string
	}{
		{Link{Index: 1, Name: "lo", MTU: 65536, Flags: net.FlagUp | net.FlagLoopback}, `Link<"lo" (1) UP MTU=65536>`},
		{Link{Index: 3, Name: "wlan0", MTU: 1500}, `Link<"wlan0" (3) DOWN MTU=1500>`},
		{Address{Index: 2, Prefix: netip.MustParsePrefix("192.168.1.42/24")}, `Address<192.168.1.42/24 ifindex=2>`},
		{Address{Index: 1, Prefix: netip.MustParsePrefix("::1/128")}, `Address<::1/128 ifindex=1>`},
		{Route{Dst: netip.MustParsePrefix("0.0.0.0/0"), Gateway: netip.MustParseAddr("192.168.1.1"), OIF: 2, Table: TableMain, Protocol: ProtocolBoot, Type: RouteTypeUnicast},
			`Route<default via 192.168.1.1 oif=2>`},
		{Route{Dst: netip.MustParsePrefix("192.168.1.0/24"), OIF: 2, Table: TableMain, Protocol: ProtocolKernel, Type: RouteTypeUnicast, Scope: ScopeLink},
			`Route<192.168.1.0/24 oif=2>`},
		{Route{Dst: netip.MustParsePrefix("1.1.1.1/32"), Gateway: netip.MustParseAddr("192.168.1.1"), OIF: 2, Table: TableMain, Type: RouteTypeUnicast},
			`Route<1.1.1.1/32 via 192.168.1.1 oif=2>`},
		{Route{Dst: netip.MustParsePrefix("10.1.0.0/16"), OIF: 3, Table: 1000, Metric: 5, Protocol: DefaultProtocol, Type: RouteTypeUnicast},
			`Route<10.1.0.0/16 oif=3 table=1000 metric=5 proto=76>`},
		{Route{Dst: netip.MustParsePrefix("10.99.0.0/24"), Table: TableMain, Type: RouteTypeBlackhole, Protocol: ProtocolStatic},
			`Route<blackhole 10.99.0.0/24 proto=static>`},
		{Neighbour{Index: 2, IP: netip.MustParseAddr("192.168.1.1"), HardwareAddr: MustParseMAC("aa:bb:cc:dd:ee:ff")},
			`Neighbour<192.168.1.1 -> aa:bb:cc:dd:ee:ff ifindex=2>`},
		{Neighbour{Index: 2, IP: netip.MustParseAddr("10.0.0.9")}, `Neighbour<10.0.0.9 -> (none) ifindex=2>`},
		{Rule{Family: FamilyV4, Table: TableLocal}, `Rule<table=255>`},
		{Rule{Family: FamilyV4, Priority: 32766, Table: TableMain}, `Rule<priority=32766 table=254>`},
		{Rule{Family: FamilyV4, Priority: 32767, Table: TableDefault}, `Rule<priority=32767 table=253>`},
		{Rule{Family: FamilyV4, Priority: 100, Table: 100, From: netip.MustParsePrefix("10.0.0.0/24")}, `Rule<priority=100 from=10.0.0.0/24 table=100>`},
		{Rule{Family: FamilyV4, Priority: 200, Table: 1000, FwMark: 0x10, FwMask: 0xffffffff}, `Rule<priority=200 fwmark=0x10/0xffffffff table=1000>`},
		{Stats{Index: 2, Link: LinkStats64{RxPackets: 128431, RxBytes: 189204771, TxPackets: 85912, TxBytes: 12504331}},
			`Stats<ifindex=2 rx=128431p/189204771B tx=85912p/12504331B>`},
	} {
		if got := tc.v.String(); got != tc.want {
			t.Errorf("String() = %s, want %s", got, tc.want)
		}
	}
}

// errorMessage builds the payload of an NLMSG_ERROR as the kernel sends it
// with NETLINK_CAP_ACK and NETLINK_EXT_ACK: the negative errno, the
// request's header, then extended-ack attributes.
func errorMessage(errno syscall.Errno, extack string) []byte {
	b := binary.NativeEndian.AppendUint32(nil, negErrno(errno))
	b = append(b, make([]byte, unix.NLMSG_HDRLEN)...)
	if extack != "" {
		var e encoder
		e.str(unix.NLMSGERR_ATTR_MSG, extack)
		b = append(b, e.b...)
	}
	return b
}

// negErrno returns errno as the kernel writes it: negated, as a u32.
func negErrno(errno syscall.Errno) uint32 { return uint32(-int32(errno)) }

func TestErrors(t *testing.T) {
	err := error(&Error{Op: "link get", Errno: unix.ENODEV, Message: `no such interface "nope0"`})
	if got := err.Error(); got != `netlink ENODEV (19): no such interface "nope0"` {
		t.Fatalf("Error() = %s", got)
	}
	if !errors.Is(err, unix.ENODEV) || errors.Is(err, unix.ENOENT) || !IsNotExist(err) || IsExist(err) {
		t.Fatalf("errors.Is/IsNotExist wrong for %v", err)
	}
	var e *Error
	if !errors.As(err, &e) || e.Name() != "ENODEV" || e.Code() != 19 {
		t.Fatalf("Name, Code = %s, %d", e.Name(), e.Code())
	}
	if got := (&Error{Errno: 4000}).Error(); got != "netlink E4000 (4000)" {
		t.Fatalf("unnamed errno: %s", got)
	}

	// The kernel's extended-ack text becomes the message.
	err = parseAck("link add", errorMessage(unix.EOPNOTSUPP, "Unknown device type"))
	if err == nil || err.Error() != "netlink EOPNOTSUPP (95): Unknown device type" || !errors.Is(err, unix.EOPNOTSUPP) {
		t.Fatalf("parseAck with extack = %v", err)
	}
	// Without one, withContext names the argument at fault, and keeps a
	// kernel message when there is one.
	err = withContext(parseAck("link get", errorMessage(unix.ENODEV, "")), "link get", `no such interface "nope0"`)
	if err.Error() != `netlink ENODEV (19): no such interface "nope0"` {
		t.Fatalf("withContext = %v", err)
	}
	err = withContext(parseAck("route add", errorMessage(unix.EINVAL, "Invalid prefix")), "route add", "route 10.0.0.0/8")
	if err.Error() != "netlink EINVAL (22): route 10.0.0.0/8: Invalid prefix" {
		t.Fatalf("withContext = %v", err)
	}
	if parseAck("x", errorMessage(0, "")) != nil {
		t.Fatal("an ack (errno 0) is an error")
	}
	if err := parseAck("x", []byte{1, 2}); !errors.Is(err, unix.EBADMSG) {
		t.Fatalf("truncated ack = %v; want EBADMSG", err)
	}
	// A dump that failed in the kernel sends its errno in NLMSG_DONE.
	if err := parseDone("route list", binary.NativeEndian.AppendUint32(nil, negErrno(unix.EINVAL))); !errors.Is(err, unix.EINVAL) {
		t.Fatalf("parseDone = %v", err)
	}
	if err := parseDone("route list", binary.NativeEndian.AppendUint32(nil, 0)); err != nil {
		t.Fatalf("parseDone(0) = %v", err)
	}
}
