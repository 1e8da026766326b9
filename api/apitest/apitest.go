// Package apitest makes throwaway certificate authorities and certificates
// for tests of the message API's mutual TLS. Nothing here is fit for
// production keys: they live in a test's temporary directory.
package apitest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// CA is a throwaway certificate authority whose files live in Dir.
type CA struct {
	// Dir holds the CA's and its certificates' PEM files.
	Dir string
	// CertFile is the CA certificate (PEM), for client_ca or WithTLS.
	CertFile string

	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	tb   testing.TB
}

// Pair names a certificate's and its key's PEM files.
type Pair struct{ CertFile, KeyFile string }

// NewCA makes a CA named name in a fresh temporary directory of tb. It
// fails tb on any error.
func NewCA(tb testing.TB, name string) *CA {
	tb.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatalf("apitest: CA key: %v", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial(tb),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		tb.Fatalf("apitest: CA certificate: %v", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		tb.Fatalf("apitest: CA certificate: %v", err)
	}
	dir := tb.TempDir()
	ca := &CA{Dir: dir, CertFile: filepath.Join(dir, name+"-ca.pem"), cert: cert, key: key, tb: tb}
	writePEM(tb, ca.CertFile, "CERTIFICATE", der)
	return ca
}

// Issue makes a certificate for name signed by the CA, valid for the
// loopback addresses and "localhost" and usable on both sides of a
// connection (serverAuth and clientAuth), as the message API requires.
func (ca *CA) Issue(name string) Pair {
	ca.tb.Helper()
	return ca.IssueWith(name, SANs{DNS: []string{"localhost"}, IPs: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}})
}

// SANs are the subject alternative names of a certificate IssueWith makes.
type SANs struct {
	DNS  []string
	IPs  []net.IP
	URIs []string // e.g. spiffe://example.org/tenant/a
}

// IssueWith is Issue with the subject alternative names of sans instead
// of the loopback ones (a certificate that vouches for no reply address
// on this machine, or names its holder by a URI).
func (ca *CA) IssueWith(name string, sans SANs) Pair {
	tb := ca.tb
	tb.Helper()
	var uris []*url.URL
	for _, u := range sans.URIs {
		parsed, err := url.Parse(u)
		if err != nil {
			tb.Fatalf("apitest: URI SAN %q: %v", u, err)
		}
		uris = append(uris, parsed)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatalf("apitest: key for %s: %v", name, err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(tb),
		Subject:      pkix.Name{CommonName: name},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		DNSNames:     sans.DNS,
		IPAddresses:  sans.IPs,
		URIs:         uris,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		tb.Fatalf("apitest: certificate for %s: %v", name, err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		tb.Fatalf("apitest: key for %s: %v", name, err)
	}
	file := url.PathEscape(name)
	p := Pair{CertFile: filepath.Join(ca.Dir, file+".pem"), KeyFile: filepath.Join(ca.Dir, file+"-key.pem")}
	writePEM(tb, p.CertFile, "CERTIFICATE", der)
	writePEM(tb, p.KeyFile, "PRIVATE KEY", kder)
	return p
}

func serial(tb testing.TB) *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		tb.Fatalf("apitest: serial: %v", err)
	}
	return n
}

func writePEM(tb testing.TB, file, typ string, der []byte) {
	if err := os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		tb.Fatalf("apitest: %v", err)
	}
}
