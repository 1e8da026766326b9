package diff

import (
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/linx-net/linx/rtnl"
)

var (
	pfx = netip.MustParsePrefix
	ip  = netip.MustParseAddr
	mac = rtnl.MustParseMAC
)

// lines renders ops one per line, as Op.String gives them.
func lines(ops []Op) string {
	var b strings.Builder
	for _, op := range ops {
		b.WriteString(op.String())
		b.WriteByte('\n')
	}
	return b.String()
}

func reasons(cs []Conflict) string {
	var b strings.Builder
	for _, c := range cs {
		b.WriteString(c.String())
		b.WriteByte('\n')
	}
	return b.String()
}

func wantLines(t *testing.T, what, got string, want ...string) {
	t.Helper()
	w := strings.Join(want, "\n")
	if w != "" {
		w += "\n"
	}
	if got != w {
		t.Errorf("%s:\ngot:\n%s\nwant:\n%s", what, got, w)
	}
}

// kernelRoute is r as the kernel reports a route installed from it.
func kernelRoute(r rtnl.Route, proto rtnl.Protocol) rtnl.Route {
	r = prepareRoute(r, proto)
	if r.Gateway.IsValid() && r.OIF == 0 {
		r.OIF = 2
	}
	return r
}

func TestRoutes(t *testing.T) {
	const own = rtnl.DefaultProtocol
	base := rtnl.Route{Dst: pfx("10.50.0.0/24"), Gateway: ip("10.0.0.1")}
	with := func(f func(*rtnl.Route)) rtnl.Route { r := base; f(&r); return r }
	tests := []struct {
		name      string
		desired   []rtnl.Route
		observed  []rtnl.Route
		ops       []string
		conflicts []string
	}{
		{
			name:    "missing route is created with the owner's protocol and main table",
			desired: []rtnl.Route{base},
			ops:     []string{"create Route<10.50.0.0/24 via 10.0.0.1 proto=76>"},
		},
		{
			name:     "route as the kernel reports it is unchanged (oif filled in, table 254, unicast)",
			desired:  []rtnl.Route{base},
			observed: []rtnl.Route{kernelRoute(base, own)},
		},
		{
			name:     "changed gateway is an update, not delete and create",
			desired:  []rtnl.Route{with(func(r *rtnl.Route) { r.Gateway = ip("10.0.0.2") })},
			observed: []rtnl.Route{kernelRoute(base, own)},
			ops:      []string{"update Route<10.50.0.0/24 via 10.0.0.2 proto=76>"},
		},
		{
			name:     "changed oif is an update",
			desired:  []rtnl.Route{with(func(r *rtnl.Route) { r.OIF = 3 })},
			observed: []rtnl.Route{kernelRoute(base, own)},
			ops:      []string{"update Route<10.50.0.0/24 via 10.0.0.1 oif=3 proto=76>"},
		},
		{
			name:     "changed source is an update",
			desired:  []rtnl.Route{with(func(r *rtnl.Route) { r.Src = ip("10.0.0.9") })},
			observed: []rtnl.Route{kernelRoute(base, own)},
			ops:      []string{"update Route<10.50.0.0/24 via 10.0.0.1 proto=76>"},
		},
		{
			name:     "changed type is an update",
			desired:  []rtnl.Route{{Dst: pfx("10.50.0.0/24"), Type: rtnl.RouteTypeBlackhole}},
			observed: []rtnl.Route{kernelRoute(base, own)},
			ops:      []string{"update Route<blackhole 10.50.0.0/24 proto=76>"},
		},
		{
			name:     "changed scope is an update",
			desired:  []rtnl.Route{with(func(r *rtnl.Route) { r.Scope = rtnl.ScopeSite })},
			observed: []rtnl.Route{kernelRoute(base, own)},
			ops:      []string{"update Route<10.50.0.0/24 via 10.0.0.1 proto=76>"},
		},
		{
			name: "changed next hops are an update",
			desired: []rtnl.Route{{Dst: pfx("10.50.0.0/24"), NextHops: []rtnl.NextHop{
				{Gateway: ip("10.0.0.1")}, {Gateway: ip("10.0.0.3")}}}},
			observed: []rtnl.Route{kernelRoute(rtnl.Route{Dst: pfx("10.50.0.0/24"), NextHops: []rtnl.NextHop{
				{Gateway: ip("10.0.0.1"), OIF: 2, Weight: 1}, {Gateway: ip("10.0.0.2"), OIF: 2, Weight: 1}}}, own)},
			ops: []string{"update Route<10.50.0.0/24 nexthop(via 10.0.0.1 oif=0 weight=1) nexthop(via 10.0.0.3 oif=0 weight=1) proto=76>"},
		},
		{
			name: "next hops with weight 0 match weight 1",
			desired: []rtnl.Route{{Dst: pfx("10.50.0.0/24"), NextHops: []rtnl.NextHop{
				{Gateway: ip("10.0.0.1")}, {Gateway: ip("10.0.0.2")}}}},
			observed: []rtnl.Route{kernelRoute(rtnl.Route{Dst: pfx("10.50.0.0/24"), NextHops: []rtnl.NextHop{
				{Gateway: ip("10.0.0.1"), OIF: 2, Weight: 1}, {Gateway: ip("10.0.0.2"), OIF: 2, Weight: 1}}}, own)},
		},
		{
			name:     "owned route no longer desired is deleted",
			observed: []rtnl.Route{kernelRoute(base, own)},
			ops:      []string{"delete Route<10.50.0.0/24 via 10.0.0.1 oif=2 proto=76>"},
		},
		{
			name: "routes of other protocols are invisible",
			observed: []rtnl.Route{
				kernelRoute(base, rtnl.ProtocolStatic),
				{Dst: pfx("10.0.0.0/24"), OIF: 2, Table: 254, Protocol: rtnl.ProtocolKernel, Scope: rtnl.ScopeLink},
			},
		},
		{
			name:      "desired key held by a foreign route is a conflict, never an op",
			desired:   []rtnl.Route{with(func(r *rtnl.Route) { r.Gateway = ip("10.0.0.2") })},
			observed:  []rtnl.Route{kernelRoute(base, rtnl.ProtocolStatic)},
			conflicts: []string{"route family=inet table=254 dst=10.50.0.0/24 tos=0 metric=0: a route of protocol static holds the key; replacing it would overwrite that route, whatever its protocol"},
		},
		{
			name:      "a foreign route beside an owned one with the key: conflict, and the owned one stays",
			desired:   []rtnl.Route{with(func(r *rtnl.Route) { r.Gateway = ip("10.0.0.2") })},
			observed:  []rtnl.Route{kernelRoute(base, own), kernelRoute(base, rtnl.ProtocolBoot)},
			conflicts: []string{"route family=inet table=254 dst=10.50.0.0/24 tos=0 metric=0: a route of protocol boot holds the key; replacing it would overwrite that route, whatever its protocol"},
		},
		{
			name:     "another metric or table is another key (table 100 sorts before main)",
			desired:  []rtnl.Route{with(func(r *rtnl.Route) { r.Metric = 100 }), with(func(r *rtnl.Route) { r.Table = 100 })},
			observed: []rtnl.Route{kernelRoute(base, rtnl.ProtocolStatic)},
			ops: []string{
				"create Route<10.50.0.0/24 via 10.0.0.1 table=100 proto=76>",
				"create Route<10.50.0.0/24 via 10.0.0.1 metric=100 proto=76>",
			},
		},
		{
			name:     "IPv6 metric 0 is the kernel's 1024",
			desired:  []rtnl.Route{{Dst: pfx("2001:db8:1::/64"), Gateway: ip("fe80::1"), OIF: 2}},
			observed: []rtnl.Route{{Dst: pfx("2001:db8:1::/64"), Gateway: ip("fe80::1"), OIF: 2, Metric: 1024, Table: 254, Protocol: own, Type: rtnl.RouteTypeUnicast}},
		},
		{
			name:     "a gateway-less route out of an interface has link scope",
			desired:  []rtnl.Route{{Dst: pfx("10.60.0.0/24"), OIF: 2}},
			observed: []rtnl.Route{{Dst: pfx("10.60.0.0/24"), OIF: 2, Table: 254, Protocol: own, Type: rtnl.RouteTypeUnicast, Scope: rtnl.ScopeLink}},
		},
		{
			name:      "a desired route of another protocol is a conflict",
			desired:   []rtnl.Route{with(func(r *rtnl.Route) { r.Protocol = rtnl.ProtocolStatic })},
			conflicts: []string{"route family=inet table=254 dst=10.50.0.0/24 tos=0 metric=0: the desired route has protocol static, but the owner's is 76"},
		},
		{
			name:      "a key desired twice: the first is kept",
			desired:   []rtnl.Route{base, with(func(r *rtnl.Route) { r.Gateway = ip("10.0.0.2") })},
			ops:       []string{"create Route<10.50.0.0/24 via 10.0.0.1 proto=76>"},
			conflicts: []string{"route family=inet table=254 dst=10.50.0.0/24 tos=0 metric=0: " + reasonDuplicate},
		},
		{
			name:      "a route with no destination is a conflict",
			desired:   []rtnl.Route{{Gateway: ip("10.0.0.1")}},
			conflicts: []string{"route family=all table=254 dst= tos=0 metric=0: the route has no destination"},
		},
		{
			name:     "an extra owned route with the desired key (ip route append) is deleted",
			desired:  []rtnl.Route{base},
			observed: []rtnl.Route{kernelRoute(base, own), kernelRoute(with(func(r *rtnl.Route) { r.Gateway = ip("10.0.0.7") }), own)},
			ops:      []string{"delete Route<10.50.0.0/24 via 10.0.0.7 oif=2 proto=76>"},
		},
		{
			name:     "ops are ordered by key: creates and updates, then deletes",
			desired:  []rtnl.Route{{Dst: pfx("10.9.0.0/16"), OIF: 1}, {Dst: pfx("10.1.0.0/16"), OIF: 1}, with(func(r *rtnl.Route) { r.Gateway = ip("10.0.0.2") })},
			observed: []rtnl.Route{kernelRoute(base, own), kernelRoute(rtnl.Route{Dst: pfx("10.200.0.0/16"), OIF: 1}, own), kernelRoute(rtnl.Route{Dst: pfx("10.100.0.0/16"), OIF: 1}, own)},
			ops: []string{
				"create Route<10.1.0.0/16 oif=1 proto=76>",
				"create Route<10.9.0.0/16 oif=1 proto=76>",
				"update Route<10.50.0.0/24 via 10.0.0.2 proto=76>",
				"delete Route<10.100.0.0/16 oif=1 proto=76>",
				"delete Route<10.200.0.0/16 oif=1 proto=76>",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ops, cs := Routes(tt.desired, tt.observed, own)
			wantLines(t, "ops", lines(ops), tt.ops...)
			wantLines(t, "conflicts", reasons(cs), tt.conflicts...)
		})
	}
}

