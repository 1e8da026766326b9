package supervisor

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/linx-net/linx/actors/internal/crash"
	"github.com/linx-net/linx/actors/source"
	"github.com/linx-net/linx/messages"
)

// ReasonStopped is the reason of a scope stopped by StopScope.
const ReasonStopped = "stopped by request"

// ReasonNodeStopping is the reason of a scope stopped because its node is
// shutting down.
const ReasonNodeStopping = "the node is stopping"

// errNodeStopping is the node's answer, once it is stopping, to any request
// that would start work (a spawn, an update, an injected crash): nothing
// started then would ever be stopped.
var errNodeStopping = errors.New("node is stopping")

// scopeRec is the node's record of one scope. It outlives the scope's
// actors: a failed or stopped scope stays listed with its last status.
type scopeRec struct {
	name     string
	pid      *actor.PID // nil once the scope's actors are gone
	src      source.Source
	desired  *desiredBox
	spec     Spec // as spawned, its desired state the current one (as checked)
	claim    Claim
	status   *messages.ScopeStatus
	crashes  []time.Time // within the restart window
	stopping bool        // a stop was asked for; reason is in stopWhy
	stopWhy  string
	forget   bool
	// waiting: no actors run because the scope is absent (phase waiting);
	// round is the wait under way and waitDelay its backoff.
	waiting   bool
	round     *waitRound
	waitDelay time.Duration
	// rewait: the scope's actors stop because it vanished
	// (source.ErrScopeAbsent, in goneErr): once they have, it waits.
	rewait  bool
	goneErr error
}

func (r *scopeRec) running() bool { return r.pid != nil }

// active reports whether the scope runs or waits to run: it holds its
// name and its claim.
func (r *scopeRec) active() bool { return r.running() || r.waiting }

// nodeActor is the node supervisor: one child (a scopeActor) per scope, each
// restarted on its own (one-for-one) so one scope's failure never touches
// another. It owns every scope's status and the subscribers.
type nodeActor struct {
	cfg    Config
	system *actor.ActorSystem
	self   *actor.PID
	scopes map[string]*scopeRec
	byPID  map[string]*scopeRec // scope supervisor PID id -> record
	subs   map[string]*actor.PID
	seq    int
	// stopping is set on *actor.Stopping. protoactor still delivers
	// messages to a stopping actor, but a child spawned then is never
	// stopped (the node has already stopped its children), so the node
	// would wait for it forever: from then on nothing new starts.
	stopping bool
	// longestPass is the longest pass timeout of any scope spawned (or
	// Config.PassTimeout), shared with Node to bound Shutdown.
	longestPass *atomic.Int64
	// waitSeq numbers wait rounds; waits counts their goroutines, which
	// end when the node stops.
	waitSeq uint64
	waits   sync.WaitGroup
}

var _ actor.SupervisorStrategy = (*nodeActor)(nil)

func newNodeActor(cfg Config, longestPass *atomic.Int64) *nodeActor {
	return &nodeActor{
		cfg:         cfg,
		longestPass: longestPass,
		scopes:      map[string]*scopeRec{},
		byPID:       map[string]*scopeRec{},
		subs:        map[string]*actor.PID{},
	}
}

