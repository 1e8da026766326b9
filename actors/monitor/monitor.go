package monitor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
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
	// Target (the scope's reconciler) receives the initial source.Resync,
	// then a *Wakeup standing for the watch's events.
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

// ErrWatchEnded is wrapped by the error of a watch whose events stopped
// although the monitor did not close it and the watch reported no error.
var ErrWatchEnded = errors.New("the watch's events stopped with no error and no close")

// Props returns the props of a monitor actor for cfg, or an error naming
// the missing field when Source or Target is nil.
func Props(cfg Config) (*actor.Props, error) {
	if cfg.Source == nil {
		return nil, errors.New("monitor: Config.Source is nil")
	}
	if cfg.Target == nil {
		return nil, errors.New("monitor: Config.Target is nil")
	}
	if cfg.OpenTimeout <= 0 {
		cfg.OpenTimeout = DefaultOpenTimeout
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return actor.PropsFromProducer(func() actor.Actor { return &monitorActor{cfg: cfg} }), nil
}

// Wakeup is what the monitor sends its target for the watch's events. One
// Wakeup stands for every event since the previous one was taken, and a
// monitor never has more than one untaken Wakeup in flight, so a burst of
// events costs the target one message however fast they come.
type Wakeup struct {
	box   *wakeBox
	taken atomic.Bool
}

// Take returns what the Wakeup stands for: source.Resync if any of its
// events was a Resync (which is never lost to coalescing), otherwise
// source.Wake. The target calls it once, when it handles the message; only
// then can the monitor send the next Wakeup. Calls after the first return
// 0, as does Take on a nil or zero Wakeup. A Wakeup that is never taken
// (its target died) silences the monitor until it restarts, which is why
// the scope supervisor restarts the monitor together with the reconciler.
func (w *Wakeup) Take() source.Event {
	if w == nil || w.box == nil || !w.taken.CompareAndSwap(false, true) {
		return 0
	}
	return w.box.take()
}

// wakeBox coalesces the watch's events between the reader goroutine and
// the target.
type wakeBox struct {
	mu      sync.Mutex
	pending source.Event // 0, Wake or Resync: the strongest since the last take
	queued  bool         // a Wakeup was sent and not taken yet
}

// put records ev and reports whether the caller must send a new Wakeup.
func (b *wakeBox) put(ev source.Event) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if ev == source.Resync || b.pending == 0 {
		b.pending = ev
	}
	if b.queued {
		return false
	}
	b.queued = true
	return true
}

func (b *wakeBox) take() source.Event {
	b.mu.Lock()
	defer b.mu.Unlock()
	ev := b.pending
	b.pending, b.queued = 0, false
	return ev
}

// ended is sent by the reader when the watch closed by itself.
type ended struct{ err error }

// readerPanic carries a panic recovered in the reader goroutine.
type readerPanic struct{ v any }

type monitorActor struct {
	cfg  Config
	w    source.Watch
	done chan struct{} // closed when the reader exits
	// closing is set before the actor closes the watch, so that the reader
	// can tell that end from one nobody asked for.
	closing *atomic.Bool
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
			a.closing = new(atomic.Bool)
			r := &reader{
				system: ctx.ActorSystem(), self: ctx.Self(), parent: ctx.Parent(), target: a.cfg.Target,
				w: w, closing: a.closing, box: &wakeBox{},
			}
			go r.run(a.done)
		}
	}
	// Subscribed first, listed second: the pass this triggers sees every
	// change the watch will not report.
	ctx.Send(a.cfg.Target, source.Resync)
}

// reader forwards a watch's events. It runs in its own goroutine and so
// uses only system.Root, never the actor's context.
type reader struct {
	system               *actor.ActorSystem
	self, parent, target *actor.PID
	w                    source.Watch
	closing              *atomic.Bool
	box                  *wakeBox
}

// run forwards events until the watch's channel closes, then reports why
// unless the actor closed it.
func (r *reader) run(done chan<- struct{}) {
	defer close(done)
	defer func() {
		// A panic here would kill the process; hand it to the actor instead.
		if v := recover(); v != nil {
			r.system.Root.Send(r.self, &readerPanic{v: v})
		}
	}()
	var seen uint64
	for ev := range r.w.Events() {
		// Recorded first, so that whoever hears of an Overrun finds the
		// Resync in the untaken Wakeup.
		wake := r.box.put(ev)
		if ev == source.Resync {
			n := r.w.Overruns()
			d := n - seen
			if n <= seen {
				d = 1
			}
			seen = max(n, seen+1)
			r.system.Root.Send(r.parent, &Overrun{N: d})
		}
		if wake {
			r.system.Root.Send(r.target, &Wakeup{box: r.box})
		}
	}
	err := r.w.Err()
	if err == nil && !r.closing.Load() {
		// Nobody closed the watch and it names no failure: the scope must
		// still not go on without events, so treat it as a dead
		// subscription.
		err = ErrWatchEnded
	}
	if err != nil {
		r.system.Root.Send(r.self, &ended{err: err})
	}
}

func (a *monitorActor) stop() {
	if a.w == nil {
		return
	}
	a.closing.Store(true)
	if err := a.w.Close(); err != nil {
		a.cfg.Logger.Warn("closing the scope's watch", "err", err)
	}
	<-a.done
	a.w, a.done, a.closing = nil, nil, nil
}
