package integration

import (
	"fmt"
	"net/netip"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/linx-net/linx/actors/rtnlsource"
	"github.com/linx-net/linx/actors/source"
	"github.com/linx-net/linx/actors/supervisor"
	"github.com/linx-net/linx/internal/nstest"
	"github.com/linx-net/linx/messages"
	"github.com/linx-net/linx/reconcile"
	"github.com/linx-net/linx/rtnl"
	"github.com/linx-net/linx/rtnl/monitor"
)

const (
	// healScaleRoutes is how many routes BenchmarkSelfHealScale's scope owns.
	healScaleRoutes = 1_000_000
	// scaleRounds is how many deletions it times, half addresses and
	// half routes.
	scaleRounds = 100
	// scaleFullPasses is how many full passes time the baseline.
	scaleFullPasses = 5
)

var (
	// scaleKeep is the address the routes' link keeps: deleting the other
	// one (scaleAddr) must not make the kernel flush the link's routes.
	scaleKeep = netip.MustParsePrefix("10.0.0.1/24")
	scaleAddr = netip.MustParsePrefix("10.0.1.1/24")
)

// BenchmarkSelfHealScale runs one scope owning 1,000,000 routes (through
// veth s0, which holds two addresses) in a throwaway namespace, and times
// how long the node takes to restore what is deleted by hand: one of its
// addresses and one of its routes, alternately, 100 times in all, each
// deletion once the loop is idle, until a separate monitor on the
// namespace sees it back. Between full passes a wake-up narrows the pass
// to the keys the kernel reported changed, so a repair costs what changed,
// not the table.
//
// The baseline, measured in the same run, is a full pass at the same size
// (the pass a new desired state runs; before narrowed passes, every repair
// was one):
//
//	selfheal_scale: owned=1000000 p50=<ms> p99=<ms> n=100 full_pass_p50=<ms>
//
// Targets: p50 ≤ 5 ms, p99 ≤ 20 ms.
func BenchmarkSelfHealScale(b *testing.B) {
	if testing.Short() {
		b.Skip("SKIPPED: installs 1,000,000 routes; not under -short")
	}
	nstest.RequireRoot(b)
	var heal, full, addrs, routes []time.Duration
	var narrowed uint64
	var gcs uint32
	// The narrowed passes' own durations, apart from the loop's latency.
	var (
		mu      sync.Mutex
		passDur []time.Duration
	)
	for b.Loop() {
		ns := nstest.New(b)
		node := benchActorsNode(b, func(c *supervisor.Config) {
			c.NewSource = func(spec supervisor.Spec) (source.Source, error) {
				src, err := rtnlsource.Factory(b.TempDir())(spec)
				if err == nil {
					src.(*rtnlsource.Source).OnPass(func(rep reconcile.Report, err error) {
						if rep.Narrowed {
							mu.Lock()
							passDur = append(passDur, rep.Duration)
							mu.Unlock()
						}
					})
				}
				return src, err
			}
		})
		d := reconcile.Desired{
			Links: []reconcile.Link{{Name: "s0", Kind: "veth", Data: rtnl.Veth{Peer: "s1"}, State: reconcile.LinkStateUp}},
			Addresses: []reconcile.Address{
				{Link: "s0", Prefix: scaleKeep},
				{Link: "s0", Prefix: scaleAddr},
			},
			Routes: make([]reconcile.Route, healScaleRoutes),
		}
		for i := range d.Routes {
			d.Routes[i] = reconcile.Route{Dst: installDst(i), Dev: "s0"}
		}
		err := node.Spawn(supervisor.Spec{
			Name:      "scale",
			Namespace: ns.Namespace(),
			Desired:   d,
			// The interval is kept out of the measurement; the rate limit
			// out of the way, as for BenchmarkSelfHealLatency.
			Loop:   supervisor.Loop{Interval: time.Hour, PassTimeout: 5 * time.Minute, Rate: 10_000, Burst: 1_000},
			Source: rtnlsource.Settings{MonitorBuffer: 64 << 20},
		})
		if err != nil {
			b.Fatal(err)
		}
		benchActorsWait(b, node, 5*time.Minute, "scale")
		scaleIdle(b, node)

		// The baseline: full passes, each run by a new desired state (the
		// same routes).
		full = full[:0]
		for range scaleFullPasses {
			before := scaleStatus(b, node)
			if err := node.Update("scale", d); err != nil {
				b.Fatal(err)
			}
			st := scaleIdle(b, node)
			if st.GetPasses() == before.GetPasses() || st.GetOpsApplied() != 0 {
				b.Fatalf("full pass: %v", st)
			}
			full = append(full, st.GetLastPassDuration().AsDuration())
		}

		m, err := monitor.Open(ns.Namespace(), monitor.WithReceiveBuffer(1<<20))
		if err != nil {
			b.Fatal(err)
		}
		sock := ns.Open()
		// The first narrowed pass after a new desired state indexes its
		// routes: one deletion warms it up, untimed.
		scaleRound(b, sock, m, -1)
		before := scaleStatus(b, node).GetNarrowedPasses()
		heal, addrs, routes = heal[:0], addrs[:0], routes[:0]
		var ms0, ms1 runtime.MemStats
		runtime.ReadMemStats(&ms0)
		for i := range scaleRounds {
			time.Sleep(20 * time.Millisecond)
			took := scaleRound(b, sock, m, i)
			heal = append(heal, took)
			if i%2 == 0 {
				addrs = append(addrs, took)
			} else {
				routes = append(routes, took)
			}
		}
		runtime.ReadMemStats(&ms1)
		gcs = ms1.NumGC - ms0.NumGC
		narrowed = scaleStatus(b, node).GetNarrowedPasses() - before
		m.Close()
		if err := node.Stop("scale", true); err != nil {
			b.Fatal(err)
		}
	}
	slices.Sort(heal)
	slices.Sort(full)
	p50, p99 := benchActorsPercentile(heal, 0.50), benchActorsPercentile(heal, 0.99)
	f50 := benchActorsPercentile(full, 0.50)
	fmt.Printf("selfheal_scale: owned=%d p50=%.2f p99=%.2f n=%d full_pass_p50=%.1f\n", healScaleRoutes, p50, p99, len(heal), f50)
	b.ReportMetric(p50, "p50-ms")
	b.ReportMetric(p99, "p99-ms")
	b.ReportMetric(f50, "full-pass-p50-ms")
	b.ReportMetric(float64(narrowed), "narrowed-passes")
	b.ReportMetric(float64(gcs), "gcs-while-timed")
	slices.Sort(addrs)
	slices.Sort(routes)
	b.ReportMetric(benchActorsPercentile(addrs, 0.99), "address-p99-ms")
	b.ReportMetric(benchActorsPercentile(routes, 0.99), "route-p99-ms")
	mu.Lock()
	slices.Sort(passDur)
	b.ReportMetric(benchActorsPercentile(passDur, 0.5), "narrowed-pass-p50-ms")
	b.ReportMetric(benchActorsPercentile(passDur, 0.99), "narrowed-pass-p99-ms")
	mu.Unlock()
}

