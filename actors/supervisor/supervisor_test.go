package supervisor

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"go.uber.org/goleak"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/linx-net/linx/actors/internal/crash"
	"github.com/linx-net/linx/actors/internal/fakesource"
	"github.com/linx-net/linx/actors/source"
	"github.com/linx-net/linx/messages"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// protoactor's dead-letter throttle parks a goroutine for one
		// second after a burst of dead letters; it is not ours.
		goleak.IgnoreTopFunction("github.com/asynkron/protoactor-go/actor.NewDeadLetter.NewThrottle.func4.1"),
	)
}

var quietLogger = slog.New(slog.NewTextHandler(io.Discard, nil))

// harness is one actor system with one node whose sources are fakes.
type harness struct {
	t      *testing.T
	system *actor.ActorSystem
	node   *Node
	fresh  chan *fakesource.Source
}

func newHarness(t *testing.T, cfg Config) *harness {
	t.Helper()
	h := &harness{
		t:      t,
		system: actor.NewActorSystem(actor.WithLoggerFactory(LoggerFactory(quietLogger))),
		fresh:  make(chan *fakesource.Source, 100),
	}
	cfg.Logger = quietLogger
	cfg.NewSource = func(spec Spec) (source.Source, error) {
		if m, _ := spec.Source.(*messages.SpawnScope); m.GetNamespace().GetPath() == "/nonexistent" {
			return nil, errors.New("namespace /nonexistent: no such file")
		}
		s := fakesource.New()
		h.fresh <- s
		return s, nil
	}
	cfg.Desired = toFake
	node, err := Start(h.system, cfg)
	if err != nil {
		t.Fatal(err)
	}
	h.node = node
	t.Cleanup(func() {
		if err := node.Shutdown(); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return h
}

// toFake turns addresses into fake keys "link/address".
func toFake(d *messages.Desired) (any, error) {
	out := fakesource.Desired{}
	for _, a := range d.GetAddresses() {
		if a.GetLink() == "" {
			return nil, fmt.Errorf("address %q: no link", a.GetAddress())
		}
		out[a.GetLink()+"/"+a.GetAddress()] = "up"
	}
	return out, nil
}

func desired(addrs ...string) *messages.Desired {
	d := &messages.Desired{}
	for _, a := range addrs {
		d.Addresses = append(d.Addresses, &messages.Address{Link: "eth0", Address: a})
	}
	return d
}

// spawnMsg sends spec to the node as the message API would, a protobuf
// message to its PID, and returns the node's refusal.
func (h *harness) spawnMsg(spec *messages.SpawnScope) error { return h.node.ack(spec) }

// updateMsg sends an UpdateDesired message to the node and returns its
// refusal.
func (h *harness) updateMsg(name string, d *messages.Desired) error {
	return h.node.ack(&messages.UpdateDesired{Name: name, Desired: d})
}

// spawn starts a scope and returns its fake source.
func (h *harness) spawn(spec *messages.SpawnScope) *fakesource.Source {
	h.t.Helper()
	if err := h.spawnMsg(spec); err != nil {
		h.t.Fatalf("spawn %s: %v", spec.GetName(), err)
	}
	select {
	case s := <-h.fresh:
		return s
	default:
		h.t.Fatal("spawn made no source")
		return nil
	}
}

func (h *harness) status(name string) *messages.ScopeStatus {
	h.t.Helper()
	st, err := h.node.Status(name)
	if err != nil {
		h.t.Fatalf("status %s: %v", name, err)
	}
	return st
}

// waitFor polls the named scope's status until ok holds or 5 s pass.
func (h *harness) waitFor(name, what string, ok func(*messages.ScopeStatus) bool) *messages.ScopeStatus {
	h.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		st := h.status(name)
		if ok(st) {
			return st
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("scope %s: timed out waiting for %s; status: %v", name, what, st)
		}
		time.Sleep(time.Millisecond)
	}
}

func converged(st *messages.ScopeStatus) bool {
	return st.Phase == messages.Phase_PHASE_CONVERGED
}

func (h *harness) inject(scope, who string) {
	h.t.Helper()
	v, err := h.system.Root.RequestFuture(h.node.PID(), &crash.Inject{Scope: scope, Actor: who, Reason: "test"}, time.Second).Result()
	if err != nil || v.(*messages.Ack).GetError() != "" {
		h.t.Fatalf("inject %s/%s: %v %v", scope, who, err, v)
	}
}

func waitUntil(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestScopeConverges(t *testing.T) {
	h := newHarness(t, Config{})
	src := h.spawn(&messages.SpawnScope{Name: "a", Desired: desired("10.0.0.2/24", "10.0.0.3/24")})
	st := h.waitFor("a", "converged", converged)
	want := map[string]string{"eth0/10.0.0.2/24": "up", "eth0/10.0.0.3/24": "up"}
	if got := src.Kernel(); !maps.Equal(got, want) {
		t.Errorf("kernel = %v, want %v", got, want)
	}
	if got := src.Ledger(); len(got) != 2 {
		t.Errorf("ledger = %v, want the 2 desired keys", got)
	}
	if st.Resyncs != 1 || st.Restarts != 0 || st.LastError != "" || st.LastPass == nil {
		t.Errorf("status after the first pass: %v", st)
	}
	// The monitor subscribed before the first pass (subscribe, then list).
	if src.Watches.Load() != 1 || src.OpenWatches() != 1 {
		t.Errorf("watches opened %d, open %d; want 1, 1", src.Watches.Load(), src.OpenWatches())
	}
}

func TestSpawnErrors(t *testing.T) {
	h := newHarness(t, Config{})
	h.spawn(&messages.SpawnScope{Name: "a"})
	for _, tc := range []struct {
		spec *messages.SpawnScope
		want string
	}{
		{&messages.SpawnScope{Name: "a"}, "already running"},
		{&messages.SpawnScope{Name: ""}, "name must be"},
		{&messages.SpawnScope{Name: "x/y"}, "name must be"},
		{&messages.SpawnScope{Name: "b", Desired: &messages.Desired{Addresses: []*messages.Address{{Address: "10.0.0.1/8"}}}}, "no link"},
		{&messages.SpawnScope{Name: "c", Namespace: &messages.Namespace{Kind: &messages.Namespace_Path{Path: "/nonexistent"}}}, "no such file"},
	} {
		err := h.spawnMsg(tc.spec)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Spawn(%v) = %v, want an error containing %q", tc.spec, err, tc.want)
		}
	}
	if _, err := h.node.Status("nope"); err == nil || !strings.Contains(err.Error(), "no scope") {
		t.Errorf("Status(nope) = %v", err)
	}
	if err := h.updateMsg("nope", desired()); err == nil {
		t.Error("Update(nope) succeeded")
	}
	if err := h.node.Stop("nope", false); err == nil {
		t.Error("Stop(nope) succeeded")
	}
}

func TestWakeUpRepairsBeforeInterval(t *testing.T) {
	h := newHarness(t, Config{Interval: time.Hour})
	src := h.spawn(&messages.SpawnScope{Name: "a", Desired: desired("10.0.0.2/24")})
	h.waitFor("a", "converged", converged)
	for i := range 20 {
		start := time.Now()
		src.Delete("eth0/10.0.0.2/24")
		waitUntil(t, "the deleted key restored", func() bool { return src.Kernel()["eth0/10.0.0.2/24"] == "up" })
		if d := time.Since(start); d > time.Second {
			t.Fatalf("round %d: restored after %v", i, d)
		}
	}
}

func TestBurstOfWakeUpsIsCoalesced(t *testing.T) {
	// A rate far above what the burst needs, so that only coalescing can
	// keep the count down.
	h := newHarness(t, Config{Interval: time.Hour, Rate: 10000, Burst: 1000})
	src := h.spawn(&messages.SpawnScope{Name: "a", Desired: desired("10.0.0.2/24")})
	h.waitFor("a", "converged", converged)
	before := src.Passes.Load()
	for range 100 {
		src.Emit(source.Wake)
	}
	waitUntil(t, "a pass after the burst", func() bool { return src.Passes.Load() > before })
	time.Sleep(100 * time.Millisecond)
	if n := src.Passes.Load() - before; n > 3 {
		t.Errorf("100 wake-ups caused %d passes, want at most 3", n)
	}
}

func TestRateLimit(t *testing.T) {
	const rate = 20
	h := newHarness(t, Config{Interval: time.Hour})
	src := h.spawn(&messages.SpawnScope{
		Name:    "a",
		Desired: desired("10.0.0.2/24"),
		Options: &messages.ScopeOptions{
			MaxPassesPerSecond: rate,
			Burst:              1,
			Debounce:           durationpb.New(-1), // no debounce: every wake-up wants a pass
		},
	})
	h.waitFor("a", "converged", converged)
	// Another writer fighting over the key, as fast as it can.
	before := src.Passes.Load()
	start := time.Now()
	for time.Since(start) < time.Second {
		src.SetForeign("eth0/10.0.0.2/24", "down")
		time.Sleep(200 * time.Microsecond)
	}
	n := src.Passes.Load() - before
	if n > rate+3 || n < rate/2 {
		t.Errorf("1 s of fighting caused %d passes, want about %d", n, rate)
	}
	t.Logf("1 s of fighting another writer: %d passes (limit %d/s)", n, rate)
}

func TestUpdateDesired(t *testing.T) {
	h := newHarness(t, Config{Interval: time.Hour})
	src := h.spawn(&messages.SpawnScope{Name: "a", Desired: desired("10.0.0.2/24", "10.0.0.3/24")})
	h.waitFor("a", "converged", converged)
	if err := h.updateMsg("a", desired("10.0.0.3/24", "10.0.0.4/24")); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"eth0/10.0.0.3/24": "up", "eth0/10.0.0.4/24": "up"}
	waitUntil(t, "the update applied", func() bool { return maps.Equal(src.Kernel(), want) })
	if l := src.Ledger(); len(l) != 2 || !l["eth0/10.0.0.4/24"] || l["eth0/10.0.0.2/24"] {
		t.Errorf("ledger = %v", l)
	}
	// The update survives a restart: the new reconciler starts from it.
	h.inject("a", "reconciler")
	h.waitFor("a", "restarted and converged", func(st *messages.ScopeStatus) bool { return st.Restarts == 1 && converged(st) })
	if !maps.Equal(src.Kernel(), want) {
		t.Errorf("after restart kernel = %v, want %v", src.Kernel(), want)
	}
}

