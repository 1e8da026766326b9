package api

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/remote"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/linx-net/linx/actors/supervisor"
	"github.com/linx-net/linx/api/guard"
	"github.com/linx-net/linx/config"
	"github.com/linx-net/linx/internal/remotestart"
	"github.com/linx-net/linx/messages"
)

// NodeName is the actor name under which Serve makes the node supervisor
// reachable: a controller sends the messages of package messages to
// actor.NewPID(address, NodeName).
const NodeName = "linx-node"

// Server is a running message API. Its zero value is not usable; a nil
// *Server (what Serve returns when the API is off) is a valid, inert one.
type Server struct {
	system *actor.ActorSystem
	remote *remote.Remote // nil without TCP
	gate   *gate
	gateID *actor.PID // the gate actor, NodeName; nil without TCP
	socket *socketServer
	tcp    *connLimiter // nil without TCP
	addr   string
	logger *slog.Logger

	closeOnce sync.Once
}

// Header keys the API stamps on every message a TCP peer sends, for the
// gate actor to read (package guard replaces any header the peer sent).
const (
	headerIdentity = "linx-identity"
	headerPeer     = "linx-peer"
)

// Serve is ServeWith with only a logger.
func Serve(system *actor.ActorSystem, node *supervisor.Node, cfg config.API, logger *slog.Logger) (*Server, error) {
	return ServeWith(system, node, cfg, Options{Logger: logger})
}

