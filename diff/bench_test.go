package diff

import (
	"fmt"
	"math"
	"math/rand/v2"
	"net/netip"
	"os"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/linx-net/linx/rtnl"
)

// The benchmarks record their last (longest) run here; TestMain prints the
// summary lines once, after every benchmark ran.
var (
	benchMu      sync.Mutex
	benchResults = map[string]float64{}
)

func saveBench(name string, v float64) {
	benchMu.Lock()
	benchResults[name] = v
	benchMu.Unlock()
}

func TestMain(m *testing.M) {
	code := m.Run()
	r := benchResults
	if ns, ok := r["100k.ns"]; ok {
		fmt.Printf("diff_100k: ns_per_op=%.0f allocs=%.0f\n", ns, r["100k.allocs"])
		if base, ok := r["100k.baseline"]; ok {
			fmt.Printf("diff_100k_baseline: index_both_sides_ns=%.0f ratio=%.2f\n", base, ns/base)
		}
	}
	if ns, ok := r["addr10k.ns"]; ok {
		fmt.Printf("diff_addresses_10k: ns_per_op=%.0f allocs=%.0f\n", ns, r["addr10k.allocs"])
	}
	if a, ok := r["scale.10k"]; ok {
		b, c := r["scale.100k"], r["scale.1m"]
		fmt.Printf("diff_routes_scaling: per_item_10k=%.1f per_item_100k=%.1f per_item_1m=%.1f ratio_1m_10k=%.3f\n", a, b, c, c/a)
	}
	os.Exit(code)
}

// routeSet builds n desired routes and the observed routes a kernel would
// report after a previous pass, with about 1% of gateways changed, 0.5%
// missing, 0.5% stale (to delete), and 2% foreign routes of another
// protocol. Desired routes come in a shuffled order.
func routeSet(n int) (desired, observed []rtnl.Route) {
	rng := rand.New(rand.NewPCG(1, uint64(n)))
	gws := []netip.Addr{ip("10.0.0.1"), ip("10.0.0.2"), ip("10.0.0.3"), ip("10.0.0.4")}
	dst := func(i int) netip.Prefix {
		v := uint32(1<<24) + uint32(i)<<8
		return netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), 0}), 24)
	}
	desired = make([]rtnl.Route, n)
	observed = make([]rtnl.Route, 0, n+n/20)
	for i := range n {
		d := rtnl.Route{Dst: dst(i), Gateway: gws[i%len(gws)]}
		desired[i] = d
		o := d
		o.OIF, o.Table, o.Protocol, o.Type = 2, rtnl.TableMain, rtnl.DefaultProtocol, rtnl.RouteTypeUnicast
		switch r := rng.IntN(1000); {
		case r < 10:
			o.Gateway = gws[(i+1)%len(gws)]
			observed = append(observed, o)
		case r < 15:
			// missing: created by the diff
		default:
			observed = append(observed, o)
		}
	}
	for i := range n / 200 {
		o := rtnl.Route{Dst: dst(n + i), Gateway: gws[0], OIF: 2, Table: rtnl.TableMain, Protocol: rtnl.DefaultProtocol, Type: rtnl.RouteTypeUnicast}
		observed = append(observed, o)
	}
	for i := range n / 50 {
		o := rtnl.Route{Dst: dst(2*n + i), Gateway: gws[1], OIF: 2, Table: rtnl.TableMain, Protocol: rtnl.ProtocolStatic, Type: rtnl.RouteTypeUnicast}
		observed = append(observed, o)
	}
	rng.Shuffle(len(desired), func(i, j int) { desired[i], desired[j] = desired[j], desired[i] })
	return desired, observed
}

// measure runs fn b.N times and returns ns and allocations per op.
func measure(b *testing.B, fn func()) (ns, allocs float64) {
	b.ReportAllocs()
	var m0, m1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	b.ResetTimer()
	for b.Loop() {
		fn()
	}
	b.StopTimer()
	runtime.ReadMemStats(&m1)
	ns = float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	return ns, float64(m1.Mallocs-m0.Mallocs) / float64(b.N)
}

var sinkOps []Op

