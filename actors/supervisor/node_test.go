package supervisor

import (
	"context"
	"errors"
	"maps"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/linx-net/linx/actors/internal/crash"
	"github.com/linx-net/linx/actors/internal/fakesource"
	"github.com/linx-net/linx/actors/source"
	"github.com/linx-net/linx/messages"
)

// scopePID returns the PID of the scope supervisor the node spawned as
// its n-th scope, and fails the test if no such actor is alive.
func (h *harness) scopePID(name string, n int) *actor.PID {
	h.t.Helper()
	id := h.node.PID().Id + "/scope-" + name + "-" + strconv.Itoa(n)
	if _, ok := h.system.ProcessRegistry.GetLocal(id); !ok {
		h.t.Fatalf("no actor %s", id)
	}
	return actor.NewPID(h.system.Address(), id)
}

// TestForgedTerminatedIsIgnored sends the node a Terminated naming a scope
// whose actors still run, as a peer could over the message API: the node
// must keep the scope running and listed as such, so that StopScope still
// stops it and a second SpawnScope of the name is refused.
func TestForgedTerminatedIsIgnored(t *testing.T) {
	h := newHarness(t, Config{Interval: time.Hour})
	src := h.spawn(&messages.SpawnScope{Name: "a", Desired: desired("10.0.0.2/24")})
	h.waitFor("a", "converged", converged)
	pid := h.scopePID("a", 1)

	h.system.Root.Send(h.node.PID(), &actor.Terminated{Who: pid})
	// A stale one, naming an incarnation that never was, changes nothing
	// either.
	h.system.Root.Send(h.node.PID(), &actor.Terminated{Who: actor.NewPID(h.system.Address(), h.node.PID().Id+"/scope-a-7")})
	if st := h.status("a"); st.Phase != messages.Phase_PHASE_CONVERGED {
		t.Fatalf("after a forged Terminated: %v, want the scope still converged", st)
	}
	if err := h.spawnMsg(&messages.SpawnScope{Name: "a"}); err == nil || !strings.Contains(err.Error(), "already running") {
		t.Fatalf("second Spawn of a running scope = %v, want already running", err)
	}
	select {
	case <-h.fresh:
		t.Fatal("the second Spawn made a source")
	default:
	}
	// It is still driven: an update reaches it.
	if err := h.updateMsg("a", desired("10.0.0.3/24")); err != nil {
		t.Fatalf("Update: %v", err)
	}
	waitUntil(t, "update applied", func() bool {
		return maps.Equal(src.Kernel(), map[string]string{"eth0/10.0.0.3/24": "up"})
	})
	// And StopScope really stops it.
	if err := h.node.Stop("a", false); err != nil {
		t.Fatal(err)
	}
	h.waitFor("a", "stopped", func(st *messages.ScopeStatus) bool { return st.Phase == messages.Phase_PHASE_STOPPED })
	waitUntil(t, "handles closed", func() bool { return src.Opens.Load() == src.Closes.Load() && src.OpenWatches() == 0 })
	if _, ok := h.system.ProcessRegistry.GetLocal(pid.Id); ok {
		t.Error("the scope's actor is still registered after it stopped")
	}
}

// gatedSource is a fake whose passes, once armed, wait for the gate to
// open: a pass that takes long, as one over a slow kernel would.
type gatedSource struct {
	*fakesource.Source
	armed   atomic.Bool
	gate    chan struct{} // closed to let passes through
	blocked chan struct{} // receives when a pass starts waiting
}

func newGatedSource() *gatedSource {
	return &gatedSource{Source: fakesource.New(), gate: make(chan struct{}), blocked: make(chan struct{}, 1)}
}

func (g *gatedSource) Pass(ctx context.Context, h source.Handle, desired any) source.Report {
	if g.armed.Load() {
		select {
		case g.blocked <- struct{}{}:
		default:
		}
		<-g.gate
	}
	return g.Source.Pass(ctx, h, desired)
}

// newGatedHarness is newHarness with gated sources.
func newGatedHarness(t *testing.T, cfg Config) (*harness, chan *gatedSource) {
	t.Helper()
	fresh := make(chan *gatedSource, 10)
	h := &harness{t: t, system: actor.NewActorSystem(actor.WithLoggerFactory(LoggerFactory(quietLogger)))}
	cfg.Logger = quietLogger
	cfg.NewSource = func(Spec) (source.Source, error) {
		s := newGatedSource()
		fresh <- s
		return s, nil
	}
	cfg.Desired = toFake
	node, err := Start(h.system, cfg)
	if err != nil {
		t.Fatal(err)
	}
	h.node = node
	return h, fresh
}

