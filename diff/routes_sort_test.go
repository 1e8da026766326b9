package diff

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"reflect"
	"slices"
	"testing"

	"github.com/linx-net/linx/rtnl"
	"pgregory.net/rapid"
)

// genAnyRoute draws routes from a small space, so that keys collide (the
// same key desired twice, held by routes of several protocols, appended
// twice), with host bits set, IPv4-mapped and invalid destinations, every
// table, TOS and metric default, and multipath routes.
func genAnyRoute() *rapid.Generator[rtnl.Route] {
	dsts := []netip.Prefix{{},
		pfx("10.1.0.0/16"), pfx("10.1.2.3/16"), pfx("10.2.0.0/16"), pfx("10.1.0.0/24"), pfx("0.0.0.0/0"),
		pfx("10.1.0.7/32"), pfx("128.0.0.0/1"), pfx("2001:db8:1::/48"), pfx("2001:db8:1::5/48"),
		pfx("2001:db8::/64"), pfx("2001:db8::1/65"), pfx("::/0"), pfx("::ffff:10.1.0.0/112"), pfx("ff00::/8"),
	}
	gws := []netip.Addr{{}, ip("10.0.0.1"), ip("10.0.0.2"), ip("fe80::1"), ip("2001:db8::1"), ip("::ffff:10.0.0.1")}
	return rapid.Custom(func(t *rapid.T) rtnl.Route {
		r := rtnl.Route{
			Dst:      rapid.SampledFrom(dsts).Draw(t, "dst"),
			Gateway:  rapid.SampledFrom(gws).Draw(t, "gw"),
			Src:      rapid.SampledFrom([]netip.Addr{{}, ip("10.0.0.9"), ip("10.0.0.8"), ip("2001:db8::9")}).Draw(t, "src"),
			OIF:      rapid.IntRange(0, 2).Draw(t, "oif"),
			Table:    rapid.SampledFrom([]uint32{0, 254, 100, 70000}).Draw(t, "table"),
			Protocol: rapid.SampledFrom([]rtnl.Protocol{0, modelProto, rtnl.ProtocolStatic, rtnl.ProtocolKernel}).Draw(t, "proto"),
			Metric:   rapid.SampledFrom([]uint32{0, 100, 1024}).Draw(t, "metric"),
			Type:     rapid.SampledFrom([]rtnl.RouteType{0, rtnl.RouteTypeUnicast, rtnl.RouteTypeBlackhole}).Draw(t, "type"),
			Scope:    rapid.SampledFrom([]rtnl.Scope{rtnl.ScopeUniverse, rtnl.ScopeLink}).Draw(t, "scope"),
			TOS:      rapid.SampledFrom([]uint8{0, 0, 4}).Draw(t, "tos"),
		}
		if rapid.IntRange(0, 4).Draw(t, "nhid") == 0 {
			r.NHID = 5
		}
		if rapid.IntRange(0, 4).Draw(t, "from") == 0 {
			r.SrcPrefix = rapid.SampledFrom([]netip.Prefix{pfx("fd08::/64"), pfx("fd08::5/64"), pfx("fd09::/48"), pfx("::/0")}).Draw(t, "src prefix")
		}
		if rapid.IntRange(0, 5).Draw(t, "multipath") == 0 {
			for range rapid.IntRange(1, 2).Draw(t, "hops") {
				r.NextHops = append(r.NextHops, rtnl.NextHop{
					Gateway: rapid.SampledFrom(gws[1:3]).Draw(t, "hopgw"),
					OIF:     rapid.IntRange(0, 2).Draw(t, "hopoif"),
					Weight:  rapid.IntRange(0, 2).Draw(t, "weight"),
				})
			}
		}
		return r
	})
}

