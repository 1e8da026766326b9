package integration

import (
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/netip"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"golang.org/x/sys/unix"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/linx-net/linx/actors/rtnlsource"
	"github.com/linx-net/linx/actors/supervisor"
	"github.com/linx-net/linx/api/convert"
	"github.com/linx-net/linx/internal/nstest"
	"github.com/linx-net/linx/messages"
	"github.com/linx-net/linx/rtnl"
	"github.com/linx-net/linx/rtnl/monitor"
)

// spawnMsg spawns the scope m describes, converted once as the agent
// converts a message: with convert.SpecFromProto.
func spawnMsg(node *supervisor.Node, m *messages.SpawnScope) error {
	spec, err := convert.SpecFromProto(m)
	if err != nil {
		return err
	}
	return node.Spawn(spec)
}

// benchActorsNode starts a node supervisor driving the real rtnetlink
// Source, with ledgers under a temporary directory; it is shut down in
// tb.Cleanup. tweak, if not nil, adjusts the configuration first.
func benchActorsNode(tb testing.TB, tweak func(*supervisor.Config)) *supervisor.Node {
	tb.Helper()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	system := actor.NewActorSystem(actor.WithLoggerFactory(supervisor.LoggerFactory(logger)))
	cfg := supervisor.Config{
		NewSource:      rtnlsource.Factory(tb.TempDir()),
		Spec:           convert.SpecFromProto,
		Desired:        convert.DesiredForNode,
		Check:          rtnlsource.Check,
		Logger:         logger,
		RequestTimeout: 30 * time.Second,
	}
	if tweak != nil {
		tweak(&cfg)
	}
	node, err := supervisor.Start(system, cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := node.Shutdown(); err != nil {
			tb.Error(err)
		}
	})
	return node
}

// benchActorsPath names ns by path for a SpawnScope.
func benchActorsPath(ns *nstest.NS) *messages.Namespace {
	return &messages.Namespace{Kind: &messages.Namespace_Path{Path: ns.Path()}}
}

// benchActorsVeth returns desired state holding a veth name/peer that is up
// with the given addresses on name.
func benchActorsVeth(name, peer string, addrs ...string) *messages.Desired {
	up := true
	d := &messages.Desired{Links: []*messages.Link{{
		Name: name, Kind: "veth", Up: &up,
		Settings: &messages.Link_Veth{Veth: &messages.Veth{Peer: peer}},
	}}}
	for _, a := range addrs {
		d.Addresses = append(d.Addresses, &messages.Address{Link: name, Address: a})
	}
	return d
}

// benchActorsFast are scope options that keep the rate limit out of the
// way, so that a measurement sees the loop's latency, not its throttle.
func benchActorsFast() *messages.ScopeOptions {
	return &messages.ScopeOptions{MaxPassesPerSecond: 10_000, Burst: 1_000}
}

// benchActorsWait waits until every named scope is converged, failing tb
// after timeout or when one fails.
func benchActorsWait(tb testing.TB, node *supervisor.Node, timeout time.Duration, names ...string) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for {
		list, err := node.List()
		if err != nil {
			tb.Fatal(err)
		}
		phase := map[string]*messages.ScopeStatus{}
		for _, st := range list {
			phase[st.GetName()] = st
		}
		waiting := 0
		var last *messages.ScopeStatus
		for _, n := range names {
			st := phase[n]
			switch {
			case st == nil:
				tb.Fatalf("scope %s is not listed", n)
			case st.GetPhase() == messages.Phase_PHASE_FAILED || st.GetPhase() == messages.Phase_PHASE_STOPPED:
				tb.Fatalf("scope %s: %v", n, st)
			case st.GetPhase() != messages.Phase_PHASE_CONVERGED:
				waiting++
				last = st
			}
		}
		if waiting == 0 {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("%d of %d scopes not converged after %s; one of them: %v", waiting, len(names), timeout, last)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// benchRoutesDesired returns a desired state of a veth pair r0/r1 with
// 10.0.0.1/24 on r0 and n routes through it (installDst via
// installGateway), as a message.
func benchRoutesDesired(n int) *messages.Desired {
	d := benchActorsVeth("r0", "r1", "10.0.0.1/24")
	d.Routes = make([]*messages.Route, n)
	for i := range d.Routes {
		d.Routes[i] = &messages.Route{Dst: installDst(i).String(), Via: installGateway.String(), Dev: "r0"}
	}
	return d
}

// benchActorsRSS returns the process's resident set size in MiB, read from
// VmRSS in /proc/self/status, after a GC that returns freed memory to the
// kernel (so that garbage left by earlier work does not count).
func benchActorsRSS(tb testing.TB) float64 {
	tb.Helper()
	runtime.GC()
	debug.FreeOSMemory()
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		tb.Fatal(err)
	}
	for line := range strings.Lines(string(data)) {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(v) // "123456 kB"
			kb, err := strconv.ParseFloat(f[0], 64)
			if err != nil {
				tb.Fatalf("VmRSS %q: %v", v, err)
			}
			return kb / 1024
		}
	}
	tb.Fatal("no VmRSS in /proc/self/status")
	return 0
}