func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

func TestCrashInjectionRestartsSubtree(t *testing.T) {
	fds := openFDs(t)
	h := newHarness(t, Config{Interval: time.Hour, MaxRestarts: 1000})
	src := h.spawn(&messages.SpawnScope{Name: "a", Desired: desired("10.0.0.2/24", "10.0.0.3/24")})
	h.waitFor("a", "converged", converged)
	ledger := src.Ledger()

	restarts := uint32(0)
	for round := range 20 {
		for _, who := range []string{"socket", "monitor", "reconciler"} {
			before := h.status("a")
			h.inject("a", who)
			restarts++
			h.waitFor("a", fmt.Sprintf("round %d: %s restarted, resynced and converged", round, who), func(st *messages.ScopeStatus) bool {
				return st.Restarts == restarts && st.Resyncs > before.Resyncs && converged(st)
			})
			if got := src.Ledger(); !maps.Equal(got, ledger) {
				t.Fatalf("round %d (%s): ledger = %v, want %v", round, who, got, ledger)
			}
		}
	}
	// One handle and one watch open: every incarnation closed its own.
	waitUntil(t, "old handles closed", func() bool { return src.Opens.Load()-src.Closes.Load() == 1 })
	if n := src.OpenWatches(); n != 1 {
		t.Errorf("%d watches open, want 1", n)
	}
	// The whole subtree restarted each time, whichever actor crashed.
	if o, w := src.Opens.Load(), src.Watches.Load(); o != 61 || w != 61 {
		t.Errorf("%d handles and %d watches opened, want 61 each (one per incarnation)", o, w)
	}
	// The newest monitor still wakes the newest reconciler.
	src.Delete("eth0/10.0.0.2/24")
	waitUntil(t, "the deleted key restored", func() bool { return src.Kernel()["eth0/10.0.0.2/24"] == "up" })

	if err := h.node.Stop("a", false); err != nil {
		t.Fatal(err)
	}
	h.waitFor("a", "stopped", func(st *messages.ScopeStatus) bool { return st.Phase == messages.Phase_PHASE_STOPPED })
	if src.Opens.Load() != src.Closes.Load() || src.OpenWatches() != 0 {
		t.Errorf("after stop: opens %d closes %d watches %d", src.Opens.Load(), src.Closes.Load(), src.OpenWatches())
	}
	waitUntil(t, "fds back to the baseline", func() bool { return openFDs(t) <= fds })
}

