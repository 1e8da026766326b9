package rtnlsource_test

import (
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"regexp"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/linx-net/linx/actors/internal/crash"
	"github.com/linx-net/linx/actors/rtnlsource"
	"github.com/linx-net/linx/actors/supervisor"
	"github.com/linx-net/linx/api/convert"
	"github.com/linx-net/linx/diff"
	"github.com/linx-net/linx/internal/nstest"
	"github.com/linx-net/linx/messages"
	"github.com/linx-net/linx/reconcile"
)

// The supervision checks of the actor runtime against the kernel: crash
// injection, the restart limit and the independence of scopes, each with
// the rtnl source in namespaces of its own. None of them runs in parallel:
// they count the process's open file descriptors and goroutines, which any
// other test running at the same time would change.

// supervisedNode starts a node whose scopes keep their ledgers in the
// returned state directory and are marked failed after maxRestarts
// restarts within a minute (0: supervisor.DefaultMaxRestarts). The interval is an hour, so that only monitor
// wake-ups and restarts run passes within a test.
// spawnMsg spawns the scope m describes, converted as the agent converts
// a message that reaches it: once, with SpecFromProto.
func spawnMsg(node *supervisor.Node, m *messages.SpawnScope) error {
	spec, err := convert.SpecFromProto(m)
	if err != nil {
		return err
	}
	return node.Spawn(spec)
}

// updateMsg gives scope name the desired state d, converted once.
func updateMsg(node *supervisor.Node, name string, d *messages.Desired) error {
	v, err := convert.DesiredForNode(d)
	if err != nil {
		return err
	}
	return node.Update(name, v)
}

func supervisedNode(t *testing.T, maxRestarts int) (*actor.ActorSystem, *supervisor.Node, string) {
	t.Helper()
	dir := t.TempDir()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	system := actor.NewActorSystem(actor.WithLoggerFactory(supervisor.LoggerFactory(logger)))
	node, err := supervisor.Start(system, supervisor.Config{
		NewSource:     rtnlsource.Factory(dir),
		Spec:          convert.SpecFromProto,
		Desired:       convert.DesiredForNode,
		Check:         rtnlsource.Check,
		Interval:      time.Hour,
		MaxRestarts:   maxRestarts,
		RestartWindow: time.Minute,
		Logger:        logger,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := node.Shutdown(); err != nil {
			t.Error(err)
		}
	})
	return system, node, dir
}

// vethScope is a scope that creates veth a0 (peer a1), gives it
// 10.0.0.2/24 and routes 10.1.0.0/16 via 10.0.0.1 through it.
func vethScope(name string, ns *nstest.NS) *messages.SpawnScope {
	up := true
	return &messages.SpawnScope{
		Name:      name,
		Namespace: &messages.Namespace{Kind: &messages.Namespace_Path{Path: ns.Path()}},
		Desired: &messages.Desired{
			Links: []*messages.Link{{
				Name: "a0", Kind: "veth", Up: &up,
				Settings: &messages.Link_Veth{Veth: &messages.Veth{Peer: "a1"}},
			}},
			Addresses: []*messages.Address{{Link: "a0", Address: "10.0.0.2/24"}},
			Routes:    []*messages.Route{{Dst: "10.1.0.0/16", Via: "10.0.0.1"}},
		},
	}
}

// injectCrash makes one actor of a scope panic through the node.
func injectCrash(t *testing.T, system *actor.ActorSystem, node *supervisor.Node, scope, who string) {
	t.Helper()
	v, err := system.Root.RequestFuture(node.PID(), &crash.Inject{Scope: scope, Actor: who, Reason: "test"}, time.Second).Result()
	if err != nil {
		t.Fatalf("inject %s/%s: %v", scope, who, err)
	}
	if ack, ok := v.(*messages.Ack); !ok || ack.GetError() != "" {
		t.Fatalf("inject %s/%s: answer %v", scope, who, v)
	}
}

