package socket

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/linx-net/linx/actors/internal/crash"
	"github.com/linx-net/linx/actors/source"
)

// Defaults for Config's zero fields.
const (
	// DefaultOpenTimeout bounds opening the handle. Entering a namespace and
	// binding a netlink socket takes well under a millisecond; five seconds
	// only guards against a wedged filesystem (a stale /proc or netns path).
	DefaultOpenTimeout = 5 * time.Second
	// DefaultPassTimeout bounds one pass (and one Do). A pass over
	// thousands of routes takes tens of milliseconds; 30 s keeps a stuck
	// kernel call from holding the actor (and so any stop or restart of the
	// scope) forever.
	DefaultPassTimeout = 30 * time.Second
	// abandonWarn is how long the actor waits, after closing the handle of
	// a pass that timed out, before it logs that the pass still has not
	// returned. Closing an rtnetlink socket fails its pending request at
	// once, so only a Source that ignores both its context and its handle
	// being closed gets there.
	abandonWarn = 5 * time.Second
)

// Config configures a socket actor. Source is required.
type Config struct {
	Source      source.Source
	OpenTimeout time.Duration // zero means DefaultOpenTimeout
	PassTimeout time.Duration // zero means DefaultPassTimeout
	Logger      *slog.Logger  // nil means slog.Default()
}

// Pass asks for one pass of the Source with Desired; the sender receives a
// *PassResult carrying the same Seq.
type Pass struct {
	Seq     uint64
	Desired any
	// Trigger says why the pass runs; the Source reads it from its
	// context (source.TriggerOf). The zero value asks for a full pass.
	Trigger source.Trigger
}

// PassResult answers a Pass. Report.Err wraps source.ErrScopeGone when the
// handle could not be opened because the scope is gone.
type PassResult struct {
	Seq    uint64
	Report source.Report
}

// Do runs Fn with the open handle, serialised with passes and bounded like
// them by Config.PassTimeout (ctx is cancelled then, and the handle
// closed); the sender receives a *DoResult. Fn must not keep the handle
// after it returns.
type Do struct {
	Fn func(ctx context.Context, h source.Handle) (any, error)
}

// DoResult answers a Do: Fn's results, or the reason it was not run.
type DoResult struct {
	Value any
	Err   error
}

// Gone tells the parent that the scope disappeared; Err wraps
// source.ErrScopeGone.
type Gone struct{ Err error }

// ErrNotOpen is the error of requests answered while no handle is open.
var ErrNotOpen = errors.New("socket: handle is not open")

// ErrTimeout is wrapped by the error of a pass or Do that ran past
// Config.PassTimeout. Its handle was closed (which fails a request pending
// on it) and a fresh one opened; whatever the abandoned call returned later
// was discarded.
var ErrTimeout = errors.New("socket: timed out")

// Props returns the props of a socket actor for cfg, or an error if
// cfg.Source is nil.
func Props(cfg Config) (*actor.Props, error) {
	if cfg.Source == nil {
		return nil, errors.New("socket: Config.Source is nil")
	}
	if cfg.OpenTimeout <= 0 {
		cfg.OpenTimeout = DefaultOpenTimeout
	}
	if cfg.PassTimeout <= 0 {
		cfg.PassTimeout = DefaultPassTimeout
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return actor.PropsFromProducer(func() actor.Actor { return &socketActor{cfg: cfg} }), nil
}

type socketActor struct {
	cfg Config
	h   source.Handle
	err error // why h is nil
	// reopen is set when a timed-out call closed the handle: a fresh one is
	// opened once the caller has been answered.
	reopen bool
}

func (a *socketActor) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		a.open(ctx)
	case *actor.Restarting, *actor.Stopping:
		a.close()
	case *Pass:
		ctx.Respond(&PassResult{Seq: m.Seq, Report: a.pass(ctx, m.Desired, m.Trigger)})
		a.reopenAfterTimeout(ctx)
	case *Do:
		ctx.Respond(a.do(m))
		a.reopenAfterTimeout(ctx)
	case *crash.Panic:
		panic(fmt.Errorf("socket: injected crash: %s", m.Reason))
	}
}

