package convert_test

import (
	"fmt"
	"net"
	"net/netip"
	"reflect"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
	"pgregory.net/rapid"

	"github.com/linx-net/linx/api/convert"
	"github.com/linx-net/linx/messages"
	"github.com/linx-net/linx/reconcile"
	"github.com/linx-net/linx/rtnl"
)

// protoGenLink draws link i: every kind, with and without its settings, and
// every setting of each kind.
func protoGenLink(t *rapid.T, i int) reconcile.Link {
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
	if !rapid.Bool().Draw(t, "settings?") {
		return l
	}
	switch l.Kind {
	case "veth":
		l.Data = rtnl.Veth{Peer: fmt.Sprintf("peer%d", i), PeerNamespace: genNamespace(t, "peerns")}
	case "macvlan", "macvtap":
		modes := []rtnl.MacvlanMode{0, rtnl.MacvlanPrivate, rtnl.MacvlanVEPA, rtnl.MacvlanBridge, rtnl.MacvlanPassthru, rtnl.MacvlanSource}
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

// protoGenRouteProtocol draws a route protocol a scope may own, or 0 (the
// scope's own).
func protoGenRouteProtocol(t *rapid.T) rtnl.Protocol {
	return rapid.Custom(func(t *rapid.T) rtnl.Protocol {
		return rtnl.Protocol(rapid.Uint8().Draw(t, "protocol"))
	}).Filter(func(p rtnl.Protocol) bool {
		return p == 0 || reconcile.CheckProtocol(p) == nil
	}).Draw(t, "route protocol")
}

// protoGenDesired draws a valid Desired that uses every field of every entry.
func protoGenDesired(t *rapid.T) reconcile.Desired {
	var d reconcile.Desired
	for i := range rapid.IntRange(0, 6).Draw(t, "links") {
		d.Links = append(d.Links, protoGenLink(t, i))
	}
	for i := range rapid.IntRange(0, 4).Draw(t, "addresses") {
		a := genAddr(t, rapid.Bool().Draw(t, "v6"), "address")
		// Host bits are kept: 10.0.0.2/24 is an address, not a network.
		d.Addresses = append(d.Addresses, reconcile.Address{
			Link:   fmt.Sprintf("link%d", i),
			Prefix: netip.PrefixFrom(a, rapid.IntRange(1, a.BitLen()).Draw(t, "bits")),
		})
	}
	type key struct {
		dst           netip.Prefix
		table, metric uint32
	}
	seen := map[key]bool{}
	for range rapid.IntRange(0, 6).Draw(t, "routes") {
		v6 := rapid.Bool().Draw(t, "v6")
		r := reconcile.Route{
			Dst:      genPrefix(t, v6, "dst"),
			Table:    rapid.Uint32().Draw(t, "table"),
			Metric:   rapid.Uint32().Draw(t, "metric"),
			Protocol: protoGenRouteProtocol(t),
			Type:     rapid.SampledFrom([]rtnl.RouteType{rtnl.RouteTypeUnspec, rtnl.RouteTypeUnicast, rtnl.RouteTypeBlackhole, rtnl.RouteTypeUnreachable, rtnl.RouteTypeProhibit}).Draw(t, "type"),
			Src:      genMaybeAddr(t, v6, "src"),
		}
		if r.Type == rtnl.RouteTypeUnspec || r.Type == rtnl.RouteTypeUnicast {
			switch rapid.IntRange(0, 2).Draw(t, "next hop") {
			case 0:
				r.Via = genAddr(t, v6, "via")
			case 1:
				r.Dev = genName(t, "dev")
			case 2:
				r.Via, r.Dev = genAddr(t, v6, "via"), genName(t, "dev")
			}
		}
		k := key{r.Dst, r.Table, r.Metric}
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

// TestDesiredProtoRoundTrip checks that the message form is lossless: a
// valid Desired, converted to its message, marshalled to the wire,
// unmarshalled and converted back, is the Desired it started as.
func TestDesiredProtoRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		d := protoGenDesired(t)
		if err := d.Validate(); err != nil {
			t.Fatalf("generated an invalid Desired: %v", err)
		}
		m, err := convert.DesiredToProto(d)
		if err != nil {
			t.Fatalf("DesiredToProto: %v", err)
		}
		wire, err := proto.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		var back messages.Desired
		if err := proto.Unmarshal(wire, &back); err != nil {
			t.Fatal(err)
		}
		got, err := convert.DesiredFromProto(&back)
		if err != nil {
			t.Fatalf("DesiredFromProto: %v\nmessage: %v", err, m)
		}
		if !reflect.DeepEqual(got, d) {
			t.Fatalf("round trip changed the desired state:\n got %+v\nwant %+v\nmessage: %v", got, d, m)
		}
	})
}

func TestNamespaceProtoRoundTrip(t *testing.T) {
	for _, ns := range []rtnl.Namespace{rtnl.Host(), rtnl.NamespaceOfPID(4242), rtnl.NamespaceAt("/var/run/netns/web")} {
		got, err := convert.NamespaceFromProto(convert.NamespaceToProto(ns))
		if err != nil || got != ns {
			t.Errorf("%v: round trip gave %v, %v", ns, got, err)
		}
	}
}

func TestDesiredToProtoRefuses(t *testing.T) {
	_, err := convert.DesiredToProto(reconcile.Desired{
		Links: []reconcile.Link{
			{Name: "a", MTU: -1},
			{Name: "b", MAC: net.HardwareAddr{1, 2, 3, 4, 5, 6, 7, 8}},
			{Name: "c", Kind: "x", Data: otherData{}},
			{Name: "d", State: 9},
		},
		Neighbours: []reconcile.Neighbour{{Link: "a", IP: netip.MustParseAddr("10.0.0.1"), MAC: net.HardwareAddr{1, 2}}},
		Rules:      []reconcile.Rule{{Priority: 1, Table: 1, Family: 7}},
	})
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"links[0].mtu", "links[1].mac", "links[2]: settings of type", "links[3].state", "neighbours[0].mac", "rules[0].family"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not name %s: %v", want, err)
		}
	}
}

