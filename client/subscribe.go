package client

import (
	"context"
	"fmt"
	"sync"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/linx-net/linx/messages"
)

// subscription is one Subscribe: a local actor the agent pushes statuses
// to, which hands them to the caller's channel.
type subscription struct {
	c    *Client
	pid  *actor.PID
	ch   chan *messages.ScopeStatus
	done chan struct{}
	once sync.Once
}

// Subscribe asks the agent to push every status change of every scope,
// starting with the current status of each, and returns them on a channel
// in the order the agent sent them. Nothing is dropped: statuses wait in
// the client while the caller is not reading.
//
// The channel is closed after cancel is called, ctx ends, or the Client is
// closed; cancel also unsubscribes from the agent (best effort) and may be
// called more than once. It returns an error, and no channel, when the
// agent does not acknowledge the subscription.
//
// The agent drops the subscription when it cannot reach this endpoint: one
// failed connection attempt ends every subscription of the endpoint, and
// the channel then stays open but receives nothing more. A controller that
// must not miss a change subscribes again after a lost connection (or at an
// interval), and reads the current statuses that a new subscription starts
// with.
func (c *Client) Subscribe(ctx context.Context) (<-chan *messages.ScopeStatus, func(), error) {
	s := &subscription{
		c:    c,
		ch:   make(chan *messages.ScopeStatus),
		done: make(chan struct{}),
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, nil, ErrClosed
	}
	c.mu.Unlock()
	if c.sock != nil {
		return nil, nil, fmt.Errorf("client: subscribing through the socket %s: subscriptions are served over TCP only (Dial)", c.sock.path)
	}
	s.pid = c.ep.system.Root.Spawn(actor.PropsFromFunc(s.receive))
	// Only the agent may push to it, or watch it.
	c.ep.binds.bind(s.pid.Id, c.node.Address)
	if err := c.ack(ctx, &messages.Subscribe{Subscriber: s.pid}); err != nil {
		c.ep.system.Root.StopFuture(s.pid).Wait()
		c.ep.binds.unbind(s.pid.Id)
		return nil, nil, fmt.Errorf("client: subscribing: %w", err)
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		s.cancel()
		return s.ch, func() {}, nil
	}
	c.subs[s] = struct{}{}
	c.mu.Unlock()
	go func() {
		select {
		case <-ctx.Done():
			s.cancel()
		case <-s.done:
		}
	}()
	return s.ch, s.cancel, nil
}

// receive runs on the subscription actor. Blocking here is intended: the
// actor's mailbox queues what the caller has not read yet.
func (s *subscription) receive(ctx actor.Context) {
	st, ok := ctx.Message().(*messages.ScopeStatus)
	if !ok {
		return
	}
	select {
	case s.ch <- st:
	case <-s.done:
	}
}

func (s *subscription) cancel() {
	s.once.Do(func() {
		close(s.done)
		c := s.c
		c.mu.Lock()
		if c.subs != nil {
			delete(c.subs, s)
		}
		c.mu.Unlock()
		// Best effort: the agent also drops a subscriber whose actor or
		// connection goes away.
		ctx, stop := context.WithTimeout(context.Background(), c.ep.timeout)
		unsub := &messages.Unsubscribe{Subscriber: s.pid}
		v, err := c.send(ctx, unsub)
		_ = c.checkAck(v, err, unsub)
		stop()
		c.ep.system.Root.StopFuture(s.pid).Wait()
		c.ep.binds.unbind(s.pid.Id)
		close(s.ch)
	})
}