// ServeWith starts the message API of node on system as cfg says, with
// the agent's hooks in opts: the local socket when cfg.Socket is set, TCP
// with mutual TLS when cfg.Listen is set. Every request of either passes
// the same gate: the authorization rules of cfg.Authorization (package
// api/authz), the limits of cfg.Limits, and an audit line for each that
// would change a scope.
//
// It returns nil, nil when both are off. It returns an error, and starts
// nothing, when cfg.Listen is set without mutual TLS (cert, key and client
// CA), is not host:port, or is a wildcard (0.0.0.0, ::, empty) without
// cfg.Advertise; when the TLS files cannot be loaded; when the socket's
// directory cannot be made, api.group is unknown, or another agent answers
// on the socket; when the name NodeName is taken; or when an address
// cannot be bound. With cfg.Advertise, the API names itself by that
// address (protoactor routes by it), and Addr returns it.
//
// TCP starts protoactor remote on system, which can be done once per
// actor system; Close stops it.
func ServeWith(system *actor.ActorSystem, node *supervisor.Node, cfg config.API, opts Options) (*Server, error) {
	if cfg.Listen == "" && cfg.Socket == "" {
		return nil, nil
	}
	if system == nil || node == nil {
		return nil, errors.New("api: serving: nil actor system or node")
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	logger := opts.Logger
	cfg.Limits = cfg.Limits.WithDefaults()
	if budget := fdBudget(); cfg.Limits.MaxConnections > budget {
		logger.Warn("api: lowering max_connections to keep descriptors for the scopes", "max_connections", budget, "reserved", ReservedFDs)
		cfg.Limits.MaxConnections = budget
	}
	s := &Server{system: system, logger: logger, gate: newGate(system, node, cfg, opts)}
	if cfg.Listen != "" {
		if err := s.serveTCP(node, cfg); err != nil {
			return nil, err
		}
	}
	if cfg.Socket != "" {
		sock, err := listenSocket(cfg.Socket, cfg.Group, s.gate, cfg.Limits.MaxConnections, cfg.Limits.MaxConnectionsPerSource, logger)
		if err != nil {
			s.Close()
			return nil, err
		}
		s.socket = sock
		logger.Info("message API listening on the local socket", "socket", cfg.Socket, "group", sock.group)
	}
	return s, nil
}

// serveTCP starts protoactor remote with mutual TLS and the gate actor.
func (s *Server) serveTCP(node *supervisor.Node, cfg config.API) error {
	host, port, err := splitListen(cfg.Listen)
	if err != nil {
		return err
	}
	t := cfg.TLS
	if !t.Enabled() {
		return fmt.Errorf("api: listen %q: the message API over TCP requires mutual TLS (api.tls cert, key and client_ca), loopback included; use api.socket for local control (cert=%q key=%q client_ca=%q)",
			cfg.Listen, t.Cert, t.Key, t.ClientCA)
	}
	if h, err := netip.ParseAddr(host); cfg.Advertise == "" && err == nil && h.IsUnspecified() {
		return fmt.Errorf("api: listen %q is on every address, which no controller can dial: set Advertise to the host:port they dial", cfg.Listen)
	}
	serverTLS, dialTLS, err := loadTLS(t)
	if err != nil {
		return err
	}
	if node.PID().Id == NodeName {
		return fmt.Errorf("api: the node supervisor may not be named %q: that name is the API's gate", NodeName)
	}
	s.tcp = newConnLimiter(cfg.Limits.MaxConnections, cfg.Limits.MaxConnectionsPerSource)
	creds := &limitedCreds{TransportCredentials: credentials.NewTLS(serverTLS), limits: s.tcp, timeout: cfg.Limits.HandshakeTimeout}
	p := policy(node.PID().Id, s.system.Address, s.logger)
	p.Stamp = stampIdentity
	p.Declare = s.declare
	serverOpts := append(guard.ServerOptions(p),
		grpc.Creds(creds),
		grpc.MaxRecvMsgSize(cfg.Limits.MaxMessageBytes),
		grpc.ConnectionTimeout(cfg.Limits.HandshakeTimeout),
		grpc.MaxConcurrentStreams(16),
	)
	dialOpts := []grpc.DialOption{grpc.WithTransportCredentials(credentials.NewTLS(dialTLS))}

	gatePID, err := s.system.Root.SpawnNamed(actor.PropsFromProducer(func() actor.Actor {
		return &gateActor{g: s.gate}
	}), NodeName)
	if err != nil {
		return fmt.Errorf("api: actor name %q is already taken in this actor system: %w", NodeName, err)
	}
	s.gateID = gatePID

	ropts := []remote.ConfigOption{remote.WithServerOptions(serverOpts...), remote.WithDialOptions(dialOpts...)}
	if cfg.Advertise != "" {
		ropts = append(ropts, remote.WithAdvertisedHost(cfg.Advertise))
	}
	rcfg := remote.Configure(host, port, ropts...)
	// One attempt per connection: protoactor's endpoint writer replaces
	// the gRPC connection of a failed attempt with the next one without
	// closing it, and gRPC then redials the gone peer forever. A
	// controller's reply endpoint is up or gone, and the next message to it
	// makes a new attempt. (protoactor still sleeps 2 s inside the endpoint
	// actor after the failed attempt.)
	rcfg.MaxRetryCount = 1
	s.remote = remote.NewRemote(s.system, rcfg)
	if err := remotestart.Start(s.remote); err != nil {
		s.system.Root.Stop(s.gateID)
		s.remote = nil
		return fmt.Errorf("api: listening on %q: %w", cfg.Listen, err)
	}
	s.addr = s.system.Address()
	s.logger.Info("message API listening", "address", s.addr, "mtls", true, "node", NodeName)
	return nil
}

// SetAuthorization replaces the authorization rules (a reload). It is
// safe to call at any time, and does nothing on a nil Server.
func (s *Server) SetAuthorization(grants []config.Grant) {
	if s == nil {
		return
	}
	s.gate.setRules(grants)
}

// Connections returns the API's open connections: on the socket and over
// TCP (after their TLS handshake began). It returns 0 for a nil Server.
func (s *Server) Connections() int {
	if s == nil {
		return 0
	}
	n := 0
	if s.socket != nil {
		n += s.socket.conns.open()
	}
	if s.tcp != nil {
		n += s.tcp.open()
	}
	return n
}

// Addr returns the address the API names itself by and controllers dial,
// as host:port: cfg.Advertise when set, else the listen address with the
// port the kernel chose when the configured one was 0. It returns "" for a
// nil Server.
func (s *Server) Addr() string {
	if s == nil {
		return ""
	}
	return s.addr
}

// Close stops the API: the socket is closed and removed with its
// connections, open streams are told to disconnect, the TCP listener is
// closed and the name NodeName released. The node supervisor keeps
// running. Close is idempotent, nil-safe, and returns nil.
func (s *Server) Close() error {
	if s == nil {
		return nil
	}
	s.closeOnce.Do(func() {
		if s.socket != nil {
			s.socket.close()
		}
		if s.remote != nil {
			remotestart.Stop(s.system, s.remote)
		}
		if s.gateID != nil {
			_ = s.system.Root.StopFuture(s.gateID).Wait()
		}
		s.logger.Info("message API stopped", "address", s.addr)
	})
	return nil
}

// splitListen parses the API's listen address, host:port with a host.
func splitListen(listen string) (string, int, error) {
	host, port, err := remotestart.SplitHostPort(listen)
	if err != nil {
		return "", 0, fmt.Errorf("api: listen %q: %w", listen, err)
	}
	if host == "" {
		return "", 0, fmt.Errorf("api: listen %q: empty host (every address) is not allowed; name the address to bind", listen)
	}
	return host, port, nil
}

// loadTLS builds the server side (client certificates required and
// verified against the client CA) and the dialling side (the node's own
// certificate presented; the peer's chain verified against the client CA,
// not its host name: see the package documentation) of the API's TLS.
func loadTLS(t config.TLS) (server, dial *tls.Config, err error) {
	server, cert, pool, err := remotestart.LoadMutualTLS(t.Cert, t.Key, t.ClientCA)
	if err != nil {
		return nil, nil, fmt.Errorf("api: %w", err)
	}
	dial = &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{cert},
		// The chain is verified in VerifyConnection; only the host name
		// check is skipped.
		InsecureSkipVerify: true,
		VerifyConnection:   verifyChain(pool),
	}
	return server, dial, nil
}

// protoactor decodes an incoming message by looking its type name up in the
// global protobuf registry: linking package messages registers its types.
var _ = messages.File_linx_proto
