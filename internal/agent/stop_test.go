package agent

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/linx-net/linx/actors/source"
	"github.com/linx-net/linx/actors/supervisor"
	"github.com/linx-net/linx/messages"
)

// slowSource is a Source whose passes wait for gate to close, and whose
// watch the test can break: a scope that fails while a pass is in flight.
type slowSource struct {
	gate    chan struct{}
	blocked chan struct{}
	watch   *breakableWatch
}

func (s *slowSource) Open(context.Context) (source.Handle, error) { return os.Open(os.DevNull) }

func (s *slowSource) Watch(context.Context) (source.Watch, error) { return s.watch, nil }

func (s *slowSource) Pass(context.Context, source.Handle, any) source.Report {
	select {
	case s.blocked <- struct{}{}:
	default:
	}
	<-s.gate
	return source.Report{Converged: true}
}

type breakableWatch struct {
	ch   chan source.Event
	once sync.Once
	mu   sync.Mutex
	err  error
}

func (w *breakableWatch) end(err error) {
	w.once.Do(func() {
		w.mu.Lock()
		w.err = err
		w.mu.Unlock()
		close(w.ch)
	})
}

func (w *breakableWatch) Events() <-chan source.Event { return w.ch }
func (w *breakableWatch) Overruns() uint64            { return 0 }
func (w *breakableWatch) Close() error                { w.end(nil); return nil }
func (w *breakableWatch) Err() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// TestStopWaitsForFailedScope fails a scope (its watch breaks, no restart
// allowed) while a pass is in flight: it is marked failed at once, but its
// actors stop only when the pass returns. stop must wait for that, so that
// the spawn of a respawn that follows is not refused as already running.
func TestStopWaitsForFailedScope(t *testing.T) {
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	system := actor.NewActorSystem(actor.WithLoggerFactory(supervisor.LoggerFactory(logger)))
	src := &slowSource{gate: make(chan struct{}), blocked: make(chan struct{}, 1), watch: &breakableWatch{ch: make(chan source.Event, 1)}}
	node, err := supervisor.Start(system, supervisor.Config{
		NewSource:   func(*messages.SpawnScope) (source.Source, error) { return src, nil },
		MaxRestarts: -1,
		Interval:    time.Hour,
		Logger:      logger,
	})
	if err != nil {
		t.Fatal(err)
	}
	released := false
	defer func() {
		if !released {
			close(src.gate)
		}
		if err := node.Shutdown(); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		system.Shutdown()
	}()
	a := &Agent{logger: logger, system: system, node: node}
	if err := node.Spawn(&messages.SpawnScope{Name: "a"}); err != nil {
		t.Fatal(err)
	}
	<-src.blocked
	src.watch.end(errors.New("watch broke"))
	eventually(t, "scope failed", func() bool {
		st, err := node.Status("a")
		return err == nil && st.GetPhase() == messages.Phase_PHASE_FAILED
	})

	stopped := make(chan error, 1)
	go func() { stopped <- a.stop("a") }()
	select {
	case err := <-stopped:
		t.Fatalf("stop returned (%v) while the failed scope's pass still runs", err)
	case <-time.After(100 * time.Millisecond):
	}
	released = true
	close(src.gate)
	if err := <-stopped; err != nil {
		t.Fatalf("stop: %v", err)
	}
	src.gate, src.watch = make(chan struct{}), &breakableWatch{ch: make(chan source.Event, 1)}
	close(src.gate)
	if err := node.Spawn(&messages.SpawnScope{Name: "a"}); err != nil {
		t.Fatalf("spawning the scope again after stop: %v", err)
	}
}
