package supervisor

import (
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/linx-net/linx/messages"
)

// Node is a running node supervisor inside an actor system, with helpers
// that send it requests and wait for the reply: Spawn and Update in Go
// types (a Spec, a desired state), the others as the messages of package
// messages. Any actor (local, or remote when protoactor remote is enabled)
// may send the messages to PID directly instead, SpawnScope and
// UpdateDesired included (converted by Config.Spec and Config.Desired).
type Node struct {
	system  *actor.ActorSystem
	pid     *actor.PID
	timeout time.Duration
	// shutdown is Config.ShutdownTimeout; zero derives the bound from
	// longestPass, which the node actor raises as it spawns scopes.
	shutdown    time.Duration
	longestPass *atomic.Int64
}

// Start spawns a node supervisor in system, named cfg.Name. It returns an
// error if cfg is invalid (no NewSource) or the name is taken.
func Start(system *actor.ActorSystem, cfg Config) (*Node, error) {
	if system == nil {
		return nil, errors.New("supervisor: starting a node: nil actor system")
	}
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	longest := new(atomic.Int64)
	longest.Store(int64(cfg.PassTimeout))
	props := actor.PropsFromProducer(func() actor.Actor { return newNodeActor(cfg, longest) })
	pid, err := system.Root.SpawnNamed(props, cfg.Name)
	if err != nil {
		return nil, fmt.Errorf("supervisor: starting node %q: %w", cfg.Name, err)
	}
	return &Node{system: system, pid: pid, timeout: cfg.RequestTimeout, shutdown: cfg.ShutdownTimeout, longestPass: longest}, nil
}

// PID returns the node supervisor's PID, the address of the messages.
func (n *Node) PID() *actor.PID { return n.pid }

// Spawn starts the scope spec describes. It returns the node's rejection
// (a bad name, a running scope of that name, a desired state that fails
// validation, wrapping the validation's own error such as a
// *reconcile.InvalidError, an overlapping claim, NewSource's error, the
// node stopping) or a timeout. A scope whose Claim or NewSource reports it
// absent (source.ErrScopeAbsent) is accepted and waits, phase
// PHASE_WAITING. The scope then starts asynchronously: follow it
// with Status or a subscription. Over the network, the same request is a
// messages.SpawnScope sent to PID.
func (n *Node) Spawn(spec Spec) error {
	return n.goRequest(&spawnSpec{spec: spec})
}

// Stop stops the named scope; its status stays listed as stopped unless
// forget is set. It returns an error for an unknown scope or a timeout; the
// scope's actors finish stopping asynchronously (status phase STOPPED, or
// with forget, the scope leaving the list; a failed scope keeps phase
// FAILED while its actors stop).
func (n *Node) Stop(name string, forget bool) error {
	return n.ack(&messages.StopScope{Name: name, Forget: forget})
}

// Update replaces the named scope's desired state and triggers a pass. It
// returns an error for a scope that is not running or whose actors are
// stopping (stopped, gone or failed, with a pass still in flight), a
// desired state that fails its Validate or whose claim overlaps another
// scope's, the node stopping, or a timeout. d is what the Source's Pass
// expects (a reconcile.Desired for package rtnlsource); over the network,
// the same request is a messages.UpdateDesired sent to PID.
func (n *Node) Update(name string, d any) error {
	return n.goRequest(&updateSpec{name: name, desired: d})
}

// spawnSpec and updateSpec are Spawn's and Update's requests: Go values,
// for in-process senders only.
type spawnSpec struct{ spec Spec }

type updateSpec struct {
	name    string
	desired any
}

// goReply answers spawnSpec and updateSpec with the node's error itself,
// so that a caller can inspect it (errors.As a *reconcile.InvalidError).
type goReply struct{ err error }

// goRequest sends an in-process request and returns the node's error as
// it is.
func (n *Node) goRequest(msg any) error {
	v, err := n.request(msg)
	if err != nil {
		return err
	}
	r, ok := v.(*goReply)
	if !ok {
		return fmt.Errorf("supervisor: unexpected reply %T to %T", v, msg)
	}
	return r.err
}

