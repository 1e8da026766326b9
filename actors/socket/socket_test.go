package socket

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync/atomic"
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

// stuckSource is the fake source with a switch that makes a pass (or a Do
// through stuckHandle.Wait) hang until its handle is closed, the way a
// request on a wedged rtnetlink socket hangs until the socket is closed. It
// ignores its context on purpose: rtnlsource's Pass does too.
type stuckSource struct {
	*fakesource.Source
	stuck  atomic.Bool
	panics atomic.Bool
	// returned counts passes that came back after hanging.
	returned atomic.Int64
}

type stuckHandle struct {
	inner  source.Handle
	closed chan struct{}
}

func (h *stuckHandle) Close() error {
	close(h.closed)
	return h.inner.Close()
}

func (s *stuckSource) Open(ctx context.Context) (source.Handle, error) {
	h, err := s.Source.Open(ctx)
	if err != nil {
		return nil, err
	}
	return &stuckHandle{inner: h, closed: make(chan struct{})}, nil
}

func (s *stuckSource) Pass(ctx context.Context, h source.Handle, desired any) source.Report {
	sh := h.(*stuckHandle)
	if s.panics.Load() {
		panic("stuckSource: boom")
	}
	if s.stuck.Load() {
		<-sh.closed
		s.returned.Add(1)
		// What a pass reports when its socket is closed under it; the
		// actor must never pass this on.
		return source.Report{Converged: true, Applied: 99}
	}
	return s.Source.Pass(ctx, sh.inner, desired)
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func spawn(t *testing.T, src source.Source, timeout time.Duration) (*actor.ActorSystem, *actor.PID) {
	t.Helper()
	system := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return quiet }))
	props, err := Props(Config{Source: src, PassTimeout: timeout, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	pid := system.Root.Spawn(props)
	t.Cleanup(func() {
		if err := system.Root.StopFuture(pid).Wait(); err != nil {
			t.Error(err)
		}
		system.Shutdown()
	})
	return system, pid
}

func passOnce(t *testing.T, system *actor.ActorSystem, pid *actor.PID, seq uint64, desired any) *PassResult {
	t.Helper()
	v, err := system.Root.RequestFuture(pid, &Pass{Seq: seq, Desired: desired}, 5*time.Second).Result()
	if err != nil {
		t.Fatalf("pass %d: %v", seq, err)
	}
	r, ok := v.(*PassResult)
	if !ok {
		t.Fatalf("pass %d answered with %T", seq, v)
	}
	if r.Seq != seq {
		t.Fatalf("pass %d answered with seq %d", seq, r.Seq)
	}
	return r
}

func TestPropsRefusesNoSource(t *testing.T) {
	p, err := Props(Config{})
	if p != nil || err == nil || !strings.Contains(err.Error(), "Source") {
		t.Fatalf("Props(Config{}) = %v, %v; want nil and an error naming Source", p, err)
	}
}

func TestPassTimeoutClosesAndReopens(t *testing.T) {
	src := &stuckSource{Source: fakesource.New()}
	const timeout = 50 * time.Millisecond
	system, pid := spawn(t, src, timeout)
	want := fakesource.Desired{"k": "v"}

	src.stuck.Store(true)
	start := time.Now()
	r := passOnce(t, system, pid, 1, want)
	took := time.Since(start)
	if !errors.Is(r.Report.Err, ErrTimeout) || r.Report.Converged || r.Report.Applied != 0 {
		t.Fatalf("stuck pass reported %+v; want a failure wrapping ErrTimeout and nothing of the abandoned pass", r.Report)
	}
	if took < timeout || r.Report.Duration < timeout {
		t.Errorf("stuck pass answered after %v (Duration %v); want at least the %v timeout", took, r.Report.Duration, timeout)
	}
	if got := src.returned.Load(); got != 1 {
		t.Errorf("%d abandoned passes returned before the answer; want 1 (the pass must have ended)", got)
	}
	if c := src.Closes.Load(); c != 1 {
		t.Errorf("closes %d when the timeout was answered; want the abandoned handle closed (1)", c)
	}

	// The actor answers first and reopens right after, before it reads its
	// next message: the next pass runs on a fresh handle.
	src.stuck.Store(false)
	if r := passOnce(t, system, pid, 2, want); r.Report.Err != nil || !r.Report.Converged || r.Report.Applied != 1 {
		t.Fatalf("pass after the timeout: %+v", r.Report)
	}
	if o, c := src.Opens.Load(), src.Closes.Load(); o != 2 || c != 1 {
		t.Errorf("opens %d, closes %d after the timeout; want the handle closed and a fresh one open (2, 1)", o, c)
	}
	if got := src.Kernel()["k"]; got != "v" {
		t.Errorf("kernel k = %q after the pass; want v", got)
	}
}

func TestDoTimeout(t *testing.T) {
	src := &stuckSource{Source: fakesource.New()}
	system, pid := spawn(t, src, 30*time.Millisecond)
	v, err := system.Root.RequestFuture(pid, &Do{Fn: func(_ context.Context, h source.Handle) (any, error) {
		<-h.(*stuckHandle).closed
		return "late", nil
	}}, 5*time.Second).Result()
	if err != nil {
		t.Fatal(err)
	}
	res := v.(*DoResult)
	if !errors.Is(res.Err, ErrTimeout) || res.Value != nil {
		t.Fatalf("stuck Do = %+v; want ErrTimeout and no value", res)
	}
	// The next Do gets the fresh handle, still open.
	v, err = system.Root.RequestFuture(pid, &Do{Fn: func(_ context.Context, h source.Handle) (any, error) {
		select {
		case <-h.(*stuckHandle).closed:
			return "closed", nil
		default:
			return "open", nil
		}
	}}, 5*time.Second).Result()
	if err != nil || v.(*DoResult).Err != nil || v.(*DoResult).Value != "open" {
		t.Fatalf("Do after the timeout: %v, %+v", err, v)
	}
	if o, c := src.Opens.Load(), src.Closes.Load(); o != 2 || c != 1 {
		t.Errorf("opens %d, closes %d; want 2, 1", o, c)
	}
}

func TestPanicInPassCrashesTheActorNotTheProcess(t *testing.T) {
	src := &stuckSource{Source: fakesource.New()}
	system, pid := spawn(t, src, time.Second)
	src.panics.Store(true)
	// The failed message gets no answer; the actor restarts (closing and
	// reopening the handle) instead of the process dying.
	if _, err := system.Root.RequestFuture(pid, &Pass{Seq: 1}, 200*time.Millisecond).Result(); err == nil {
		t.Fatal("a panicking pass was answered")
	}
	deadline := time.Now().Add(5 * time.Second)
	for src.Opens.Load() < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("no restart after the panic: opens %d, closes %d", src.Opens.Load(), src.Closes.Load())
		}
		time.Sleep(5 * time.Millisecond)
	}
	src.panics.Store(false)
	if r := passOnce(t, system, pid, 2, fakesource.Desired{"k": "v"}); r.Report.Err != nil {
		t.Fatalf("pass after the restart: %+v", r.Report)
	}
}

func TestOpenCountsBalance(t *testing.T) {
	src := &stuckSource{Source: fakesource.New()}
	// The subtest's cleanup stops the actor.
	t.Run("three timeouts", func(t *testing.T) {
		system, pid := spawn(t, src, 20*time.Millisecond)
		src.stuck.Store(true)
		for i := range 3 {
			if r := passOnce(t, system, pid, uint64(i+1), nil); !errors.Is(r.Report.Err, ErrTimeout) {
				t.Fatalf("pass %d: %+v", i+1, r.Report)
			}
		}
	})
	if o, c := src.Opens.Load(), src.Closes.Load(); o != 4 || c != 4 {
		t.Errorf("after three timeouts and a stop: opens %d, closes %d; want 4, 4", o, c)
	}
}
