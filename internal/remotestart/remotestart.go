package remotestart

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"strconv"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/remote"
)

// Start runs r.Start, which panics when it cannot listen (a port taken, an
// address not on this machine), and returns that panic as an error.
func Start(r *remote.Remote) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("starting the remote endpoint: %v", p)
		}
	}()
	r.Start()
	return nil
}

// Stop stops r, started on system, without remote.Remote.Shutdown(true),
// whose endpointManager.stop clears a map that a connection's reader
// goroutine may still be reading (a data race, and a nil dereference if the
// reader loses the race). Instead: the gRPC server stops (closing every
// incoming stream), then protoactor's endpoint actors are stopped, which
// closes the outgoing connections and ends their reader goroutines. Stop
// reports no error: protoactor's shutdown reports none.
func Stop(system *actor.ActorSystem, r *remote.Remote) {
	r.Shutdown(false)
	for _, id := range []string{"EndpointSupervisor", "activator"} {
		_ = system.Root.StopFuture(system.NewLocalPID(id)).Wait()
	}
}

// SplitHostPort splits host:port for protoactor, which takes them apart.
// It returns an error when listen is not host:port or the port is not a
// number from 0 to 65535; the host is not checked (an empty one is
// returned as such).
func SplitHostPort(listen string) (host string, port int, err error) {
	host, ps, err := net.SplitHostPort(listen)
	if err != nil {
		return "", 0, fmt.Errorf("want host:port: %w", err)
	}
	p, err := strconv.ParseUint(ps, 10, 16)
	if err != nil {
		return "", 0, fmt.Errorf("port %q is not a number from 0 to 65535", ps)
	}
	return host, int(p), nil
}

// LoadPool reads a PEM file of CA certificates. It returns an error when
// the file cannot be read or holds no PEM certificate.
func LoadPool(file string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("reading CA file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("CA file %q holds no PEM certificate", file)
	}
	return pool, nil
}

// LoadMutualTLS loads a certificate and key and a CA file, and returns the
// server side of mutual TLS (TLS 1.3, client certificates required and
// verified against the CA) with the certificate and CA pool, from which the
// caller builds its dialling side. It fails when a file cannot be read or
// parsed.
func LoadMutualTLS(certFile, keyFile, caFile string) (server *tls.Config, cert tls.Certificate, pool *x509.CertPool, err error) {
	cert, err = tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, cert, nil, fmt.Errorf("loading TLS certificate %q and key %q: %w", certFile, keyFile, err)
	}
	if pool, err = LoadPool(caFile); err != nil {
		return nil, cert, nil, err
	}
	server = &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{cert},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    pool,
	}
	return server, cert, pool, nil
}