// waitStatus polls a scope's status until ok holds or 10 s pass.
func waitStatus(t *testing.T, node *supervisor.Node, name, what string, ok func(*messages.ScopeStatus) bool) *messages.ScopeStatus {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, err := node.Status(name)
		if err != nil {
			t.Fatal(err)
		}
		if ok(st) {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("scope %s: timed out waiting for %s; status: %v", name, what, st)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitRestored waits until addr, deleted by hand, is on dev again.
func waitRestored(t *testing.T, ns *nstest.NS, dev, addr, what string) {
	t.Helper()
	for start := time.Now(); !hasAddr(ns, dev, addr); time.Sleep(10 * time.Millisecond) {
		if time.Since(start) > 2*time.Second {
			t.Fatalf("%s: %s deleted by hand not restored on %s within 2 s (the interval is an hour)", what, addr, dev)
		}
	}
}

func hasRoute(ns *nstest.NS, dst, via, dev string) bool {
	var routes []struct {
		Dst     string `json:"dst"`
		Gateway string `json:"gateway"`
		Dev     string `json:"dev"`
	}
	ns.JSON(&routes, "route", "show", "exact", dst)
	for _, r := range routes {
		if r.Dst == dst && r.Gateway == via && r.Dev == dev {
			return true
		}
	}
	return false
}

var inodeSuffix = regexp.MustCompile(`\[[0-9]+\]$`)

// openFDs returns how many file descriptors the process holds of each
// kind: what /proc/self/fd/N links to, without the inode number of a
// socket, pipe or namespace ("socket:", "anon_inode:[eventpoll]",
// "/dev/null").
func openFDs(t *testing.T) map[string]int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	for _, e := range ents {
		target, err := os.Readlink("/proc/self/fd/" + e.Name())
		if err != nil {
			continue // the directory read above, closed since
		}
		kinds[inodeSuffix.ReplaceAllString(target, "")]++
	}
	return kinds
}

// moreFDs returns the kinds of which now holds more than base, with both
// counts, or "" when there are none.
func moreFDs(base, now map[string]int) string {
	var out []string
	for _, k := range slices.Sorted(maps.Keys(now)) {
		if now[k] > base[k] {
			out = append(out, fmt.Sprintf("%q: %d, was %d", k, now[k], base[k]))
		}
	}
	return strings.Join(out, "; ")
}

// waitFDs waits until the process holds no more file descriptors of any
// kind than base: closing is done by actors stopping on their own
// goroutines, after the status has already changed. Call noFinalizers
// before taking base.
func waitFDs(t *testing.T, base map[string]int, what string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		extra := moreFDs(base, openFDs(t))
		if extra == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: file descriptors leaked: %s", what, extra)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// noFinalizers turns the garbage collector off until the test ends. An
// *os.File dropped without Close is closed by its finalizer after a
// collection: with collections running, a socket an incarnation forgot to
// close could vanish from /proc/self/fd while the test waits, hiding the
// leak.
func noFinalizers(t *testing.T) {
	old := debug.SetGCPercent(-1)
	t.Cleanup(func() { debug.SetGCPercent(old) })
}

// waitGoroutines waits until no more goroutines run than base. Goroutines
// of stopped actors and readers end shortly after the status says so, and
// protoactor's dead-letter throttle parks one for a second after dead
// letters (messages to actors of an incarnation that has just crashed).
func waitGoroutines(t *testing.T, base int, what string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		n := runtime.NumGoroutine()
		if n <= base {
			return
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			buf = buf[:runtime.Stack(buf, true)]
			t.Fatalf("%s: %d goroutines, was %d:\n%s", what, n, base, buf)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// ledgerOnDisk opens the ledger file a scope saved and returns its owned
// keys and the index recorded for link a0 (0 when none).
func ledgerOnDisk(t *testing.T, dir, scope string, ns *nstest.NS) (diff.Owned, int) {
	t.Helper()
	id, err := ns.Namespace().ID()
	if err != nil {
		t.Fatal(err)
	}
	path := reconcile.LedgerPath(dir, scope, id)
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("ledger of scope %s: %v", scope, err)
	}
	l, err := reconcile.OpenLedger(path)
	if err != nil {
		t.Fatal(err)
	}
	idx, _ := l.LinkIndex(diff.LinkKey{Name: "a0"})
	return l.Owned(), idx
}

// TestTwentyCrashesRestartScopeWithLedgerIntact injects 20 crashes into a
// converged scope, cycling through its socket, monitor and reconciler
// actors. Each crash restarts the whole subtree, whose new reconciler
// resyncs from scratch with the persisted ledger: the veth the scope
// created is recognised as its own and never re-created, the ledger file
// is unchanged, every incarnation's socket and subscription are closed
// and no goroutine is left behind, and the last incarnation still heals.
func TestTwentyCrashesRestartScopeWithLedgerIntact(t *testing.T) {
	ns := nstest.New(t)
	system, node, dir := supervisedNode(t, 100)
	if err := spawnMsg(node, vethScope("crash", ns)); err != nil {
		t.Fatal(err)
	}
	st := waitPhase(t, node, "crash", messages.Phase_PHASE_CONVERGED)
	if st.Restarts != 0 || st.OpsApplied == 0 && st.Passes == 1 {
		t.Fatalf("first convergence: %v", st)
	}
	if !hasAddr(ns, "a0", "10.0.0.2/24") || !hasRoute(ns, "10.1.0.0/16", "10.0.0.1", "a0") {
		t.Fatalf("desired state not applied, per ip -j:\n%s%s", ns.IP("addr"), ns.IP("route"))
	}
	index := linkIndex(t, ns, "a0")
	owned, ledgerIndex := ledgerOnDisk(t, dir, "crash", ns)
	if !owned.Links.Has(diff.LinkKey{Name: "a0"}) || ledgerIndex != index {
		t.Fatalf("ledger on disk after the first pass: links %v, a0 index %d; want a0 with index %d", owned.Links, ledgerIndex, index)
	}
	// The baselines: the scope's own socket and subscription are open.
	noFinalizers(t)
	fds := openFDs(t)
	goroutines := runtime.NumGoroutine()

	actors := []string{"socket", "monitor", "reconciler"}
	for i := range 20 {
		who := actors[i%len(actors)]
		before, err := node.Status("crash")
		if err != nil {
			t.Fatal(err)
		}
		injectCrash(t, system, node, "crash", who)
		st := waitStatus(t, node, "crash", fmt.Sprintf("crash %d (%s): restarted, resynced, converged", i+1, who), func(st *messages.ScopeStatus) bool {
			return st.Restarts == uint32(i+1) && st.Resyncs > before.Resyncs && st.Phase == messages.Phase_PHASE_CONVERGED
		})
		if !strings.Contains(st.Reason, who+": injected crash") {
			t.Errorf("crash %d: reason %q does not name the %s actor's crash", i+1, st.Reason, who)
		}
		if got := linkIndex(t, ns, "a0"); got != index {
			t.Fatalf("crash %d (%s): a0 re-created, index %d, was %d: the restarted scope lost its ledger", i+1, who, got, index)
		}
	}
	if !hasAddr(ns, "a0", "10.0.0.2/24") || !hasRoute(ns, "10.1.0.0/16", "10.0.0.1", "a0") {
		t.Fatalf("desired state lost across restarts, per ip -j:\n%s%s", ns.IP("addr"), ns.IP("route"))
	}
	got, gotIndex := ledgerOnDisk(t, dir, "crash", ns)
	if !maps.Equal(got.Links, owned.Links) || !maps.Equal(got.Addresses, owned.Addresses) || gotIndex != index {
		t.Errorf("ledger on disk after 20 crashes: links %v addresses %v a0 index %d; was links %v addresses %v index %d",
			got.Links, got.Addresses, gotIndex, owned.Links, owned.Addresses, index)
	}

	// Each incarnation closed what it opened, and stopped its goroutines.
	waitFDs(t, fds, "after 20 crashes")
	waitGoroutines(t, goroutines, "after 20 crashes")

	// The newest monitor still wakes the newest reconciler.
	ns.IP("addr", "del", "10.0.0.2/24", "dev", "a0")
	waitRestored(t, ns, "a0", "10.0.0.2/24", "after 20 crashes")
	if st, err := node.Status("crash"); err != nil || st.Restarts != 20 || st.Phase != messages.Phase_PHASE_CONVERGED {
		t.Errorf("final status %v, %v; want converged after 20 restarts", st, err)
	}
}

// TestRestartsBeyondLimitFailScope crashes a scope allowed two restarts
// three times: it is marked failed with a reason naming the crashes, stays
// listed so, closes its socket and subscription, and deletes nothing it
// made.
func TestRestartsBeyondLimitFailScope(t *testing.T) {
	ns := nstest.New(t)
	system, node, dir := supervisedNode(t, 2)
	noFinalizers(t)
	fds := openFDs(t)
	if err := spawnMsg(node, vethScope("limit", ns)); err != nil {
		t.Fatal(err)
	}
	waitPhase(t, node, "limit", messages.Phase_PHASE_CONVERGED)
	index := linkIndex(t, ns, "a0")

	for i, who := range []string{"socket", "monitor", "reconciler"} {
		injectCrash(t, system, node, "limit", who)
		if i < 2 {
			waitStatus(t, node, "limit", fmt.Sprintf("restart %d", i+1), func(st *messages.ScopeStatus) bool {
				return st.Restarts == uint32(i+1) && st.Phase == messages.Phase_PHASE_CONVERGED
			})
		}
	}
	st := waitPhase(t, node, "limit", messages.Phase_PHASE_FAILED)
	if !strings.Contains(st.Reason, "crashed 3 times") || !strings.Contains(st.Reason, "limit 2") ||
		!strings.Contains(st.Reason, "reconciler: injected crash") {
		t.Errorf("reason %q; want the 3 crashes, the limit of 2 and the last crash", st.Reason)
	}
	if st.Restarts != 2 {
		t.Errorf("restarts = %d, want 2", st.Restarts)
	}

	// Its socket and subscription are closed: the process is back to what
	// it held before the scope was spawned.
	waitFDs(t, fds, "after the scope failed")

	// Still listed, as failed, after its actors are gone.
	l, err := node.List()
	if err != nil {
		t.Fatal(err)
	}
	if len(l) != 1 || l[0].Name != "limit" || l[0].Phase != messages.Phase_PHASE_FAILED {
		t.Fatalf("List = %v; want scope limit, failed", l)
	}
	if st, err := node.Status("limit"); err != nil || st.Phase != messages.Phase_PHASE_FAILED {
		t.Fatalf("Status = %v, %v; want failed", st, err)
	}
	// A failed scope deletes nothing: the veth (the same one), its address
	// and route stay, and so does the ledger saying the veth is Linx's.
	if got := linkIndex(t, ns, "a0"); got != index {
		t.Errorf("a0 index %d, was %d", got, index)
	}
	if !hasAddr(ns, "a0", "10.0.0.2/24") || !hasRoute(ns, "10.1.0.0/16", "10.0.0.1", "a0") {
		t.Errorf("a failed scope removed kernel state, per ip -j:\n%s%s", ns.IP("addr"), ns.IP("route"))
	}
	if owned, idx := ledgerOnDisk(t, dir, "limit", ns); !owned.Links.Has(diff.LinkKey{Name: "a0"}) || idx != index {
		t.Errorf("ledger on disk: links %v, a0 index %d; want a0 with index %d", owned.Links, idx, index)
	}
	// Nothing of it runs to crash any more.
	v, err := system.Root.RequestFuture(node.PID(), &crash.Inject{Scope: "limit", Actor: "socket", Reason: "test"}, time.Second).Result()
	if ack, ok := v.(*messages.Ack); err != nil || !ok || !strings.Contains(ack.GetError(), "no running scope") {
		t.Errorf("crash injected into the failed scope: %v, %v; want no running scope", v, err)
	}
}

// TestCrashingScopeLeavesOtherAlone crashes one scope until it fails while
// another, in another namespace, runs: the other's restarts, resyncs and
// passes stay as they were, and it still heals.
func TestCrashingScopeLeavesOtherAlone(t *testing.T) {
	nsA, nsB := nstest.New(t), nstest.New(t)
	nsB.IP("link", "add", "b0", "type", "veth", "peer", "name", "b1")
	system, node, _ := supervisedNode(t, 3)
	err := spawnMsg(node, &messages.SpawnScope{
		Name:      "b",
		Namespace: &messages.Namespace{Kind: &messages.Namespace_Path{Path: nsB.Path()}},
		Desired:   &messages.Desired{Addresses: []*messages.Address{{Link: "b0", Address: "10.0.1.2/24"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := spawnMsg(node, vethScope("a", nsA)); err != nil {
		t.Fatal(err)
	}
	waitPhase(t, node, "b", messages.Phase_PHASE_CONVERGED)
	waitPhase(t, node, "a", messages.Phase_PHASE_CONVERGED)
	if !hasAddr(nsB, "b0", "10.0.1.2/24") {
		t.Fatal("scope b's address not applied, per ip -j addr")
	}
	// The events of b's own first pass may still wake it once: wait until
	// its pass count has held still for 100 ms.
	b := settled(t, node, "b")

	for i, who := range []string{"socket", "monitor", "reconciler", "socket"} {
		injectCrash(t, system, node, "a", who)
		if i < 3 {
			waitStatus(t, node, "a", fmt.Sprintf("a restarted %d times", i+1), func(st *messages.ScopeStatus) bool {
				return st.Restarts == uint32(i+1) && st.Phase == messages.Phase_PHASE_CONVERGED
			})
		}
	}
	waitPhase(t, node, "a", messages.Phase_PHASE_FAILED)
	b2, err := node.Status("b")
	if err != nil {
		t.Fatal(err)
	}
	if b2.Restarts != b.Restarts || b2.Resyncs != b.Resyncs || b2.Passes != b.Passes || b2.Phase != messages.Phase_PHASE_CONVERGED {
		t.Errorf("scope b changed while a crashed and failed:\nbefore %v\nafter  %v", b, b2)
	}
	// b still heals, through its own monitor.
	nsB.IP("addr", "del", "10.0.1.2/24", "dev", "b0")
	waitRestored(t, nsB, "b0", "10.0.1.2/24", "scope b after a failed")
	if b3, err := node.Status("b"); err != nil || b3.Restarts != b.Restarts || b3.Passes <= b.Passes {
		t.Errorf("scope b after healing: %v, %v; want more passes, no restart", b3, err)
	}
}

// settled waits until the named scope is converged and has run no pass for
// 100 ms, and returns its status then.
func settled(t *testing.T, node *supervisor.Node, name string) *messages.ScopeStatus {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	var last *messages.ScopeStatus
	var since time.Time
	for {
		st, err := node.Status(name)
		if err != nil {
			t.Fatal(err)
		}
		if last == nil || st.Passes != last.Passes || st.Phase != messages.Phase_PHASE_CONVERGED {
			last, since = st, time.Now()
		} else if time.Since(since) >= 100*time.Millisecond {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("scope %s did not settle: %v", name, st)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