// BenchmarkRoutes100k diffs 100,000 desired routes against 100,000
// observed ones (about 2,000 ops). Its baseline, run in the same benchmark,
// is the floor of any keyed diff: indexing both sides by RouteKey in a
// pre-sized map, with nothing compared or ordered.
func BenchmarkRoutes100k(b *testing.B) {
	desired, observed := routeSet(100_000)
	ops, cs := Routes(desired, observed, rtnl.DefaultProtocol)
	if len(ops) == 0 || len(cs) != 0 {
		b.Fatalf("%d ops, %d conflicts: the data set is wrong", len(ops), len(cs))
	}
	b.Run("diff", func(b *testing.B) {
		ns, allocs := measure(b, func() { sinkOps, _ = Routes(desired, observed, rtnl.DefaultProtocol) })
		saveBench("100k.ns", ns)
		saveBench("100k.allocs", allocs)
	})
	b.Run("baseline", func(b *testing.B) {
		ns, _ := measure(b, func() {
			m := make(map[RouteKey]int32, len(desired))
			for i := range desired {
				m[KeyOfRoute(desired[i])] = int32(i)
			}
			n := 0
			for i := range observed {
				if _, ok := m[KeyOfRoute(observed[i])]; ok {
					n++
				}
			}
			if n == 0 {
				b.Fatal("no keys matched")
			}
		})
		saveBench("100k.baseline", ns)
	})
}

// BenchmarkAddresses10k diffs 10,000 desired addresses against 10,000
// observed ones, of which 1% are no longer desired (owned) and 1% are
// missing.
func BenchmarkAddresses10k(b *testing.B) {
	const n = 10_000
	desired := make([]rtnl.Address, 0, n)
	observed := make([]rtnl.Address, 0, n)
	owned := NewSet[AddressKey]()
	for i := range n {
		a := rtnl.Address{Index: 2 + i%8, Prefix: netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), 16)}
		switch {
		case i%100 == 0:
			desired = append(desired, a) // missing
		case i%100 == 1:
			observed = append(observed, a) // stale
			owned.Add(KeyOfAddress(a))
		default:
			desired = append(desired, a)
			observed = append(observed, a)
			owned.Add(KeyOfAddress(a))
		}
	}
	if ops, _ := Addresses(desired, observed, owned, Mark{}); len(ops) != 2*n/100 {
		b.Fatalf("%d ops, want %d", len(ops), 2*n/100)
	}
	ns, allocs := measure(b, func() { sinkOps, _ = Addresses(desired, observed, owned, Mark{}) })
	saveBench("addr10k.ns", ns)
	saveBench("addr10k.allocs", allocs)
}

// BenchmarkRoutesScaling reports the cost per route of diffing 10,000,
// 100,000 and 1,000,000 routes; the 10,000 case is the baseline the
// summary line's ratio is taken against (target: within 1.5x).
//
// Each size is timed by its best run among at least five and at least
// half a second of runs, whatever b.N: make bench runs every benchmark
// once, and a single 1 ms run of the 10,000 case would measure the
// scheduler and a cold cache rather than the diff. So -benchtime does not
// bound the run, and the framework's ns/op counts all the runs of an
// iteration; the figure is ns/item (and the summary line). Each run starts
// after a collection: at a million routes the previous run leaves 190 MB
// of garbage, and whether a collection of it (which scans the 350 MB of
// routes, full of pointers) overlapped the timed run made the figure vary
// from 79 to 149 ns a route.
func BenchmarkRoutesScaling(b *testing.B) {
	for _, c := range []struct {
		name string
		n    int
	}{{"10k", 10_000}, {"100k", 100_000}, {"1m", 1_000_000}} {
		desired, observed := routeSet(c.n)
		b.Run(c.name, func(b *testing.B) {
			best := time.Duration(math.MaxInt64)
			for b.Loop() {
				var spent time.Duration
				for runs := 0; runs < 5 || spent < 500*time.Millisecond; runs++ {
					runtime.GC() // the last run's garbage is not this run's cost
					start := time.Now()
					sinkOps, _ = Routes(desired, observed, rtnl.DefaultProtocol)
					d := time.Since(start)
					best, spent = min(best, d), spent+d
				}
			}
			per := float64(best.Nanoseconds()) / float64(c.n)
			b.ReportMetric(per, "ns/item")
			saveBench("scale."+c.name, per)
		})
	}
}
