package agent

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/linx-net/linx/actors/source"
	"github.com/linx-net/linx/actors/supervisor"
	"github.com/linx-net/linx/config"
	"github.com/linx-net/linx/messages"
	"github.com/linx-net/linx/reconcile"
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
		NewSource:   func(supervisor.Spec) (source.Source, error) { return src, nil },
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
	if err := node.Spawn(supervisor.Spec{Name: "a"}); err != nil {
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
	if err := node.Spawn(supervisor.Spec{Name: "a"}); err != nil {
		t.Fatalf("spawning the scope again after stop: %v", err)
	}
}

// reportingSource is a slowSource whose passes are seen as the agent's
// rtnlsource passes are (OnPass), once the gate opens.
type reportingSource struct {
	*slowSource
	observe func(reconcile.Report, error)
}

func (s *reportingSource) Pass(ctx context.Context, h source.Handle, d any) source.Report {
	r := s.slowSource.Pass(ctx, h, d)
	s.observe(reconcile.Report{Converged: true}, nil)
	return r
}

// TestRemovedScopeMetricsStayGone removes a scope by reload while one of
// its passes is in flight: the pass ends during the stop, and its series
// must not come back after the reload dropped them.
func TestRemovedScopeMetricsStayGone(t *testing.T) {
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	dir := t.TempDir()
	path := filepath.Join(dir, "linx.yaml")
	head := "state_dir: " + filepath.Join(dir, "state") + "\nscopes:\n"
	scope := "  - name: a\n    netns: host\n"
	if err := os.WriteFile(path, []byte(head+scope), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	system := actor.NewActorSystem(actor.WithLoggerFactory(supervisor.LoggerFactory(logger)))
	a := &Agent{opts: Options{Path: path}, logger: logger, system: system, cfg: cfg, ready: newReadiness()}
	a.metrics = NewMetrics(nil, logger)
	src := &slowSource{gate: make(chan struct{}), blocked: make(chan struct{}, 1), watch: &breakableWatch{ch: make(chan source.Event, 1)}}
	node, err := supervisor.Start(system, supervisor.Config{
		NewSource: func(spec supervisor.Spec) (source.Source, error) {
			return &reportingSource{slowSource: src, observe: a.passObserver(spec.Name)}, nil
		},
		Interval: time.Hour,
		Logger:   logger,
	})
	if err != nil {
		t.Fatal(err)
	}
	a.node = node
	defer func() {
		if err := node.Shutdown(); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		system.Shutdown()
	}()
	if err := a.spawn(cfg.Scopes[0]); err != nil {
		t.Fatal(err)
	}
	<-src.blocked // the first pass is in flight
	go func() {
		time.Sleep(100 * time.Millisecond)
		close(src.gate)
	}()
	if err := os.WriteFile(path, []byte(head), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := a.Reload(); err != nil {
		t.Fatalf("Reload: %v", err)
	}
	fams, err := a.metrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "scope" && l.GetValue() == "a" {
					t.Errorf("%s{scope=\"a\"} is back after the scope was removed", f.GetName())
				}
			}
		}
	}
}

// TestReloadRefusedWhileStopping reloads (as a SIGHUP would, the signal
// handler still running) while the agent stops its scopes, held up by a
// pass in flight: the reload must change nothing and say the agent is
// stopping, so that no scope starts that nothing would stop.
func TestReloadRefusedWhileStopping(t *testing.T) {
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	dir := t.TempDir()
	path := filepath.Join(dir, "linx.yaml")
	head := "state_dir: " + filepath.Join(dir, "state") + "\nscopes:\n"
	scopeA := "  - name: a\n    netns: host\n"
	scopeB := "  - name: b\n    netns: host\n    protocol: 77\n"
	if err := os.WriteFile(path, []byte(head+scopeA), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	system := actor.NewActorSystem(actor.WithLoggerFactory(supervisor.LoggerFactory(logger)))
	defer system.Shutdown()
	a := &Agent{opts: Options{Path: path}, logger: logger, system: system, cfg: cfg, ready: newReadiness()}
	a.metrics = NewMetrics(nil, logger)
	src := &slowSource{gate: make(chan struct{}), blocked: make(chan struct{}, 1), watch: &breakableWatch{ch: make(chan source.Event, 1)}}
	made := make(chan string, 10)
	node, err := supervisor.Start(system, supervisor.Config{
		NewSource: func(spec supervisor.Spec) (source.Source, error) {
			made <- spec.Name
			return src, nil
		},
		Interval: time.Hour,
		Logger:   logger,
	})
	if err != nil {
		t.Fatal(err)
	}
	a.node = node
	released := false
	defer func() {
		if !released {
			close(src.gate)
		}
	}()
	if err := a.spawn(cfg.Scopes[0]); err != nil {
		t.Fatal(err)
	}
	<-made
	<-src.blocked // a pass is in flight: stopping waits for it

	stopped := make(chan error, 1)
	go func() { stopped <- a.stopScopes() }()
	eventually(t, "the scope's watch closed by the stop", func() bool {
		select {
		case _, ok := <-src.watch.ch:
			return !ok
		default:
			return false
		}
	})
	if err := os.WriteFile(path, []byte(head+scopeA+scopeB), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := a.Reload(); !errors.Is(err, ErrStopping) {
		t.Errorf("Reload while the agent stops = %v, want ErrStopping", err)
	}
	select {
	case name := <-made:
		t.Errorf("the reload made a source for scope %q while the agent stopped", name)
	default:
	}
	if n := len(a.cfg.Scopes); n != 1 {
		t.Errorf("running configuration after the refused reload has %d scopes, want 1", n)
	}
	if got := reloads(t, a, "applied") + reloads(t, a, "failed"); got != 0 {
		t.Errorf("reloads counted as applied or failed: %v, want none", got)
	}

	released = true
	close(src.gate)
	if err := <-stopped; err != nil {
		t.Fatalf("stopping the scopes: %v", err)
	}
	if err := a.Reload(); !errors.Is(err, ErrStopping) {
		t.Errorf("Reload after the scopes stopped = %v, want ErrStopping", err)
	}
}