func TestRoutesCreateCarriesDefaults(t *testing.T) {
	ops, _ := Routes([]rtnl.Route{{Dst: pfx("10.60.1.7/24"), OIF: 2}}, nil, rtnl.DefaultProtocol)
	if len(ops) != 1 {
		t.Fatalf("ops = %v", ops)
	}
	r := ops[0].Route
	want := rtnl.Route{Dst: pfx("10.60.1.0/24"), OIF: 2, Table: rtnl.TableMain, Protocol: rtnl.DefaultProtocol,
		Type: rtnl.RouteTypeUnicast, Scope: rtnl.ScopeLink}
	if r.Dst != want.Dst || r.OIF != want.OIF || r.Table != want.Table || r.Protocol != want.Protocol ||
		r.Type != want.Type || r.Scope != want.Scope {
		t.Errorf("create carries %+v, want %+v", r, want)
	}
	// The caller's next hops are not modified when weights are filled in.
	hops := []rtnl.NextHop{{Gateway: ip("10.0.0.1")}}
	ops, _ = Routes([]rtnl.Route{{Dst: pfx("10.61.0.0/24"), NextHops: hops}}, nil, rtnl.DefaultProtocol)
	if hops[0].Weight != 0 || ops[0].Route.NextHops[0].Weight != 1 {
		t.Errorf("weights: caller's %d (want 0), op's %d (want 1)", hops[0].Weight, ops[0].Route.NextHops[0].Weight)
	}
}