func TestRestartLimitMarksFailed(t *testing.T) {
	h := newHarness(t, Config{Interval: time.Hour, MaxRestarts: 2, RestartWindow: time.Minute})
	src := h.spawn(&messages.SpawnScope{Name: "a", Desired: desired("10.0.0.2/24")})
	h.waitFor("a", "converged", converged)
	for i := range 3 {
		h.inject("a", []string{"socket", "monitor", "reconciler"}[i])
		if i < 2 {
			h.waitFor("a", "restarted", func(st *messages.ScopeStatus) bool { return st.Restarts == uint32(i+1) && converged(st) })
		}
	}
	st := h.waitFor("a", "failed", func(st *messages.ScopeStatus) bool { return st.Phase == messages.Phase_PHASE_FAILED })
	if !strings.Contains(st.Reason, "crashed 3 times") || !strings.Contains(st.Reason, "injected crash") {
		t.Errorf("reason = %q", st.Reason)
	}
	waitUntil(t, "handles closed", func() bool { return src.Opens.Load() == src.Closes.Load() && src.OpenWatches() == 0 })
	// Still listed, as failed, long after.
	time.Sleep(50 * time.Millisecond)
	l, err := h.node.List()
	if err != nil || len(l) != 1 || l[0].Phase != messages.Phase_PHASE_FAILED {
		t.Fatalf("List = %v, %v; want the failed scope", l, err)
	}
	// A failed scope's name can be spawned again.
	h.spawn(&messages.SpawnScope{Name: "a", Desired: desired("10.0.0.2/24")})
	h.waitFor("a", "converged again", converged)
}

