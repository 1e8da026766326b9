package monitor

import (
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"go.uber.org/goleak"

	"github.com/linx-net/linx/actors/internal/fakesource"
	"github.com/linx-net/linx/actors/source"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreTopFunction("github.com/asynkron/protoactor-go/actor.NewDeadLetter.NewThrottle.func4.1"),
	)
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// restarter records each failure of a child and restarts it.
type restarter chan any

func (r restarter) HandleFailure(_ *actor.ActorSystem, sup actor.Supervisor, child *actor.PID, _ *actor.RestartStatistics, reason, _ any) {
	r <- reason
	sup.RestartChildren(child)
}

// rig is a monitor actor under a parent that records what the monitor
// tells it, with a target that records what it is sent.
type rig struct {
	system   *actor.ActorSystem
	monitor  *actor.PID
	failures restarter
	overruns chan uint64
	gone     chan error
	// events receives the initial source.Resync and what each *Wakeup
	// stood for; wakeups counts the *Wakeup messages.
	events  chan source.Event
	wakeups chan struct{}
	// gate, while open (not closed), holds the target inside its handling
	// of a *Wakeup, before Take.
	gate chan struct{}
}

func newRig(t *testing.T, src source.Source, hold bool) *rig {
	t.Helper()
	r := &rig{
		system:   actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return quiet })),
		failures: make(restarter, 10),
		overruns: make(chan uint64, 100),
		gone:     make(chan error, 10),
		events:   make(chan source.Event, 1000),
		wakeups:  make(chan struct{}, 1000),
		gate:     make(chan struct{}),
	}
	if !hold {
		close(r.gate)
	}
	target := r.system.Root.Spawn(actor.PropsFromFunc(func(ctx actor.Context) {
		switch m := ctx.Message().(type) {
		case source.Event:
			r.events <- m
		case *Wakeup:
			r.wakeups <- struct{}{}
			<-r.gate
			r.events <- m.Take()
			if again := m.Take(); again != 0 {
				r.events <- again // a second Take must give nothing
			}
		}
	}))
	props, err := Props(Config{Source: src, Target: target, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	spawned := make(chan *actor.PID, 1)
	parent := r.system.Root.Spawn(actor.PropsFromFunc(func(ctx actor.Context) {
		switch m := ctx.Message().(type) {
		case *actor.Started:
			spawned <- ctx.Spawn(props)
		case *Overrun:
			r.overruns <- m.N
		case *Gone:
			r.gone <- m.Err
		}
	}, actor.WithSupervisor(r.failures)))
	r.monitor = <-spawned
	t.Cleanup(func() {
		select {
		case <-r.gate:
		default:
			close(r.gate)
		}
		if err := r.system.Root.StopFuture(parent).Wait(); err != nil {
			t.Error(err)
		}
		if err := r.system.Root.StopFuture(target).Wait(); err != nil {
			t.Error(err)
		}
		r.system.Shutdown()
	})
	return r
}

func (r *rig) event(t *testing.T) source.Event {
	t.Helper()
	select {
	case ev := <-r.events:
		return ev
	case <-time.After(5 * time.Second):
		t.Fatal("the target received nothing")
		return 0
	}
}

func (r *rig) failure(t *testing.T) any {
	t.Helper()
	select {
	case v := <-r.failures:
		return v
	case <-time.After(5 * time.Second):
		t.Fatal("the monitor did not crash")
		return nil
	}
}

func waitUntil(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func TestPropsRefusesMissingFields(t *testing.T) {
	if p, err := Props(Config{Target: actor.NewPID("x", "y")}); p != nil || err == nil {
		t.Errorf("Props without Source = %v, %v; want an error", p, err)
	}
	if p, err := Props(Config{Source: fakesource.New()}); p != nil || err == nil {
		t.Errorf("Props without Target = %v, %v; want an error", p, err)
	}
}

// TestSilentEndCrashes ends the watch with no error while nobody closed
// it: the actor must crash (so that the scope restarts) rather than run on
// without events.
func TestSilentEndCrashes(t *testing.T) {
	src := fakesource.New()
	r := newRig(t, src, false)
	if ev := r.event(t); ev != source.Resync {
		t.Fatalf("first message %v; want the initial resync", ev)
	}
	src.Fail(nil)
	reason := r.failure(t)
	if err, ok := reason.(error); !ok || !errors.Is(err, ErrWatchEnded) {
		t.Fatalf("crash reason %v; want ErrWatchEnded", reason)
	}
	// Restarted: subscribed again and resynchronising.
	if ev := r.event(t); ev != source.Resync {
		t.Fatalf("after the restart: %v; want a resync", ev)
	}
	waitUntil(t, "resubscribed", func() bool { return src.OpenWatches() == 1 && src.Watches.Load() == 2 })
}

func TestFailedWatchCrashesAndGoneIsReported(t *testing.T) {
	src := fakesource.New()
	r := newRig(t, src, false)
	r.event(t)
	src.Fail(errors.New("netlink: socket closed"))
	if reason := r.failure(t); reason.(error).Error() != "monitor: watch ended: netlink: socket closed" {
		t.Fatalf("crash reason %v", reason)
	}
	r.event(t)
	waitUntil(t, "resubscribed", func() bool { return src.OpenWatches() == 1 })
	src.Vanish()
	select {
	case err := <-r.gone:
		if !errors.Is(err, source.ErrScopeGone) {
			t.Fatalf("Gone with %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no Gone after the scope vanished")
	}
	select {
	case reason := <-r.failures:
		t.Fatalf("a vanished scope crashed the monitor: %v", reason)
	case <-time.After(20 * time.Millisecond):
	}
}

// TestBurstIsOneWakeup holds the target on its first Wakeup while a burst
// of Wakes and then a Resync arrive: they all join that Wakeup, whose Take
// reports the Resync, and no other message follows.
func TestBurstIsOneWakeup(t *testing.T) {
	src := fakesource.New()
	r := newRig(t, src, true)
	if ev := r.event(t); ev != source.Resync {
		t.Fatalf("first message %v; want the initial resync", ev)
	}
	src.Emit(source.Wake)
	select {
	case <-r.wakeups:
	case <-time.After(5 * time.Second):
		t.Fatal("no Wakeup after a Wake")
	}
	for range 500 {
		src.Emit(source.Wake)
	}
	src.Emit(source.Resync)
	// The reader reads in order: the Overrun means it has seen everything.
	select {
	case n := <-r.overruns:
		if n != 1 {
			t.Errorf("Overrun N = %d; want 1", n)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no Overrun after a Resync")
	}
	close(r.gate)
	if ev := r.event(t); ev != source.Resync {
		t.Fatalf("the held Wakeup stood for %v; want resync", ev)
	}
	select {
	case ev := <-r.events:
		t.Fatalf("another message after the burst: %v", ev)
	case <-r.wakeups:
		t.Fatal("a second Wakeup after the burst")
	case <-time.After(50 * time.Millisecond):
	}
	// Taken, the next event sends a fresh Wakeup.
	src.Emit(source.Wake)
	if ev := r.event(t); ev != source.Wake {
		t.Fatalf("after the burst: %v; want wake", ev)
	}
	if len(r.wakeups) != 1 {
		t.Fatalf("%d Wakeups for one Wake", len(r.wakeups))
	}
}

func TestStopClosesWatchQuietly(t *testing.T) {
	src := fakesource.New()
	r := newRig(t, src, false)
	r.event(t)
	if err := r.system.Root.StopFuture(r.monitor).Wait(); err != nil {
		t.Fatal(err)
	}
	if n := src.OpenWatches(); n != 0 {
		t.Fatalf("%d watches open after stop", n)
	}
	select {
	case reason := <-r.failures:
		t.Fatalf("stopping crashed the monitor: %v", reason)
	case <-time.After(20 * time.Millisecond):
	}
}

func TestWakeBox(t *testing.T) {
	var b wakeBox
	if !b.put(source.Wake) {
		t.Fatal("the first event sent no Wakeup")
	}
	if b.put(source.Resync) || b.put(source.Wake) {
		t.Fatal("a second Wakeup while one is untaken")
	}
	if ev := b.take(); ev != source.Resync {
		t.Fatalf("take = %v; want resync (a later Wake must not hide it)", ev)
	}
	if !b.put(source.Wake) {
		t.Fatal("no Wakeup after a take")
	}
	if ev := b.take(); ev != source.Wake {
		t.Fatalf("take = %v; want wake", ev)
	}
	var w *Wakeup
	if w.Take() != 0 || (&Wakeup{}).Take() != 0 {
		t.Fatal("Take on a nil or zero Wakeup returned an event")
	}
}