func (n *nodeActor) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		n.system, n.self = ctx.ActorSystem(), ctx.Self()
	case *actor.Stopping:
		n.markStopping()
	case *retryWaiting:
		n.retryWaiting(ctx, m)
	case *messages.SpawnScope:
		respond(ctx, n.spawnMessage(ctx, m))
	case *spawnSpec:
		ctx.Respond(&goReply{err: n.spawn(ctx, m.spec)})
	case *messages.StopScope:
		respond(ctx, n.stop(ctx, m))
	case *messages.UpdateDesired:
		respond(ctx, n.updateMessage(ctx, m))
	case *updateSpec:
		ctx.Respond(&goReply{err: n.update(ctx, m.name, m.desired)})
	case *listStopped:
		respond(ctx, n.listStopped(m))
	case *messages.GetStatus:
		if r := n.scopes[m.GetName()]; r != nil {
			ctx.Respond(proto.Clone(r.status))
		} else {
			respond(ctx, fmt.Errorf("no scope named %q", m.GetName()))
		}
	case *messages.ListScopes:
		ctx.Respond(n.list())
	case *messages.Subscribe:
		respond(ctx, n.subscribe(ctx, m.GetSubscriber()))
	case *messages.Unsubscribe:
		respond(ctx, n.unsubscribe(ctx, m.GetSubscriber()))
	case *scopePass:
		n.pass(m)
	case *scopeOverrun:
		if r := n.live(m.from); r != nil {
			r.status.MonitorOverruns += uint32(m.n)
			n.publish(r)
		}
	case *scopeGone:
		if r := n.live(m.from); r != nil && !r.stopping {
			if errors.Is(m.err, source.ErrScopeAbsent) {
				// It may come back: waited for once the actors are gone.
				r.rewait, r.goneErr = true, m.err
			} else {
				n.cfg.Logger.Info("scope is gone, stopping it", "scope", r.name, "reason", m.err)
			}
			r.stopping, r.stopWhy = true, m.err.Error()
			ctx.Stop(r.pid)
		}
	case *actor.Terminated:
		n.terminated(ctx, m.Who)
	case *crash.Inject:
		if n.stopping {
			respond(ctx, fmt.Errorf("injecting a crash into scope %q: %w", m.Scope, errNodeStopping))
		} else if r := n.scopes[m.Scope]; r != nil && r.running() {
			ctx.Send(r.pid, m)
			respond(ctx, nil)
		} else {
			respond(ctx, fmt.Errorf("no running scope named %q", m.Scope))
		}
	}
}

// markStopping records that the node is stopping: protoactor is stopping
// every scope's actors, so each running scope is marked stopping too, which
// makes the node refuse updates to it and stop rather than restart it after
// a crash.
func (n *nodeActor) markStopping() {
	n.stopping = true
	for _, r := range n.scopes {
		r.rewait = false
		if r.waiting {
			n.stopWaiting(r, ReasonNodeStopping)
		}
		if r.running() && !r.stopping {
			r.stopping, r.stopWhy = true, ReasonNodeStopping
		}
	}
	// Each round's goroutine returns as soon as its round is ended.
	n.waits.Wait()
}

func respond(ctx actor.Context, err error) {
	if ctx.Sender() == nil {
		return
	}
	ack := &messages.Ack{}
	if err != nil {
		ack.Error = err.Error()
	}
	ctx.Respond(ack)
}

// spawnMessage converts a SpawnScope message with Config.Spec and
// spawns it.
func (n *nodeActor) spawnMessage(ctx actor.Context, m *messages.SpawnScope) error {
	if n.stopping {
		return fmt.Errorf("spawning scope %q: %w", m.GetName(), errNodeStopping)
	}
	var spec Spec
	if n.cfg.Spec != nil {
		s, err := n.cfg.Spec(m)
		if err != nil {
			return fmt.Errorf("spawning scope %q: %w", m.GetName(), err)
		}
		spec = s
	} else {
		d, err := n.convert(m.GetDesired())
		if err != nil {
			return fmt.Errorf("spawning scope %q: desired state: %w", m.GetName(), err)
		}
		spec = MessageSpec(m, d)
		spec.Source = m
	}
	return n.spawn(ctx, spec)
}