func TestOpenErrorsExhaustRestarts(t *testing.T) {
	h := newHarness(t, Config{Interval: time.Hour, MaxRestarts: 3})
	src := h.spawn(&messages.SpawnScope{Name: "a"})
	// The scope must be up before the crash is injected into it.
	h.waitFor("a", "converged", converged)
	// From now on every open fails: each new socket actor crashes at start.
	src.SetOpenError(errors.New("permission denied"))
	h.inject("a", "socket")
	st := h.waitFor("a", "failed", func(st *messages.ScopeStatus) bool { return st.Phase == messages.Phase_PHASE_FAILED })
	if !strings.Contains(st.Reason, "permission denied") {
		t.Errorf("reason = %q, want the open error", st.Reason)
	}
}

func TestScopeGoneStops(t *testing.T) {
	h := newHarness(t, Config{Interval: time.Hour})
	src := h.spawn(&messages.SpawnScope{Name: "a", Namespace: &messages.Namespace{Kind: &messages.Namespace_Pid{Pid: 4242}}, Desired: desired("10.0.0.2/24")})
	h.waitFor("a", "converged", converged)
	src.Vanish()
	st := h.waitFor("a", "stopped", func(st *messages.ScopeStatus) bool { return st.Phase == messages.Phase_PHASE_STOPPED })
	if !strings.Contains(st.Reason, "process 4242 exited") || !strings.Contains(st.Reason, source.ErrScopeGone.Error()) {
		t.Errorf("reason = %q", st.Reason)
	}
	if st.Restarts != 0 {
		t.Errorf("restarts = %d: a gone scope must stop, not restart", st.Restarts)
	}
	waitUntil(t, "handles closed", func() bool { return src.Opens.Load() == src.Closes.Load() })
}

