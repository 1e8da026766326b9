package reconcile_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/linx-net/linx/reconcile"
	"github.com/linx-net/linx/rtnl"
)

func problems(t *testing.T, d reconcile.Desired) []string {
	t.Helper()
	err := d.Validate()
	if err == nil {
		return nil
	}
	var inv *reconcile.InvalidError
	if !errors.As(err, &inv) {
		t.Fatalf("Validate: %T %v, want *InvalidError", err, err)
	}
	out := make([]string, len(inv.Problems))
	for i, p := range inv.Problems {
		out[i] = p.String()
	}
	return out
}

// TestValidateRoutes checks route problems, named by entry and in entry
// order, with duplicates found whether the routes come sorted or not.
func TestValidateRoutes(t *testing.T) {
	gw := netip.MustParseAddr("10.0.0.2")
	r := func(dst string) reconcile.Route {
		return reconcile.Route{Dst: netip.MustParsePrefix(dst), Via: gw}
	}
	for _, tc := range []struct {
		name   string
		routes []reconcile.Route
		want   []string
	}{
		{"sorted, distinct", []reconcile.Route{r("10.1.0.0/24"), r("10.1.1.0/24"), r("10.1.2.0/24")}, nil},
		{"unsorted, distinct", []reconcile.Route{r("10.1.2.0/24"), r("10.1.0.0/24"), r("10.1.1.0/24")}, nil},
		{"same prefix, other table or metric", []reconcile.Route{
			r("10.1.0.0/24"), {Dst: netip.MustParsePrefix("10.1.0.0/24"), Via: gw, Table: 100},
			{Dst: netip.MustParsePrefix("10.1.0.0/24"), Via: gw, Metric: 5}}, nil},
		{"IPv4 and IPv4-mapped differ", []reconcile.Route{r("10.1.0.0/24"), {Dst: netip.MustParsePrefix("::ffff:10.1.0.0/120"), Dev: "r0"}}, nil},
		{"adjacent duplicate", []reconcile.Route{r("10.1.0.0/24"), r("10.1.0.0/24"), r("10.1.1.0/24")}, []string{
			"routes[1].dst: duplicate route 10.1.0.0/24 table 254 metric 0 (also routes[0])"}},
		{"table 0 is main", []reconcile.Route{r("10.1.0.0/24"), {Dst: netip.MustParsePrefix("10.1.0.0/24"), Via: gw, Table: 254}}, []string{
			"routes[1].dst: duplicate route 10.1.0.0/24 table 254 metric 0 (also routes[0])"}},
		{"three times, unsorted, with other problems", []reconcile.Route{
			r("10.1.0.0/24"), r("10.2.0.0/24"), {Dst: netip.MustParsePrefix("10.1.0.0/24"), Via: netip.MustParseAddr("2001:db8::1")},
			{}, r("10.0.0.0/8"), r("10.1.0.0/24")}, []string{
			"routes[2].via: gateway 2001:db8::1 and destination 10.1.0.0/24 are of different families",
			"routes[2].dst: duplicate route 10.1.0.0/24 table 254 metric 0 (also routes[0])",
			"routes[3].dst: destination is not a valid prefix (want e.g. 10.1.0.0/16 or default)",
			"routes[5].dst: duplicate route 10.1.0.0/24 table 254 metric 0 (also routes[2])"}},
		{"invalid entries between sorted ones", []reconcile.Route{{}, r("10.1.0.0/24"), {}, r("10.1.1.0/24")}, []string{
			"routes[0].dst: destination is not a valid prefix (want e.g. 10.1.0.0/16 or default)",
			"routes[2].dst: destination is not a valid prefix (want e.g. 10.1.0.0/16 or default)"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := problems(t, reconcile.Desired{Routes: tc.routes})
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("problems:\n got %q\nwant %q", got, tc.want)
			}
		})
	}
}

