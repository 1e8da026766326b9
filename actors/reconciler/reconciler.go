package reconciler

import (
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/scheduler"

	"github.com/linx-net/linx/actors/internal/crash"
	"github.com/linx-net/linx/actors/monitor"
	"github.com/linx-net/linx/actors/socket"
	"github.com/linx-net/linx/actors/source"
)

// Defaults for Config's zero fields, in one place.
const (
	// DefaultInterval is the safety-net resync period. Events do the fast
	// work; the interval only repairs what events missed, so it can be slow
	// enough to cost nothing at idle (one pass per scope per 30 s).
	DefaultInterval = 30 * time.Second
	// DefaultDebounce is how long the first wake-up of a burst waits for the
	// rest. One command (ip link set down, a container starting) produces
	// its burst of netlink events within a few hundred microseconds; 2 ms
	// joins them into one pass while adding little to self-heal latency
	// (target p50 10 ms).
	DefaultDebounce = 2 * time.Millisecond
	// DefaultRate bounds passes per second. A pass over an ordinary
	// namespace costs about a millisecond of CPU, so fighting another writer
	// costs at most about 1% of a core per scope.
	DefaultRate = 10
	// DefaultBurst lets a few passes run back to back (start, an update and
	// its echo events) before the rate applies.
	DefaultBurst = 3
	// minRetry is the first retry delay after a failed pass.
	minRetry = 100 * time.Millisecond
	// fightRecheck is when a pass that had to fight another writer is
	// followed by one more, to see whether the fight goes on: once a
	// second is far below the rate of a fight and costs one idle pass.
	fightRecheck = time.Second
)

// Config configures a reconciler actor. Socket is required.
type Config struct {
	// Socket is the socket actor the passes go through.
	Socket *actor.PID
	// Desired is the initial desired state, opaque to the loop.
	Desired  any
	Interval time.Duration // zero means DefaultInterval
	Debounce time.Duration // zero means DefaultDebounce; negative means none
	Rate     float64       // passes per second; zero means DefaultRate
	Burst    int           // zero means DefaultBurst
	// AwaitResync delays the first pass until the first source.Resync (sent
	// by the monitor once subscribed). Otherwise it runs on Started.
	AwaitResync bool
	Logger      *slog.Logger // nil means slog.Default()
}

// SetDesired replaces the desired state and triggers a pass.
type SetDesired struct{ Desired any }

// PassDone is sent to the parent after every pass.
type PassDone struct {
	Report source.Report
	// Started is when the pass was requested.
	Started time.Time
	// Resync reports a pass from scratch: the first of this incarnation or
	// one asked for by a source.Resync.
	Resync bool
	// Trigger is why the pass ran (see source.Trigger).
	Trigger source.Trigger
}

// Props returns the props of a reconciler actor for cfg, or an error when
// cfg.Socket is nil.
func Props(cfg Config) (*actor.Props, error) {
	if cfg.Socket == nil {
		return nil, errors.New("reconciler: Config.Socket is nil")
	}
	if cfg.Interval <= 0 {
		cfg.Interval = DefaultInterval
	}
	if cfg.Debounce == 0 {
		cfg.Debounce = DefaultDebounce
	}
	if cfg.Rate <= 0 {
		cfg.Rate = DefaultRate
	}
	if cfg.Burst <= 0 {
		cfg.Burst = DefaultBurst
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return actor.PropsFromProducer(func() actor.Actor { return &loop{cfg: cfg, desired: cfg.Desired} }), nil
}

// Timer messages. fire carries the generation of the timer that sent it,
// so a fire from a cancelled timer that was already in flight is ignored.
type (
	tick struct{}
	fire struct{ gen uint64 }
	// retry carries why: a full pass after a failure; after a fight, one
	// that may narrow (the fight's pass succeeded, and what goes on
	// shows in the events).
	retry struct {
		gen uint64
		why source.Trigger
	}
)

type loop struct {
	cfg     Config
	desired any
	sched   *scheduler.TimerScheduler
	self    *actor.PID
	bucket  *bucket

	pending bool // a pass is wanted
	// trigger is why the pending pass is wanted: the lowest (the one
	// that must look at most) of the reasons that asked for it.
	trigger source.Trigger
	resync  bool // the next pass is from scratch
	waiting bool // the first pass waits for a Resync

	inFlight bool
	seq      uint64
	started  time.Time
	passRes  bool // the in-flight pass is a resync
	passWhy  source.Trigger

	timerGen    uint64
	cancelTimer scheduler.CancelFunc // debounce or rate-limit delay
	retryGen    uint64
	cancelRetry scheduler.CancelFunc
	failures    int
	cancelTick  scheduler.CancelFunc
}

func (l *loop) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		l.start(ctx)
	case *actor.Restarting, *actor.Stopping:
		l.stopTimers()
	case source.Event:
		l.event(ctx, m)
	case *monitor.Wakeup:
		// Taken at once, so that the monitor may send the next one.
		if ev := m.Take(); ev != 0 {
			l.event(ctx, ev)
		}
	case *SetDesired:
		l.desired = m.Desired
		if !l.waiting {
			l.want(ctx, 0, source.TriggerFull)
		}
	case tick:
		if !l.waiting {
			l.want(ctx, 0, source.TriggerCheck)
		}
	case fire:
		if m.gen == l.timerGen && l.cancelTimer != nil {
			l.cancelTimer = nil
			l.run(ctx)
		}
	case retry:
		if m.gen == l.retryGen && l.cancelRetry != nil {
			l.cancelRetry = nil
			l.want(ctx, 0, m.why)
		}
	case *socket.PassResult:
		l.done(ctx, m)
	case *crash.Panic:
		panic(fmt.Errorf("reconciler: injected crash: %s", m.Reason))
	}
}