func scaleStatus(b *testing.B, node *supervisor.Node) *messages.ScopeStatus {
	b.Helper()
	st, err := node.Status("scale")
	if err != nil {
		b.Fatal(err)
	}
	return st
}

// scaleIdle waits until the scope is converged and has run no pass for
// half a second, and returns its status.
func scaleIdle(b *testing.B, node *supervisor.Node) *messages.ScopeStatus {
	b.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	last := scaleStatus(b, node)
	for {
		time.Sleep(500 * time.Millisecond)
		st := scaleStatus(b, node)
		if st.GetPasses() == last.GetPasses() && st.GetPhase() == messages.Phase_PHASE_CONVERGED {
			return st
		}
		if time.Now().After(deadline) {
			b.Fatalf("the scope never went idle: %v", st)
		}
		last = st
	}
}

// scaleRound deletes, through sock, the address scaleAddr (even i) or a
// route (odd i, and the warm-up round -1), and returns how long until m
// reports it back.
func scaleRound(b *testing.B, sock *rtnl.Socket, m *monitor.Monitor, i int) time.Duration {
	b.Helper()
	route := installDst((i*7919 + 12345) % healScaleRoutes)
	start := time.Now()
	var err error
	if i >= 0 && i%2 == 0 {
		err = sock.AddressDelete("s0", scaleAddr)
	} else {
		err = sock.RouteDelete(rtnl.Route{Dst: route, Protocol: rtnl.DefaultProtocol})
	}
	if err != nil {
		b.Fatal(err)
	}
	deadline := time.After(30 * time.Second)
	for {
		select {
		case ev, ok := <-m.Events():
			if !ok {
				b.Fatal("monitor closed")
			}
			switch {
			case ev.Op == monitor.ResyncNeeded:
				b.Fatalf("the benchmark's own monitor overran: %v", ev)
			case i >= 0 && i%2 == 0 && ev.Op == monitor.NewAddress && ev.Address != nil && ev.Address.Prefix == scaleAddr:
				return time.Since(start)
			case (i < 0 || i%2 == 1) && ev.Op == monitor.NewRoute && ev.Route != nil && ev.Route.Dst == route:
				return time.Since(start)
			}
		case <-deadline:
			b.Fatalf("round %d: not restored within 30 s", i)
		}
	}
}
