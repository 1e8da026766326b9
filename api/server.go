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
	"google.golang.org/grpc/credentials/insecure"

	"github.com/linx-net/linx/actors/supervisor"
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
	remote *remote.Remote
	alias  *actor.PID // nil when the node itself is named NodeName
	addr   string
	logger *slog.Logger

	closeOnce sync.Once
}

// Serve starts the message API of node on system as cfg says, logging to
// logger (nil means slog.Default()).
//
// It returns nil, nil when cfg.Listen is empty: the API is off. It returns
// an error, and starts nothing, when cfg.Listen is not host:port, when the
// host is not loopback and mutual TLS is not configured, when the host is
// a wildcard (0.0.0.0, ::, empty) and cfg.Advertise does not say which
// address controllers dial, when only part of the TLS files are set or
// they cannot be loaded, when the name NodeName is taken by another actor,
// or when the address cannot be bound. With cfg.Advertise, the API names
// itself by that address (protoactor routes by it), and Addr returns it.
//
// Serve starts protoactor remote on system, which can be done once per
// actor system; Close stops it.
func Serve(system *actor.ActorSystem, node *supervisor.Node, cfg config.API, logger *slog.Logger) (*Server, error) {
	if cfg.Listen == "" {
		return nil, nil
	}
	if system == nil || node == nil {
		return nil, errors.New("api: serving: nil actor system or node")
	}
	if logger == nil {
		logger = slog.Default()
	}
	host, port, err := splitListen(cfg.Listen)
	if err != nil {
		return nil, err
	}
	t := cfg.TLS
	partial := (t.Cert != "" || t.Key != "" || t.ClientCA != "") && !t.Enabled()
	if partial {
		return nil, fmt.Errorf("api: listen %q: TLS needs cert, key and client_ca together (cert=%q key=%q client_ca=%q)",
			cfg.Listen, t.Cert, t.Key, t.ClientCA)
	}
	if !t.Enabled() && !loopback(host) {
		return nil, fmt.Errorf("api: listen %q is not a loopback address: the message API beyond loopback requires mutual TLS (api.tls cert, key and client_ca)", cfg.Listen)
	}
	if h, err := netip.ParseAddr(host); cfg.Advertise == "" && err == nil && h.IsUnspecified() {
		return nil, fmt.Errorf("api: listen %q is on every address, which no controller can dial: set Advertise to the host:port they dial", cfg.Listen)
	}

	serverOpts := serverOptions(node.PID().Id, system.Address, logger)
	dialOpts := []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}
	if t.Enabled() {
		serverTLS, dialTLS, err := loadTLS(t)
		if err != nil {
			return nil, err
		}
		serverOpts = append(serverOpts, grpc.Creds(credentials.NewTLS(serverTLS)))
		dialOpts = []grpc.DialOption{grpc.WithTransportCredentials(credentials.NewTLS(dialTLS))}
	}

	s := &Server{system: system, logger: logger}
	if node.PID().Id != NodeName {
		proc, ok := system.ProcessRegistry.GetLocal(node.PID().Id)
		if !ok {
			return nil, fmt.Errorf("api: node supervisor %q is not running", node.PID().Id)
		}
		// An alias in the registry rather than a forwarding actor: the
		// node's mailbox receives the messages directly, senders intact.
		pid, added := system.ProcessRegistry.Add(proc, NodeName)
		if !added {
			return nil, fmt.Errorf("api: actor name %q is already taken in this actor system", NodeName)
		}
		s.alias = pid
	}

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
	s.remote = remote.NewRemote(system, rcfg)
	if err := remotestart.Start(s.remote); err != nil {
		s.dropAlias()
		return nil, fmt.Errorf("api: listening on %q: %w", cfg.Listen, err)
	}
	s.addr = system.Address()
	logger.Info("message API listening", "address", s.addr, "mtls", t.Enabled(), "node", NodeName)
	return s, nil
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

// Close stops the API: open streams are told to disconnect, the listener
// is closed and the name NodeName released. The node supervisor keeps
// running. Close is idempotent, nil-safe, and returns nil.
func (s *Server) Close() error {
	if s == nil {
		return nil
	}
	s.closeOnce.Do(func() {
		remotestart.Stop(s.system, s.remote)
		s.dropAlias()
		s.logger.Info("message API stopped", "address", s.addr)
	})
	return nil
}

func (s *Server) dropAlias() {
	if s.alias != nil {
		s.system.ProcessRegistry.Remove(s.alias)
	}
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

// loopback reports whether host names a loopback address only.
func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.IsLoopback()
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