// TestFailedScopeStillStopping fails a scope while its socket actor is in
// a long pass: until that pass ends and the actors are gone, the scope is
// failed but still stopping, so an update (which nothing would apply) is
// refused, and a forgotten scope stays listed until its actors are gone.
func TestFailedScopeStillStopping(t *testing.T) {
	h, fresh := newGatedHarness(t, Config{Interval: time.Hour, MaxRestarts: -1})
	released := false
	t.Cleanup(func() {
		if err := h.node.Shutdown(); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	if err := h.spawnMsg(&messages.SpawnScope{Name: "a", Desired: desired("10.0.0.2/24")}); err != nil {
		t.Fatal(err)
	}
	src := <-fresh
	defer func() {
		if !released {
			close(src.gate)
		}
	}()
	h.waitFor("a", "converged", converged)
	src.armed.Store(true)
	if err := h.updateMsg("a", desired("10.0.0.3/24")); err != nil {
		t.Fatal(err)
	}
	<-src.blocked
	src.Fail(errors.New("watch broke")) // the monitor crashes: no restart allowed
	h.waitFor("a", "failed", func(st *messages.ScopeStatus) bool { return st.Phase == messages.Phase_PHASE_FAILED })

	err := h.updateMsg("a", desired("10.0.0.4/24"))
	if err == nil || !strings.Contains(err.Error(), "stopping") {
		t.Fatalf("Update of a failed scope still stopping = %v, want a refusal saying it is stopping", err)
	}
	if err := h.spawnMsg(&messages.SpawnScope{Name: "a"}); err == nil || !strings.Contains(err.Error(), "already running") {
		t.Fatalf("Spawn while the failed scope's actors run = %v, want already running", err)
	}
	if err := h.node.Stop("a", true); err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond)
	if l, err := h.node.List(); err != nil || len(l) != 1 {
		t.Fatalf("List while the actors stop = %v, %v; want the scope still listed", l, err)
	}
	released = true
	close(src.gate)
	waitUntil(t, "the scope forgotten once its actors are gone", func() bool {
		l, err := h.node.List()
		return err == nil && len(l) == 0
	})
	if src.Opens.Load() != src.Closes.Load() {
		t.Errorf("opens %d, closes %d", src.Opens.Load(), src.Closes.Load())
	}
	if err := h.spawnMsg(&messages.SpawnScope{Name: "a", Desired: desired("10.0.0.2/24")}); err != nil {
		t.Fatalf("Spawn after the actors stopped: %v", err)
	}
	<-fresh
}

// TestShutdownWaitsForSlowPass shuts the node down while a pass is in
// flight: Shutdown waits for the pass to end and every scope to stop
// (handles and watches closed), and a slow but successful stop is no
// error.
func TestShutdownWaitsForSlowPass(t *testing.T) {
	h, fresh := newGatedHarness(t, Config{Interval: time.Hour, ShutdownTimeout: 5 * time.Second})
	if err := h.spawnMsg(&messages.SpawnScope{Name: "a", Desired: desired("10.0.0.2/24")}); err != nil {
		t.Fatal(err)
	}
	src := <-fresh
	h.waitFor("a", "converged", converged)
	src.armed.Store(true)
	if err := h.updateMsg("a", desired("10.0.0.3/24")); err != nil {
		t.Fatal(err)
	}
	<-src.blocked
	var opened atomic.Bool
	go func() {
		time.Sleep(300 * time.Millisecond)
		opened.Store(true)
		close(src.gate)
	}()
	if err := h.node.Shutdown(); err != nil {
		t.Fatalf("Shutdown during a slow pass: %v", err)
	}
	if !opened.Load() {
		t.Fatal("Shutdown returned before the pass in flight ended")
	}
	if src.Opens.Load() != src.Closes.Load() || src.OpenWatches() != 0 {
		t.Errorf("after Shutdown: opens %d closes %d watches %d", src.Opens.Load(), src.Closes.Load(), src.OpenWatches())
	}
	if err := h.node.Shutdown(); err != nil {
		t.Errorf("second Shutdown: %v", err)
	}
	h.system.Shutdown()
}

// TestShutdownTimeout checks that Shutdown's wait is bounded by
// Config.ShutdownTimeout, not by a fixed time: past it, an error; once the
// pass ends, a second Shutdown succeeds.
func TestShutdownTimeout(t *testing.T) {
	h, fresh := newGatedHarness(t, Config{Interval: time.Hour, ShutdownTimeout: 150 * time.Millisecond})
	if err := h.spawnMsg(&messages.SpawnScope{Name: "a"}); err != nil {
		t.Fatal(err)
	}
	src := <-fresh
	h.waitFor("a", "converged", converged)
	src.armed.Store(true)
	if err := h.updateMsg("a", desired("10.0.0.3/24")); err != nil {
		t.Fatal(err)
	}
	<-src.blocked
	start := time.Now()
	err := h.node.Shutdown()
	if err == nil || !strings.Contains(err.Error(), "not stopped after 150ms") {
		t.Errorf("Shutdown with a pass stuck past ShutdownTimeout = %v, want a timeout", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Shutdown took %v, want about 150ms", d)
	}
	close(src.gate)
	if err := h.node.Shutdown(); err != nil {
		t.Errorf("Shutdown once the pass ended: %v", err)
	}
	h.system.Shutdown()
}

// TestShutdownTimeoutDefault checks the default bound: the longest pass
// timeout of the node's scopes plus a margin, never the 10 s of
// protoactor's StopFuture, which a 30 s pass outlasts.
func TestShutdownTimeoutDefault(t *testing.T) {
	h := newHarness(t, Config{})
	if got, want := h.node.ShutdownTimeout(), 30*time.Second+DefaultShutdownMargin; got != want {
		t.Errorf("default ShutdownTimeout = %v, want %v", got, want)
	}
	h.spawn(&messages.SpawnScope{Name: "slow", Options: &messages.ScopeOptions{PassTimeout: durationpb.New(time.Minute)}})
	h.spawn(&messages.SpawnScope{Name: "quick", Options: &messages.ScopeOptions{PassTimeout: durationpb.New(time.Second)}})
	if got, want := h.node.ShutdownTimeout(), time.Minute+DefaultShutdownMargin; got != want {
		t.Errorf("ShutdownTimeout with a 1m scope = %v, want %v", got, want)
	}
	h2 := newHarness(t, Config{Name: "other", PassTimeout: 20 * time.Second, ShutdownTimeout: 90 * time.Second})
	if got := h2.node.ShutdownTimeout(); got != 90*time.Second {
		t.Errorf("configured ShutdownTimeout = %v, want 90s", got)
	}
}

// TestNothingStartsWhileStopping sends requests to the node while Shutdown
// waits for a pass in flight: protoactor still delivers messages to a
// stopping actor, and a scope spawned then would never be stopped (its
// monitor leaking, Shutdown timing out). The node must refuse a spawn, an
// update and an injected crash, and Shutdown must then succeed, with every
// handle and watch closed (goleak in TestMain checks the goroutines).
func TestNothingStartsWhileStopping(t *testing.T) {
	h, fresh := newGatedHarness(t, Config{Interval: time.Hour, ShutdownTimeout: 5 * time.Second})
	defer h.system.Shutdown()
	if err := h.spawnMsg(&messages.SpawnScope{Name: "a", Desired: desired("10.0.0.2/24")}); err != nil {
		t.Fatal(err)
	}
	src := <-fresh
	released := false
	defer func() {
		if !released {
			close(src.gate)
		}
	}()
	h.waitFor("a", "converged", converged)
	src.armed.Store(true)
	if err := h.updateMsg("a", desired("10.0.0.3/24")); err != nil {
		t.Fatal(err)
	}
	<-src.blocked
	stopped := make(chan error, 1)
	go func() { stopped <- h.node.Shutdown() }()
	// The monitor closes its watch when the node stops the scope's actors:
	// the node is stopping from then on, held open by the pass.
	waitUntil(t, "the scope's watch closed by the shutdown", func() bool { return src.OpenWatches() == 0 })

	err := h.spawnMsg(&messages.SpawnScope{Name: "b", Desired: desired("10.0.1.2/24")})
	if err == nil || !strings.Contains(err.Error(), "node is stopping") {
		t.Errorf("Spawn while the node stops = %v, want a refusal saying the node is stopping", err)
	}
	err = h.updateMsg("a", desired("10.0.0.4/24"))
	if err == nil || !strings.Contains(err.Error(), "node is stopping") {
		t.Errorf("Update while the node stops = %v, want a refusal saying the node is stopping", err)
	}
	v, err := h.system.Root.RequestFuture(h.node.PID(), &crash.Inject{Scope: "a", Actor: "scope", Reason: "test"}, time.Second).Result()
	if err != nil {
		t.Errorf("crash injection while the node stops: %v", err)
	} else if a, ok := v.(*messages.Ack); !ok || !strings.Contains(a.GetError(), "node is stopping") {
		t.Errorf("crash injection while the node stops = %v, want a refusal saying the node is stopping", v)
	}
	// Queries are still answered.
	if st, err := h.node.Status("a"); err != nil || st.GetName() != "a" {
		t.Errorf("Status while the node stops = %v, %v", st, err)
	}
	select {
	case err := <-stopped:
		t.Fatalf("Shutdown returned (%v) while a pass was in flight", err)
	default:
	}

	released = true
	close(src.gate)
	if err := <-stopped; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	select {
	case <-fresh:
		t.Error("a source was made for a scope spawned while the node stopped")
	default:
	}
	if src.Opens.Load() != src.Closes.Load() || src.OpenWatches() != 0 {
		t.Errorf("after Shutdown: opens %d closes %d watches %d", src.Opens.Load(), src.Closes.Load(), src.OpenWatches())
	}
	if _, ok := h.system.ProcessRegistry.GetLocal(h.node.PID().Id); ok {
		t.Error("the node is still registered after Shutdown")
	}
}
