package supervisor

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/linx-net/linx/actors/internal/fakesource"
	"github.com/linx-net/linx/actors/source"
	"github.com/linx-net/linx/messages"
)

// absentWorld is a namespace that comes and goes: while it is absent,
// NewSource fails with an error wrapping source.ErrScopeAbsent.
type absentWorld struct {
	present atomic.Bool
	tries   atomic.Int64
	fresh   chan *fakesource.Source
	// appeared, when set, is what Config.Appear hands out.
	mu       sync.Mutex
	appeared chan struct{}
	watches  atomic.Int64 // Appear calls not yet stopped
}

func (w *absentWorld) newSource(Spec) (source.Source, error) {
	w.tries.Add(1)
	if !w.present.Load() {
		return nil, fmt.Errorf("no such network namespace path %q: %w", "/run/netns/x", source.ErrScopeAbsent)
	}
	s := fakesource.New()
	w.fresh <- s
	return s, nil
}

func (w *absentWorld) appear(Spec) (<-chan struct{}, func()) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.appeared == nil {
		w.appeared = make(chan struct{})
	}
	w.watches.Add(1)
	var once sync.Once
	return w.appeared, func() { once.Do(func() { w.watches.Add(-1) }) }
}

// wake closes the channel Appear handed out, as a watch seeing the
// namespace's file created does.
func (w *absentWorld) wake() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.appeared != nil {
		close(w.appeared)
		w.appeared = nil
	}
}

// logBuf is a slog logger into a buffer safe for concurrent use.
type logBuf struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuf) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuf) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func newAbsentHarness(t *testing.T, cfg Config) (*harness, *absentWorld, *logBuf) {
	t.Helper()
	w := &absentWorld{fresh: make(chan *fakesource.Source, 100)}
	logs := &logBuf{}
	h := &harness{t: t, system: actor.NewActorSystem(actor.WithLoggerFactory(LoggerFactory(quietLogger))), fresh: w.fresh}
	cfg.Logger = slog.New(slog.NewTextHandler(logs, nil))
	cfg.NewSource = w.newSource
	cfg.Appear = w.appear
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
	return h, w, logs
}

func waiting(st *messages.ScopeStatus) bool { return st.Phase == messages.Phase_PHASE_WAITING }

// A scope whose namespace is not there is accepted and waits (phase
// waiting, with the reason); it keeps its name and takes updates, and
// starts with the latest desired state once the namespace appears.
func TestWaitingScopeStartsWhenItAppears(t *testing.T) {
	h, w, logs := newAbsentHarness(t, Config{Interval: time.Hour, WaitRetry: time.Millisecond, WaitRetryMax: 5 * time.Millisecond})
	if err := h.spawnMsg(&messages.SpawnScope{Name: "a", Desired: desired("10.0.0.2/24")}); err != nil {
		t.Fatalf("spawn of a scope whose namespace is absent: %v, want it accepted", err)
	}
	st := h.waitFor("a", "waiting", waiting)
	if !strings.Contains(st.Reason, "no such network namespace path") {
		t.Errorf("reason = %q, want what is waited for", st.Reason)
	}
	if err := h.spawnMsg(&messages.SpawnScope{Name: "a"}); err == nil || !strings.Contains(err.Error(), "waiting") {
		t.Errorf("second spawn of a waiting scope = %v, want it refused", err)
	}
	if err := h.updateMsg("a", desired("10.0.0.3/24")); err != nil {
		t.Fatalf("update of a waiting scope: %v", err)
	}
	// It keeps trying, with backoff.
	waitUntil(t, "a few tries", func() bool { return w.tries.Load() >= 4 })
	if got := strings.Count(logs.String(), "scope waiting"); got != 1 {
		t.Errorf("%d 'scope waiting' lines after several tries, want 1:\n%s", got, logs)
	}
	w.present.Store(true)
	h.waitFor("a", "converged", converged)
	src := <-h.fresh
	if got := src.Kernel(); len(got) != 1 || got["eth0/10.0.0.3/24"] != "up" {
		t.Errorf("kernel = %v, want the desired state of the update", got)
	}
	out := logs.String()
	if !strings.Contains(out, "level=WARN msg=\"scope waiting") || !strings.Contains(out, "level=WARN msg=\"scope's namespace appeared") {
		t.Errorf("want one WARN line when waiting starts and one when the namespace appears:\n%s", out)
	}
}

// With Config.Appear, a waiting scope tries again when the watch fires,
// not at the end of its backoff (an hour here), and every watch it
// started is released.
func TestWaitingScopeWokenByAppear(t *testing.T) {
	h, w, _ := newAbsentHarness(t, Config{Interval: time.Hour, WaitRetry: time.Hour})
	if err := h.spawnMsg(&messages.SpawnScope{Name: "a", Desired: desired("10.0.0.2/24")}); err != nil {
		t.Fatal(err)
	}
	h.waitFor("a", "waiting", waiting)
	// A wake-up while still absent: one more try, still waiting.
	w.wake()
	waitUntil(t, "a second try", func() bool { return w.tries.Load() == 2 })
	h.waitFor("a", "waiting", waiting)
	w.present.Store(true)
	w.wake()
	h.waitFor("a", "converged", converged)
	if n := w.watches.Load(); n != 0 {
		t.Errorf("%d watches not released once the scope runs", n)
	}
}

