package client

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/remote"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/proto"

	"github.com/linx-net/linx/api/guard"
	"github.com/linx-net/linx/internal/remotestart"
	"github.com/linx-net/linx/messages"
)

// NodeName is the actor name under which an agent serves its node
// supervisor (api.NodeName; not imported, so that a controller does not
// link the agent's Linux-only packages).
const NodeName = "linx-node"

// DefaultTimeout bounds each request when WithTimeout is not given: the
// agent answers from memory, so only an unreachable agent comes near it.
const DefaultTimeout = 5 * time.Second

// DefaultListen is the client's reply endpoint when WithListen is not
// given: loopback, on a port the kernel chooses.
const DefaultListen = "127.0.0.1:0"

// Option configures Dial.
type Option func(*options)

type options struct {
	certFile, keyFile, caFile string
	listen                    string
	timeout                   time.Duration
	logger                    *slog.Logger
	maxMessage                int
}

// WithTLS makes the client use mutual TLS: certFile and keyFile (PEM) are
// the client's certificate, presented to the agent and on the reply
// endpoint; caFile (PEM) holds the CA that signed the agent's certificate.
// The agent's certificate must name the host of the address given to Dial.
func WithTLS(certFile, keyFile, caFile string) Option {
	return func(o *options) { o.certFile, o.keyFile, o.caFile = certFile, keyFile, caFile }
}

// WithListen sets the client's reply endpoint, host:port (port 0 lets the
// kernel choose). The host must be an address the agent can reach, not a
// wildcard. The default is DefaultListen.
func WithListen(addr string) Option { return func(o *options) { o.listen = addr } }

// WithTimeout bounds each request; zero or negative means DefaultTimeout.
func WithTimeout(d time.Duration) Option { return func(o *options) { o.timeout = d } }

// DefaultMaxMessageBytes is the agent's default cap on one request
// (api.limits.max_message_bytes, 16 MiB), which the client assumes unless
// told otherwise by WithMaxMessageBytes.
const DefaultMaxMessageBytes = 16 << 20

// envelopeBytes is what the transport adds to a request (its type name,
// the sender and target, framing): a request is refused when it and this
// would not fit under the cap.
const envelopeBytes = 1 << 10

// ErrTooLarge is returned (wrapped, with the sizes) for a request over the
// agent's message cap. The agent's transport would drop it, which a TCP
// client would only see as a timeout; it is refused before it is sent.
var ErrTooLarge = errors.New("request over the message size cap")

// WithMaxMessageBytes sets the agent's api.limits.max_message_bytes, so
// that a request over it is refused here with ErrTooLarge rather than
// dropped by the agent; zero or negative means DefaultMaxMessageBytes.
func WithMaxMessageBytes(n int) Option { return func(o *options) { o.maxMessage = n } }

// WithLogger receives the client's and its actor system's logs; the default
// discards them.
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.logger = l } }

// Endpoint is a reply endpoint: the actor system and listening address the
// agents deliver replies and status pushes to. One Endpoint serves any
// number of Clients, which is how a controller drives a fleet without a
// port per agent. Its methods may be called from any goroutine.
type Endpoint struct {
	system   *actor.ActorSystem
	remote   *remote.Remote
	probeTLS *tls.Config // nil without TLS
	timeout  time.Duration
	binds    *bindings
	max      int // the agent's message cap, in bytes
	broken   *brokenConns

	mu     sync.Mutex
	closed bool
}

// brokenConns counts, per agent address, the connections to it that
// broke (protoactor's EndpointTerminatedEvent). An agent whose cap is
// below the client's (WithMaxMessageBytes) drops the connection of a
// request over it, and protoactor then only lets the request time out:
// the count tells the request that this happened while it waited.
type brokenConns struct {
	mu sync.Mutex
	n  map[string]uint64
}

// count returns how many connections to addr broke so far.
func (b *brokenConns) count(addr string) uint64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.n[addr]
}

// observe counts evt if it is a connection that broke.
func (b *brokenConns) observe(evt any) {
	if e, ok := evt.(*remote.EndpointTerminatedEvent); ok {
		b.mu.Lock()
		b.n[e.Address]++
		b.mu.Unlock()
	}
}

// ErrConnectionBroke is returned (wrapped) for a request that got no
// reply while the connection to the agent broke: an agent drops the
// connection of a request over its message cap
// (api.limits.max_message_bytes), which the error then names with the
// request's size; the agent restarting or the network failing does the
// same.
var ErrConnectionBroke = errors.New("the connection to the agent broke before it replied")

