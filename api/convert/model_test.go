package convert_test

import (
	"fmt"
	"net"
	"net/netip"
	"reflect"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"pgregory.net/rapid"

	"github.com/linx-net/linx/api/convert"
	"github.com/linx-net/linx/config"
	"github.com/linx-net/linx/messages"
	"github.com/linx-net/linx/reconcile"
	"github.com/linx-net/linx/rtnl"
)

// genAddr draws an address of the given family (never IPv4-mapped IPv6).
func genAddr(t *rapid.T, v6 bool, label string) netip.Addr {
	if v6 {
		b := rapid.SliceOfN(rapid.Byte(), 16, 16).Draw(t, label)
		b[0] = 0xfd
		return netip.AddrFrom16([16]byte(b))
	}
	b := rapid.SliceOfN(rapid.Byte(), 4, 4).Draw(t, label)
	return netip.AddrFrom4([4]byte(b))
}

func genMaybeAddr(t *rapid.T, v6 bool, label string) netip.Addr {
	if rapid.Bool().Draw(t, label+"?") {
		return genAddr(t, v6, label)
	}
	return netip.Addr{}
}

func genPrefix(t *rapid.T, v6 bool, label string) netip.Prefix {
	a := genAddr(t, v6, label)
	return netip.PrefixFrom(a, rapid.IntRange(0, a.BitLen()).Draw(t, label+"/bits")).Masked()
}

func genMAC(t *rapid.T, label string) net.HardwareAddr {
	return net.HardwareAddr(rapid.SliceOfN(rapid.Byte(), 6, 6).Draw(t, label))
}

func genName(t *rapid.T, label string) string {
	return rapid.StringMatching(`[a-z][a-z0-9.-]{0,14}`).Draw(t, label)
}

func genNamespace(t *rapid.T, label string) rtnl.Namespace {
	switch rapid.IntRange(0, 2).Draw(t, label) {
	case 1:
		return rtnl.NamespaceOfPID(rapid.IntRange(1, 1<<22).Draw(t, label+"/pid"))
	case 2:
		return rtnl.NamespaceAt("/var/run/netns/" + genName(t, label+"/path"))
	}
	return rtnl.Host()
}

// genLink draws link i: every kind, with and without its settings, and
// every setting of each kind.
func genLink(t *rapid.T, i int) reconcile.Link {
	// Every kind with settings gets them: the file gives a kind without
	// settings its defaults (see config.MarshalDesired).
	l := reconcile.Link{
		Name:  fmt.Sprintf("link%d", i),
		Kind:  rapid.SampledFrom([]string{"", "veth", "bridge", "dummy", "ifb", "vxlan", "macvlan", "macvtap", "ipvlan", "vlan"}).Draw(t, "kind"),
		State: rapid.SampledFrom([]reconcile.LinkState{reconcile.LinkStateAny, reconcile.LinkStateUp, reconcile.LinkStateDown}).Draw(t, "state"),
	}
	if rapid.Bool().Draw(t, "master?") {
		l.Master = "br" + genName(t, "master")[:1]
	}
	if rapid.Bool().Draw(t, "mtu?") {
		l.MTU = rapid.IntRange(68, 65535).Draw(t, "mtu")
	}
	if rapid.Bool().Draw(t, "mac?") {
		l.MAC = genMAC(t, "mac")
	}
	switch l.Kind {
	case "macvlan", "macvtap", "ipvlan", "vlan":
		l.Parent = "parent" + genName(t, "parent")[:1]
	case "vxlan":
		if rapid.Bool().Draw(t, "parent?") {
			l.Parent = "parent" + genName(t, "parent")[:1]
		}
	}
	switch l.Kind {
	case "veth":
		l.Data = rtnl.Veth{Peer: fmt.Sprintf("peer%d", i), PeerNamespace: genNamespace(t, "peerns")}
	case "macvlan", "macvtap":
		modes := []rtnl.MacvlanMode{rtnl.MacvlanPrivate, rtnl.MacvlanVEPA, rtnl.MacvlanBridge, rtnl.MacvlanPassthru, rtnl.MacvlanSource}
		l.Data = rtnl.Macvlan{Mode: rapid.SampledFrom(modes).Draw(t, "macvlan mode"), Tap: l.Kind == "macvtap"}
	case "ipvlan":
		modes := []rtnl.IPVlanMode{rtnl.IPVlanL2, rtnl.IPVlanL3, rtnl.IPVlanL3S}
		l.Data = rtnl.IPVlan{Mode: rapid.SampledFrom(modes).Draw(t, "ipvlan mode")}
	case "vlan":
		l.Data = rtnl.VLAN{ID: uint16(rapid.IntRange(1, 4094).Draw(t, "vlan id"))}
	case "vxlan":
		v6 := rapid.Bool().Draw(t, "vxlan v6")
		v := rtnl.Vxlan{
			VNI:        uint32(rapid.IntRange(0, 1<<24-1).Draw(t, "vni")),
			Port:       rapid.Uint16().Draw(t, "port"),
			Local:      genMaybeAddr(t, v6, "local"),
			NoLearning: rapid.Bool().Draw(t, "no learning"),
		}
		switch rapid.IntRange(0, 2).Draw(t, "peer") {
		case 1:
			v.Remote = genAddr(t, v6, "remote")
		case 2:
			if v6 {
				v.Group = netip.MustParseAddr(fmt.Sprintf("ff0e::%x", rapid.Uint16().Draw(t, "group")))
			} else {
				v.Group = netip.MustParseAddr(fmt.Sprintf("239.1.1.%d", rapid.Uint8().Draw(t, "group")))
			}
		}
		l.Data = v
	}
	return l
}

