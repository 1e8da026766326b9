//go:build soak

package supervisor_test

import (
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/linx-net/linx/actors/internal/crash"
	"github.com/linx-net/linx/actors/rtnlsource"
	"github.com/linx-net/linx/actors/supervisor"
	"github.com/linx-net/linx/api/convert"
	"github.com/linx-net/linx/internal/nstest"
	"github.com/linx-net/linx/messages"
)

const (
	soakCrashFor   = time.Minute
	soakCrashEvery = 100 * time.Millisecond
)

// soakCrashUsage returns the process's goroutines, file descriptors and
// Go heap in use (MiB, after a GC), and VmRSS (MiB).
func soakCrashUsage(t *testing.T) (goroutines, fds int, heap, rss float64) {
	t.Helper()
	runtime.GC()
	debug.FreeOSMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(status)) {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			var kb float64
			fmt.Sscan(v, &kb)
			rss = kb / 1024
		}
	}
	return runtime.NumGoroutine(), len(ents), float64(ms.HeapInuse) / (1 << 20), rss
}

// soakCrashConverged waits until scope name is converged after at least
// restarts restarts, and the kernel holds its veth and address.
func soakCrashConverged(t *testing.T, node *supervisor.Node, ns *nstest.NS, name string, restarts uint32) *messages.ScopeStatus {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		st, err := node.Status(name)
		if err != nil {
			t.Fatal(err)
		}
		if st.GetPhase() == messages.Phase_PHASE_FAILED {
			t.Fatalf("scope failed: %v", st)
		}
		if st.GetPhase() == messages.Phase_PHASE_CONVERGED && st.GetRestarts() >= restarts &&
			strings.Contains(ns.IP("-br", "addr", "show", "dev", "k0"), "10.0.0.1/24") {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("scope %s not converged after %d restarts: %v", name, restarts, st)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// soakCrashIndex returns k0's interface index, per ip.
func soakCrashIndex(t *testing.T, ns *nstest.NS) int {
	t.Helper()
	var links []struct {
		IfIndex int `json:"ifindex"`
	}
	ns.JSON(&links, "link", "show", "dev", "k0")
	if len(links) != 1 {
		t.Fatalf("k0: %d links", len(links))
	}
	return links[0].IfIndex
}

// TestSoakCrashLoop panics a random actor of a scope (socket, monitor,
// reconciler or the scope supervisor itself) every 100 ms for a minute,
// with the real rtnetlink Source in a throwaway namespace. At the end the
// scope must be converged, with its veth never re-created (the ledger
// kept it owned across every restart), and the process must hold no more
// goroutines, file descriptors or memory than after the first few
// crashes (the warm-up).
func TestSoakCrashLoop(t *testing.T) {
	nstest.RequireRoot(t)
	// The verdict is printed however the test ends, a failed set-up or
	// convergence wait included.
	var (
		injected, refused int
		counts            = map[string]int{}
		st                *messages.ScopeStatus
		g0, fd0, g1, fd1  int
		heap0, rss0       float64
		heap1, rss1       float64
	)
	defer func() {
		v := "PASS"
		if t.Failed() {
			v = "FAIL"
		}
		fmt.Printf("soak_crash_loop: %s seconds=%.0f injected=%d refused=%d socket=%d monitor=%d reconciler=%d scope=%d restarts=%d resyncs=%d goroutines=%d->%d fds=%d->%d heap=%.1f->%.1f rss=%.1f->%.1f\n",
			v, soakCrashFor.Seconds(), injected, refused, counts["socket"], counts["monitor"], counts["reconciler"], counts["scope"],
			st.GetRestarts(), st.GetResyncs(), g0, g1, fd0, fd1, heap0, heap1, rss0, rss1)
	}()
	ns := nstest.New(t)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	system := actor.NewActorSystem(actor.WithLoggerFactory(supervisor.LoggerFactory(logger)))
	node, err := supervisor.Start(system, supervisor.Config{
		NewSource:   rtnlsource.Factory(t.TempDir()),
		Check:       rtnlsource.Check,
		MaxRestarts: 1 << 20, // the loop crashes it 600 times a minute on purpose
		Logger:      logger,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := node.Shutdown(); err != nil {
			t.Error(err)
		}
	}()
	up := true
	spec, err := convert.SpecFromProto(&messages.SpawnScope{
		Name:      "crashy",
		Namespace: &messages.Namespace{Kind: &messages.Namespace_Path{Path: ns.Path()}},
		Desired: &messages.Desired{
			Links: []*messages.Link{{Name: "k0", Kind: "veth", Up: &up,
				Settings: &messages.Link_Veth{Veth: &messages.Veth{Peer: "k1"}}}},
			Addresses: []*messages.Address{{Link: "k0", Address: "10.0.0.1/24"}},
			Routes:    []*messages.Route{{Dst: "10.1.0.0/16", Via: "10.0.0.2"}},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := node.Spawn(spec); err != nil {
		t.Fatal(err)
	}
	soakCrashConverged(t, node, ns, "crashy", 0)
	index := soakCrashIndex(t, ns)

	actors := []string{"socket", "monitor", "reconciler", "scope"}
	inject := func(who string) bool {
		v, err := system.Root.RequestFuture(node.PID(), &crash.Inject{Scope: "crashy", Actor: who, Reason: "soak"}, time.Second).Result()
		return err == nil && v.(*messages.Ack).GetError() == ""
	}
	// Warm-up: a few crashes, so that the baseline includes whatever a
	// first restart allocates once.
	for i, who := range actors {
		if !inject(who) {
			t.Fatalf("inject %s failed", who)
		}
		soakCrashConverged(t, node, ns, "crashy", uint32(i+1))
	}
	g0, fd0, heap0, rss0 = soakCrashUsage(t)

	start := time.Now()
	tick := time.NewTicker(soakCrashEvery)
	for time.Since(start) < soakCrashFor {
		<-tick.C
		who := actors[rand.N(len(actors))]
		if inject(who) {
			injected++
			counts[who]++
		} else {
			refused++
		}
	}
	tick.Stop()
	st = soakCrashConverged(t, node, ns, "crashy", 0)
	// Let the last restart's goroutines and sockets go.
	for deadline := time.Now().Add(5 * time.Second); ; {
		g1, fd1, heap1, rss1 = soakCrashUsage(t)
		if (g1 <= g0 && fd1 <= fd0) || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if injected < int(soakCrashFor/soakCrashEvery)*9/10 {
		t.Errorf("only %d crashes injected (%d refused)", injected, refused)
	}
	if got := soakCrashIndex(t, ns); got != index {
		t.Errorf("k0 re-created across the crashes: index %d, was %d", got, index)
	}
	if g1 > g0 {
		t.Errorf("goroutines grew from %d to %d", g0, g1)
	}
	if fd1 > fd0 {
		t.Errorf("file descriptors grew from %d to %d", fd0, fd1)
	}
	if heap1 > heap0*1.5+4 {
		t.Errorf("heap in use grew from %.1f to %.1f MB", heap0, heap1)
	}
	if rss1 > rss0*1.5+8 {
		t.Errorf("RSS grew from %.1f to %.1f MB", rss0, rss1)
	}
}