// NewEndpoint starts a reply endpoint as opts say (WithListen, WithTLS,
// WithTimeout, WithLogger). It returns an error when an option is invalid,
// a TLS file cannot be loaded, or the address cannot be bound.
func NewEndpoint(opts ...Option) (*Endpoint, error) {
	st, err := prepare(opts)
	if err != nil {
		return nil, err
	}
	return st.start()
}

// setup is an Endpoint's validated options, before anything is started.
type setup struct {
	o          options
	host       string
	port       int
	serverOpts []grpc.ServerOption
	dialOpts   []grpc.DialOption
	probeTLS   *tls.Config // nil without TLS
}

// prepare validates opts and loads the TLS files.
func prepare(opts []Option) (*setup, error) {
	o := options{listen: DefaultListen, timeout: DefaultTimeout}
	for _, opt := range opts {
		opt(&o)
	}
	if o.timeout <= 0 {
		o.timeout = DefaultTimeout
	}
	if o.maxMessage <= 0 {
		o.maxMessage = DefaultMaxMessageBytes
	}
	if o.logger == nil {
		o.logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	host, port, err := splitListen(o.listen)
	if err != nil {
		return nil, err
	}
	st := &setup{o: o, host: host, port: port,
		dialOpts: []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}}
	if o.certFile != "" || o.keyFile != "" || o.caFile != "" {
		serverTLS, dialTLS, err := loadTLS(o.certFile, o.keyFile, o.caFile)
		if err != nil {
			return nil, err
		}
		st.serverOpts = append(st.serverOpts, grpc.Creds(credentials.NewTLS(serverTLS)))
		st.dialOpts = []grpc.DialOption{grpc.WithTransportCredentials(credentials.NewTLS(dialTLS))}
		st.probeTLS = dialTLS
	}
	return st, nil
}

// start starts the endpoint's actor system and remote.
func (st *setup) start() (*Endpoint, error) {
	o := st.o
	system := actor.NewActorSystem(actor.WithLoggerFactory(func(s *actor.ActorSystem) *slog.Logger {
		return o.logger.With("lib", "protoactor", "system", s.ID)
	}))
	binds := &bindings{agent: map[string]string{}}
	serverOpts := append(guard.ServerOptions(replyPolicy(system, binds, o.logger)), st.serverOpts...)
	rcfg := remote.Configure(st.host, st.port, remote.WithServerOptions(serverOpts...), remote.WithDialOptions(st.dialOpts...))
	// One attempt: Dial probes the agent first, and protoactor sleeps 2 s
	// inside its endpoint actor between attempts.
	rcfg.MaxRetryCount = 1
	r := remote.NewRemote(system, rcfg)
	if err := remotestart.Start(r); err != nil {
		system.Shutdown()
		return nil, fmt.Errorf("client: reply endpoint %q: %w", o.listen, err)
	}
	broken := &brokenConns{n: map[string]uint64{}}
	system.EventStream.Subscribe(broken.observe) // ends with the system
	return &Endpoint{system: system, remote: r, probeTLS: st.probeTLS, timeout: o.timeout, binds: binds, max: o.maxMessage, broken: broken}, nil
}

// replyPolicy is what a reply endpoint on system accepts from agents: the
// messages of package messages (replies and status pushes), the Watch and
// Unwatch an agent's node sends for the subscribers it watches, and the
// actor.Terminated of an agent's actor that a controller's own actor
// watches, addressed to any actor but protoactor's own, and to an actor
// binds ties to an agent only from that agent. Without it, one
// unregistered type from a peer would crash the controller (protoactor
// dereferences the failed registry lookup).
func replyPolicy(system *actor.ActorSystem, binds *bindings, logger *slog.Logger) guard.Policy {
	return guard.Policy{
		Name: "reply endpoint",
		Self: system.Address,
		Types: func(name string) bool {
			switch name {
			case guard.Watch, guard.Unwatch, guard.Terminated:
				return true
			}
			return guard.MessageType(name)
		},
		Target:  replyTarget,
		Deliver: binds.deliver,
		Logger:  logger,
	}
}

// bindings ties actors of a reply endpoint to the one agent each serves: a
// Client's pending requests and subscribers accept messages from their
// agent only. Its methods may be called from any goroutine.
type bindings struct {
	mu sync.Mutex
	// agent maps an actor id to the address of its agent: the address it
	// was dialled at, which is the address the agent declares (protoactor
	// routes a message by the exact address in its target PID, and an
	// agent forwards one under any other address to that address).
	agent map[string]string
}

