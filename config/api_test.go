package config

import (
	"strings"
	"testing"
	"time"
)

// TestPlainTCPRefused checks that api.listen without TLS is refused,
// loopback included, naming the line and the local socket.
func TestPlainTCPRefused(t *testing.T) {
	_, err := Parse("linx.yaml", []byte("state_dir: /tmp/x\napi:\n  listen: 127.0.0.1:9477\n"))
	if err == nil {
		t.Fatal("a plain TCP listen was accepted")
	}
	for _, want := range []string{"linx.yaml:3:", "api.listen", "mutual TLS", "api.socket"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%v\nwant %q in it", err, want)
		}
	}
}

func TestAPISocketDefaults(t *testing.T) {
	for _, tc := range []struct{ yaml, want string }{
		{"scopes: []\n", DefaultSocket},
		{"api:\n  group: linx\n", DefaultSocket},
		{"api:\n  socket: off\n", ""},
		{"api:\n  socket: /tmp/t/linx.sock\n", "/tmp/t/linx.sock"},
	} {
		cfg, err := Parse("t.yaml", []byte(tc.yaml))
		if err != nil {
			t.Fatalf("%q: %v", tc.yaml, err)
		}
		if cfg.API.Socket != tc.want {
			t.Errorf("%q: socket %q; want %q", tc.yaml, cfg.API.Socket, tc.want)
		}
		l := cfg.API.Limits
		if l.MaxMessageBytes != DefaultMaxMessageBytes || l.Burst != DefaultBurst || l.HandshakeTimeout != DefaultHandshakeTimeout {
			t.Errorf("%q: limits %+v; want the defaults", tc.yaml, l)
		}
	}
}

func TestAuthorization(t *testing.T) {
	cfg, err := Parse("t.yaml", []byte(`api:
  socket: /tmp/t/linx.sock
  group: linx
  authorization:
    - identity: "spiffe://example.org/tenant/*"
      verbs: [status, spawn]
      namespaces: {host: false, pid: true, paths: ["/var/run/netns/tenant-*"]}
      scopes: ["tenant-*"]
      configured: false
      max_objects: 100
      reply_addresses: [10.0.0.5]
  limits:
    max_message_bytes: 1MiB
    requests_per_second: 5
    burst: 10
    max_scopes: 20
    max_scopes_per_identity: 2
    max_connections: 30
    max_connections_per_source: 3
    handshake_timeout: 2s
`))
	if err != nil {
		t.Fatal(err)
	}
	a := cfg.API
	if len(a.Authorization) != 1 {
		t.Fatalf("rules: %+v", a.Authorization)
	}
	g := a.Authorization[0]
	if g.Identity != "spiffe://example.org/tenant/*" || len(g.Verbs) != 2 || g.Host || !g.PID || g.Paths[0] != "/var/run/netns/tenant-*" ||
		g.Scopes[0] != "tenant-*" || g.MaxObjects != 100 || g.ReplyAddresses[0] != "10.0.0.5" || g.Line != 5 {
		t.Errorf("rule: %+v", g)
	}
	want := Limits{MaxMessageBytes: 1 << 20, RequestsPerSecond: 5, Burst: 10, MaxScopes: 20, MaxScopesPerIdentity: 2,
		MaxConnections: 30, MaxConnectionsPerSource: 3, HandshakeTimeout: 2 * time.Second}
	if a.Limits != want {
		t.Errorf("limits %+v; want %+v", a.Limits, want)
	}

	for _, tc := range []struct{ yaml, want string }{
		{"  authorization:\n    - {identity: x}\n", "verbs is required"},
		{"  authorization:\n    - {identity: x, verbs: [delete]}\n", "want status, spawn, update, stop or *"},
		{"  authorization:\n    - {identity: x, verbs: [spawn], namespaces: {paths: [relative/*]}}\n", "absolute path glob"},
		{"  authorization:\n    - {identity: '[', verbs: [spawn]}\n", "want an identity"},
		{"  socket: relative.sock\n", "want an absolute path or off"},
		{"  limits: {burst: 0}\n", "at least 1"},
		{"  limits: {handshake_timeout: 1h}\n", "from 100ms to 1m"},
	} {
		_, err := Parse("t.yaml", []byte("api:\n"+tc.yaml))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v; want %q", tc.yaml, err, tc.want)
		}
	}
}