func TestLinks(t *testing.T) {
	up := net.FlagUp | net.FlagBroadcast | net.FlagMulticast
	veth := rtnl.Link{Index: 7, Name: "v0", Kind: "veth", MTU: 1500, Flags: net.FlagBroadcast, Data: rtnl.Veth{},
		HardwareAddr: mac("02:00:00:00:00:07"), TxQueueLen: 1000, ParentIndex: 8}
	mv := rtnl.Link{Index: 9, Name: "mv0", Kind: "macvlan", MTU: 1500, ParentIndex: 7, Data: rtnl.Macvlan{Mode: rtnl.MacvlanVEPA}}
	tests := []struct {
		name      string
		desired   []rtnl.Link
		observed  []rtnl.Link
		owned     []string
		down      []string
		adopt     []string
		ops       []string
		conflicts []string
	}{
		{
			name:    "missing link with a kind is created",
			desired: []rtnl.Link{{Name: "br0", Kind: "bridge"}},
			ops:     []string{`create Link<"br0" (0) DOWN MTU=0>`},
		},
		{
			name:      "missing link with no kind is a conflict",
			desired:   []rtnl.Link{{Name: "eth9", MTU: 9000}},
			conflicts: []string{`link eth9: no link named "eth9", and the desired link has no Kind to create one`},
		},
		{
			name:     "equal on every set field: nothing (veth peer is not reported by the kernel)",
			desired:  []rtnl.Link{{Name: "v0", Kind: "veth", MTU: 1500, Data: rtnl.Veth{Peer: "v1"}}},
			observed: []rtnl.Link{veth},
			owned:    []string{"v0"},
		},
		{
			name:      "a foreign link of the desired name and kind is a conflict, even when equal",
			desired:   []rtnl.Link{{Name: "v0", Kind: "veth", MTU: 1400, Flags: net.FlagUp}},
			observed:  []rtnl.Link{veth},
			conflicts: []string{"link v0: the key is held by another writer's link; left untouched"},
		},
		{
			name:     "an adopted foreign link of the desired kind is configured",
			desired:  []rtnl.Link{{Name: "v0", Kind: "veth", MTU: 1400, Flags: net.FlagUp}},
			adopt:    []string{"v0"},
			observed: []rtnl.Link{veth},
			ops:      []string{`update Link<"v0" (7) UP MTU=1400>`},
		},
		{
			name:      "an adopted foreign link of another kind is still a conflict",
			desired:   []rtnl.Link{{Name: "v0", Kind: "bridge"}},
			adopt:     []string{"v0"},
			observed:  []rtnl.Link{veth},
			conflicts: []string{`link v0: link "v0" is of kind "veth", desired "bridge"; the link is not ours to recreate`},
		},
		{
			name:     "MTU change is an update carrying the observed index",
			desired:  []rtnl.Link{{Name: "v0", MTU: 9000}},
			observed: []rtnl.Link{veth},
			ops:      []string{`update Link<"v0" (7) DOWN MTU=9000>`},
		},
		{
			name:     "desired up on a down link is an update",
			desired:  []rtnl.Link{{Name: "v0", Flags: net.FlagUp}},
			observed: []rtnl.Link{veth},
			ops:      []string{`update Link<"v0" (7) UP MTU=1500>`},
		},
		{
			name:     "no FlagUp desired: an up link stays up",
			desired:  []rtnl.Link{{Name: "v0"}},
			observed: []rtnl.Link{func() rtnl.Link { l := veth; l.Flags = up; return l }()},
		},
		{
			name:     "desired down on an up foreign link is an update that takes it down",
			desired:  []rtnl.Link{{Name: "v0"}},
			down:     []string{"v0"},
			observed: []rtnl.Link{func() rtnl.Link { l := veth; l.Flags = up; return l }()},
			ops:      []string{`update Link<"v0" (7) DOWN MTU=1500>`},
		},
		{
			name:     "desired down on an up owned link is an update too, kept with an MTU change",
			desired:  []rtnl.Link{{Name: "v0", Kind: "veth", MTU: 9000}},
			down:     []string{"v0"},
			owned:    []string{"v0"},
			observed: []rtnl.Link{func() rtnl.Link { l := veth; l.Flags = up; return l }()},
			ops:      []string{`update Link<"v0" (7) DOWN MTU=9000>`},
		},
		{
			name:     "desired down on a down link: nothing",
			desired:  []rtnl.Link{{Name: "v0"}},
			down:     []string{"v0"},
			observed: []rtnl.Link{veth},
		},
		{
			name:    "desired down on a missing link: created down",
			desired: []rtnl.Link{{Name: "br0", Kind: "bridge"}},
			down:    []string{"br0"},
			ops:     []string{`create Link<"br0" (0) DOWN MTU=0>`},
		},
		{
			name:     "down for a link not desired is ignored: the up link is untouched",
			desired:  []rtnl.Link{{Name: "mv0", Kind: "macvlan", ParentIndex: 7}},
			down:     []string{"v0"},
			owned:    []string{"mv0"},
			observed: []rtnl.Link{func() rtnl.Link { l := veth; l.Flags = up; return l }(), mv},
		},
		{
			name:      "desired both up and down is a conflict: the link is left as it is, owned or not",
			desired:   []rtnl.Link{{Name: "v0", Flags: net.FlagUp, MTU: 9000}},
			down:      []string{"v0"},
			observed:  []rtnl.Link{veth},
			owned:     []string{"v0"},
			conflicts: []string{`link v0: link "v0" is desired both up (net.FlagUp) and down`},
		},
		{
			name:     "master, MAC and txqueuelen are updates",
			desired:  []rtnl.Link{{Name: "v0", MasterIndex: 3, HardwareAddr: mac("02:00:00:00:00:99"), TxQueueLen: 500}},
			observed: []rtnl.Link{veth},
			ops:      []string{`update Link<"v0" (7) DOWN MTU=1500>`},
		},
		{
			name:     "macvlan mode 0 is the kernel's vepa",
			desired:  []rtnl.Link{{Name: "mv0", Kind: "macvlan", ParentIndex: 7, Data: rtnl.Macvlan{}}},
			observed: []rtnl.Link{mv},
			owned:    []string{"mv0"},
		},
		{
			name:     "vxlan port 0 is the kernel's 8472",
			desired:  []rtnl.Link{{Name: "vx0", Kind: "vxlan", Data: rtnl.Vxlan{VNI: 42}}},
			observed: []rtnl.Link{{Index: 4, Name: "vx0", Kind: "vxlan", Data: rtnl.Vxlan{VNI: 42, Port: 8472}}},
			owned:    []string{"vx0"},
		},
		{
			name:     "owned link of another kind is recreated, delete right before create",
			desired:  []rtnl.Link{{Name: "a0", Kind: "bridge"}, {Name: "v0", Kind: "bridge"}, {Name: "z0", Kind: "bridge"}},
			observed: []rtnl.Link{veth},
			owned:    []string{"v0"},
			ops: []string{
				`create Link<"a0" (0) DOWN MTU=0>`,
				`delete Link<"v0" (7) DOWN MTU=1500>`,
				`create Link<"v0" (0) DOWN MTU=0>`,
				`create Link<"z0" (0) DOWN MTU=0>`,
			},
		},
		{
			name:      "foreign link of another kind is a conflict",
			desired:   []rtnl.Link{{Name: "v0", Kind: "bridge"}},
			observed:  []rtnl.Link{veth},
			conflicts: []string{`link v0: link "v0" is of kind "veth", desired "bridge"; the link is not ours to recreate`},
		},
		{
			name:     "owned macvlan with other settings is recreated",
			desired:  []rtnl.Link{{Name: "mv0", Kind: "macvlan", ParentIndex: 7, Data: rtnl.Macvlan{Mode: rtnl.MacvlanBridge}}},
			observed: []rtnl.Link{mv},
			owned:    []string{"mv0"},
			ops:      []string{`delete Link<"mv0" (9) DOWN MTU=1500>`, `create Link<"mv0" (0) DOWN MTU=0>`},
		},
		{
			name:      "foreign macvlan on another parent is a conflict",
			desired:   []rtnl.Link{{Name: "mv0", Kind: "macvlan", ParentIndex: 3}},
			observed:  []rtnl.Link{mv},
			conflicts: []string{`link mv0: link "mv0" has parent index 7, desired 3; the link is not ours to recreate`},
		},
		{
			name:     "owned link no longer desired is deleted; a foreign one stays",
			observed: []rtnl.Link{veth, mv},
			owned:    []string{"mv0"},
			ops:      []string{`delete Link<"mv0" (9) DOWN MTU=1500>`},
		},
		{
			name:      "invalid name is a conflict",
			desired:   []rtnl.Link{{Name: "a-name-far-too-long", Kind: "bridge"}},
			conflicts: []string{`link a-name-far-too-long: invalid link name "a-name-far-too-long"`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			owned := NewSet[LinkKey]()
			for _, n := range tt.owned {
				owned.Add(LinkKey{n})
			}
			var down Set[LinkKey]
			for _, n := range tt.down {
				if down == nil {
					down = NewSet[LinkKey]()
				}
				down.Add(LinkKey{n})
			}
			var adopt Set[LinkKey]
			if tt.adopt != nil {
				adopt = NewSet[LinkKey]()
				for _, n := range tt.adopt {
					adopt.Add(LinkKey{n})
				}
			}
			ops, cs := Links(tt.desired, tt.observed, owned, down, adopt)
			wantLines(t, "ops", lines(ops), tt.ops...)
			wantLines(t, "conflicts", reasons(cs), tt.conflicts...)
		})
	}
}

