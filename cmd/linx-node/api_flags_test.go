package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestAPIFlags checks how status and scope reach an agent: the local
// socket by default, TCP only with mutual TLS.
func TestAPIFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"status", "--api", "127.0.0.1:1"}, exitUsage, "always uses mutual TLS"},
		{[]string{"scope", "list", "--api", "127.0.0.1:1", "--tls-cert", "c.pem", "--tls-key", "k.pem"}, exitUsage, "go together"},
		{[]string{"status", "--tls-cert", "c.pem", "--tls-key", "k.pem", "--tls-ca", "ca.pem"}, exitUsage, "go with --api"},
		{[]string{"status", "--socket", filepath.Join(t.TempDir(), "none.sock")}, exitRuntime, "connecting to the agent's socket"},
		{[]string{"scope", "stop", "web", "--socket", filepath.Join(t.TempDir(), "none.sock")}, exitRuntime, "connecting to the agent's socket"},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(tc.args, &stdout, &stderr); code != tc.code || !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("linx-node %s: exit %d, %q; want %d and %q", strings.Join(tc.args, " "), code, stderr.String(), tc.code, tc.want)
		}
	}
}

// TestRunRefusesPlainTCP checks that the agent refuses api.listen without
// TLS at load, with the file's line and the local socket named.
func TestRunRefusesPlainTCP(t *testing.T) {
	path := filepath.Join(t.TempDir(), "linx.yaml")
	if err := os.WriteFile(path, []byte("state_dir: /tmp/none\napi:\n  listen: 127.0.0.1:9477\nscopes: []\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	code := run([]string{"run", "--config", path}, &stdout, &stderr)
	if code != exitUsage {
		t.Fatalf("exit %d; want %d\n%s", code, exitUsage, stderr.String())
	}
	for _, want := range []string{path + ":3", "api.listen", "mutual TLS", "api.socket"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("%q lacks %q", stderr.String(), want)
		}
	}
}