// genRouteProtocol draws a route protocol a scope may own, or 0 (the
// scope's own).
func genRouteProtocol(t *rapid.T) rtnl.Protocol {
	return rapid.Custom(func(t *rapid.T) rtnl.Protocol {
		return rtnl.Protocol(rapid.Uint8().Draw(t, "protocol"))
	}).Filter(func(p rtnl.Protocol) bool {
		return p == 0 || reconcile.CheckProtocol(p) == nil
	}).Draw(t, "route protocol")
}

// genDesired draws a valid Desired that uses every field of every entry.
func genDesired(t *rapid.T) reconcile.Desired {
	var d reconcile.Desired
	for i := range rapid.IntRange(0, 6).Draw(t, "links") {
		d.Links = append(d.Links, genLink(t, i))
	}
	for i := range rapid.IntRange(0, 4).Draw(t, "addresses") {
		a := genAddr(t, rapid.Bool().Draw(t, "v6"), "address")
		// Host bits are kept: 10.0.0.2/24 is an address, not a network.
		d.Addresses = append(d.Addresses, reconcile.Address{
			Link:   fmt.Sprintf("link%d", i),
			Prefix: netip.PrefixFrom(a, rapid.IntRange(1, a.BitLen()).Draw(t, "bits")),
		})
	}
	var singles []uint32
	for i := range rapid.IntRange(0, 3).Draw(t, "single nexthops") {
		n := reconcile.Nexthop{ID: uint32(i + 1)}
		switch rapid.IntRange(0, 2).Draw(t, "nexthop kind") {
		case 0:
			n.Via = genAddr(t, rapid.Bool().Draw(t, "v6"), "nexthop via")
			if rapid.Bool().Draw(t, "nexthop dev?") {
				n.Dev = genName(t, "nexthop dev")
			}
		case 1:
			n.Dev = genName(t, "nexthop dev")
		case 2:
			n.Blackhole = true
		}
		singles = append(singles, n.ID)
		d.Nexthops = append(d.Nexthops, n)
	}
	if len(singles) > 0 && rapid.Bool().Draw(t, "group?") {
		g := reconcile.Nexthop{ID: 100}
		for _, id := range singles {
			if rapid.Bool().Draw(t, "member?") || len(g.Group) == 0 {
				g.Group = append(g.Group, rtnl.NexthopMember{ID: id, Weight: rapid.Uint32Range(0, 256).Draw(t, "weight")})
			}
		}
		if rapid.Bool().Draw(t, "resilient?") {
			g.Type = rtnl.NexthopGroupResilient
			g.Resilient = rtnl.Resilient{
				Buckets:         rapid.Uint16().Draw(t, "buckets"),
				IdleTimer:       time.Duration(rapid.IntRange(0, 1000).Draw(t, "idle")) * 10 * time.Millisecond,
				UnbalancedTimer: time.Duration(rapid.IntRange(0, 1000).Draw(t, "unbalanced")) * time.Second,
			}
		}
		d.Nexthops = append(d.Nexthops, g)
	}
	type key struct {
		dst, from     netip.Prefix
		table, metric uint32
	}
	seen := map[key]bool{}
	for range rapid.IntRange(0, 6).Draw(t, "routes") {
		v6 := rapid.Bool().Draw(t, "v6")
		r := reconcile.Route{
			Dst:      genPrefix(t, v6, "dst"),
			Table:    rapid.Uint32().Draw(t, "table"),
			Metric:   rapid.Uint32().Draw(t, "metric"),
			Protocol: genRouteProtocol(t),
			Type:     rapid.SampledFrom([]rtnl.RouteType{rtnl.RouteTypeUnspec, rtnl.RouteTypeUnicast, rtnl.RouteTypeBlackhole, rtnl.RouteTypeUnreachable, rtnl.RouteTypeProhibit}).Draw(t, "type"),
			Src:      genMaybeAddr(t, v6, "src"),
		}
		if r.Type == rtnl.RouteTypeUnspec || r.Type == rtnl.RouteTypeUnicast {
			switch rapid.IntRange(0, 4).Draw(t, "next hop") {
			case 0:
				r.Via = genAddr(t, v6, "via")
			case 1:
				r.Dev = genName(t, "dev")
			case 2:
				r.Via, r.Dev = genAddr(t, v6, "via"), genName(t, "dev")
			case 3:
				for range rapid.IntRange(1, 3).Draw(t, "paths") {
					h := reconcile.NextHop{Weight: rapid.IntRange(0, 256).Draw(t, "path weight")}
					switch rapid.IntRange(0, 2).Draw(t, "path") {
					case 0:
						h.Via = genAddr(t, v6, "path via")
					case 1:
						h.Dev = genName(t, "path dev")
					case 2:
						h.Via, h.Dev = genAddr(t, v6, "path via"), genName(t, "path dev")
					}
					r.NextHops = append(r.NextHops, h)
				}
			case 4:
				if len(d.Nexthops) == 0 {
					r.Dev = genName(t, "dev")
					break
				}
				r.Nexthop = rapid.SampledFrom(d.Nexthops).Draw(t, "nexthop").ID
			}
		}
		if v6 && rapid.Bool().Draw(t, "from?") {
			r.From = genPrefix(t, true, "from")
			if r.From.Bits() == 0 {
				r.From = netip.Prefix{}
			}
		}
		k := key{r.Dst, r.From, r.Table, r.Metric}
		if k.table == 0 {
			k.table = rtnl.TableMain
		}
		if seen[k] {
			continue
		}
		seen[k] = true
		d.Routes = append(d.Routes, r)
	}
	for i := range rapid.IntRange(0, 3).Draw(t, "neighbours") {
		d.Neighbours = append(d.Neighbours, reconcile.Neighbour{
			Link: fmt.Sprintf("link%d", i),
			IP:   genAddr(t, rapid.Bool().Draw(t, "v6"), "ip"),
			MAC:  genMAC(t, "mac"),
		})
	}
	for i := range rapid.IntRange(0, 5).Draw(t, "rules") {
		v6 := rapid.Bool().Draw(t, "v6")
		r := reconcile.Rule{
			Priority: uint32(i + 1), // distinct, so no two rules are duplicates
			Table:    rapid.Uint32Range(1, 1<<32-1).Draw(t, "table"),
			FwMark:   rapid.Uint32().Draw(t, "fwmark"),
			FwMask:   rapid.Uint32().Draw(t, "fwmask"),
			TOS:      rapid.Uint8().Draw(t, "tos"),
			Action:   rtnl.RuleAction(rapid.Uint8().Draw(t, "action")),
			Invert:   rapid.Bool().Draw(t, "invert"),
			Protocol: rtnl.Protocol(rapid.Uint8().Draw(t, "protocol")),
		}
		if rapid.Bool().Draw(t, "from?") {
			r.From = genPrefix(t, v6, "from")
		}
		if rapid.Bool().Draw(t, "to?") {
			r.To = genPrefix(t, v6, "to")
		}
		if rapid.Bool().Draw(t, "iif?") {
			r.IIF = genName(t, "iif")
		}
		if rapid.Bool().Draw(t, "oif?") {
			r.OIF = genName(t, "oif")
		}
		switch fam := rapid.SampledFrom([]rtnl.Family{rtnl.FamilyAll, rtnl.FamilyV4, rtnl.FamilyV6}).Draw(t, "family"); {
		case r.From.IsValid() || r.To.IsValid():
			if fam != rtnl.FamilyAll {
				r.Family = rtnl.FamilyV4
				if v6 {
					r.Family = rtnl.FamilyV6
				}
			}
		default:
			r.Family = fam
		}
		d.Rules = append(d.Rules, r)
	}
	return d
}

