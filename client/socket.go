package client

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/linx-net/linx/internal/wire"
	"github.com/linx-net/linx/messages"
)

// DefaultSocket is the agent's local socket when api.socket is unset.
const DefaultSocket = "/run/linx/linx.sock"

// maxReply caps one reply read from the socket: a ScopeList of thousands
// of scopes is well under it.
const maxReply = 64 << 20

// ErrPermissionDenied is wrapped by the error of a request the agent
// refused for want of a grant (its message names the rule), or a
// connection to its socket it refused (neither root nor in api.group).
var ErrPermissionDenied = errors.New("permission denied")

// sockConn is a connection to the agent's local socket: one request and
// its reply at a time.
type sockConn struct {
	path string
	mu   sync.Mutex
	conn net.Conn
	r    *bufio.Reader
}

// DialSocket connects to the agent's local socket at path (DefaultSocket
// when empty) and checks that the agent answers a ListScopes within ctx
// (or the request timeout of WithTimeout). Only WithTimeout of opts
// applies. The agent checks the caller's credentials: root and the
// members of its api.group are admitted. It returns an error wrapping
// ErrPermissionDenied when the agent refuses the caller, and an error when
// the socket cannot be reached or the agent does not answer.
func DialSocket(ctx context.Context, path string, opts ...Option) (*Client, error) {
	o := options{timeout: DefaultTimeout}
	for _, opt := range opts {
		opt(&o)
	}
	if o.timeout <= 0 {
		o.timeout = DefaultTimeout
	}
	if path == "" {
		path = DefaultSocket
	}
	var d net.Dialer
	dctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	conn, err := d.DialContext(dctx, "unix", path)
	if err != nil {
		return nil, fmt.Errorf("client: connecting to the agent's socket: %w", err)
	}
	c := &Client{
		sock:    &sockConn{path: path, conn: conn, r: bufio.NewReader(conn)},
		timeout: o.timeout,
		subs:    map[*subscription]struct{}{},
	}
	if _, err := c.request(ctx, &messages.ListScopes{}); err != nil {
		c.Close()
		return nil, fmt.Errorf("client: agent at %s: %w", path, err)
	}
	return c, nil
}

// roundTrip sends msg and reads the reply, within timeout and ctx.
func (s *sockConn) roundTrip(ctx context.Context, msg any, timeout time.Duration) (any, error) {
	m, ok := msg.(proto.Message)
	if !ok {
		return nil, fmt.Errorf("client: %T is not a message", msg)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn == nil {
		return nil, ErrClosed
	}
	deadline := time.Now().Add(timeout)
	if dl, ok := ctx.Deadline(); ok && dl.Before(deadline) {
		deadline = dl
	}
	s.conn.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { s.conn.SetDeadline(time.Now()) })
	defer stop()
	if err := wire.Write(s.conn, m, 0); err != nil {
		// The agent may have refused the connection before the request
		// went out (its credentials, a connection limit): its one reply
		// is still there to read, and says why.
		if reply, rerr := wire.Read(s.r, maxReply); rerr == nil {
			if a, ok := reply.(*messages.Ack); ok && a.GetError() != "" {
				return nil, ackError(s.path, a.GetError())
			}
		}
		return nil, fmt.Errorf("client: %T to %s: %w", msg, s.path, err)
	}
	reply, err := wire.Read(s.r, maxReply)
	if err != nil {
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return nil, fmt.Errorf("client: %T to %s: %w", msg, s.path, err)
	}
	if a, ok := reply.(*messages.Ack); ok && !isAck(msg) {
		// A refusal of a request that expects another reply type.
		return nil, ackError(s.path, a.GetError())
	}
	return reply, nil
}

// isAck reports whether the reply to msg is an Ack.
func isAck(msg any) bool {
	switch msg.(type) {
	case *messages.GetStatus, *messages.ListScopes:
		return false
	}
	return true
}

func (s *sockConn) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn != nil {
		s.conn.Close()
		s.conn = nil
	}
}

// ackError is the error of an Ack's text from the agent at addr: wrapping
// ErrPermissionDenied when the agent refused the request for want of a
// grant.
func ackError(addr, text string) error {
	if rest, ok := strings.CutPrefix(text, "permission denied: "); ok {
		return fmt.Errorf("client: agent %s: %w: %s", addr, ErrPermissionDenied, rest)
	}
	return fmt.Errorf("client: agent %s: %s", addr, text)
}
