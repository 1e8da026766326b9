package reconciler

import (
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"go.uber.org/goleak"
	"pgregory.net/rapid"

	"github.com/linx-net/linx/actors/internal/crash"
	"github.com/linx-net/linx/actors/internal/fakesource"
	"github.com/linx-net/linx/actors/monitor"
	"github.com/linx-net/linx/actors/socket"
	"github.com/linx-net/linx/actors/source"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreTopFunction("github.com/asynkron/protoactor-go/actor.NewDeadLetter.NewThrottle.func4.1"),
	)
}

func TestBucketNeverExceedsRate(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		rate := rapid.Float64Range(0.5, 1000).Draw(t, "rate")
		burst := rapid.IntRange(1, 20).Draw(t, "burst")
		start := time.Unix(1000, 0)
		b := newBucket(rate, burst, start)
		now, taken := start, 0
		for _, step := range rapid.SliceOfN(rapid.Int64Range(0, int64(50*time.Millisecond)), 1, 500).Draw(t, "steps") {
			now = now.Add(time.Duration(step))
			wait := b.take(now)
			if wait == 0 {
				taken++
			} else if wait < time.Millisecond {
				t.Fatalf("wait %v below the 1 ms floor", wait)
			}
			if limit := float64(burst) + rate*now.Sub(start).Seconds(); float64(taken) > limit+1e-9 {
				t.Fatalf("%d passes by %v, limit %.2f", taken, now.Sub(start), limit)
			}
		}
	})
}

func TestBucketWaitIsEnough(t *testing.T) {
	now := time.Unix(1000, 0)
	b := newBucket(10, 1, now)
	if b.take(now) != 0 {
		t.Fatal("a full bucket refused a token")
	}
	wait := b.take(now)
	if wait <= 0 || wait > 100*time.Millisecond {
		t.Fatalf("wait %v, want (0, 100ms]", wait)
	}
	if b.take(now.Add(wait)) != 0 {
		t.Fatalf("no token after waiting %v", wait)
	}
}

func TestBackoff(t *testing.T) {
	for _, tc := range []struct {
		n     int
		limit time.Duration
		want  time.Duration
	}{
		{1, time.Minute, 100 * time.Millisecond},
		{2, time.Minute, 200 * time.Millisecond},
		{4, time.Minute, 800 * time.Millisecond},
		{40, time.Minute, time.Minute},
		{3, 300 * time.Millisecond, 300 * time.Millisecond},
		{1, 10 * time.Millisecond, 10 * time.Millisecond},
	} {
		if got := backoff(tc.n, tc.limit); got != tc.want {
			t.Errorf("backoff(%d, %v) = %v, want %v", tc.n, tc.limit, got, tc.want)
		}
	}
}