func TestLinkUpdateCarriesMergedLink(t *testing.T) {
	o := rtnl.Link{Index: 7, Name: "v0", Kind: "veth", MTU: 1500, HardwareAddr: mac("02:00:00:00:00:07"), TxQueueLen: 1000}
	ops, _ := Links([]rtnl.Link{{Name: "v0", MTU: 9000, Flags: net.FlagUp, MasterIndex: 3}}, []rtnl.Link{o}, nil, nil, nil)
	if len(ops) != 1 || ops[0].Action != Update {
		t.Fatalf("ops = %v", ops)
	}
	l := ops[0].Link
	if l.Index != 7 || l.MTU != 9000 || !l.Up() || l.MasterIndex != 3 || l.TxQueueLen != 1000 ||
		l.HardwareAddr.String() != "02:00:00:00:00:07" || l.Kind != "veth" {
		t.Errorf("update carries %+v: want the observed link with MTU 9000, up, master 3", l)
	}
}

func TestAddresses(t *testing.T) {
	a := rtnl.Address{Index: 2, Prefix: pfx("10.0.0.2/24"), Label: "eth0", Scope: rtnl.ScopeUniverse}
	tests := []struct {
		name      string
		desired   []rtnl.Address
		observed  []rtnl.Address
		owned     []rtnl.Address
		ops       []string
		conflicts []string
	}{
		{name: "missing is created", desired: []rtnl.Address{a}, ops: []string{"create Address<10.0.0.2/24 ifindex=2>"}},
		{name: "present is left", desired: []rtnl.Address{{Index: 2, Prefix: pfx("10.0.0.2/24")}}, observed: []rtnl.Address{a}, owned: []rtnl.Address{a}},
		{name: "foreign holding the key is a conflict, even when equal", desired: []rtnl.Address{{Index: 2, Prefix: pfx("10.0.0.2/24")}}, observed: []rtnl.Address{a},
			conflicts: []string{"address index=2 prefix=10.0.0.2/24: the key is held by another writer's address (protocol 0); left untouched"}},
		{name: "host bits are part of the key", desired: []rtnl.Address{{Index: 2, Prefix: pfx("10.0.0.3/24")}}, observed: []rtnl.Address{a},
			ops: []string{"create Address<10.0.0.3/24 ifindex=2>"}},
		{name: "interface is part of the key", desired: []rtnl.Address{{Index: 3, Prefix: pfx("10.0.0.2/24")}}, observed: []rtnl.Address{a},
			ops: []string{"create Address<10.0.0.2/24 ifindex=3>"}},
		{name: "foreign that appeared stays", observed: []rtnl.Address{a}},
		{name: "owned no longer desired is deleted", observed: []rtnl.Address{a}, owned: []rtnl.Address{a},
			ops: []string{"delete Address<10.0.0.2/24 ifindex=2>"}},
		{name: "owned but already gone: nothing", owned: []rtnl.Address{a}},
		{name: "owned with another label is recreated", desired: []rtnl.Address{{Index: 2, Prefix: pfx("10.0.0.2/24"), Label: "eth0:1"}},
			observed: []rtnl.Address{a}, owned: []rtnl.Address{a},
			ops: []string{"delete Address<10.0.0.2/24 ifindex=2>", "create Address<10.0.0.2/24 ifindex=2>"}},
		{name: "foreign with another peer is a conflict", desired: []rtnl.Address{{Index: 2, Prefix: pfx("10.0.0.2/24"), Peer: ip("10.0.0.1")}},
			observed:  []rtnl.Address{a},
			conflicts: []string{"address index=2 prefix=10.0.0.2/24: address 10.0.0.2/24 has peer invalid IP, desired 10.0.0.1; the address is not ours to recreate"}},
		{name: "no index is a conflict", desired: []rtnl.Address{{Prefix: pfx("10.0.0.2/24")}},
			conflicts: []string{"address index=0 prefix=10.0.0.2/24: the address 10.0.0.2/24 has no interface index"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			owned := NewSet[AddressKey]()
			for _, o := range tt.owned {
				owned.Add(KeyOfAddress(o))
			}
			ops, cs := Addresses(tt.desired, tt.observed, owned, Mark{})
			wantLines(t, "ops", lines(ops), tt.ops...)
			wantLines(t, "Addresses conflicts", reasons(cs), tt.conflicts...)
			p := Compute(State{Addresses: tt.desired}, State{Addresses: tt.observed}, Owned{Addresses: owned}, rtnl.DefaultProtocol)
			wantLines(t, "Compute ops", lines(p.Ops), tt.ops...)
			wantLines(t, "conflicts", reasons(p.Conflicts), tt.conflicts...)
		})
	}
}