func (n *nodeActor) spawn(ctx actor.Context, spec Spec) error {
	name := spec.Name
	if n.stopping {
		return fmt.Errorf("spawning scope %q: %w", name, errNodeStopping)
	}
	if name == "" || strings.ContainsAny(name, "/ \t\n") {
		return fmt.Errorf("spawning scope %q: name must be non-empty, without '/' or spaces", name)
	}
	if old := n.scopes[name]; old != nil && old.running() {
		return fmt.Errorf("spawning scope %q: already running", name)
	} else if old != nil && old.waiting {
		return fmt.Errorf("spawning scope %q: already spawned, waiting for its namespace", name)
	}
	desired, err := n.check(spec.Desired)
	if err != nil {
		return fmt.Errorf("spawning scope %q: desired state: %w", name, err)
	}
	spec.Desired = desired
	box := &desiredBox{}
	box.store(desired)
	r := &scopeRec{
		name:    name,
		desired: box,
		spec:    spec,
		status:  &messages.ScopeStatus{Name: name, Phase: messages.Phase_PHASE_STARTING},
	}
	// Checked before NewSource, which may touch the namespace.
	// A namespace not there yet is accepted and waited for; what the
	// scope claims is checked once it is there.
	wait := func(err error) error {
		n.scopes[name] = r
		n.await(r, err, nil, nil)
		return nil
	}
	claim, err := n.claimOf(spec)
	if errors.Is(err, source.ErrScopeAbsent) {
		return wait(err)
	}
	if err != nil {
		return fmt.Errorf("spawning scope %q: %w", name, err)
	}
	if err := n.checkClaim(name, claim); err != nil {
		return fmt.Errorf("spawning scope %q: %w", name, err)
	}
	r.claim = claim
	src, err := n.cfg.NewSource(spec)
	if errors.Is(err, source.ErrScopeAbsent) {
		return wait(err)
	}
	if err != nil {
		return fmt.Errorf("spawning scope %q: %w", name, err)
	}
	if src == nil {
		return fmt.Errorf("spawning scope %q: NewSource returned no source", name)
	}
	if err := n.startActors(ctx, r, src); err != nil {
		return fmt.Errorf("spawning scope %q: %w", name, err)
	}
	n.scopes[name] = r
	n.publish(r)
	return nil
}

// startActors spawns the actors of scope r on src. It closes src when
// they cannot be spawned.
func (n *nodeActor) startActors(ctx actor.Context, r *scopeRec, src source.Source) error {
	name, box := r.name, r.desired
	loop, logger := n.cfg.loopFor(r.spec), n.cfg.Logger.With("scope", name)
	if int64(loop.passTimeout) > n.longestPass.Load() {
		// Only this actor writes it, so load-then-store does not race.
		n.longestPass.Store(int64(loop.passTimeout))
	}
	props := actor.PropsFromProducer(func() actor.Actor {
		return &scopeActor{name: name, src: src, desired: box, loop: loop, logger: logger}
	})
	// A fresh suffix keeps the name free even while a replaced scope of the
	// same name is still stopping.
	n.seq++
	pid, err := ctx.SpawnNamed(props, "scope-"+name+"-"+strconv.Itoa(n.seq))
	if err != nil {
		closeSource(src, logger)
		return err
	}
	r.src, r.pid = src, pid
	n.byPID[pid.Id] = r
	return nil
}

func (n *nodeActor) convert(d *messages.Desired) (any, error) {
	if n.cfg.Desired == nil {
		return d, nil
	}
	return n.cfg.Desired(d)
}

// check validates a desired state with Config.Check, or its own
// Validate method: once per spawn or update.
func (n *nodeActor) check(d any) (any, error) {
	if n.cfg.Check != nil {
		return n.cfg.Check(d)
	}
	return d, validate(d)
}

func (n *nodeActor) stop(ctx actor.Context, m *messages.StopScope) error {
	r := n.scopes[m.GetName()]
	if r == nil {
		return fmt.Errorf("stopping scope %q: no such scope", m.GetName())
	}
	if r.waiting {
		n.stopWaiting(r, ReasonStopped)
	}
	if !r.running() {
		if m.GetForget() {
			delete(n.scopes, r.name)
		}
		return nil
	}
	r.forget = r.forget || m.GetForget()
	if r.rewait {
		// Stopping because it vanished: stopped for good now.
		r.rewait, r.stopWhy = false, ReasonStopped
	}
	if !r.stopping {
		r.stopping, r.stopWhy = true, ReasonStopped
		ctx.Stop(r.pid)
	}
	return nil
}