// fromYAML reads desired, the value of a scope's desired key, through
// the configuration file's reader.
func fromYAML(t interface{ Fatalf(string, ...any) }, desired string) reconcile.Desired {
	cfg, err := config.Parse("t.yaml", []byte("scopes:\n  - name: s\n    desired: "+desired+"\n"))
	if err != nil {
		t.Fatalf("config.Parse: %v\n%s", err, desired)
	}
	return cfg.Scopes[0].Desired
}

// fromProto sends m over the wire and converts it back.
func fromProto(t interface{ Fatalf(string, ...any) }, m *messages.Desired) reconcile.Desired {
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatalf("proto.Marshal: %v", err)
	}
	var back messages.Desired
	if err := proto.Unmarshal(b, &back); err != nil {
		t.Fatalf("proto.Unmarshal: %v", err)
	}
	d, err := convert.DesiredFromProto(&back)
	if err != nil {
		t.Fatalf("DesiredFromProto: %v", err)
	}
	return d.(reconcile.Desired)
}

// same reports whether a and b are the same model, an empty list being
// the same as none.
func same(a, b reconcile.Desired) bool {
	norm := func(d reconcile.Desired) reconcile.Desired {
		if len(d.Links) == 0 {
			d.Links = nil
		}
		if len(d.Addresses) == 0 {
			d.Addresses = nil
		}
		if len(d.Routes) == 0 {
			d.Routes = nil
		}
		if len(d.Neighbours) == 0 {
			d.Neighbours = nil
		}
		if len(d.Rules) == 0 {
			d.Rules = nil
		}
		if len(d.Nexthops) == 0 {
			d.Nexthops = nil
		}
		return d
	}
	return reflect.DeepEqual(norm(a), norm(b))
}