func TestNeighbours(t *testing.T) {
	n := rtnl.Neighbour{Index: 2, IP: ip("10.0.0.1"), HardwareAddr: mac("02:00:00:00:00:01"), State: rtnl.NeighPermanent}
	with := func(f func(*rtnl.Neighbour)) rtnl.Neighbour { x := n; f(&x); return x }
	tests := []struct {
		name      string
		desired   []rtnl.Neighbour
		observed  []rtnl.Neighbour
		owned     []rtnl.Neighbour
		ops       []string
		conflicts []string
	}{
		{name: "missing is created", desired: []rtnl.Neighbour{n}, ops: []string{"create Neighbour<10.0.0.1 -> 02:00:00:00:00:01 ifindex=2>"}},
		{name: "same: nothing (state 0 is permanent)", desired: []rtnl.Neighbour{with(func(x *rtnl.Neighbour) { x.State = 0 })}, observed: []rtnl.Neighbour{n}, owned: []rtnl.Neighbour{n}},
		{name: "MAC change is an update of an owned entry",
			desired: []rtnl.Neighbour{with(func(x *rtnl.Neighbour) { x.HardwareAddr = mac("02:00:00:00:00:02") })}, observed: []rtnl.Neighbour{n}, owned: []rtnl.Neighbour{n},
			ops: []string{"update Neighbour<10.0.0.1 -> 02:00:00:00:00:02 ifindex=2>"}},
		{name: "a foreign entry with another MAC is a conflict, never overwritten",
			desired: []rtnl.Neighbour{with(func(x *rtnl.Neighbour) { x.HardwareAddr = mac("02:00:00:00:00:02") })}, observed: []rtnl.Neighbour{n},
			conflicts: []string{"neighbour index=2 ip=10.0.0.1: the key is held by another writer's neighbour (protocol 0); left untouched"}},
		{name: "a learnt entry is the kernel's cache: the desired entry takes its place",
			desired: []rtnl.Neighbour{with(func(x *rtnl.Neighbour) { x.State = 0 })}, observed: []rtnl.Neighbour{with(func(x *rtnl.Neighbour) { x.State = rtnl.NeighStale })},
			ops: []string{"delete Neighbour<10.0.0.1 -> 02:00:00:00:00:01 ifindex=2>", "create Neighbour<10.0.0.1 -> 02:00:00:00:00:01 ifindex=2>"}},
		{name: "a learnt entry not desired stays",
			observed: []rtnl.Neighbour{with(func(x *rtnl.Neighbour) { x.State = rtnl.NeighReachable })}},
		{name: "an externally learned entry is another writer's: a conflict",
			desired: []rtnl.Neighbour{n}, observed: []rtnl.Neighbour{with(func(x *rtnl.Neighbour) { x.State = rtnl.NeighReachable; x.Flags = 0x10 })},
			conflicts: []string{"neighbour index=2 ip=10.0.0.1: the key is held by another writer's neighbour (protocol 0); left untouched"}},
		{name: "permanent desired over an owned entry gone stale is an update",
			desired: []rtnl.Neighbour{with(func(x *rtnl.Neighbour) { x.State = 0 })}, observed: []rtnl.Neighbour{with(func(x *rtnl.Neighbour) { x.State = rtnl.NeighStale })}, owned: []rtnl.Neighbour{n},
			ops: []string{"update Neighbour<10.0.0.1 -> 02:00:00:00:00:01 ifindex=2>"}},
		{name: "dynamic desired state is not compared",
			desired: []rtnl.Neighbour{with(func(x *rtnl.Neighbour) { x.State = rtnl.NeighReachable })}, observed: []rtnl.Neighbour{with(func(x *rtnl.Neighbour) { x.State = rtnl.NeighStale })}, owned: []rtnl.Neighbour{n}},
		{name: "owned no longer desired is deleted", observed: []rtnl.Neighbour{n}, owned: []rtnl.Neighbour{n},
			ops: []string{"delete Neighbour<10.0.0.1 -> 02:00:00:00:00:01 ifindex=2>"}},
		{name: "foreign stays", observed: []rtnl.Neighbour{n}},
		{name: "no IP is a conflict", desired: []rtnl.Neighbour{{Index: 2}}, conflicts: []string{"neighbour index=2 ip=: the neighbour has no IP"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			owned := NewSet[NeighbourKey]()
			for _, o := range tt.owned {
				owned.Add(KeyOfNeighbour(o))
			}
			ops, cs := Neighbours(tt.desired, tt.observed, owned, Mark{})
			wantLines(t, "ops", lines(ops), tt.ops...)
			wantLines(t, "conflicts", reasons(cs), tt.conflicts...)
			for _, op := range ops {
				if op.Action == Create && op.Neighbour.State != rtnl.NeighPermanent {
					t.Errorf("create carries state %s, want PERMANENT", op.Neighbour.State)
				}
			}
		})
	}
}

