package reconcile_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"reflect"
	"testing"

	"github.com/linx-net/linx/rtnl/reconcile"
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