// updateMessage converts an UpdateDesired message's desired state with
// Config.Desired and applies it.
func (n *nodeActor) updateMessage(ctx actor.Context, m *messages.UpdateDesired) error {
	if n.stopping {
		return fmt.Errorf("updating scope %q: %w", m.GetName(), errNodeStopping)
	}
	if r := n.scopes[m.GetName()]; r == nil || !r.active() || r.stopping {
		return n.update(ctx, m.GetName(), nil) // the same refusal
	}
	d, err := n.convert(m.GetDesired())
	if err != nil {
		return fmt.Errorf("updating scope %q: desired state: %w", m.GetName(), err)
	}
	return n.update(ctx, m.GetName(), d)
}

func (n *nodeActor) update(ctx actor.Context, name string, d any) error {
	if n.stopping {
		return fmt.Errorf("updating scope %q: %w", name, errNodeStopping)
	}
	r := n.scopes[name]
	if r == nil || !r.active() {
		return fmt.Errorf("updating scope %q: no running scope of that name", name)
	}
	if r.stopping {
		// Its actors are on their way out (stopped, gone or failed):
		// nothing would ever apply the new desired state.
		return fmt.Errorf("updating scope %q: its actors are stopping (%s); spawn it again once it has stopped", r.name, r.stopWhy)
	}
	d, err := n.check(d)
	if err != nil {
		return fmt.Errorf("updating scope %q: desired state: %w", r.name, err)
	}
	spec := r.spec
	spec.Desired = d
	claim, err := n.claimOf(spec)
	if err != nil && r.waiting && errors.Is(err, source.ErrScopeAbsent) {
		// Checked when the namespace is there.
		claim, err = Claim{}, nil
	}
	if err != nil {
		return fmt.Errorf("updating scope %q: %w", r.name, err)
	}
	if err := n.checkClaim(r.name, claim); err != nil {
		return fmt.Errorf("updating scope %q: %w", r.name, err)
	}
	r.claim, r.spec = claim, spec
	// Stored first: a restart racing with this message starts from it,
	// and a waiting scope starts with it.
	r.desired.store(d)
	if r.waiting {
		return nil
	}
	ctx.Send(r.pid, &setDesired{desired: d})
	if r.status.Phase == messages.Phase_PHASE_CONVERGED || r.status.Phase == messages.Phase_PHASE_DEGRADED {
		r.status.Phase = messages.Phase_PHASE_CONVERGING
		n.publish(r)
	}
	return nil
}

func (n *nodeActor) list() *messages.ScopeList {
	l := &messages.ScopeList{Scopes: make([]*messages.ScopeStatus, 0, len(n.scopes))}
	for _, r := range n.scopes {
		l.Scopes = append(l.Scopes, proto.Clone(r.status).(*messages.ScopeStatus))
	}
	slices.SortFunc(l.Scopes, func(a, b *messages.ScopeStatus) int { return strings.Compare(a.Name, b.Name) })
	return l
}

func (n *nodeActor) subscribe(ctx actor.Context, pid *actor.PID) error {
	if pid == nil {
		return errors.New("subscribing: no subscriber PID")
	}
	key := pid.Address + "/" + pid.Id
	if _, ok := n.subs[key]; ok {
		return nil
	}
	n.subs[key] = pid
	// Watched so that a subscriber that dies is dropped.
	ctx.Watch(pid)
	for _, s := range n.list().Scopes {
		ctx.Send(pid, s)
	}
	return nil
}

func (n *nodeActor) unsubscribe(ctx actor.Context, pid *actor.PID) error {
	if pid == nil {
		return errors.New("unsubscribing: no subscriber PID")
	}
	key := pid.Address + "/" + pid.Id
	if _, ok := n.subs[key]; ok {
		delete(n.subs, key)
		ctx.Unwatch(pid)
	}
	return nil
}

// live returns the record of a running scope whose current supervisor is
// pid, or nil for events from a replaced or finished incarnation.
func (n *nodeActor) live(pid *actor.PID) *scopeRec {
	r := n.byPID[pid.Id]
	if r == nil || !r.running() || r.status.Phase == messages.Phase_PHASE_FAILED {
		return nil
	}
	return r
}