// benchActorsCPU returns the CPU time (user plus system) the process has
// used so far: the utime+stime of /proc/self/stat, read through getrusage
// for microsecond resolution.
func benchActorsCPU(tb testing.TB) time.Duration {
	tb.Helper()
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchActorsFDs returns how many file descriptors the process holds.
func benchActorsFDs(tb testing.TB) int {
	tb.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		tb.Fatal(err)
	}
	return len(ents)
}

// benchActorsPercentile returns the q-th quantile (0 < q ≤ 1) of ds in
// milliseconds, by the nearest-rank method; ds must be sorted.
func benchActorsPercentile(ds []time.Duration, q float64) float64 {
	i := int(float64(len(ds))*q+0.999999) - 1
	i = min(max(i, 0), len(ds)-1)
	return float64(ds[i]) / float64(time.Millisecond)
}

const (
	// selfhealRounds is how many deletions BenchmarkSelfHealLatency times.
	selfhealRounds = 200
	// selfhealTimerRounds and selfhealTimerInterval size the timer-only
	// baseline: each round waits up to the interval, so it is kept short.
	selfhealTimerRounds   = 20
	selfhealTimerInterval = 500 * time.Millisecond
)

// selfhealAddr is the address the scope owns and the benchmark deletes.
var selfhealAddr = netip.MustParsePrefix("10.0.0.2/24")

// selfhealRound deletes the scope's address through sock (an rtnl socket,
// so that the clock starts right at the kernel's acknowledgement of the
// deletion's request) and returns how long until m reports the address
// added again: the agent has restored it.
func selfhealRound(b *testing.B, sock *rtnl.Socket, m *monitor.Monitor, timeout time.Duration) time.Duration {
	b.Helper()
	start := time.Now()
	if err := sock.AddressDelete("h0", selfhealAddr); err != nil {
		b.Fatal(err)
	}
	deadline := time.After(timeout)
	for {
		select {
		case ev, ok := <-m.Events():
			if !ok {
				b.Fatal("monitor closed")
			}
			if ev.Op == monitor.NewAddress && ev.Address != nil && ev.Address.Prefix == selfhealAddr {
				return time.Since(start)
			}
			if ev.Op == monitor.ResyncNeeded {
				b.Fatalf("the benchmark's own monitor overran: %v", ev)
			}
		case <-deadline:
			b.Fatalf("address %s deleted by hand not restored within %s", selfhealAddr, timeout)
		}
	}
}

// selfhealScope spawns a scope named name owning veth h0 (up, with
// selfhealAddr) in a fresh namespace, waits for it to converge and returns
// an rtnl socket and a monitor on its namespace (closed in Cleanup).
func selfhealScope(b *testing.B, node *supervisor.Node, name string, interval time.Duration, opts *messages.ScopeOptions) (*rtnl.Socket, *monitor.Monitor) {
	b.Helper()
	ns := nstest.New(b)
	err := spawnMsg(node, &messages.SpawnScope{
		Name:      name,
		Namespace: benchActorsPath(ns),
		Desired:   benchActorsVeth("h0", "h1", selfhealAddr.String()),
		Interval:  durationpb.New(interval),
		Options:   opts,
	})
	if err != nil {
		b.Fatal(err)
	}
	benchActorsWait(b, node, 10*time.Second, name)
	m, err := monitor.Open(ns.Namespace(), monitor.WithReceiveBuffer(1<<20))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { m.Close() })
	return ns.Open(), m
}

