package diff

import (
	"fmt"
	"net/netip"
	"testing"

	"github.com/linx-net/linx/internal/parts"
	"github.com/linx-net/linx/rtnl"
)

// TestKeyInParts: keying a large table in parts gives each route the
// record keying it alone gives, and stops at the first route that is not
// plain, whichever part holds it; a diff with such routes still reports
// each as a sequential diff does.
func TestKeyInParts(t *testing.T) {
	const n = parts.Large + 5000
	plain := func() []rtnl.Route {
		rs := make([]rtnl.Route, n)
		for i := range rs {
			rs[i] = rtnl.Route{Dst: netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), 32),
				Gateway: netip.MustParseAddr("10.0.0.2"), OIF: 3, Metric: uint32(i % 7)}
		}
		return rs
	}
	for _, c := range []struct {
		name string
		at   int
		edit func(*rtnl.Route)
	}{
		{"plain", -1, nil},
		{"no destination", 3, func(r *rtnl.Route) { r.Dst = netip.Prefix{} }},
		{"another protocol", n - 2, func(r *rtnl.Route) { r.Protocol = rtnl.ProtocolStatic }},
		{"source prefix", n/2 + 1, func(r *rtnl.Route) {
			r.Dst, r.Gateway, r.SrcPrefix = netip.MustParsePrefix("2001:db8::/64"), netip.Addr{}, netip.MustParsePrefix("2001:db8:1::/48")
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			desired := plain()
			want := n
			if c.edit != nil {
				c.edit(&desired[c.at])
				want = c.at
			}
			recs := make([]routeRec, n)
			got := keyInParts(desiredSide{list: desired}, recs, modelProto, parts.Of(n))
			if got != want {
				t.Fatalf("keyed %d routes, want %d", got, want)
			}
			for i := range got {
				var rec routeRec
				rec.setDesired(&desired[i], i, nil)
				if recs[i] != rec {
					t.Fatalf("record %d is %+v, want %+v", i, recs[i], rec)
				}
			}

			ops, cs := Routes(desired, nil, modelProto)
			wantOps, wantCs := n, 0
			if c.name == "no destination" || c.name == "another protocol" {
				wantOps, wantCs = n-1, 1
			}
			if len(ops) != wantOps || len(cs) != wantCs {
				t.Fatalf("%d ops and %d conflicts, want %d and %d: %v", len(ops), len(cs), wantOps, wantCs, fmt.Sprint(cs))
			}
			for i := 1; i < len(ops); i++ {
				if KeyOfRoute(*ops[i-1].Route).Compare(KeyOfRoute(*ops[i].Route)) >= 0 {
					t.Fatalf("ops %d and %d out of key order", i-1, i)
				}
			}
		})
	}
}
