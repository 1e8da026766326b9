// Package fleettest runs a real etcd server (go.etcd.io/etcd/server/v3/embed)
// for tests and demos: on loopback ports, in a temporary directory, with a
// Stop and a Start to play an outage. Nothing here is fit for production.
package fleettest

import (
	"fmt"
	"net"
	"net/url"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
)

// Server is one embedded etcd member. Its zero value is not usable; call
// New or Run.
type Server struct {
	// Endpoint is the client URL, http://127.0.0.1:PORT.
	Endpoint string

	cfg *embed.Config
	e   *embed.Etcd
}

// New starts an etcd in tb's temporary directory on free loopback ports;
// it is stopped at the end of the test. It fails tb on any error.
func New(tb testing.TB) *Server {
	tb.Helper()
	s, err := Run(tb.TempDir())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(s.Stop)
	return s
}

// Run starts an etcd with its data in dir on free loopback ports and
// waits until it serves. It fails when no port is free or the server does
// not start within 30 s.
func Run(dir string) (*Server, error) {
	client, err := freeURL()
	if err != nil {
		return nil, err
	}
	peer, err := freeURL()
	if err != nil {
		return nil, err
	}
	cfg := embed.NewConfig()
	cfg.Dir = dir
	cfg.LogLevel = "error"
	cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{client}, []url.URL{client}
	cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{peer}, []url.URL{peer}
	cfg.InitialCluster = cfg.Name + "=" + peer.String()
	s := &Server{Endpoint: client.String(), cfg: cfg}
	return s, s.Start()
}

// Start starts the server again after Stop, on the same ports and data;
// it does nothing when it runs.
func (s *Server) Start() error {
	if s.e != nil {
		return nil
	}
	// A member whose data directory holds a WAL ignores the initial
	// cluster settings and restarts from it.
	e, err := embed.StartEtcd(s.cfg)
	if err != nil {
		return fmt.Errorf("fleettest: starting etcd: %w", err)
	}
	select {
	case <-e.Server.ReadyNotify():
	case <-time.After(30 * time.Second):
		e.Close()
		return fmt.Errorf("fleettest: etcd did not become ready in 30s")
	}
	s.e = e
	return nil
}

// Stop stops the server, keeping its data; calling it again does nothing.
func (s *Server) Stop() {
	if s.e != nil {
		s.e.Close()
		s.e = nil
	}
}

// Client returns a new client of the server; the caller closes it.
func (s *Server) Client() (*clientv3.Client, error) {
	return clientv3.New(clientv3.Config{Endpoints: []string{s.Endpoint}, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
}

func freeURL() (url.URL, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return url.URL{}, fmt.Errorf("fleettest: finding a free port: %w", err)
	}
	defer ln.Close()
	return url.URL{Scheme: "http", Host: ln.Addr().String()}, nil
}