// parent spawns a socket and a reconciler and collects the PassDone
// reports.
func startLoop(t *testing.T, src *fakesource.Source, cfg Config) (*actor.ActorSystem, *actor.PID, chan *PassDone) {
	t.Helper()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	system := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return logger }))
	done := make(chan *PassDone, 100)
	recon := make(chan *actor.PID, 1)
	sp, err := socket.Props(socket.Config{Source: src, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	parent := system.Root.Spawn(actor.PropsFromFunc(func(ctx actor.Context) {
		switch m := ctx.Message().(type) {
		case *actor.Started:
			cfg.Socket, cfg.Logger = ctx.Spawn(sp), logger
			rp, err := Props(cfg)
			if err != nil {
				// Seen by the test as a nil PID.
				recon <- nil
				return
			}
			recon <- ctx.Spawn(rp)
		case *PassDone:
			done <- m
		}
	}))
	t.Cleanup(func() {
		if err := system.Root.StopFuture(parent).Wait(); err != nil {
			t.Error(err)
		}
		if src.Opens.Load() != src.Closes.Load() {
			t.Errorf("opened %d handles, closed %d", src.Opens.Load(), src.Closes.Load())
		}
	})
	pid := <-recon
	if pid == nil {
		t.Fatal("reconciler.Props refused a config with a socket")
	}
	return system, pid, done
}

func next(t *testing.T, done chan *PassDone, within time.Duration) *PassDone {
	t.Helper()
	select {
	case d := <-done:
		return d
	case <-time.After(within):
		t.Fatalf("no pass within %v", within)
		return nil
	}
}

func none(t *testing.T, done chan *PassDone, during time.Duration) {
	t.Helper()
	select {
	case d := <-done:
		t.Fatalf("unexpected pass: %+v", d)
	case <-time.After(during):
	}
}

func TestFirstPassAwaitsResync(t *testing.T) {
	src := fakesource.New()
	system, recon, done := startLoop(t, src, Config{Desired: fakesource.Desired{"k": "v"}, AwaitResync: true, Interval: time.Hour})
	system.Root.Send(recon, source.Wake)
	none(t, done, 30*time.Millisecond)
	system.Root.Send(recon, source.Resync)
	if d := next(t, done, time.Second); !d.Resync || !d.Report.Converged || d.Report.Applied != 1 {
		t.Errorf("first pass: %+v", d)
	}
}

func TestStartPassAndInterval(t *testing.T) {
	src := fakesource.New()
	_, _, done := startLoop(t, src, Config{Desired: fakesource.Desired{"k": "v"}, Interval: 20 * time.Millisecond})
	if d := next(t, done, time.Second); !d.Resync {
		t.Errorf("start pass is not a resync: %+v", d)
	}
	for range 3 {
		if d := next(t, done, time.Second); d.Resync || !d.Report.Converged {
			t.Errorf("interval pass: %+v", d)
		}
	}
}

func TestFailedPassIsRetried(t *testing.T) {
	src := fakesource.New()
	src.SetForeign("k", "theirs") // a conflict: the pass reports an error
	_, _, done := startLoop(t, src, Config{Desired: fakesource.Desired{"k": "v"}, Interval: time.Hour})
	if d := next(t, done, time.Second); d.Report.Err == nil {
		t.Fatalf("first pass: %+v, want the conflict", d)
	}
	// No event, interval an hour away: the retry comes from the backoff.
	start := time.Now()
	next(t, done, time.Second)
	if d := time.Since(start); d < 50*time.Millisecond {
		t.Errorf("retried after %v, want the 100 ms backoff", d)
	}
}

// A degraded pass is not a failed one: the loop does not retry it with
// the failure backoff (100 ms), only when the source says an object is due.
func TestDegradedPassIsNotRetried(t *testing.T) {
	src := fakesource.New()
	src.Degrade = true
	src.SetForeign("k", "theirs")
	_, _, done := startLoop(t, src, Config{Desired: fakesource.Desired{"k": "v"}, Interval: time.Hour})
	if d := next(t, done, time.Second); !errors.Is(d.Report.Err, source.ErrDegraded) || len(d.Report.Objects) != 1 {
		t.Fatalf("first pass: %+v, want degraded by the conflict", d)
	}
	none(t, done, 400*time.Millisecond) // a failed pass would have been retried twice
}

func TestDegradedPassRunsAgainWhenAnObjectIsDue(t *testing.T) {
	src := fakesource.New()
	src.Degrade, src.RetryIn = true, 20*time.Millisecond
	src.SetForeign("k", "theirs")
	_, _, done := startLoop(t, src, Config{Desired: fakesource.Desired{"k": "v"}, Interval: time.Hour})
	next(t, done, time.Second)
	// No event, interval an hour away: the pass comes from RetryIn.
	if d := next(t, done, time.Second); !errors.Is(d.Report.Err, source.ErrDegraded) {
		t.Fatalf("second pass: %+v", d)
	}
}

func TestSetDesiredRunsAtOnce(t *testing.T) {
	src := fakesource.New()
	system, recon, done := startLoop(t, src, Config{Interval: time.Hour})
	next(t, done, time.Second)
	system.Root.Send(recon, &SetDesired{Desired: fakesource.Desired{"a": "1"}})
	if d := next(t, done, time.Second); d.Report.Applied != 1 || src.Kernel()["a"] != "1" {
		t.Errorf("after SetDesired: %+v, kernel %v", d, src.Kernel())
	}
}

func TestPropsRefusesNoSocket(t *testing.T) {
	if p, err := Props(Config{}); p != nil || err == nil {
		t.Fatalf("Props(Config{}) = %v, %v; want nil and an error", p, err)
	}
}

// TestRestartIgnoresPreviousIncarnationsReply crashes the reconciler while
// its first pass runs. The socket actor goes on and answers that pass to
// the same PID, now the new incarnation's, which has sent a first pass of
// its own: it must wait for that one, not take the old reply.
func TestRestartIgnoresPreviousIncarnationsReply(t *testing.T) {
	src := fakesource.New()
	src.PassDelay = 150 * time.Millisecond
	system, recon, done := startLoop(t, src, Config{Desired: fakesource.Desired{"k": "v"}, Interval: time.Hour})
	system.Root.Send(recon, &crash.Panic{Reason: "test"})
	// The old pass applies k; the new incarnation's pass, run after it,
	// finds k in place and applies nothing.
	d := next(t, done, 5*time.Second)
	if d.Report.Applied != 0 || !d.Resync || d.Report.Err != nil {
		t.Fatalf("first pass of the new incarnation: %+v; want a resync applying nothing (Applied 1 is the old incarnation's reply)", d)
	}
	if n := src.Passes.Load(); n != 2 {
		t.Errorf("%d passes ran; want 2 (one per incarnation)", n)
	}
	none(t, done, 100*time.Millisecond)
}

// TestWakeupsAreTaken feeds the loop monitor Wakeups through a real
// monitor actor: each one taken lets the next through.
func TestWakeupsAreTaken(t *testing.T) {
	src := fakesource.New()
	system, recon, done := startLoop(t, src, Config{Desired: fakesource.Desired{"k": "v"}, AwaitResync: true, Interval: time.Hour})
	mp, err := monitor.Props(monitor.Config{Source: src, Target: recon})
	if err != nil {
		t.Fatal(err)
	}
	mon := system.Root.Spawn(mp)
	t.Cleanup(func() { _ = system.Root.StopFuture(mon).Wait() })
	if d := next(t, done, time.Second); !d.Resync {
		t.Fatalf("first pass: %+v", d)
	}
	for i := range 3 {
		src.Delete("k") // an operator undoes the scope's work
		d := next(t, done, time.Second)
		if d.Report.Applied != 1 {
			t.Fatalf("pass after deletion %d: %+v", i, d)
		}
	}
	src.Emit(source.Resync)
	if d := next(t, done, time.Second); !d.Resync {
		t.Fatalf("pass after a Resync: %+v", d)
	}
}

// TestTriggers: the loop tells the source why each pass runs. Start,
// a new desired state and a Resync ask for a full pass, the interval for
// a check, and wake-ups alone for a pass that may narrow to what changed.
func TestTriggers(t *testing.T) {
	src := fakesource.New()
	system, recon, done := startLoop(t, src, Config{Desired: fakesource.Desired{"k": "v"}, Interval: time.Hour})
	check := func(what string, want source.Trigger) {
		t.Helper()
		d := next(t, done, time.Second)
		if d.Trigger != want || source.Trigger(src.LastTrigger.Load()) != want {
			t.Errorf("%s: PassDone.Trigger %v, source saw %v; want %v", what, d.Trigger, source.Trigger(src.LastTrigger.Load()), want)
		}
	}
	check("start", source.TriggerFull)
	system.Root.Send(recon, source.Wake)
	check("wake", source.TriggerEvents)
	system.Root.Send(recon, tick{})
	check("interval", source.TriggerCheck)
	system.Root.Send(recon, &SetDesired{Desired: fakesource.Desired{"k": "w"}})
	check("new desired state", source.TriggerFull)
	system.Root.Send(recon, source.Resync)
	check("resync", source.TriggerFull)
}