func TestRules(t *testing.T) {
	kernel := []rtnl.Rule{
		{Family: rtnl.FamilyV4, Priority: 0, Table: 255, Action: rtnl.RuleToTable},
		{Family: rtnl.FamilyV4, Priority: 32766, Table: 254, Action: rtnl.RuleToTable},
		{Family: rtnl.FamilyV4, Priority: 32767, Table: 253, Action: rtnl.RuleToTable},
	}
	mine := rtnl.Rule{Priority: 100, From: pfx("10.1.0.0/16"), Table: 100}
	// As the kernel reports mine.
	mineK := rtnl.Rule{Family: rtnl.FamilyV4, Priority: 100, From: pfx("10.1.0.0/16"), Table: 100, Action: rtnl.RuleToTable}
	mark := rtnl.Rule{Priority: 200, FwMark: 0x10}
	markK := rtnl.Rule{Family: rtnl.FamilyV4, Priority: 200, FwMark: 0x10, FwMask: 0xffffffff, Table: 254, Action: rtnl.RuleToTable}
	tests := []struct {
		name      string
		desired   []rtnl.Rule
		observed  []rtnl.Rule
		owned     []rtnl.Rule
		ops       []string
		conflicts []string
	}{
		{name: "missing is created", desired: []rtnl.Rule{mine}, observed: kernel, ops: []string{"create Rule<priority=100 from=10.1.0.0/16 table=100>"}},
		{name: "as the kernel reports it: nothing", desired: []rtnl.Rule{mine, mark}, observed: append(slices.Clone(kernel), mineK, markK), owned: []rtnl.Rule{mine, mark}},
		{name: "a foreign rule holding the key is a conflict", desired: []rtnl.Rule{mine}, observed: []rtnl.Rule{mineK},
			conflicts: []string{"rule family=inet priority=100 from=10.1.0.0/16 to= fwmark=0x0 fwmask=0x0 iif= oif= tos=0 invert=false action=to_tbl table=100: the key is held by another writer's rule (protocol 0); left untouched"}},
		{name: "kernel's rules are never deleted", observed: append(slices.Clone(kernel), mineK), owned: []rtnl.Rule{mine},
			ops: []string{"delete Rule<priority=100 from=10.1.0.0/16 table=100>"}},
		{name: "owned identical copies are all deleted", observed: []rtnl.Rule{mineK, mineK}, owned: []rtnl.Rule{mine},
			ops: []string{"delete Rule<priority=100 from=10.1.0.0/16 table=100>", "delete Rule<priority=100 from=10.1.0.0/16 table=100>"}},
		{name: "an owned extra copy of a desired rule is deleted", desired: []rtnl.Rule{mine}, observed: []rtnl.Rule{mineK, mineK}, owned: []rtnl.Rule{mine},
			ops: []string{"delete Rule<priority=100 from=10.1.0.0/16 table=100>"}},
		{name: "no priority is a conflict", desired: []rtnl.Rule{{Table: 100}},
			conflicts: []string{"rule family=inet priority=0 from= to= fwmark=0x0 fwmask=0x0 iif= oif= tos=0 invert=false action=to_tbl table=100: the desired rule has no priority; the kernel would choose one, and the rule would never match its key"}},
		{name: "unmodelled selectors are a conflict", desired: []rtnl.Rule{{Table: 100, Priority: 7, Unmodelled: "26:00012340"}},
			conflicts: []string{"rule family=inet priority=7 from= to= fwmark=0x0 fwmask=0x0 iif= oif= tos=0 invert=false action=to_tbl table=100 unmodelled=26:00012340: the desired rule has selectors Linx does not model (26:00012340); they cannot be sent"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			owned := NewSet[RuleKey]()
			for _, o := range tt.owned {
				owned.Add(KeyOfRule(o))
			}
			ops, cs := Rules(tt.desired, tt.observed, owned, Mark{})
			wantLines(t, "ops", lines(ops), tt.ops...)
			wantLines(t, "conflicts", reasons(cs), tt.conflicts...)
		})
	}
	ops, _ := Rules([]rtnl.Rule{mark}, nil, nil, Mark{})
	if got := ops[0].Rule; got.Family != rtnl.FamilyV4 || got.FwMask != 0xffffffff || got.Table != 254 || got.Action != rtnl.RuleToTable {
		t.Errorf("create carries %+v: want the kernel's defaults explicit", got)
	}
}