// TestRoutesMatchesReference checks the sort-merge diff against the
// hash-index one it replaced: the same ops in the same order, the same
// conflicts, for random routes in random order, sorted or not.
func TestRoutesMatchesReference(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		desired := rapid.SliceOfN(genAnyRoute(), 0, 40).Draw(t, "desired")
		observed := rapid.SliceOfN(genAnyRoute(), 0, 40).Draw(t, "observed")
		proto := rapid.SampledFrom([]rtnl.Protocol{modelProto, rtnl.ProtocolStatic}).Draw(t, "owner")
		ops, cs := Routes(desired, observed, proto)
		wantOps, wantCs := routesReference(desired, observed, proto)
		if !reflect.DeepEqual(ops, wantOps) {
			t.Fatalf("ops:\n got %v\nwant %v", ops, wantOps)
		}
		if !reflect.DeepEqual(cs, wantCs) {
			t.Fatalf("conflicts:\n got %v\nwant %v", cs, wantCs)
		}
		plan := Compute(State{Routes: desired}, State{Routes: observed}, Owned{}, proto)
		if len(plan.Ops) != len(ops) || !reflect.DeepEqual(plan.Conflicts, cs) {
			t.Fatalf("Compute disagrees with Routes: %d ops (want %d), conflicts %v", len(plan.Ops), len(ops), plan.Conflicts)
		}
	})
}

// TestRoutesMatchesReferenceNearMisses checks the sort-merge diff against
// the reference when most observed routes are desired ones as the kernel
// reports them, some changed in one compared field: routes drawn at
// random rarely share a key and a protocol, so this is where the fields
// the diff compares (gateway, source, interface, type, scope, next hops)
// decide the ops.
func TestRoutesMatchesReferenceNearMisses(t *testing.T) {
	gws := []netip.Addr{{}, ip("10.0.0.3"), ip("2001:db8::3"), ip("::ffff:10.0.0.3")}
	rapid.Check(t, func(t *rapid.T) {
		proto := rapid.SampledFrom([]rtnl.Protocol{modelProto, rtnl.ProtocolStatic}).Draw(t, "owner")
		desired := rapid.SliceOfN(genAnyRoute(), 0, 30).Draw(t, "desired")
		var observed []rtnl.Route
		for i, d := range desired {
			if !d.Dst.IsValid() || rapid.IntRange(0, 4).Draw(t, fmt.Sprint("absent ", i)) == 0 {
				continue
			}
			o := prepareRoute(d, proto)
			if o.OIF == 0 {
				o.OIF = 7 // the kernel's choice for a desired "don't care"
			}
			switch rapid.IntRange(0, 9).Draw(t, fmt.Sprint("change ", i)) {
			case 7:
				o.NHID++
			case 8:
				o.SrcPrefix = pfx("fd09::/64")
			case 1:
				o.Gateway = rapid.SampledFrom(gws).Draw(t, "gw")
			case 2:
				o.Src = rapid.SampledFrom(gws).Draw(t, "src")
			case 3:
				o.OIF++
			case 4:
				o.Type = rtnl.RouteTypeBlackhole
			case 5:
				o.Scope = rtnl.ScopeHost
			case 6:
				o.NextHops = append(o.NextHops, rtnl.NextHop{Gateway: ip("10.0.0.4"), Weight: 1})
			}
			observed = append(observed, o)
		}
		observed = append(observed, rapid.SliceOfN(genAnyRoute(), 0, 5).Draw(t, "others")...)
		observed = rapid.Permutation(observed).Draw(t, "order")
		ops, cs := Routes(desired, observed, proto)
		wantOps, wantCs := routesReference(desired, observed, proto)
		if !reflect.DeepEqual(ops, wantOps) {
			t.Fatalf("ops:\n got %v\nwant %v", ops, wantOps)
		}
		if !reflect.DeepEqual(cs, wantCs) {
			t.Fatalf("conflicts:\n got %v\nwant %v", cs, wantCs)
		}
	})
}

