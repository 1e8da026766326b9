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
	// DefaultPassTimeout bounds one pass. A pass over thousands of routes
	// takes tens of milliseconds; 30 s keeps a stuck kernel call from
	// holding the actor (and so any stop or restart of the scope) forever.
	DefaultPassTimeout = 30 * time.Second
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
}

// PassResult answers a Pass. Report.Err wraps source.ErrScopeGone when the
// handle could not be opened because the scope is gone.
type PassResult struct {
	Seq    uint64
	Report source.Report
}

// Do runs Fn with the open handle, serialised with passes; the sender
// receives a *DoResult. Fn must not keep the handle after it returns.
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

// Props returns the props of a socket actor for cfg. It returns nil if
// cfg.Source is nil.
func Props(cfg Config) *actor.Props {
	if cfg.Source == nil {
		return nil
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
	return actor.PropsFromProducer(func() actor.Actor { return &socketActor{cfg: cfg} })
}

type socketActor struct {
	cfg Config
	h   source.Handle
	err error // why h is nil
}

func (a *socketActor) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		a.open(ctx)
	case *actor.Restarting, *actor.Stopping:
		a.close()
	case *Pass:
		ctx.Respond(&PassResult{Seq: m.Seq, Report: a.pass(ctx, m.Desired)})
	case *Do:
		ctx.Respond(a.do(m))
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

func (a *socketActor) pass(ctx actor.Context, desired any) source.Report {
	if a.h == nil {
		return source.Report{Err: a.notOpen()}
	}
	pctx, cancel := context.WithTimeout(context.Background(), a.cfg.PassTimeout)
	defer cancel()
	start := time.Now()
	r := a.cfg.Source.Pass(pctx, a.h, desired)
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
	dctx, cancel := context.WithTimeout(context.Background(), a.cfg.PassTimeout)
	defer cancel()
	v, err := m.Fn(dctx, a.h)
	return &DoResult{Value: v, Err: err}
}

func (a *socketActor) notOpen() error {
	if a.err != nil {
		return a.err
	}
	return ErrNotOpen
}