func (a *socketActor) open(ctx actor.Context) {
	octx, cancel := context.WithTimeout(context.Background(), a.cfg.OpenTimeout)
	defer cancel()
	h, err := a.cfg.Source.Open(octx)
	if err == nil {
		a.h, a.err = h, nil
		return
	}
	err = fmt.Errorf("opening the scope's handle: %w", err)
	if errors.Is(err, source.ErrScopeGone) {
		a.err = err
		ctx.Send(ctx.Parent(), &Gone{Err: err})
		return
	}
	// A crash is the documented way out: the scope supervisor restarts the
	// subtree, and gives up (status failed) past its restart limit.
	panic(err)
}

func (a *socketActor) close() {
	if a.h == nil {
		return
	}
	if err := a.h.Close(); err != nil {
		a.cfg.Logger.Warn("closing the scope's handle", "err", err)
	}
	a.h, a.err = nil, ErrNotOpen
}

func (a *socketActor) pass(ctx actor.Context, desired any, why source.Trigger) source.Report {
	if a.h == nil {
		return source.Report{Err: a.notOpen()}
	}
	start := time.Now()
	var r source.Report
	if err := a.bounded("pass", func(c context.Context, h source.Handle) {
		r = a.cfg.Source.Pass(source.WithTrigger(c, why), h, desired)
	}); err != nil {
		return source.Report{Err: err, Duration: time.Since(start)}
	}
	if r.Duration == 0 {
		r.Duration = time.Since(start)
	}
	if r.Err != nil && errors.Is(r.Err, source.ErrScopeGone) {
		ctx.Send(ctx.Parent(), &Gone{Err: r.Err})
	}
	return r
}

func (a *socketActor) do(m *Do) *DoResult {
	if a.h == nil {
		return &DoResult{Err: a.notOpen()}
	}
	if m.Fn == nil {
		return &DoResult{Err: errors.New("socket: Do without a function")}
	}
	var res DoResult
	if err := a.bounded("request", func(c context.Context, h source.Handle) {
		res.Value, res.Err = m.Fn(c, h)
	}); err != nil {
		return &DoResult{Err: err}
	}
	return &res
}

// bounded runs fn with the open handle in a goroutine of its own and waits
// at most Config.PassTimeout for it. Past that it cancels fn's context and
// closes the handle (a request pending on an rtnetlink socket then fails
// with EBADF), waits for fn to return, marks the handle for reopening and
// returns an error wrapping ErrTimeout; fn's results are then never read.
// Either way fn has returned when bounded does, so no goroutine outlives
// the call and no late result reaches anyone. A panic in fn is re-raised
// here, in the actor's goroutine, so that it crashes the actor (and the
// supervisor restarts the scope) rather than the process.
func (a *socketActor) bounded(what string, fn func(context.Context, source.Handle)) error {
	cctx, cancel := context.WithTimeout(context.Background(), a.cfg.PassTimeout)
	defer cancel()
	var panicked any
	done := make(chan struct{})
	go func(h source.Handle) {
		defer close(done)
		defer func() { panicked = recover() }()
		fn(cctx, h)
	}(a.h)
	timer := time.NewTimer(a.cfg.PassTimeout)
	defer timer.Stop()
	var err error
	select {
	case <-done:
	case <-timer.C:
		err = fmt.Errorf("%s abandoned after %v, handle closed and reopened: %w", what, a.cfg.PassTimeout, ErrTimeout)
		cancel()
		a.close()
		a.reopen = true
		warn := time.NewTimer(abandonWarn)
		select {
		case <-done:
		case <-warn.C:
			a.cfg.Logger.Warn("an abandoned "+what+" has not returned although its handle is closed; waiting for it",
				"timeout", a.cfg.PassTimeout, "waited", abandonWarn)
			<-done
		}
		warn.Stop()
	}
	if panicked != nil {
		panic(fmt.Errorf("socket: %s panicked: %v", what, panicked))
	}
	return err
}

// reopenAfterTimeout opens a fresh handle after bounded closed one; like
// Started, it reports a vanished scope as *Gone and panics on any other
// error.
func (a *socketActor) reopenAfterTimeout(ctx actor.Context) {
	if !a.reopen {
		return
	}
	a.reopen = false
	a.open(ctx)
}

func (a *socketActor) notOpen() error {
	if a.err != nil {
		return a.err
	}
	return ErrNotOpen
}