// TestLinkUpFromProto checks the message's optional up: unset leaves the
// link's state alone, true wants it up, false down; and that the message
// form of each state sets up so.
func TestLinkUpFromProto(t *testing.T) {
	for _, tc := range []struct {
		up   *bool
		want reconcile.LinkState
	}{
		{nil, reconcile.LinkStateAny},
		{proto.Bool(true), reconcile.LinkStateUp},
		{proto.Bool(false), reconcile.LinkStateDown},
	} {
		d, err := convert.DesiredFromProto(&messages.Desired{Links: []*messages.Link{{Name: "e0", Up: tc.up}}})
		if err != nil {
			t.Fatalf("up %v: %v", tc.up, err)
		}
		if got := d.(reconcile.Desired).Links[0].State; got != tc.want {
			t.Errorf("up %v: state %v, want %v", tc.up, got, tc.want)
		}
		m, err := convert.DesiredToProto(reconcile.Desired{Links: []reconcile.Link{{Name: "e0", State: tc.want}}})
		if err != nil {
			t.Fatalf("state %v: %v", tc.want, err)
		}
		if got := m.GetLinks()[0].Up; (got == nil) != (tc.up == nil) || (got != nil && *got != *tc.up) {
			t.Errorf("state %v: up %v, want %v", tc.want, got, tc.up)
		}
	}
}

type otherData struct{}

func (otherData) LinkKind() string { return "x" }

// The message API refuses interface names the kernel would refuse, in
// every field that names one, with the entry and field: a rule's iif "a b"
// and a link "br\r0" among them.
func TestDesiredFromProtoBadNames(t *testing.T) {
	prio := uint32(10)
	for field, m := range map[string]*messages.Desired{
		"rules[0].iif":       {Rules: []*messages.Rule{{Iif: "a b", Table: 100, Priority: &prio}}},
		"rules[0].oif":       {Rules: []*messages.Rule{{Oif: "x:y", Table: 100, Priority: &prio}}},
		"links[0].name":      {Links: []*messages.Link{{Name: "br\r0", Kind: "bridge"}}},
		"addresses[0].link":  {Addresses: []*messages.Address{{Link: "..", Address: "10.0.0.1/24"}}},
		"neighbours[0].link": {Neighbours: []*messages.Neighbour{{Link: "a/b", Ip: "10.0.0.9", Mac: "02:00:00:00:00:01"}}},
	} {
		_, err := convert.DesiredFromProto(m)
		if err == nil || !strings.Contains(err.Error(), field) || !strings.Contains(err.Error(), "interface name") {
			t.Errorf("DesiredFromProto with a bad %s = %v", field, err)
		}
	}
}

// TestDesiredFromProtoNamesEntries: an error names the entry and field at
// fault, whichever list it is in.
func TestDesiredFromProtoNamesEntries(t *testing.T) {
	_, err := convert.DesiredFromProto(&messages.Desired{
		Addresses: []*messages.Address{{Link: "a", Address: "10.0.0.1/24"}},
		Routes: []*messages.Route{
			{Dst: "10.1.0.0/24", Dev: "a"},
			{Dst: "10.2.0.0/24", Dev: "a"},
			{Dst: "10.3.0.0/24", Via: "10.0.0.300"},
			{Dst: "10.4.0.0/33", Dev: "a"},
		},
		Nexthops: []*messages.Nexthop{{Id: 1, Via: "nope"}},
	})
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{`routes[2].via: "10.0.0.300" is not an IP address`, `routes[3].dst: "10.4.0.0/33" is not a prefix`, "nexthops[0].via"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not say %s: %v", want, err)
		}
	}
	if strings.Contains(err.Error(), "routes[0]") || strings.Contains(err.Error(), "routes[1]") {
		t.Errorf("error names a valid route: %v", err)
	}
}

// TestDesiredFromProtoLargeTable: a table large enough to be converted in
// parts comes out whole and in order, and its errors are listed in the
// order of the routes, whichever part found them.
func TestDesiredFromProtoLargeTable(t *testing.T) {
	const n = 100_000
	routes := make([]*messages.Route, n)
	for i := range routes {
		routes[i] = &messages.Route{Dst: netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), 32).String(), Dev: "a"}
	}
	m := &messages.Desired{Links: []*messages.Link{{Name: "a", Kind: "bridge"}}, Routes: routes}
	d, err := convert.DesiredForNode(m)
	if err != nil {
		t.Fatal(err)
	}
	got := d.(reconcile.Desired).Routes
	if len(got) != n {
		t.Fatalf("%d routes, want %d", len(got), n)
	}
	for i, r := range got {
		if r.Dst.String() != routes[i].Dst || r.Dev != "a" {
			t.Fatalf("route %d is %v, want %s dev a", i, r, routes[i].Dst)
		}
	}

	routes[n-1].Via, routes[7].Via, routes[n/2].Dst = "nope", "nope", "10.0.0.0/40"
	_, err = convert.DesiredForNode(m)
	if err == nil {
		t.Fatal("no error")
	}
	want := fmt.Sprintf(`routes[7].via: "nope" is not an IP address
routes[%d].dst: "10.0.0.0/40" is not a prefix
routes[%d].via: "nope" is not an IP address`, n/2, n-1)
	if err.Error() != want {
		t.Errorf("error:\n%v\nwant:\n%s", err, want)
	}
}