func (n *nodeActor) pass(m *scopePass) {
	r := n.live(m.from)
	if r == nil || r.stopping {
		return
	}
	rep, st := m.done.Report, r.status
	before := quiet(st)
	st.Passes++
	st.LastPass = timestamppb.New(m.done.Started)
	st.LastPassDuration = durationpb.New(rep.Duration)
	st.OpsApplied = uint32(rep.Applied)
	st.Conflicts = uint32(rep.Conflicts)
	if m.done.Resync {
		st.Resyncs++
	}
	if rep.Narrowed {
		st.NarrowedPasses++
	}
	for kind, n := range rep.Drift {
		if st.DriftRepaired == nil {
			st.DriftRepaired = make(map[string]uint64)
		}
		st.DriftRepaired[kind] += uint64(n)
	}
	st.LastError = ""
	if rep.Err != nil {
		st.LastError = rep.Err.Error()
	}
	switch {
	case rep.Converged && rep.Err == nil:
		st.Phase = messages.Phase_PHASE_CONVERGED
	case errors.Is(rep.Err, source.ErrDegraded):
		st.Phase = messages.Phase_PHASE_DEGRADED
	default:
		st.Phase = messages.Phase_PHASE_CONVERGING
	}
	if rep.Err == nil || errors.Is(rep.Err, source.ErrDegraded) || errors.Is(rep.Err, source.ErrFighting) {
		// The pass ran to its end: its objects replace the last ones. A
		// pass that failed early says nothing of them.
		st.Objects, st.ObjectsOmitted = objectStatuses(rep.Objects)
		st.ObjectCounts = objectCounts(rep.Counts)
	}
	// A pass that changed nothing and found nothing new (the idle interval
	// pass) is not news: subscribers hear of changes only.
	if st.OpsApplied > 0 || !proto.Equal(before, quiet(st)) {
		n.publish(r)
	}
}

// quiet returns a copy of st without the fields every pass changes.
func quiet(st *messages.ScopeStatus) *messages.ScopeStatus {
	c := proto.Clone(st).(*messages.ScopeStatus)
	c.LastPass, c.LastPassDuration, c.Passes, c.NarrowedPasses = nil, nil, 0, 0
	for _, o := range c.Objects {
		o.RetryAt = nil
	}
	return c
}

// MaxStatusObjects bounds the unconverged objects a ScopeStatus lists;
// ObjectsOmitted counts the rest. Twenty is a screenful, and enough to
// show the failures that block the rest (they come first).
const MaxStatusObjects = 20

// objectStatuses returns the first MaxStatusObjects of objects as
// messages, and how many were left out.
func objectStatuses(objects []source.Object) ([]*messages.ObjectStatus, uint32) {
	if len(objects) == 0 {
		return nil, 0
	}
	n := min(len(objects), MaxStatusObjects)
	out := make([]*messages.ObjectStatus, n)
	for i, o := range objects[:n] {
		out[i] = &messages.ObjectStatus{Kind: o.Kind, Key: o.Key, State: o.State, Error: o.Err, By: o.By}
		if !o.RetryAt.IsZero() {
			out[i].RetryAt = timestamppb.New(o.RetryAt)
		}
	}
	return out, uint32(len(objects) - n)
}

// objectCounts returns counts as messages.
func objectCounts(counts []source.Count) []*messages.ObjectCount {
	if len(counts) == 0 {
		return nil
	}
	out := make([]*messages.ObjectCount, len(counts))
	for i, c := range counts {
		out[i] = &messages.ObjectCount{Kind: c.Kind, Desired: uint32(c.Desired), Failed: uint32(c.Failed),
			Blocked: uint32(c.Blocked), Conflict: uint32(c.Conflict)}
	}
	return out
}

