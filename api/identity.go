package api

import (
	"context"
	"crypto/x509"
	"fmt"
	"net"
	"net/netip"
	"strings"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/peer"
	"google.golang.org/protobuf/proto"
)

// Identity returns the name a client certificate gives its holder: its
// first URI SAN ("spiffe://example.org/controller/cni"), or its subject's
// common name when it has none. It returns "" for a nil certificate.
func Identity(cert *x509.Certificate) string {
	if cert == nil {
		return ""
	}
	if len(cert.URIs) > 0 {
		return cert.URIs[0].String()
	}
	return cert.Subject.CommonName
}

// peerCert returns the verified client certificate of the stream whose
// context is ctx, nil when there is none.
func peerCert(ctx context.Context) *x509.Certificate {
	p, ok := peer.FromContext(ctx)
	if !ok {
		return nil
	}
	info, ok := p.AuthInfo.(credentials.TLSInfo)
	if !ok || len(info.State.PeerCertificates) == 0 {
		return nil
	}
	return info.State.PeerCertificates[0]
}

// stampIdentity is the guard's Policy.Stamp: the identity of the stream's
// certificate and the connection's source address.
func stampIdentity(ctx context.Context) map[string]string {
	h := map[string]string{headerIdentity: Identity(peerCert(ctx))}
	if p, ok := peer.FromContext(ctx); ok {
		h[headerPeer] = p.Addr.String()
	}
	return h
}

// declare is the guard's Policy.Declare: the reply address a TLS peer
// declares must be one its certificate vouches for (a DNS or IP SAN equal
// to the declared host) or one api.authorization lists for its identity.
// Otherwise a peer could name another controller's address, and the
// agent would deliver replies and status pushes there as if to it.
func (s *Server) declare(ctx context.Context, addr string) error {
	cert := peerCert(ctx)
	if cert == nil {
		return fmt.Errorf("the peer presented no certificate")
	}
	if vouches(cert, addr) {
		return nil
	}
	id := Identity(cert)
	if s.gate.rules.Load().ReplyAllowed(id, addr) {
		return nil
	}
	return fmt.Errorf("the certificate of %q names neither its host as a DNS or IP SAN, nor does api.authorization list it in reply_addresses", id)
}

// vouches reports whether cert names the host of addr (host:port) as one
// of its DNS or IP SANs.
func vouches(cert *x509.Certificate, addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil || host == "" {
		return false
	}
	if a, err := netip.ParseAddr(host); err == nil {
		for _, ip := range cert.IPAddresses {
			if b, ok := netip.AddrFromSlice(ip); ok && b.Unmap() == a.Unmap() {
				return true
			}
		}
		return false
	}
	for _, n := range cert.DNSNames {
		if strings.EqualFold(n, host) {
			return true
		}
	}
	return false
}

// gateActor receives what TCP peers send the node (under NodeName) and
// passes it through the gate; the node's answer, or the refusal, goes
// back to the sender.
type gateActor struct{ g *gate }

func (a *gateActor) Receive(ctx actor.Context) {
	m, ok := ctx.Message().(proto.Message)
	if !ok || !strings.HasPrefix(string(proto.MessageName(m)), "linx.v1.") {
		return // actor.Started and the like
	}
	p := Peer{Transport: TransportTCP}
	if h := ctx.MessageHeader(); h != nil {
		p.Identity, p.Addr = h.Get(headerIdentity), h.Get(headerPeer)
	}
	// Only the guard stamps headers: a message without one did not come
	// through it (a local actor's), and is judged as from an unnamed peer.
	reply := a.g.handle(p, m)
	if ctx.Sender() != nil {
		ctx.Respond(reply)
	}
}