// Status returns a copy of the named scope's status, or an error for an
// unknown scope or a timeout.
func (n *Node) Status(name string) (*messages.ScopeStatus, error) {
	v, err := n.request(&messages.GetStatus{Name: name})
	if err != nil {
		return nil, err
	}
	switch v := v.(type) {
	case *messages.ScopeStatus:
		return v, nil
	case *messages.Ack:
		return nil, errors.New(v.GetError())
	}
	return nil, fmt.Errorf("supervisor: unexpected reply %T", v)
}

// List returns every scope's status sorted by name, or a timeout error.
func (n *Node) List() ([]*messages.ScopeStatus, error) {
	v, err := n.request(&messages.ListScopes{})
	if err != nil {
		return nil, err
	}
	l, ok := v.(*messages.ScopeList)
	if !ok {
		return nil, fmt.Errorf("supervisor: unexpected reply %T", v)
	}
	return l.GetScopes(), nil
}

// Subscribe makes pid receive a *messages.ScopeStatus for every status
// change of any scope, starting with the current status of each. It
// returns an error for a nil pid or a timeout.
func (n *Node) Subscribe(pid *actor.PID) error {
	return n.ack(&messages.Subscribe{Subscriber: pid})
}

// Unsubscribe ends pid's subscription; unknown subscribers are ignored. It
// returns an error only for a nil pid or a timeout.
func (n *Node) Unsubscribe(pid *actor.PID) error {
	return n.ack(&messages.Unsubscribe{Subscriber: pid})
}

// Shutdown stops the node supervisor and every scope under it, and waits
// until they have stopped (handles and watches closed, no pass running).
// A scope stops between passes, so a pass in flight delays it; the wait is
// bounded by Config.ShutdownTimeout (by default the longest pass timeout
// plus DefaultShutdownMargin). While it stops, the node still answers
// queries and StopScope but refuses to spawn or update a scope ("node is
// stopping"): a scope started then would never be stopped. It returns an
// error only if the scopes have not stopped by then; calling it again
// waits again.
func (n *Node) Shutdown() error {
	wait := n.ShutdownTimeout()
	// Not RootContext.StopFuture: its wait is fixed at 10 s, shorter than
	// one pass may take.
	f := actor.NewFuture(n.system, wait)
	// A Watch of an actor already gone is answered with a Terminated too.
	proc, _ := n.system.ProcessRegistry.Get(n.pid)
	proc.SendSystemMessage(n.pid, &actor.Watch{Watcher: f.PID()})
	n.system.Root.Stop(n.pid)
	if err := f.Wait(); err != nil {
		return fmt.Errorf("supervisor: stopping node %s: not stopped after %v: %w", n.pid.Id, wait, err)
	}
	return nil
}

// ShutdownTimeout returns how long Shutdown waits for the scopes to stop:
// Config.ShutdownTimeout if set, otherwise the longest pass timeout of any
// scope spawned so far (at least Config.PassTimeout) plus
// DefaultShutdownMargin.
func (n *Node) ShutdownTimeout() time.Duration {
	if n.shutdown > 0 {
		return n.shutdown
	}
	return time.Duration(n.longestPass.Load()) + DefaultShutdownMargin
}

func (n *Node) request(msg any) (any, error) {
	v, err := n.system.Root.RequestFuture(n.pid, msg, n.timeout).Result()
	if err != nil {
		if m, ok := msg.(interface{ GetName() string }); ok && m.GetName() != "" {
			return nil, fmt.Errorf("supervisor: %T for scope %q to node %s: %w", msg, m.GetName(), n.pid.Id, err)
		}
		switch m := msg.(type) {
		case *spawnSpec:
			return nil, fmt.Errorf("supervisor: spawning scope %q on node %s: %w", m.spec.Name, n.pid.Id, err)
		case *updateSpec:
			return nil, fmt.Errorf("supervisor: updating scope %q on node %s: %w", m.name, n.pid.Id, err)
		}
		return nil, fmt.Errorf("supervisor: %T to node %s: %w", msg, n.pid.Id, err)
	}
	return v, nil
}

func (n *Node) ack(msg any) error {
	v, err := n.request(msg)
	if err != nil {
		return err
	}
	a, ok := v.(*messages.Ack)
	if !ok {
		return fmt.Errorf("supervisor: unexpected reply %T to %T", v, msg)
	}
	if a.GetError() != "" {
		return errors.New(a.GetError())
	}
	return nil
}