func (b *bindings) bind(id, agent string) {
	b.mu.Lock()
	b.agent[id] = agent
	b.mu.Unlock()
}

func (b *bindings) unbind(id string) {
	b.mu.Lock()
	delete(b.agent, id)
	b.mu.Unlock()
}

// deliver is the reply endpoint's guard.Policy.Deliver. A future (a
// pending request, future$N) takes no Watch, Unwatch or Terminated from
// any peer: protoactor would complete it with that message. An actor bound
// to an agent takes nothing from another peer.
func (b *bindings) deliver(peer, id, name string) bool {
	switch name {
	case guard.Watch, guard.Unwatch, guard.Terminated:
		if strings.HasPrefix(id, "future$") {
			return false
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	agent, ok := b.agent[id]
	return !ok || agent == peer
}

// replyTarget reports whether an agent may address the reply endpoint's
// actor id: any but protoactor's remote machinery and event stream.
func replyTarget(id string) bool {
	switch id {
	case "EndpointSupervisor", "activator", "eventstream":
		return false
	}
	return !strings.HasPrefix(id, "EndpointSupervisor/")
}

// probeConfig returns the TLS configuration of a probe of the agent at
// host, nil without TLS.
func probeConfig(base *tls.Config, host string) *tls.Config {
	if base == nil {
		return nil
	}
	cfg := base.Clone()
	cfg.ServerName = host
	return cfg
}

// Addr returns the endpoint's address as the agents see it, host:port.
func (e *Endpoint) Addr() string { return e.system.Address() }

// System returns the endpoint's actor system, for a controller that runs
// actors of its own which talk to agents directly: they address
// actor.NewPID(agentAddress, NodeName) and receive replies through this
// endpoint.
func (e *Endpoint) System() *actor.ActorSystem { return e.system }

// Dial checks that the agent at addr (host:port, the address the agent
// names itself by: see the package doc) is reachable, passes the TLS handshake
// both ways, and answers a ListScopes within ctx (or the request timeout,
// whichever ends first), and returns a Client for it that uses this
// endpoint. It returns an error when addr is not host:port or
// cannot be reached, when the TLS handshake fails (a certificate the agent
// refuses, or an agent certificate not signed by the CA), when the agent
// does not answer, or when the endpoint is closed.
func (e *Endpoint) Dial(ctx context.Context, addr string) (*Client, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("client: agent address %q: want host:port: %w", addr, err)
	}
	e.mu.Lock()
	closed := e.closed
	e.mu.Unlock()
	if closed {
		return nil, ErrClosed
	}
	// The handshake is tried first and on its own: protoactor only logs a
	// failed connection and drops the messages, which would leave the
	// caller with a bare timeout instead of the reason.
	if err := probe(ctx, addr, probeConfig(e.probeTLS, host), e.timeout); err != nil {
		return nil, fmt.Errorf("client: connecting to agent %s: %w", addr, err)
	}
	return e.connect(ctx, addr)
}

// connect returns a Client for the agent at addr, already probed, once it
// answers a ListScopes; it returns an error when the agent does not.
func (e *Endpoint) connect(ctx context.Context, addr string) (*Client, error) {
	c := &Client{
		ep:   e,
		node: actor.NewPID(addr, NodeName),
		subs: map[*subscription]struct{}{},
	}
	if _, err := c.request(ctx, &messages.ListScopes{}); err != nil {
		c.Close()
		return nil, fmt.Errorf("client: agent %s does not answer: %w", addr, err)
	}
	return c, nil
}

// Close stops the endpoint and its actor system; Clients dialled through
// it stop working (close them first to end their subscriptions cleanly).
// It is idempotent and returns nil.
func (e *Endpoint) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil
	}
	e.closed = true
	remotestart.Stop(e.system, e.remote)
	e.system.Shutdown()
	return nil
}

// Client is a connection to one agent's message API. Its methods may be
// called from any goroutine.
type Client struct {
	ep   *Endpoint
	own  bool // the endpoint was made by Dial for this client alone
	node *actor.PID
	// sock is the local socket connection of a Client made by
	// DialSocket (ep and node are then nil), and timeout its bound.
	sock    *sockConn
	timeout time.Duration

	mu     sync.Mutex
	subs   map[*subscription]struct{}
	closed bool
}

