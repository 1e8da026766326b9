package reconcile_test

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/linx-net/linx/internal/nstest"
	"github.com/linx-net/linx/reconcile"
	"github.com/linx-net/linx/rtnl"
)

// BenchmarkPlan100kRoutes measures a plan in a namespace of 100,000
// routes, against a converged pass of the same scope as the baseline
// (best of five each): first with the routes the scope's own and desired,
// then with them another protocol's and ten desired. A plan copies the
// whole namespace, every table and protocol, where the pass lists its own
// protocol's routes only: the second case is what that costs.
func BenchmarkPlan100kRoutes(b *testing.B) {
	ns := nstest.New(b)
	s := ns.Open()
	ns.IP("link", "add", "bb0", "type", "bridge")
	ns.IP("link", "set", "bb0", "up")
	routes := func(n int) []reconcile.Route {
		out := make([]reconcile.Route, n)
		for i := range out {
			out[i] = reconcile.Route{Dst: netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(100 + i>>16), byte(i >> 8), byte(i)}), 32), Dev: "bb0"}
		}
		return out
	}
	best := func(fn func() error) time.Duration {
		d := time.Duration(1 << 62)
		for range 5 {
			start := time.Now()
			if err := fn(); err != nil {
				b.Fatal(err)
			}
			d = min(d, time.Since(start))
		}
		return d
	}
	measure := func(name string, d reconcile.Desired, l *reconcile.Ledger) {
		pass := best(func() error {
			r, err := reconcile.Pass(s, d, l, reconcile.Options{})
			if err == nil && len(r.Applied) != 0 {
				err = fmt.Errorf("converged pass applied %d ops", len(r.Applied))
			}
			return err
		})
		plan := best(func() error {
			r, err := reconcile.Plan(s, d, l, reconcile.Options{})
			if err == nil && len(r.Applied) != 0 {
				err = fmt.Errorf("plan of a converged scope has %d ops", len(r.Applied))
			}
			return err
		})
		dump := best(func() error { _, err := s.RoutesFiltered(rtnl.RouteFilter{}); return err })
		fmt.Printf("plan_100k_routes_%s: plan=%.1fms converged_pass=%.1fms ratio=%.2f (dump of every route %.1fms)\n",
			name, float64(plan)/1e6, float64(pass)/1e6, float64(plan)/float64(pass), float64(dump)/1e6)
	}
	for range b.N {
		owned := reconcile.Desired{Routes: routes(100_000)}
		l := reconcile.NewLedger()
		if _, err := reconcile.Pass(s, owned, l, reconcile.Options{}); err != nil {
			b.Fatal(err)
		}
		measure("owned", owned, l)
		// The same routes become protocol 77's, another writer's.
		if _, err := reconcile.Pass(s, reconcile.Desired{}, l, reconcile.Options{}); err != nil {
			b.Fatal(err)
		}
		if _, err := reconcile.Pass(s, owned, reconcile.NewLedger(), reconcile.Options{Protocol: 77}); err != nil {
			b.Fatal(err)
		}
		few := reconcile.Desired{Routes: routes(100_010)[100_000:]}
		l = reconcile.NewLedger()
		if _, err := reconcile.Pass(s, few, l, reconcile.Options{}); err != nil {
			b.Fatal(err)
		}
		measure("foreign", few, l)
		if _, err := reconcile.Pass(s, reconcile.Desired{}, reconcile.NewLedger(), reconcile.Options{Protocol: 77, AdoptProtocol: true}); err != nil {
			b.Fatal(err)
		}
	}
}