// TestValidateManyRoutes checks duplicate detection on large sets, sorted
// (no map) and shuffled (a map): the same duplicates are reported, each
// naming the previous entry with its key.
func TestValidateManyRoutes(t *testing.T) {
	const n = 5000
	rng := rand.New(rand.NewPCG(7, 7))
	d := reconcile.Desired{Routes: make([]reconcile.Route, n)}
	for i := range d.Routes {
		d.Routes[i] = reconcile.Route{Dst: netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(i >> 8), byte(i), 0}), 24),
			Via: netip.MustParseAddr("10.0.0.2")}
	}
	if p := problems(t, d); p != nil {
		t.Fatalf("sorted distinct routes: %q", p)
	}
	rng.Shuffle(n, func(i, j int) { d.Routes[i], d.Routes[j] = d.Routes[j], d.Routes[i] })
	if p := problems(t, d); p != nil {
		t.Fatalf("shuffled distinct routes: %q", p)
	}
	// Copy 20 entries over others: each copy is a duplicate of its source.
	var want []string
	dups := map[int]int{}
	for len(dups) < 20 {
		from, to := rng.IntN(n), rng.IntN(n)
		if from >= to || dups[from] != 0 || dups[to] != 0 {
			continue
		}
		dups[to] = from + 1
	}
	for to, from := range dups {
		d.Routes[to] = d.Routes[from-1]
	}
	last := map[netip.Prefix]int{}
	for i, r := range d.Routes {
		if j, ok := last[r.Dst]; ok {
			want = append(want, fmt.Sprintf("routes[%d].dst: duplicate route %s table 254 metric 0 (also routes[%d])", i, r.Dst, j))
		}
		last[r.Dst] = i
	}
	if got := problems(t, d); !reflect.DeepEqual(got, want) {
		t.Fatalf("problems:\n got %q\nwant %q", got, want)
	}
}

// TestValidateLargeTable: a table large enough to be checked in parts
// (one per processor) gives the problems, in entry order, and the
// duplicates that checking it in one piece gives, including a duplicate
// that straddles two parts, with or without a route of no key between.
func TestValidateLargeTable(t *testing.T) {
	const n = 40_000 // parts of 20,000 on two processors
	gw := netip.MustParseAddr("10.0.0.2")
	table := func() reconcile.Desired {
		d := reconcile.Desired{Routes: make([]reconcile.Route, n)}
		for i := range d.Routes {
			d.Routes[i] = reconcile.Route{Dst: netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), 32), Via: gw}
		}
		return d
	}
	if p := problems(t, table()); p != nil {
		t.Fatalf("sorted distinct routes: %q", p)
	}

	d := table()
	d.Routes[5].Dst = netip.MustParsePrefix("10.9.9.9/24")
	d.Routes[19_999].Dev = "a/b"
	d.Routes[30_000].Via = netip.MustParseAddr("2001:db8::1")
	want := []string{
		"routes[5].dst: destination 10.9.9.9/24 has host bits set (did you mean 10.9.9.0/24?)",
		`routes[19999].dev: interface name "a/b" has a '/' (invalid)`,
		"routes[30000].via: gateway 2001:db8::1 and destination 10.0.117.48/32 are of different families",
	}
	got := problems(t, d)
	if len(got) != len(want) || got[0] != want[0] || got[2] != want[2] || !strings.HasPrefix(got[1], "routes[19999].dev: ") {
		t.Fatalf("problems:\n got %q\nwant %q", got, want)
	}

	for _, gap := range []bool{false, true} {
		d := table()
		d.Routes[20_000] = d.Routes[19_998]
		if gap {
			d.Routes[19_999] = reconcile.Route{}
		}
		got := problems(t, d)
		dup := "routes[20000].dst: duplicate route 10.0.78.30/32 table 254 metric 0 (also routes[19998])"
		if !slices.Contains(got, dup) {
			t.Errorf("route with no key between: %v; problems %q lack %q", gap, got, dup)
		}
	}
}

