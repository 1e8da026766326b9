package api

import (
	"context"
	"fmt"
	"net"
	"sync"
	"time"

	"golang.org/x/sys/unix"
	"google.golang.org/grpc/credentials"
)

// ReservedFDs are the descriptors the API's connections never take: the
// scopes' netlink and monitor sockets and ledgers, the metrics and health
// listener and its scrapes, and the process's own files need them more
// than one more peer does. The connection caps are lowered until the
// process's descriptor limit keeps this many free.
const ReservedFDs = 1024

// fdBudget returns the most connections the API may hold in all (socket
// and TCP together), given the process's descriptor limit: half of what
// is left once ReservedFDs are set aside, at least 1.
func fdBudget() int {
	var rl unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &rl); err != nil || rl.Cur > 1<<30 {
		return 1 << 20
	}
	return max(1, (int(rl.Cur)-ReservedFDs)/2)
}

// connLimiter caps open connections in all and by source. Its methods may
// be called from any goroutine.
type connLimiter struct {
	max, perSource int

	mu       sync.Mutex
	total    int
	bySource map[string]int
}

func newConnLimiter(maxConns, perSource int) *connLimiter {
	return &connLimiter{max: maxConns, perSource: perSource, bySource: map[string]int{}}
}

// acquire takes a connection slot for source, and returns the function
// that gives it back (once), or why there is none.
func (l *connLimiter) acquire(source string) (func(), error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.total >= l.max {
		return nil, fmt.Errorf("connection limit: the agent holds %d API connections already (api.limits.max_connections)", l.total)
	}
	if l.bySource[source] >= l.perSource {
		return nil, fmt.Errorf("connection limit: %s holds %d API connections already (api.limits.max_connections_per_source)", source, l.bySource[source])
	}
	l.total++
	l.bySource[source]++
	var once sync.Once
	return func() {
		once.Do(func() {
			l.mu.Lock()
			l.total--
			if l.bySource[source]--; l.bySource[source] <= 0 {
				delete(l.bySource, source)
			}
			l.mu.Unlock()
		})
	}, nil
}

// open returns the number of connections held.
func (l *connLimiter) open() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.total
}

// limitedCreds wraps the API's TLS credentials: a connection over the
// caps is closed before its handshake, and a handshake must finish within
// timeout. gRPC closes the raw connection when ServerHandshake fails.
type limitedCreds struct {
	credentials.TransportCredentials
	limits  *connLimiter
	timeout time.Duration
}

func (c *limitedCreds) ServerHandshake(raw net.Conn) (net.Conn, credentials.AuthInfo, error) {
	source := raw.RemoteAddr().String()
	if h, _, err := net.SplitHostPort(source); err == nil {
		source = h
	}
	release, err := c.limits.acquire(source)
	if err != nil {
		return nil, nil, err
	}
	raw.SetDeadline(time.Now().Add(c.timeout))
	conn, info, err := c.TransportCredentials.ServerHandshake(raw)
	if err != nil {
		release()
		return nil, nil, err
	}
	raw.SetDeadline(time.Time{})
	return &releasingConn{Conn: conn, release: release}, info, nil
}

func (c *limitedCreds) Clone() credentials.TransportCredentials {
	return &limitedCreds{TransportCredentials: c.TransportCredentials.Clone(), limits: c.limits, timeout: c.timeout}
}

// ClientHandshake is the wrapped credentials', with the handshake bounded
// by the same timeout (the node dialling a controller back).
func (c *limitedCreds) ClientHandshake(ctx context.Context, authority string, raw net.Conn) (net.Conn, credentials.AuthInfo, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	return c.TransportCredentials.ClientHandshake(ctx, authority, raw)
}

// releasingConn gives its connection slot back when closed.
type releasingConn struct {
	net.Conn
	release func()
}

func (c *releasingConn) Close() error {
	err := c.Conn.Close()
	c.release()
	return err
}