func TestScopesAreIndependent(t *testing.T) {
	h := newHarness(t, Config{Interval: time.Hour, MaxRestarts: 3})
	srcA := h.spawn(&messages.SpawnScope{Name: "a", Desired: desired("10.0.0.2/24")})
	srcB := h.spawn(&messages.SpawnScope{Name: "b", Desired: desired("10.0.1.2/24")})
	h.waitFor("a", "converged", converged)
	b := h.waitFor("b", "converged", converged)
	opensB := srcB.Opens.Load()
	for i := range 4 { // one past a's limit: a fails
		h.inject("a", []string{"socket", "monitor", "reconciler"}[i%3])
		time.Sleep(5 * time.Millisecond)
	}
	h.waitFor("a", "failed", func(st *messages.ScopeStatus) bool { return st.Phase == messages.Phase_PHASE_FAILED })
	b2 := h.status("b")
	if b2.Restarts != b.Restarts || b2.Resyncs != b.Resyncs || b2.Passes != b.Passes || !converged(b2) || srcB.Opens.Load() != opensB {
		t.Errorf("scope b changed while a crashed:\nbefore %v\nafter  %v", b, b2)
	}
	_ = srcA
	// b still heals.
	srcB.Delete("eth0/10.0.1.2/24")
	waitUntil(t, "b restored", func() bool { return srcB.Kernel()["eth0/10.0.1.2/24"] == "up" })
}

func TestSubscription(t *testing.T) {
	h := newHarness(t, Config{Interval: time.Hour})
	got := make(chan *messages.ScopeStatus, 100)
	sub := h.system.Root.Spawn(actor.PropsFromFunc(func(ctx actor.Context) {
		if st, ok := ctx.Message().(*messages.ScopeStatus); ok {
			got <- st
		}
	}))
	defer h.system.Root.Stop(sub)
	if err := h.node.Subscribe(sub); err != nil {
		t.Fatal(err)
	}
	next := func(what string, ok func(*messages.ScopeStatus) bool) {
		t.Helper()
		timeout := time.After(5 * time.Second)
		for {
			select {
			case st := <-got:
				if ok(st) {
					return
				}
			case <-timeout:
				t.Fatalf("no status update: %s", what)
			}
		}
	}
	h.spawn(&messages.SpawnScope{Name: "a", Desired: desired("10.0.0.2/24")})
	next("starting", func(st *messages.ScopeStatus) bool { return st.Phase == messages.Phase_PHASE_STARTING })
	next("converged", func(st *messages.ScopeStatus) bool { return converged(st) && st.OpsApplied == 1 })
	h.inject("a", "monitor")
	next("restarted", func(st *messages.ScopeStatus) bool {
		return st.Restarts == 1 && st.Phase == messages.Phase_PHASE_STARTING
	})
	next("converged after restart", func(st *messages.ScopeStatus) bool { return st.Restarts == 1 && converged(st) })
	if err := h.node.Stop("a", false); err != nil {
		t.Fatal(err)
	}
	next("stopped", func(st *messages.ScopeStatus) bool {
		return st.Phase == messages.Phase_PHASE_STOPPED && st.Reason == ReasonStopped
	})
	if err := h.node.Unsubscribe(sub); err != nil {
		t.Fatal(err)
	}
	h.spawn(&messages.SpawnScope{Name: "b"})
	h.waitFor("b", "converged", converged)
	select {
	case st := <-got:
		t.Errorf("update after unsubscribing: %v", st)
	case <-time.After(20 * time.Millisecond):
	}
}

