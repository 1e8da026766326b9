package api

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
)

// verifyChain returns a tls.Config.VerifyConnection that accepts a peer
// whose certificate chains to pool, whatever host name it carries.
func verifyChain(pool *x509.CertPool) func(tls.ConnectionState) error {
	return func(cs tls.ConnectionState) error {
		if len(cs.PeerCertificates) == 0 {
			return errors.New("peer presented no certificate")
		}
		inter := x509.NewCertPool()
		for _, c := range cs.PeerCertificates[1:] {
			inter.AddCert(c)
		}
		_, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{
			Roots:         pool,
			Intermediates: inter,
			KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		})
		if err != nil {
			return fmt.Errorf("verifying peer certificate %q: %w", cs.PeerCertificates[0].Subject, err)
		}
		return nil
	}
}