// HandleFailure is the node's supervision of its scopes, run on the node's
// own goroutine: a crash anywhere in a scope restarts that scope's subtree,
// unless the scope has crashed more than MaxRestarts times within
// RestartWindow, in which case it is stopped and marked failed. Once the
// node is stopping, a crash stops the scope instead: a restart would undo
// the stop protoactor has already sent it.
func (n *nodeActor) HandleFailure(_ *actor.ActorSystem, sup actor.Supervisor, child *actor.PID, _ *actor.RestartStatistics, reason, _ any) {
	r := n.byPID[child.Id]
	if n.stopping || r == nil || !r.running() || r.stopping || r.status.Phase == messages.Phase_PHASE_FAILED {
		sup.StopChildren(child)
		return
	}
	now := time.Now()
	r.crashes = slices.DeleteFunc(r.crashes, func(t time.Time) bool { return now.Sub(t) >= n.cfg.RestartWindow })
	r.crashes = append(r.crashes, now)
	st := r.status
	if n.cfg.MaxRestarts < 0 || len(r.crashes) > n.cfg.MaxRestarts {
		st.Phase = messages.Phase_PHASE_FAILED
		st.Reason = fmt.Sprintf("crashed %d times within %s (limit %d); last crash: %v",
			len(r.crashes), n.cfg.RestartWindow, max(n.cfg.MaxRestarts, 0), reason)
		n.cfg.Logger.Error("scope failed", "scope", r.name, "reason", st.Reason)
		// Its actors stop now, but only once a pass in flight returns:
		// until their Terminated the scope is still running and stopping.
		r.stopping, r.stopWhy = true, "failed: "+st.Reason
		sup.StopChildren(child)
		n.publish(r)
		return
	}
	st.Restarts++
	st.Phase = messages.Phase_PHASE_STARTING
	st.Reason = fmt.Sprintf("restarted after a crash: %v", reason)
	n.cfg.Logger.Warn("scope crashed, restarting it", "scope", r.name, "reason", reason, "restarts", st.Restarts)
	sup.RestartChildren(child)
	n.publish(r)
}

// terminated handles the end of a watched actor: a scope supervisor (a
// child) or a subscriber. A Terminated is acted on only when it names the
// current incarnation of a scope exactly and that child is really gone:
// one forged by a peer, or a stale one, must not close the Source and mark
// the scope stopped while its actors keep running.
func (n *nodeActor) terminated(ctx actor.Context, who *actor.PID) {
	if who == nil {
		return
	}
	r := n.byPID[who.Id]
	if r == nil {
		// A subscriber went away.
		delete(n.subs, who.Address+"/"+who.Id)
		return
	}
	if r.pid == nil || !r.pid.Equal(who) {
		return
	}
	if slices.ContainsFunc(ctx.Children(), who.Equal) {
		n.cfg.Logger.Warn("ignoring a Terminated for a scope whose actors still run", "scope", r.name, "pid", who.String())
		return
	}
	delete(n.byPID, who.Id)
	r.pid = nil
	closeSource(r.src, n.cfg.Logger.With("scope", r.name))
	r.src = nil
	if r.rewait && !n.stopping && !r.forget && n.scopes[r.name] == r && r.status.Phase != messages.Phase_PHASE_FAILED {
		// Its namespace vanished: it waits for it to come back (a try
		// first, in case it already has).
		r.rewait, r.stopping, r.stopWhy = false, false, ""
		n.cfg.Logger.Warn("scope waiting: its namespace vanished; it starts again as soon as it appears",
			"scope", r.name, "reason", r.goneErr.Error())
		r.waiting, r.waitDelay = true, 0
		r.status.Phase, r.status.LastError = messages.Phase_PHASE_WAITING, ""
		r.status.Reason = "waiting for its namespace: " + r.goneErr.Error()
		n.publish(r)
		n.tryStart(ctx, r)
		return
	}
	if r.status.Phase != messages.Phase_PHASE_FAILED {
		r.status.Phase = messages.Phase_PHASE_STOPPED
		r.status.Reason = r.stopWhy
		if !r.stopping {
			r.status.Reason = "the scope's actors terminated unexpectedly"
		}
	}
	n.publish(r)
	if r.forget && n.scopes[r.name] == r {
		delete(n.scopes, r.name)
	}
}

func closeSource(src source.Source, logger interface{ Warn(string, ...any) }) {
	if c, ok := src.(io.Closer); ok {
		if err := c.Close(); err != nil {
			logger.Warn("closing the scope's source", "err", err)
		}
	}
}

// publish sends a copy of r's status to every subscriber.
func (n *nodeActor) publish(r *scopeRec) {
	for _, pid := range n.subs {
		n.system.Root.Send(pid, proto.Clone(r.status))
	}
}