// Dial starts a reply endpoint of its own (NewEndpoint with opts) and
// dials the agent at addr through it (Endpoint.Dial); Close stops both. It
// returns the errors of NewEndpoint and Endpoint.Dial.
func Dial(ctx context.Context, addr string, opts ...Option) (*Client, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("client: agent address %q: want host:port: %w", addr, err)
	}
	st, err := prepare(opts)
	if err != nil {
		return nil, err
	}
	// Probed before the endpoint starts, so that a refused Dial starts
	// nothing.
	if err := probe(ctx, addr, probeConfig(st.probeTLS, host), st.o.timeout); err != nil {
		return nil, fmt.Errorf("client: connecting to agent %s: %w", addr, err)
	}
	ep, err := st.start()
	if err != nil {
		return nil, err
	}
	c, err := ep.connect(ctx, addr)
	if err != nil {
		ep.Close()
		return nil, err
	}
	c.own = true
	return c, nil
}

// Spawn asks the agent to start a scope. It returns the agent's refusal (a
// running scope of that name, a bad namespace or desired state) or a
// transport error; the scope then starts asynchronously (see Status or
// Subscribe).
func (c *Client) Spawn(ctx context.Context, spec *messages.SpawnScope) error {
	return c.ack(ctx, spec)
}

// Stop asks the agent to stop the named scope; its status stays listed as
// stopped. It returns an error for an unknown scope or a transport error.
func (c *Client) Stop(ctx context.Context, name string) error {
	return c.ack(ctx, &messages.StopScope{Name: name})
}

// Forget stops the named scope if it runs and removes its status from the
// agent's list. It returns an error for an unknown scope or a transport
// error.
func (c *Client) Forget(ctx context.Context, name string) error {
	return c.ack(ctx, &messages.StopScope{Name: name, Forget: true})
}

// Update replaces the named scope's desired state and triggers a pass. It
// returns an error for a scope that is not running, a desired state the
// agent refuses, or a transport error.
func (c *Client) Update(ctx context.Context, name string, d *messages.Desired) error {
	return c.ack(ctx, &messages.UpdateDesired{Name: name, Desired: d})
}

// Status returns the named scope's status, or an error for an unknown scope
// or a transport error.
func (c *Client) Status(ctx context.Context, name string) (*messages.ScopeStatus, error) {
	v, err := c.request(ctx, &messages.GetStatus{Name: name})
	if err != nil {
		return nil, err
	}
	switch v := v.(type) {
	case *messages.ScopeStatus:
		return v, nil
	case *messages.Ack:
		return nil, fmt.Errorf("client: status of scope %q: %w", name, ackError(c.Addr(), v.GetError()))
	}
	return nil, fmt.Errorf("client: status of scope %q: unexpected reply %T", name, v)
}

// List returns every scope's status sorted by name, or a transport error.
func (c *Client) List(ctx context.Context) ([]*messages.ScopeStatus, error) {
	v, err := c.request(ctx, &messages.ListScopes{})
	if err != nil {
		return nil, err
	}
	if a, ok := v.(*messages.Ack); ok {
		return nil, fmt.Errorf("client: listing scopes: %w", ackError(c.Addr(), a.GetError()))
	}
	l, ok := v.(*messages.ScopeList)
	if !ok {
		return nil, fmt.Errorf("client: listing scopes: unexpected reply %T", v)
	}
	return l.GetScopes(), nil
}

// Addr returns the agent's address as given to Dial, or the socket's path
// for a Client made by DialSocket.
func (c *Client) Addr() string {
	if c.sock != nil {
		return c.sock.path
	}
	return c.node.Address
}

// Close ends every subscription (their channels are closed) and, for a
// Client made by Dial, stops its reply endpoint. It is idempotent and
// returns nil.
func (c *Client) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	subs := c.subs
	c.subs = nil
	c.mu.Unlock()
	for s := range subs {
		s.cancel()
	}
	if c.sock != nil {
		c.sock.close()
	}
	if c.own {
		c.ep.Close()
	}
	return nil
}

// ErrClosed is returned by the methods of a closed Client.
var ErrClosed = errors.New("client: closed")

func (c *Client) request(ctx context.Context, msg any) (any, error) {
	c.mu.Lock()
	closed := c.closed
	c.mu.Unlock()
	if closed {
		return nil, ErrClosed
	}
	return c.send(ctx, msg)
}