// TestRouteRecOrder checks that packed keys order and compare equal
// exactly as RouteKey.Compare does, and that the radix sort agrees with a
// comparison sort on many keys.
func TestRouteRecOrder(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		a, b := genAnyRoute().Draw(t, "a"), genAnyRoute().Draw(t, "b")
		var ranks srcRanks
		recs := make([]routeRec, 2)
		recs[0].setObserved(&a, 0, false, &ranks)
		recs[1].setObserved(&b, 1, false, &ranks)
		ranks.finish(recs)
		ra, rb := recs[0], recs[1]
		if got, want := ra.compare(&rb), KeyOfRoute(a).Compare(KeyOfRoute(b)); got != want {
			t.Fatalf("compare(%v, %v) = %d, RouteKey.Compare = %d", KeyOfRoute(a), KeyOfRoute(b), got, want)
		}
	})
	rapid.Check(t, func(t *rapid.T) {
		routes := rapid.SliceOfN(genAnyRoute(), 0, 300).Draw(t, "routes")
		recs := make([]routeRec, len(routes))
		var ranks srcRanks
		for i := range routes {
			recs[i].setObserved(&routes[i], i, false, &ranks)
		}
		ranks.finish(recs)
		recs = sortRouteRecs(recs)
		for i := 1; i < len(recs); i++ {
			p, q := routes[recs[i-1].idx], routes[recs[i].idx]
			c := KeyOfRoute(p).Compare(KeyOfRoute(q))
			if c > 0 || (c == 0 && recs[i-1].idx > recs[i].idx) {
				t.Fatalf("out of order at %d: %v (#%d) before %v (#%d)", i, KeyOfRoute(p), recs[i-1].idx, KeyOfRoute(q), recs[i].idx)
			}
		}
	})
}

// TestSortRouteRecsLarge checks the sort of sets large enough to be split
// on their top byte first, with an odd and an even number of bytes left
// to sort the parts on: random keys with many repeats, in the order a
// stable comparison sort gives.
func TestSortRouteRecsLarge(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	for _, c := range []struct {
		name string
		n    int
		keys uint32 // values drawn: fewer than n, for repeats
		dst  func(v uint32) netip.Prefix
	}{
		{"v4 /24, two bytes vary", 40_000, 1 << 14, func(v uint32) netip.Prefix {
			return netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(v >> 8), byte(v), 0}), 24)
		}},
		{"v4 /24, three bytes vary", 40_000, 1 << 15, func(v uint32) netip.Prefix {
			// Scrambled, so that no byte orders another within a part.
			h := v * 2654435761
			return netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(h >> 24), byte(h >> 16), byte(h >> 8), 0}), 24)
		}},
		{"v4 and v6, many lengths", 100_000, 1 << 14, func(v uint32) netip.Prefix {
			if v&8 != 0 {
				return netip.PrefixFrom(netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, byte(v >> 10), byte(v >> 2)}), 48)
			}
			return netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(v >> 10), byte(v >> 2), byte(v << 6), 0}), 16+int(v&7))
		}},
	} {
		routes := make([]rtnl.Route, c.n)
		for i := range routes {
			// Repeats: keys are drawn from fewer values than routes.
			routes[i] = rtnl.Route{Dst: c.dst(rng.Uint32N(c.keys))}
		}
		recs := make([]routeRec, c.n)
		for i := range routes {
			recs[i].setObserved(&routes[i], i, false, nil)
		}
		got := sortRouteRecs(recs)
		want := make([]int, c.n)
		for i := range want {
			want[i] = i
		}
		slices.SortStableFunc(want, func(a, b int) int { return KeyOfRoute(routes[a]).Compare(KeyOfRoute(routes[b])) })
		for i := range want {
			if int(got[i].idx) != want[i] {
				t.Fatalf("%s: position %d holds route #%d (%v), want #%d (%v)", c.name, i,
					got[i].idx, KeyOfRoute(routes[got[i].idx]), want[i], KeyOfRoute(routes[want[i]]))
			}
		}
	}
}
