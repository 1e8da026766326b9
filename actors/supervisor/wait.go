package supervisor

import (
	"context"
	"errors"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/linx-net/linx/actors/source"
	"github.com/linx-net/linx/messages"
)

// A scope whose Claim or Source reports it absent (source.ErrScopeAbsent:
// for a path: namespace, a file that does not exist yet or was removed)
// waits, with phase PHASE_WAITING, instead of being refused or stopped for
// good. The node tries again after a backoff (Config.WaitRetry, doubling
// up to Config.WaitRetryMax), and at once when Config.Appear says the
// namespace may have appeared; the first try that succeeds starts the
// scope's actors. A try checks the scope's claim first (a claim names the
// namespace by identity, which only a namespace that is there has): one
// that overlaps a running scope's fails the scope. A waiting scope holds
// its name, takes updates (the new desired state is the one it starts
// with) and is stopped like any other.

// waitRound is one wait between two tries of a waiting scope.
type waitRound struct {
	gen    uint64
	cancel context.CancelFunc
	stop   func() // releases Config.Appear's watch
}

// retryWaiting goes from a wait round's goroutine to the node: time to
// try the scope's NewSource again. woke reports that Config.Appear saw
// something, which restarts the backoff from a tenth of WaitRetry.
type retryWaiting struct {
	name string
	gen  uint64
	woke bool
}

// appear starts Config.Appear's watch for spec, a no-op without one.
func (n *nodeActor) appear(spec Spec) (<-chan struct{}, func()) {
	if n.cfg.Appear == nil {
		return nil, func() {}
	}
	ch, stop := n.cfg.Appear(spec)
	if stop == nil {
		stop = func() {}
	}
	return ch, stop
}

// await puts r in phase waiting because of why (an error wrapping
// source.ErrScopeAbsent) and starts a wait round with the watch appeared
// (stop releases it; nil: a watch is started here). The first wait of a
// run of them is logged at WARN; the tries that follow are not logged.
func (n *nodeActor) await(r *scopeRec, why error, appeared <-chan struct{}, stop func()) {
	st := r.status
	reason := "waiting for its namespace: " + why.Error()
	if !r.waiting {
		r.waiting, r.waitDelay = true, 0
		n.cfg.Logger.Warn("scope waiting: its namespace is not there; it starts as soon as it appears",
			"scope", r.name, "reason", why.Error())
	}
	if st.Phase != messages.Phase_PHASE_WAITING || st.Reason != reason {
		st.Phase, st.Reason, st.LastError = messages.Phase_PHASE_WAITING, reason, ""
		n.publish(r)
	}
	if stop == nil {
		appeared, stop = n.appear(r.spec)
	}
	if r.waitDelay == 0 {
		r.waitDelay = n.cfg.WaitRetry
	} else {
		r.waitDelay = min(2*r.waitDelay, n.cfg.WaitRetryMax)
	}
	n.waitSeq++
	gen, delay := n.waitSeq, r.waitDelay
	ctx, cancel := context.WithCancel(context.Background())
	r.round = &waitRound{gen: gen, cancel: cancel, stop: stop}
	system, self, name := n.system, n.self, r.name
	n.waits.Add(1)
	go func() {
		defer n.waits.Done()
		t := time.NewTimer(delay)
		defer t.Stop()
		woke := false
		select {
		case <-t.C:
		case <-appeared:
			woke = true
		case <-ctx.Done():
			return
		}
		system.Root.Send(self, &retryWaiting{name: name, gen: gen, woke: woke})
	}()
}

// endRound ends r's wait round, if any: its goroutine returns without
// sending anything and its watch is released.
func (n *nodeActor) endRound(r *scopeRec) {
	if r.round == nil {
		return
	}
	r.round.cancel()
	r.round.stop()
	r.round = nil
}

// retryWaiting tries again to start the waiting scope a round ended for.
func (n *nodeActor) retryWaiting(ctx actor.Context, m *retryWaiting) {
	r := n.scopes[m.name]
	if n.stopping || r == nil || !r.waiting || r.round == nil || r.round.gen != m.gen {
		return // a stale round's
	}
	n.endRound(r)
	if m.woke {
		// Something happened: the scope is likely there, or about to
		// be (`ip netns add` creates the file, then makes the namespace
		// and mounts it there, which no watch sees). Look again soon:
		// after a tenth of WaitRetry, doubling from there.
		r.waitDelay = n.cfg.WaitRetry / 20
	}
	n.tryStart(ctx, r)
}

// tryStart builds r's Source and starts its actors: r waits again if the
// Source reports it absent, and is marked failed if it cannot start for
// another reason (nobody is left to hear a refusal). The watch for the
// next round is started before the try, so that nothing that happens
// during the try goes unseen.
func (n *nodeActor) tryStart(ctx actor.Context, r *scopeRec) {
	appeared, stop := n.appear(r.spec)
	// Its claim names the namespace by identity: known only now.
	claim, err := n.claimOf(r.spec)
	if err == nil {
		err = n.checkClaim(r.name, claim)
	}
	var src source.Source
	if err == nil {
		src, err = n.cfg.NewSource(r.spec)
	}
	if err != nil && errors.Is(err, source.ErrScopeAbsent) {
		n.await(r, err, appeared, stop)
		return
	}
	stop()
	if err == nil && src == nil {
		err = errors.New("NewSource returned no source")
	}
	if err == nil {
		r.claim = claim
		err = n.startActors(ctx, r, src)
	}
	waited := r.waiting
	r.waiting, r.waitDelay = false, 0
	st := r.status
	if err != nil {
		st.Phase = messages.Phase_PHASE_FAILED
		st.Reason = "its namespace is there, but the scope cannot start: " + err.Error()
		n.cfg.Logger.Error("scope failed", "scope", r.name, "reason", st.Reason)
		n.publish(r)
		return
	}
	st.Phase, st.Reason = messages.Phase_PHASE_STARTING, ""
	if waited {
		n.cfg.Logger.Warn("scope's namespace appeared: the scope starts", "scope", r.name)
	}
	n.publish(r)
}

// stopWaiting stops waiting scope r: phase stopped with reason why.
func (n *nodeActor) stopWaiting(r *scopeRec, why string) {
	n.endRound(r)
	r.waiting, r.waitDelay = false, 0
	r.status.Phase, r.status.Reason = messages.Phase_PHASE_STOPPED, why
	n.publish(r)
}