// send is request without the closed check, for Close's own unsubscribes.
func (c *Client) send(ctx context.Context, msg any) (any, error) {
	if c.sock != nil {
		return c.sock.roundTrip(ctx, msg, c.timeout)
	}
	size := 0
	if m, ok := msg.(proto.Message); ok {
		size = proto.Size(m)
	}
	if c.ep.max > 0 && size+envelopeBytes > c.ep.max {
		return nil, fmt.Errorf("client: %T to %s: %d bytes, over the agent's message cap of %d (api.limits.max_message_bytes, less %d for the envelope): %w",
			msg, c.node.Address, size, c.ep.max, envelopeBytes, ErrTooLarge)
	}
	broke := c.ep.broken.count(c.node.Address)
	timeout := c.ep.timeout
	if dl, ok := ctx.Deadline(); ok {
		timeout = min(timeout, time.Until(dl))
	}
	if timeout <= 0 {
		return nil, fmt.Errorf("client: %T to %s: %w", msg, c.node.Address, context.DeadlineExceeded)
	}
	// A future bound to the agent until it completes: protoactor's
	// RequestFuture, with the binding made before the request is sent.
	f := actor.NewFuture(c.ep.system, timeout)
	id := f.PID().Id
	c.ep.binds.bind(id, c.node.Address)
	c.ep.system.Root.RequestWithCustomSender(c.node, msg, f.PID())
	done := make(chan struct{})
	var v any
	var err error
	go func() {
		v, err = f.Result()
		c.ep.binds.unbind(id)
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		return nil, fmt.Errorf("client: %T to %s: %w", msg, c.node.Address, ctx.Err())
	}
	if errors.Is(err, actor.ErrTimeout) && c.ep.broken.count(c.node.Address) != broke {
		return nil, fmt.Errorf("client: %T to %s: %w (%v): an agent drops the connection of a request over its message cap (api.limits.max_message_bytes), and this one was %d bytes; this client assumes a cap of %d (WithMaxMessageBytes)",
			msg, c.node.Address, ErrConnectionBroke, err, size+envelopeBytes, c.ep.max)
	}
	if err != nil {
		return nil, fmt.Errorf("client: %T to %s: %w", msg, c.node.Address, err)
	}
	return v, nil
}

func (c *Client) ack(ctx context.Context, msg any) error {
	v, err := c.request(ctx, msg)
	return c.checkAck(v, err, msg)
}

func (c *Client) checkAck(v any, err error, msg any) error {
	if err != nil {
		return err
	}
	a, ok := v.(*messages.Ack)
	if !ok {
		return fmt.Errorf("client: unexpected reply %T to %T", v, msg)
	}
	if a.GetError() != "" {
		return ackError(c.Addr(), a.GetError())
	}
	return nil
}

// probe opens one connection to addr (a TLS handshake when cfg is set) and
// waits for the agent's first bytes: a gRPC server speaks first (its HTTP/2
// settings), and under TLS 1.3 a refused client certificate only shows as
// an alert after the handshake.
func probe(ctx context.Context, addr string, cfg *tls.Config, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	if cfg != nil {
		tc := tls.Client(conn, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			return fmt.Errorf("TLS handshake: %w", err)
		}
		conn = tc
	}
	if _, err := conn.Read(make([]byte, 1)); err != nil {
		if ne, ok := err.(net.Error); ok && ne.Timeout() && cfg == nil {
			return fmt.Errorf("waiting for the agent's greeting (an agent with mutual TLS waits for a TLS handshake: give WithTLS): %w", err)
		}
		return fmt.Errorf("waiting for the agent's greeting: %w", err)
	}
	return nil
}

// splitListen parses the reply endpoint's address, host:port with a host
// that is not a wildcard.
func splitListen(listen string) (string, int, error) {
	host, port, err := remotestart.SplitHostPort(listen)
	if err != nil {
		return "", 0, fmt.Errorf("client: reply endpoint %q: %w", listen, err)
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		return "", 0, fmt.Errorf("client: reply endpoint %q: a wildcard host cannot be reached back; name an address of this machine", listen)
	}
	return host, port, nil
}

// loadTLS builds the reply endpoint's side (the agent's certificate
// required, its chain verified against the CA; its host name is not known
// here) and the dialling side (the client's certificate presented, the
// agent's verified against the CA and the host dialled).
func loadTLS(certFile, keyFile, caFile string) (server, dial *tls.Config, err error) {
	if certFile == "" || keyFile == "" || caFile == "" {
		return nil, nil, fmt.Errorf("client: TLS needs a certificate, a key and a CA file (got %q, %q, %q)", certFile, keyFile, caFile)
	}
	server, cert, pool, err := remotestart.LoadMutualTLS(certFile, keyFile, caFile)
	if err != nil {
		return nil, nil, fmt.Errorf("client: %w", err)
	}
	dial = &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{cert},
		RootCAs:      pool,
	}
	return server, dial, nil
}