func TestKeyNormalisation(t *testing.T) {
	if a, b := KeyOfRoute(rtnl.Route{Dst: pfx("10.0.0.7/24")}), KeyOfRoute(rtnl.Route{Dst: pfx("10.0.0.0/24"), Table: 254}); a != b {
		t.Errorf("route keys %v and %v differ; table 0 is main and the destination is masked", a, b)
	}
	if k := KeyOfRoute(rtnl.Route{Dst: pfx("::/0")}); k.Metric != 1024 || k.Family != rtnl.FamilyV6 {
		t.Errorf("IPv6 key %v: want metric 1024, family inet6", k)
	}
	if k := KeyOfRule(rtnl.Rule{Priority: 5, To: pfx("2001:db8::/32")}); k.Family != rtnl.FamilyV6 || k.Table != 254 || k.Action != rtnl.RuleToTable {
		t.Errorf("rule key %v: want inet6, table 254, to_tbl", k)
	}
	if k := KeyOfRule(rtnl.Rule{Priority: 5, Action: rtnl.RuleBlackhole}); k.Table != 0 {
		t.Errorf("blackhole rule key %v: want table 0", k)
	}
}

func TestComputeOrder(t *testing.T) {
	desired := State{
		Links:      []rtnl.Link{{Name: "br1", Kind: "bridge"}, {Name: "br0", Kind: "bridge", MTU: 9000}},
		Addresses:  []rtnl.Address{{Index: 3, Prefix: pfx("10.0.0.1/24")}},
		Routes:     []rtnl.Route{{Dst: pfx("10.9.0.0/16"), Gateway: ip("10.0.0.254")}},
		Neighbours: []rtnl.Neighbour{{Index: 3, IP: ip("10.0.0.254"), HardwareAddr: mac("02:00:00:00:00:fe")}},
		Rules:      []rtnl.Rule{{Priority: 100, Table: 100}},
	}
	observed := State{
		Links: []rtnl.Link{
			{Index: 3, Name: "br0", Kind: "bridge", MTU: 1500},
			{Index: 4, Name: "gone0", Kind: "bridge", MTU: 1500},
		},
		Addresses:  []rtnl.Address{{Index: 4, Prefix: pfx("10.4.0.1/24")}},
		Routes:     []rtnl.Route{{Dst: pfx("10.4.0.0/16"), Gateway: ip("10.4.0.254"), OIF: 4, Table: 254, Protocol: 76, Type: 1}},
		Neighbours: []rtnl.Neighbour{{Index: 4, IP: ip("10.4.0.254"), HardwareAddr: mac("02:00:00:00:00:04"), State: rtnl.NeighPermanent}},
		Rules:      []rtnl.Rule{{Family: rtnl.FamilyV4, Priority: 200, Table: 200, Action: rtnl.RuleToTable}},
	}
	owned := Owned{
		Links:      NewSet(LinkKey{"gone0"}, LinkKey{"br0"}),
		Addresses:  NewSet(KeyOfAddress(observed.Addresses[0])),
		Neighbours: NewSet(KeyOfNeighbour(observed.Neighbours[0])),
		Rules:      NewSet(KeyOfRule(observed.Rules[0])),
	}
	p := Compute(desired, observed, owned, rtnl.DefaultProtocol)
	wantLines(t, "plan", lines(p.Ops),
		`update Link<"br0" (3) DOWN MTU=9000>`,
		`create Link<"br1" (0) DOWN MTU=0>`,
		"create Address<10.0.0.1/24 ifindex=3>",
		"create Route<10.9.0.0/16 via 10.0.0.254 proto=76>",
		"create Neighbour<10.0.0.254 -> 02:00:00:00:00:fe ifindex=3>",
		"create Rule<priority=100 table=100>",
		"delete Rule<priority=200 table=200>",
		"delete Neighbour<10.4.0.254 -> 02:00:00:00:00:04 ifindex=4>",
		"delete Route<10.4.0.0/16 via 10.4.0.254 oif=4 proto=76>",
		"delete Address<10.4.0.1/24 ifindex=4>",
		`delete Link<"gone0" (4) DOWN MTU=1500>`,
	)
	if len(p.Conflicts) != 0 {
		t.Errorf("conflicts: %v", p.Conflicts)
	}
	// Input order does not change the plan.
	slices.Reverse(desired.Links)
	slices.Reverse(observed.Links)
	if p2 := Compute(desired, observed, owned, rtnl.DefaultProtocol); lines(p2.Ops) != lines(p.Ops) {
		t.Errorf("plan depends on input order:\n%s\nvs\n%s", lines(p2.Ops), lines(p.Ops))
	}
	if !(Plan{}).Converged() || p.Converged() {
		t.Error("Converged is wrong")
	}
}