// event handles a wake-up from the monitor.
func (l *loop) event(ctx actor.Context, ev source.Event) {
	if ev == source.Resync {
		l.resync = true
		if l.waiting {
			l.waiting = false
			l.want(ctx, 0, source.TriggerFull)
			return
		}
	}
	if l.waiting {
		return // the first Resync will cover it
	}
	l.want(ctx, l.cfg.Debounce, source.TriggerEvents)
}

func (l *loop) start(ctx actor.Context) {
	l.self = ctx.Self()
	// Each incarnation numbers its passes from a random point. A restarted
	// reconciler keeps its PID (and the socket actor is re-spawned under the
	// same name), so a reply to the previous incarnation's pass can still
	// arrive; counting from 0 again would take it for this one's.
	l.seq = rand.Uint64()
	l.sched = scheduler.NewTimerScheduler(ctx.ActorSystem().Root)
	l.bucket = newBucket(l.cfg.Rate, l.cfg.Burst, time.Now())
	l.cancelTick = sendEvery(ctx.ActorSystem().Root, l.cfg.Interval, l.self, tick{})
	// A new incarnation knows nothing: its first pass is from scratch.
	l.resync = true
	if l.cfg.AwaitResync {
		l.waiting = true
		return
	}
	l.want(ctx, 0, source.TriggerFull)
}

func (l *loop) stopTimers() {
	for _, c := range []scheduler.CancelFunc{l.cancelTick, l.cancelTimer, l.cancelRetry} {
		if c != nil {
			c()
		}
	}
	l.cancelTick, l.cancelTimer, l.cancelRetry = nil, nil, nil
}

// want records that a pass is needed, for why, and runs it after delay
// (zero: now), unless a pass is running (it will follow that one) or a
// timer is already armed (it will serve this request too).
func (l *loop) want(ctx actor.Context, delay time.Duration, why source.Trigger) {
	if !l.pending || why < l.trigger {
		l.trigger = why
	}
	l.pending = true
	if l.inFlight || l.cancelTimer != nil {
		return
	}
	if delay > 0 {
		l.arm(delay)
		return
	}
	l.run(ctx)
}

func (l *loop) arm(delay time.Duration) {
	l.timerGen++
	l.cancelTimer = l.sched.SendOnce(delay, l.self, fire{gen: l.timerGen})
}

// run starts the pending pass if a token is available, or arms the timer
// for when one will be.
func (l *loop) run(ctx actor.Context) {
	if l.inFlight || !l.pending {
		return
	}
	now := time.Now()
	if wait := l.bucket.take(now); wait > 0 {
		l.arm(wait)
		return
	}
	l.pending = false
	l.passRes, l.resync = l.resync, false
	l.passWhy = l.trigger
	if l.passRes {
		l.passWhy = source.TriggerFull // from scratch
	}
	l.seq++
	l.inFlight = true
	l.started = now
	ctx.Request(l.cfg.Socket, &socket.Pass{Seq: l.seq, Desired: l.desired, Trigger: l.passWhy})
}

func (l *loop) done(ctx actor.Context, m *socket.PassResult) {
	if !l.inFlight || m.Seq != l.seq {
		return // a reply to an earlier incarnation's request (see start)
	}
	l.inFlight = false
	ctx.Send(ctx.Parent(), &PassDone{Report: m.Report, Started: l.started, Resync: l.passRes, Trigger: l.passWhy})
	switch err := m.Report.Err; {
	case err == nil:
		l.failures = 0
		if l.cancelRetry != nil {
			l.cancelRetry()
			l.cancelRetry = nil
		}
	case errors.Is(err, source.ErrScopeGone):
		// Nothing to retry: the supervisor stops the scope.
		return
	case errors.Is(err, source.ErrDegraded):
		// Not a failed pass: each object that fails backs off on its own
		// (the source keeps that state). Look again when the first is due,
		// and otherwise on events and the interval, as a converged scope.
		l.failures = 0
		if l.cancelRetry != nil {
			l.cancelRetry()
			l.cancelRetry = nil
		}
		if d := m.Report.RetryIn; d > 0 {
			l.retryGen++
			l.cancelRetry = l.sched.SendOnce(min(d, l.cfg.Interval), l.self, retry{gen: l.retryGen})
		}
	case errors.Is(err, source.ErrFighting):
		// Converged, for now: look again soon, without backing off, so
		// that the end of the fight shows as soon as it ends.
		l.failures = 0
		if l.cancelRetry == nil {
			l.retryGen++
			l.cancelRetry = l.sched.SendOnce(min(fightRecheck, l.cfg.Interval), l.self, retry{gen: l.retryGen, why: source.TriggerEvents})
		}
	default:
		l.failures++
		if l.cancelRetry == nil {
			l.retryGen++
			l.cancelRetry = l.sched.SendOnce(backoff(l.failures, l.cfg.Interval), l.self, retry{gen: l.retryGen, why: source.TriggerFull})
		}
	}
	if l.pending {
		// Events that arrived during the pass have waited long enough.
		l.run(ctx)
	}
}

// backoff returns the delay before retry n (1-based): 100 ms doubling,
// capped at limit.
func backoff(n int, limit time.Duration) time.Duration {
	d := minRetry
	for i := 1; i < n && d < limit; i++ {
		d *= 2
	}
	return min(d, limit)
}