func TestMonitorDeathResyncs(t *testing.T) {
	h := newHarness(t, Config{Interval: time.Hour})
	src := h.spawn(&messages.SpawnScope{Name: "a", Desired: desired("10.0.0.2/24")})
	h.waitFor("a", "converged", converged)
	src.Emit(source.Resync)
	h.waitFor("a", "overrun counted", func(st *messages.ScopeStatus) bool { return st.MonitorOverruns == 1 && st.Resyncs == 2 })
	// A subscription that dies restarts the scope, which resyncs.
	src.Fail(errors.New("netlink: socket closed"))
	st := h.waitFor("a", "restarted", func(st *messages.ScopeStatus) bool { return st.Restarts == 1 && converged(st) && st.Resyncs == 3 })
	if !strings.Contains(st.Reason, "socket closed") {
		t.Errorf("reason = %q", st.Reason)
	}
}

func TestReaderGoroutinePanicRestartsScope(t *testing.T) {
	h := newHarness(t, Config{Interval: time.Hour})
	src := h.spawn(&messages.SpawnScope{Name: "a", Desired: desired("10.0.0.2/24")})
	h.waitFor("a", "converged", converged)
	src.PanicInOverruns.Store(true)
	src.Emit(source.Resync) // the reader calls Overruns and panics
	st := h.waitFor("a", "restarted", func(st *messages.ScopeStatus) bool { return st.Restarts == 1 && converged(st) })
	if !strings.Contains(st.Reason, "reader goroutine panicked") {
		t.Errorf("reason = %q", st.Reason)
	}
	src.PanicInOverruns.Store(false)
}

func TestSilentWatchEndRestartsScope(t *testing.T) {
	h := newHarness(t, Config{Interval: time.Hour})
	src := h.spawn(&messages.SpawnScope{Name: "a", Desired: desired("10.0.0.2/24")})
	h.waitFor("a", "converged", converged)
	// The subscription's events stop, no error given: not a reason to run
	// on without events.
	src.Fail(nil)
	st := h.waitFor("a", "restarted", func(st *messages.ScopeStatus) bool { return st.Restarts == 1 && converged(st) && st.Resyncs == 2 })
	if !strings.Contains(st.Reason, "no error and no close") {
		t.Errorf("reason = %q", st.Reason)
	}
	if n := src.OpenWatches(); n != 1 {
		t.Errorf("%d watches open after the restart; want 1", n)
	}
}

// TestNarrowedAndDrift: the status counts the passes the source narrowed
// (those only wake-ups asked for) and, by kind, what interval passes
// repaired that no event had reported.
func TestNarrowedAndDrift(t *testing.T) {
	h := newHarness(t, Config{})
	src := h.spawn(&messages.SpawnScope{Name: "a", Desired: desired("10.0.0.2/24"), Interval: durationpb.New(100 * time.Millisecond)})
	h.waitFor("a", "converged", converged)
	src.Delete("eth0/10.0.0.2/24")
	h.waitFor("a", "a narrowed pass", func(st *messages.ScopeStatus) bool { return st.NarrowedPasses > 0 && converged(st) })
	if st := h.status("a"); len(st.DriftRepaired) != 0 {
		t.Fatalf("drift without a silent change: %v", st)
	}
	src.DeleteSilently("eth0/10.0.0.2/24")
	h.waitFor("a", "drift repaired", func(st *messages.ScopeStatus) bool { return st.DriftRepaired["fake"] == 1 && converged(st) })
}
