package monitor

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

// DefaultOpenTimeout bounds subscribing; see socket.DefaultOpenTimeout.
const DefaultOpenTimeout = 5 * time.Second

// Config configures a monitor actor. Source and Target are required.
type Config struct {
	Source source.Source
	// Target receives every source.Event (the scope's reconciler).
	Target *actor.PID
	// Disabled skips the subscription: only the initial Resync is sent.
	Disabled    bool
	OpenTimeout time.Duration // zero means DefaultOpenTimeout
	Logger      *slog.Logger  // nil means slog.Default()
}

// Overrun tells the parent that the watch lost events N times since the
// previous Overrun.
type Overrun struct{ N uint64 }

// Gone tells the parent that the scope disappeared; Err wraps
// source.ErrScopeGone.
type Gone struct{ Err error }

// Props returns the props of a monitor actor for cfg, or nil when Source
// or Target is missing.
func Props(cfg Config) *actor.Props {
	if cfg.Source == nil || cfg.Target == nil {
		return nil
	}
	if cfg.OpenTimeout <= 0 {
		cfg.OpenTimeout = DefaultOpenTimeout
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return actor.PropsFromProducer(func() actor.Actor { return &monitorActor{cfg: cfg} })
}

// ended is sent by the reader when the watch closed by itself.
type ended struct{ err error }

// readerPanic carries a panic recovered in the reader goroutine.
type readerPanic struct{ v any }

type monitorActor struct {
	cfg  Config
	w    source.Watch
	done chan struct{} // closed when the reader exits
}

func (a *monitorActor) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		a.start(ctx)
	case *actor.Restarting, *actor.Stopping:
		a.stop()
	case *ended:
		if errors.Is(m.err, source.ErrScopeGone) {
			ctx.Send(ctx.Parent(), &Gone{Err: m.err})
			return
		}
		// The loop restarts and resynchronises from scratch: the truth is
		// re-read, so a dead subscription costs one pass, not correctness.
		panic(fmt.Errorf("monitor: watch ended: %w", m.err))
	case *readerPanic:
		panic(fmt.Errorf("monitor: reader goroutine panicked: %v", m.v))
	case *crash.Panic:
		panic(fmt.Errorf("monitor: injected crash: %s", m.Reason))
	}
}

func (a *monitorActor) start(ctx actor.Context) {
	if !a.cfg.Disabled {
		wctx, cancel := context.WithTimeout(context.Background(), a.cfg.OpenTimeout)
		w, err := a.cfg.Source.Watch(wctx)
		cancel()
		switch {
		case err != nil && errors.Is(err, source.ErrScopeGone):
			ctx.Send(ctx.Parent(), &Gone{Err: fmt.Errorf("subscribing to the scope's events: %w", err)})
			return
		case err != nil:
			panic(fmt.Errorf("monitor: subscribing to the scope's events: %w", err))
		case w != nil:
			a.w = w
			a.done = make(chan struct{})
			go read(ctx.ActorSystem(), ctx.Self(), ctx.Parent(), a.cfg.Target, w, a.done)
		}
	}
	// Subscribed first, listed second: the pass this triggers sees every
	// change the watch will not report.
	ctx.Send(a.cfg.Target, source.Resync)
}

// read forwards w's events until the channel closes. It runs in its own
// goroutine and so uses only system.Root, never the actor's context.
func read(system *actor.ActorSystem, self, parent, target *actor.PID, w source.Watch, done chan<- struct{}) {
	defer close(done)
	defer func() {
		// A panic here would kill the process; hand it to the actor instead.
		if r := recover(); r != nil {
			system.Root.Send(self, &readerPanic{v: r})
		}
	}()
	var seen uint64
	for ev := range w.Events() {
		if ev == source.Resync {
			n := w.Overruns()
			d := n - seen
			if n <= seen {
				d = 1
			}
			seen = max(n, seen+1)
			system.Root.Send(parent, &Overrun{N: d})
		}
		system.Root.Send(target, ev)
	}
	if err := w.Err(); err != nil {
		system.Root.Send(self, &ended{err: err})
	}
}

func (a *monitorActor) stop() {
	if a.w == nil {
		return
	}
	if err := a.w.Close(); err != nil {
		a.cfg.Logger.Warn("closing the scope's watch", "err", err)
	}
	<-a.done
	a.w, a.done = nil, nil
}