// TestOneRouteBothEncodings walks one desired route from the
// configuration file and from a message of the API to the same Go value.
func TestOneRouteBothEncodings(t *testing.T) {
	want := reconcile.Route{
		Dst: netip.MustParsePrefix("::/0"), Via: netip.MustParseAddr("fd00::fe"), Dev: "br0",
		Src: netip.MustParseAddr("fd00::1"), Table: 100, Metric: 5, Protocol: 78, Type: rtnl.RouteTypeUnicast,
	}
	y := fromYAML(t, `{routes: [{dst: default, family: inet6, via: "fd00::fe", dev: br0, src: "fd00::1", table: 100, metric: 5, protocol: 78, type: unicast}]}`)
	p := fromProto(t, &messages.Desired{Routes: []*messages.Route{{
		Dst: "default", Family: "inet6", Via: "fd00::fe", Dev: "br0", Src: "fd00::1", Table: 100, Metric: 5, Protocol: 78, Type: "unicast",
	}}})
	if len(y.Routes) != 1 || !reflect.DeepEqual(y.Routes[0], want) {
		t.Errorf("from YAML: %+v, want %+v", y.Routes, want)
	}
	if len(p.Routes) != 1 || !reflect.DeepEqual(p.Routes[0], want) {
		t.Errorf("from protobuf: %+v, want %+v", p.Routes, want)
	}
}