// A running scope whose namespace vanishes (an error wrapping both
// ErrScopeGone and ErrScopeAbsent) is not stopped for good: its actors
// stop, it waits, and it starts again on a fresh source when the
// namespace is back. No crash is counted.
func TestVanishedScopeWaitsAndComesBack(t *testing.T) {
	h, w, logs := newAbsentHarness(t, Config{Interval: time.Hour, WaitRetry: time.Millisecond, WaitRetryMax: 5 * time.Millisecond})
	w.present.Store(true)
	if err := h.spawnMsg(&messages.SpawnScope{Name: "a", Desired: desired("10.0.0.2/24")}); err != nil {
		t.Fatal(err)
	}
	first := <-h.fresh
	h.waitFor("a", "converged", converged)
	w.present.Store(false)
	first.Disappear()
	st := h.waitFor("a", "waiting", waiting)
	if !strings.Contains(st.Reason, "no longer exists") && !strings.Contains(st.Reason, "no such network namespace") {
		t.Errorf("reason = %q", st.Reason)
	}
	waitUntil(t, "the first source's handles closed", func() bool { return first.Opens.Load() == first.Closes.Load() })
	w.present.Store(true)
	st = h.waitFor("a", "converged again", converged)
	second := <-h.fresh
	if second == first {
		t.Fatal("the scope came back on its old source")
	}
	if got := second.Kernel(); got["eth0/10.0.0.2/24"] != "up" {
		t.Errorf("kernel of the new namespace = %v", got)
	}
	if st.Restarts != 0 {
		t.Errorf("restarts = %d, want 0: a vanished namespace is not a crash", st.Restarts)
	}
	out := logs.String()
	if strings.Count(out, "level=WARN msg=\"scope waiting") != 1 || strings.Count(out, "level=WARN msg=\"scope's namespace appeared") != 1 {
		t.Errorf("want one WARN when waiting starts, one when the namespace is back:\n%s", out)
	}
	if strings.Contains(out, "scope is gone, stopping it") {
		t.Errorf("a vanished namespace was logged as gone for good:\n%s", out)
	}
}

// A waiting scope stops like any other, and can be spawned again then; a
// node shutdown ends its wait. Its claim is checked when its namespace
// appears: one another scope took meanwhile fails it, naming that scope.
func TestWaitingScopeStopsAndClaimsWhenItAppears(t *testing.T) {
	var aThere atomic.Bool
	claim := func(spec Spec) (Claim, error) {
		if spec.Name == "a" && !aThere.Load() {
			return Claim{}, fmt.Errorf("no such namespace: %w", source.ErrScopeAbsent)
		}
		return Claim{Namespace: "ns", Protocols: []uint8{76}}, nil
	}
	h, w, _ := newAbsentHarness(t, Config{Interval: time.Hour, Claim: claim, WaitRetry: time.Millisecond, WaitRetryMax: time.Millisecond})
	if err := h.spawnMsg(&messages.SpawnScope{Name: "a"}); err != nil {
		t.Fatal(err)
	}
	h.waitFor("a", "waiting", waiting)
	if err := h.node.Stop("a", false); err != nil {
		t.Fatal(err)
	}
	st := h.waitFor("a", "stopped", func(st *messages.ScopeStatus) bool { return st.Phase == messages.Phase_PHASE_STOPPED })
	if st.Reason != ReasonStopped {
		t.Errorf("reason = %q", st.Reason)
	}
	tries := w.tries.Load()
	time.Sleep(20 * time.Millisecond)
	if w.tries.Load() != tries {
		t.Error("a stopped scope is still tried")
	}
	if err := h.spawnMsg(&messages.SpawnScope{Name: "a"}); err != nil {
		t.Fatalf("spawning a stopped scope again: %v", err)
	}
	h.waitFor("a", "waiting", waiting)
	// b takes the protocol while a waits; a cannot run beside it.
	w.present.Store(true)
	if err := h.spawnMsg(&messages.SpawnScope{Name: "b"}); err != nil {
		t.Fatal(err)
	}
	aThere.Store(true)
	st = h.waitFor("a", "failed", func(st *messages.ScopeStatus) bool { return st.Phase == messages.Phase_PHASE_FAILED })
	if !strings.Contains(st.Reason, `scope "b" already owns`) {
		t.Errorf("reason = %q, want the claim of b", st.Reason)
	}
	if err := h.node.Shutdown(); err != nil {
		t.Fatal(err)
	}
}