// BenchmarkSelfHealLatency deletes a scope's address by hand 200 times in a
// throwaway namespace and times, each time, how long the node (real
// rtnetlink Source, monitor wake-ups, interval 30 s) takes to restore it,
// as seen by a separate monitor on the namespace. The scope's rate limit
// is raised out of the way so that the figure is the loop's latency; each
// deletion comes 20 ms after the previous restore, when the loop is idle.
//
// The baseline, measured in the same run, is a timer-only loop (the same
// scope with no monitor, interval 500 ms): a deletion waits for the next
// tick, so its latency is spread over the whole interval. It deletes at a
// random point of the interval, 20 times.
//
//	selfheal_latency: p50=<ms> p99=<ms> n=200 timer_only_interval=<ms> timer_only_p50=<ms> timer_only_p99=<ms> ratio_p50=<x>
//
// Targets: p50 ≤ 10 ms, p99 ≤ 50 ms.
func BenchmarkSelfHealLatency(b *testing.B) {
	if testing.Short() {
		b.Skip("SKIPPED: times 200 self-heals and a 10 s timer-only baseline; not under -short")
	}
	nstest.RequireRoot(b)
	node := benchActorsNode(b, nil)
	var linx, timer []time.Duration
	for b.Loop() {
		ns, m := selfhealScope(b, node, "heal", 30*time.Second, benchActorsFast())
		linx = linx[:0]
		for range selfhealRounds {
			time.Sleep(20 * time.Millisecond)
			linx = append(linx, selfhealRound(b, ns, m, 5*time.Second))
		}
		if err := node.Stop("heal", true); err != nil {
			b.Fatal(err)
		}

		opts := benchActorsFast()
		opts.NoMonitor = true
		tns, tm := selfhealScope(b, node, "timer", selfhealTimerInterval, opts)
		timer = timer[:0]
		for range selfhealTimerRounds {
			time.Sleep(rand.N(selfhealTimerInterval))
			timer = append(timer, selfhealRound(b, tns, tm, 5*selfhealTimerInterval))
		}
		if err := node.Stop("timer", true); err != nil {
			b.Fatal(err)
		}
	}
	slices.Sort(linx)
	slices.Sort(timer)
	p50, p99 := benchActorsPercentile(linx, 0.50), benchActorsPercentile(linx, 0.99)
	t50, t99 := benchActorsPercentile(timer, 0.50), benchActorsPercentile(timer, 0.99)
	fmt.Printf("selfheal_latency: p50=%.2f p99=%.2f n=%d timer_only_interval=%d timer_only_p50=%.1f timer_only_p99=%.1f ratio_p50=%.4f\n",
		p50, p99, len(linx), selfhealTimerInterval.Milliseconds(), t50, t99, p50/t50)
	b.ReportMetric(p50, "p50-ms")
	b.ReportMetric(p99, "p99-ms")
	b.ReportMetric(t50, "timer-only-p50-ms")
}

// scopesCount is how many scopes BenchmarkScopes100 runs.
const scopesCount = 100

// BenchmarkScopes100 runs 100 scopes in 100 throwaway namespaces, each
// owning a veth that is up with two addresses, waits until all have
// converged and measures the node at rest: the resident memory the scopes
// added (VmRSS after minus before spawning them, both after a GC), the
// goroutines they added, and the CPU the whole process used over 5 s of
// idleness (percent of one core):
//
//	scopes_100: rss=<MB> goroutines=<n> idle_cpu=<%> rss_process=<MB> fds=<n> spawn_to_converged=<ms>
//
// Target: rss ≤ 100 MB. rss_process is the absolute VmRSS of the test
// process (which also holds the test binary and earlier benchmarks' heap
// arenas); fds is the file descriptors the scopes added.
func BenchmarkScopes100(b *testing.B) {
	if testing.Short() {
		b.Skip("SKIPPED: makes 100 namespaces; not under -short")
	}
	nstest.RequireRoot(b)
	var (
		rss, rssAbs, cpu float64
		goroutines, fds  int
		converged        time.Duration
	)
	for b.Loop() {
		nss := make([]*nstest.NS, scopesCount)
		for i := range nss {
			nss[i] = nstest.New(b)
		}
		node := benchActorsNode(b, nil)
		time.Sleep(100 * time.Millisecond)
		rss0, g0, fd0 := benchActorsRSS(b), runtime.NumGoroutine(), benchActorsFDs(b)

		start := time.Now()
		names := make([]string, len(nss))
		for i, ns := range nss {
			names[i] = fmt.Sprintf("s%03d", i)
			err := spawnMsg(node, &messages.SpawnScope{
				Name:      names[i],
				Namespace: benchActorsPath(ns),
				Desired:   benchActorsVeth("s0", "s1", "10.0.0.2/24", "10.0.1.2/24"),
			})
			if err != nil {
				b.Fatal(err)
			}
		}
		benchActorsWait(b, node, 60*time.Second, names...)
		converged = time.Since(start)
		// Every namespace really holds its veth and addresses.
		for i, ns := range nss {
			out := ns.IP("-br", "addr", "show", "dev", "s0")
			if !strings.Contains(out, "10.0.0.2/24") || !strings.Contains(out, "10.0.1.2/24") {
				b.Fatalf("scope %s converged, but ip says:\n%s", names[i], out)
			}
		}

		time.Sleep(time.Second) // let the last passes' garbage settle
		rssAbs = benchActorsRSS(b)
		rss = rssAbs - rss0
		goroutines = runtime.NumGoroutine() - g0
		fds = benchActorsFDs(b) - fd0
		const idle = 5 * time.Second
		c0, t0 := benchActorsCPU(b), time.Now()
		time.Sleep(idle)
		cpu = 100 * float64(benchActorsCPU(b)-c0) / float64(time.Since(t0))
		list, err := node.List()
		if err != nil {
			b.Fatal(err)
		}
		for _, st := range list {
			if st.GetPhase() != messages.Phase_PHASE_CONVERGED {
				b.Fatalf("scope %s left convergence while idle: %v", st.GetName(), st)
			}
		}
	}
	fmt.Printf("scopes_100: rss=%.1f goroutines=%d idle_cpu=%.2f rss_process=%.1f fds=%d spawn_to_converged=%.0f\n",
		rss, goroutines, cpu, rssAbs, fds, float64(converged)/float64(time.Millisecond))
	b.ReportMetric(rss, "rss-MB")
	b.ReportMetric(float64(goroutines), "goroutines")
	b.ReportMetric(cpu, "idle-cpu-%")
}