// TestEveryFieldBothEncodings reads the same desired state, written with
// every key of every entry, from the file and from a message: the two are
// one Go value. The rows of the README's table of fields are the keys
// used here.
func TestEveryFieldBothEncodings(t *testing.T) {
	up, prio := true, uint32(100)
	y := fromYAML(t, `
      links:
        - {name: v0, kind: veth, peer: v1, peer_netns: "path:/var/run/netns/x", up: true, mtu: 1400, mac: "02:00:00:00:00:01", master: br0, adopt: true}
        - {name: mv0, kind: macvtap, parent: v0, mode: private}
        - {name: iv0, kind: ipvlan, parent: v0, mode: l3s}
        - {name: vl0, kind: vlan, parent: v0, id: 42}
        - {name: vx0, kind: vxlan, vni: 7, port: 4789, local: 10.0.0.1, group: 239.1.1.1, learning: false}
        - {name: br0, kind: bridge, up: false}
      addresses:
        - {link: br0, address: 10.0.42.1/24}
      routes:
        - {dst: default, via: 10.0.42.254, src: 10.0.42.1, table: 100, metric: 5, protocol: 78}
        - {dst: default, family: inet6, dev: br0}
        - {dst: 192.0.2.0/24, type: blackhole}
        - {dst: 10.50.0.0/24, via: [{via: 10.0.42.254, dev: br0, weight: 3}, {via: 10.0.42.253}]}
        - {dst: 10.51.0.0/24, nexthop: 10}
        - {dst: "fd50::/64", from: "fd01::/64", dev: br0}
      nexthops:
        - {id: 1, via: 10.0.42.254, dev: br0}
        - {id: 2, dev: br0}
        - {id: 3, blackhole: true}
        - {id: 10, group: [{id: 1, weight: 2}, {id: 2}], type: resilient, buckets: 64, idle_timer: 60s, unbalanced_timer: 5s}
      neighbours:
        - {link: br0, ip: 10.0.42.7, mac: "02:aa:bb:cc:dd:ee"}
      rules:
        - {priority: 100, table: 100, family: inet, from: 10.0.42.0/24, to: 10.9.0.0/16, iif: br0, oif: vx0, fwmark: 1, fwmask: 3, tos: 16, action: to_tbl, invert: true, protocol: 77}
        - {priority: 101, table: 7, action: unreachable}`)
	p := fromProto(t, &messages.Desired{
		Links: []*messages.Link{
			{Name: "v0", Kind: "veth", Up: &up, Mtu: 1400, Mac: "02:00:00:00:00:01", Master: "br0", Adopt: true,
				Settings: &messages.Link_Veth{Veth: &messages.Veth{Peer: "v1", PeerNamespace: &messages.Namespace{Kind: &messages.Namespace_Path{Path: "/var/run/netns/x"}}}}},
			{Name: "mv0", Kind: "macvtap", Parent: "v0", Settings: &messages.Link_Macvlan{Macvlan: &messages.Macvlan{Mode: "private", Tap: true}}},
			{Name: "iv0", Kind: "ipvlan", Parent: "v0", Settings: &messages.Link_Ipvlan{Ipvlan: &messages.IPVlan{Mode: "l3s"}}},
			{Name: "vl0", Kind: "vlan", Parent: "v0", Settings: &messages.Link_Vlan{Vlan: &messages.Vlan{Id: 42}}},
			{Name: "vx0", Kind: "vxlan", Settings: &messages.Link_Vxlan{Vxlan: &messages.Vxlan{Vni: 7, Port: 4789, Local: "10.0.0.1", Group: "239.1.1.1", Learning: new(bool)}}},
			{Name: "br0", Kind: "bridge", Up: new(bool)},
		},
		Addresses: []*messages.Address{{Link: "br0", Address: "10.0.42.1/24"}},
		Routes: []*messages.Route{
			{Dst: "default", Via: "10.0.42.254", Src: "10.0.42.1", Table: 100, Metric: 5, Protocol: 78},
			{Dst: "default", Family: "inet6", Dev: "br0"},
			{Dst: "192.0.2.0/24", Type: "blackhole"},
			{Dst: "10.50.0.0/24", Paths: []*messages.NextHop{{Via: "10.0.42.254", Dev: "br0", Weight: 3}, {Via: "10.0.42.253"}}},
			{Dst: "10.51.0.0/24", Nexthop: 10},
			{Dst: "fd50::/64", From: "fd01::/64", Dev: "br0"},
		},
		Nexthops: []*messages.Nexthop{
			{Id: 1, Via: "10.0.42.254", Dev: "br0"},
			{Id: 2, Dev: "br0"},
			{Id: 3, Blackhole: true},
			{Id: 10, Group: []*messages.NexthopMember{{Id: 1, Weight: 2}, {Id: 2}}, Type: "resilient", Buckets: 64,
				IdleTimerMs: 60000, UnbalancedTimerMs: 5000},
		},
		Neighbours: []*messages.Neighbour{{Link: "br0", Ip: "10.0.42.7", Mac: "02:aa:bb:cc:dd:ee"}},
		Rules: []*messages.Rule{
			{Priority: &prio, Table: 100, Family: "inet", From: "10.0.42.0/24", To: "10.9.0.0/16", Iif: "br0", Oif: "vx0",
				Fwmark: 1, Fwmask: 3, Tos: 16, Action: "to_tbl", Invert: true, Protocol: 77},
			{Priority: func() *uint32 { p := uint32(101); return &p }(), Table: 7, Action: "unreachable"},
		},
	})
	if !same(y, p) {
		t.Fatalf("the file and the message differ:\nfile:    %+v\nmessage: %+v", y, p)
	}
	if v := y.Links[0].Data.(rtnl.Veth); v.PeerNamespace != rtnl.NamespaceAt("/var/run/netns/x") {
		t.Errorf("peer_netns read as %v", v.PeerNamespace)
	}
	if n := y.Nexthops[3]; n.Type != rtnl.NexthopGroupResilient || n.Resilient.IdleTimer != time.Minute || len(n.Group) != 2 {
		t.Errorf("nexthop group read as %+v", n)
	}
	if r := y.Routes[3]; len(r.NextHops) != 2 || r.NextHops[0].Weight != 3 || y.Routes[5].From != netip.MustParsePrefix("fd01::/64") {
		t.Errorf("routes read as %+v", y.Routes)
	}
	if r := y.Rules[0]; r.TOS != 16 || !r.Invert || r.Protocol != 77 || r.Action != rtnl.RuleToTable {
		t.Errorf("rule read as %+v", r)
	}
}

// TestModelRoundTrip checks that both encodings carry the whole model: a
// valid Desired written as the file's YAML and read back, and converted
// to its message, sent and converted back, is the Desired it started as.
func TestModelRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		d := genDesired(t)
		if err := d.Validate(); err != nil {
			t.Fatalf("generated an invalid Desired: %v", err)
		}
		b, err := config.MarshalDesired(d)
		if err != nil {
			t.Fatalf("MarshalDesired: %v", err)
		}
		if y := fromYAML(t, string(b)); !same(y, d) {
			t.Fatalf("Go → YAML → Go:\n got %+v\nwant %+v\nyaml %s", y, d, b)
		}
		m, err := convert.DesiredToProto(d)
		if err != nil {
			t.Fatalf("DesiredToProto: %v", err)
		}
		if p := fromProto(t, m); !same(p, d) {
			t.Fatalf("Go → protobuf → Go:\n got %+v\nwant %+v", p, d)
		}
	})
}