func TestOwnedRecord(t *testing.T) {
	var o Owned
	l := rtnl.Link{Name: "br0", Kind: "bridge"}
	o.Record(Op{Action: Create, Kind: KindLink, Link: &l})
	if !o.Links.Has(LinkKey{"br0"}) {
		t.Fatal("create did not record the key")
	}
	o.Record(Op{Action: Update, Kind: KindLink, Link: &rtnl.Link{Name: "eth0"}})
	if o.Links.Has(LinkKey{"eth0"}) {
		t.Error("an update recorded ownership")
	}
	o.Record(Op{Action: Create, Kind: KindRoute, Route: &rtnl.Route{Dst: pfx("10.0.0.0/8")}})
	o.Record(Op{Action: Create, Kind: KindRule, Rule: &rtnl.Rule{Priority: 9}})
	o.Record(Op{Action: Create, Kind: KindNeighbour, Neighbour: &rtnl.Neighbour{Index: 1, IP: ip("10.0.0.1")}})
	o.Record(Op{Action: Create, Kind: KindAddress, Address: &rtnl.Address{Index: 1, Prefix: pfx("10.0.0.1/8")}})
	if o.Rules.Len() != 1 || o.Neighbours.Len() != 1 || o.Addresses.Len() != 1 {
		t.Errorf("ledger after creates: %+v", o)
	}
	o.Record(Op{Action: Delete, Kind: KindLink, Link: &rtnl.Link{Index: 4, Name: "br0"}})
	if o.Links.Has(LinkKey{"br0"}) {
		t.Error("delete did not remove the key")
	}
}

func TestKindActionStrings(t *testing.T) {
	got := []string{Create.String(), Update.String(), Delete.String(), Action(0).String(),
		KindLink.String(), KindAddress.String(), KindRoute.String(), KindNeighbour.String(), KindRule.String(), Kind(9).String()}
	want := []string{"create", "update", "delete", "Action(0)", "link", "address", "route", "neighbour", "rule", "Kind(9)"}
	if !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}