// rssRoutes is how many desired routes BenchmarkRSSPer100kRoutes holds.
const rssRoutes = 100_000

// BenchmarkRSSPer100kRoutes runs one scope holding 100,000 desired routes
// (and the veth and address their gateway needs) until it has converged,
// and measures the resident memory this added to the process: VmRSS after
// minus before, both after a GC, with the test's own copy of the desired
// state dropped. The kernel's route count is checked with ip.
//
//	rss_per_100k_routes: rss=<MB> heap=<MB> converge=<ms>
//
// heap is the Go heap in use that the scope added; converge is the time
// from spawn to converged (installing the routes included).
func BenchmarkRSSPer100kRoutes(b *testing.B) {
	if testing.Short() {
		b.Skip("SKIPPED: installs 100,000 routes; not under -short")
	}
	nstest.RequireRoot(b)
	var rss, heap float64
	var converge time.Duration
	for b.Loop() {
		ns := nstest.New(b)
		node := benchActorsNode(b, nil)
		time.Sleep(100 * time.Millisecond)
		rss0 := benchActorsRSS(b)
		var ms0 runtime.MemStats
		runtime.ReadMemStats(&ms0)

		d := benchRoutesDesired(rssRoutes)
		start := time.Now()
		err := spawnMsg(node, &messages.SpawnScope{
			Name:      "routes",
			Namespace: benchActorsPath(ns),
			Desired:   d,
			Options:   &messages.ScopeOptions{PassTimeout: durationpb.New(2 * time.Minute)},
		})
		d = nil
		if err != nil {
			b.Fatal(err)
		}
		benchActorsWait(b, node, 3*time.Minute, "routes")
		converge = time.Since(start)
		wantOwn(b, ns, "scope with 100k desired routes", rssRoutes)
		// The install's 100,000 route events wake the scope for more
		// passes: measure once it is idle, not a pass's transient lists.
		for deadline, last := time.Now().Add(30*time.Second), uint64(0); ; {
			st, err := node.Status("routes")
			if err != nil {
				b.Fatal(err)
			}
			if st.GetPasses() == last && st.GetPhase() == messages.Phase_PHASE_CONVERGED {
				break
			}
			if time.Now().After(deadline) {
				b.Fatalf("the scope never went idle: %v", st)
			}
			last = st.GetPasses()
			time.Sleep(500 * time.Millisecond)
		}

		rss = benchActorsRSS(b) - rss0
		var ms1 runtime.MemStats
		runtime.ReadMemStats(&ms1)
		heap = (float64(ms1.HeapInuse) - float64(ms0.HeapInuse)) / (1 << 20)
		if err := node.Stop("routes", true); err != nil {
			b.Fatal(err)
		}
	}
	fmt.Printf("rss_per_100k_routes: rss=%.1f heap=%.1f converge=%.0f\n",
		rss, heap, float64(converge)/float64(time.Millisecond))
	b.ReportMetric(rss, "rss-MB")
	b.ReportMetric(heap, "heap-MB")
}