// TestValidateOtherKinds checks the problems of links, addresses,
// neighbours and rules, duplicates among them, each named by entry and
// field, in entry order.
func TestValidateOtherKinds(t *testing.T) {
	mac := rtnl.MustParseMAC("02:00:00:00:00:01")
	veth := func(name, peer string) reconcile.Link {
		return reconcile.Link{Name: name, Kind: "veth", Data: rtnl.Veth{Peer: peer}}
	}
	pfx := netip.MustParsePrefix
	ip := netip.MustParseAddr
	rule := reconcile.Rule{From: pfx("10.0.0.0/24"), Table: 100, Priority: 100}
	for _, tc := range []struct {
		name string
		d    reconcile.Desired
		want []string
	}{
		{"valid", reconcile.Desired{
			Links: []reconcile.Link{veth("a0", "a1"), {Name: "br0", Kind: "bridge"}},
			// One address with two prefix lengths: two keys to the kernel.
			Addresses:  []reconcile.Address{{Link: "a0", Prefix: pfx("10.0.0.1/24")}, {Link: "a0", Prefix: pfx("10.0.0.1/16")}},
			Neighbours: []reconcile.Neighbour{{Link: "a0", IP: ip("10.0.0.9"), MAC: mac}, {Link: "br0", IP: ip("10.0.0.9"), MAC: mac}},
			Rules:      []reconcile.Rule{rule, {From: pfx("10.0.0.0/24"), Table: 100, Priority: 101}},
		}, nil},
		{"duplicate links", reconcile.Desired{Links: []reconcile.Link{
			{Name: "br0", Kind: "bridge"}, {Name: "x0", Kind: "bridge"}, {Name: "br0", Kind: "bridge"}}}, []string{
			`links[2].name: duplicate link "br0" (also links[0])`}},
		{"veth peer listed as a link, after or before the veth", reconcile.Desired{Links: []reconcile.Link{
			{Name: "b1", Kind: "bridge"}, veth("a0", "a1"), veth("b0", "b1"), {Name: "a1", Kind: "bridge"}}}, []string{
			`links[1].peer: veth peer "a1" is also listed as a link to create (links[3])`,
			`links[2].peer: veth peer "b1" is also listed as a link to create (links[0])`}},
		{"veth peer configured, after or before the veth", reconcile.Desired{Links: []reconcile.Link{
			{Name: "b1", MTU: 1400}, veth("a0", "a1"), veth("b0", "b1"), {Name: "a1", State: reconcile.LinkStateUp}}}, nil},
		{"two veths, one peer", reconcile.Desired{Links: []reconcile.Link{veth("a0", "p"), veth("b0", "p")}}, []string{
			`links[1].peer: veth peer "p" is also the peer of links[0]`}},
		{"link fields", reconcile.Desired{Links: []reconcile.Link{
			{Name: "m0", Kind: "macvlan"},
			{Name: "s0", Kind: "bridge", Master: "s0", MTU: 70000},
			{Name: "v0", Kind: "vxlan", Data: rtnl.Vxlan{VNI: 1 << 24, Remote: ip("10.0.0.2"), Group: ip("239.0.0.1")}},
			{Name: "b0", Kind: "bridge", Data: rtnl.Vxlan{}},
			{Name: "verylonglinkname0", Kind: "ifb"}}}, []string{
			`links[0].parent: kind "macvlan" needs a parent`,
			`links[1].master: link "s0" cannot be its own master`,
			`links[1].mtu: mtu 70000 out of range (68 to 65535)`,
			`links[2].vni: vxlan vni 16777216 out of range (0 to 16777215)`,
			`links[2].remote: vxlan takes remote or group, not both`,
			`links[3].kind: settings are for kind "vxlan", not "bridge"`,
			`links[4].name: interface name "verylonglinkname0": 17 bytes, the kernel allows at most 15`}},
		{"duplicate address", reconcile.Desired{Addresses: []reconcile.Address{
			{Link: "a0", Prefix: pfx("10.0.0.1/24")}, {Link: "a1", Prefix: pfx("10.0.0.1/24")}, {Link: "a0", Prefix: pfx("10.0.0.1/24")}}}, []string{
			`addresses[2].address: duplicate address 10.0.0.1/24 on "a0" (also addresses[0])`}},
		{"duplicate neighbour", reconcile.Desired{Neighbours: []reconcile.Neighbour{
			{Link: "a0", IP: ip("10.0.0.9"), MAC: mac}, {Link: "a0", IP: ip("10.0.0.9"), MAC: rtnl.MustParseMAC("02:00:00:00:00:02")}, {Link: "a0"}}}, []string{
			`neighbours[1].ip: duplicate neighbour 10.0.0.9 on "a0" (also neighbours[0])`,
			`neighbours[2].ip: ip is required`,
			`neighbours[2].mac: mac is required`}},
		{"duplicate rule", reconcile.Desired{Rules: []reconcile.Rule{rule, rule, {From: pfx("10.0.0.0/24"), To: pfx("fd00::/64"), Table: 1, Priority: 1}}}, []string{
			`rules[1].priority: duplicate rule (also rules[0])`,
			`rules[2].from: from 10.0.0.0/24 and to fd00::/64 are of different families`}},
		{"rule with unmodelled selectors", reconcile.Desired{Rules: []reconcile.Rule{{Table: 1, Priority: 1, Unmodelled: "26:00012340"}}}, []string{
			`rules[0].unmodelled: the rule has selectors Linx does not model (26:00012340): they cannot be sent`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := problems(t, tc.d)
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("problems:\n got %q\nwant %q", got, tc.want)
			}
		})
	}
}
