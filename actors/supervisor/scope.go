package supervisor

import (
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/linx-net/linx/actors/internal/crash"
	"github.com/linx-net/linx/actors/monitor"
	"github.com/linx-net/linx/actors/reconciler"
	"github.com/linx-net/linx/actors/socket"
	"github.com/linx-net/linx/actors/source"
)

// loopConfig is one scope's loop settings after defaults.
type loopConfig struct {
	interval, debounce, passTimeout time.Duration
	rate                            float64
	burst                           int
	noMonitor                       bool
}

// desiredBox holds a scope's current desired state. The node writes it and
// every incarnation of the scope's reconciler starts from it, so an update
// survives a restart. It is shared across goroutines, hence atomic.
type desiredBox struct{ v atomic.Pointer[any] }

func (b *desiredBox) load() any {
	if p := b.v.Load(); p != nil {
		return *p
	}
	return nil
}

func (b *desiredBox) store(d any) { b.v.Store(&d) }

// Messages from a scope supervisor to the node. Each carries the scope
// supervisor's PID (the node ignores events from a scope it replaced).
type (
	scopePass struct {
		from *actor.PID
		done *reconciler.PassDone
	}
	scopeOverrun struct {
		from *actor.PID
		n    uint64
	}
	scopeGone struct {
		from *actor.PID
		err  error
	}
)

// setDesired goes from the node to a scope supervisor.
type setDesired struct{ desired any }

// scopeActor supervises one scope's socket, monitor and reconciler. It
// escalates every child failure to the node, which restarts this actor: on
// restart protoactor stops all three children, sends *actor.Restarting and
// then *actor.Started, where fresh children are spawned. That is the
// all-for-one restart of the subtree; the Source (and its ledger) outlives
// it.
type scopeActor struct {
	name    string
	src     source.Source
	desired *desiredBox
	loop    loopConfig
	logger  *slog.Logger

	socket, monitor, reconciler *actor.PID
}

var _ actor.SupervisorStrategy = (*scopeActor)(nil)

func (a *scopeActor) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		a.spawnChildren(ctx)
	case *reconciler.PassDone:
		ctx.Send(ctx.Parent(), &scopePass{from: ctx.Self(), done: m})
	case *monitor.Overrun:
		ctx.Send(ctx.Parent(), &scopeOverrun{from: ctx.Self(), n: m.N})
	case *monitor.Gone:
		ctx.Send(ctx.Parent(), &scopeGone{from: ctx.Self(), err: m.Err})
	case *socket.Gone:
		ctx.Send(ctx.Parent(), &scopeGone{from: ctx.Self(), err: m.Err})
	case *setDesired:
		if a.reconciler != nil {
			ctx.Send(a.reconciler, &reconciler.SetDesired{Desired: m.desired})
		}
	case *crash.Inject:
		p := &crash.Panic{Reason: m.Reason}
		switch m.Actor {
		case "socket":
			ctx.Send(a.socket, p)
		case "monitor":
			ctx.Send(a.monitor, p)
		case "reconciler":
			ctx.Send(a.reconciler, p)
		case "scope":
			panic(fmt.Errorf("scope %s: injected crash: %s", a.name, m.Reason))
		}
	}
}

func (a *scopeActor) spawnChildren(ctx actor.Context) {
	// An error here is a bug in this package (every field is set): panic, so
	// the node counts it like any other crash.
	spawn := func(role string, props *actor.Props, err error) *actor.PID {
		if err == nil {
			var pid *actor.PID
			if pid, err = ctx.SpawnNamed(props, role); err == nil {
				return pid
			}
		}
		panic(fmt.Errorf("scope %s: spawning the %s actor: %w", a.name, role, err))
	}
	props, err := socket.Props(socket.Config{
		Source:      a.src,
		PassTimeout: a.loop.passTimeout,
		Logger:      a.logger,
	})
	a.socket = spawn("socket", props, err)
	props, err = reconciler.Props(reconciler.Config{
		Socket:      a.socket,
		Desired:     a.desired.load(),
		Interval:    a.loop.interval,
		Debounce:    a.loop.debounce,
		Rate:        a.loop.rate,
		Burst:       a.loop.burst,
		AwaitResync: true,
		Logger:      a.logger,
	})
	a.reconciler = spawn("reconciler", props, err)
	props, err = monitor.Props(monitor.Config{
		Source:   a.src,
		Target:   a.reconciler,
		Disabled: a.loop.noMonitor,
		Logger:   a.logger,
	})
	a.monitor = spawn("monitor", props, err)
}

// HandleFailure makes a crash of any child a crash of the whole scope: the
// node decides whether to restart it (all three children with it) or, past
// the restart limit, to stop it and mark it failed.
func (a *scopeActor) HandleFailure(_ *actor.ActorSystem, sup actor.Supervisor, _ *actor.PID, _ *actor.RestartStatistics, reason, message any) {
	sup.EscalateFailure(reason, message)
}
