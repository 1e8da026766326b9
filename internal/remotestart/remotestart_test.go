package remotestart

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSplitHostPort(t *testing.T) {
	for _, tc := range []struct {
		in   string
		host string
		port int
		err  string
	}{
		{"127.0.0.1:9477", "127.0.0.1", 9477, ""},
		{"[::1]:0", "::1", 0, ""},
		{":80", "", 80, ""},
		{"127.0.0.1", "", 0, "want host:port"},
		{"127.0.0.1:http", "", 0, `port "http" is not a number`},
		{"127.0.0.1:65536", "", 0, `port "65536" is not a number`},
	} {
		host, port, err := SplitHostPort(tc.in)
		switch {
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("SplitHostPort(%q): error %v, want one containing %q", tc.in, err, tc.err)
		case tc.err == "" && (err != nil || host != tc.host || port != tc.port):
			t.Errorf("SplitHostPort(%q) = %q, %d, %v; want %q, %d", tc.in, host, port, err, tc.host, tc.port)
		}
	}
}

func TestLoadPool(t *testing.T) {
	dir := t.TempDir()
	if _, err := LoadPool(filepath.Join(dir, "absent.pem")); err == nil || !strings.Contains(err.Error(), "reading CA file") {
		t.Errorf("LoadPool(absent): %v, want a read error", err)
	}
	notPEM := filepath.Join(dir, "not.pem")
	if err := os.WriteFile(notPEM, []byte("not a certificate\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadPool(notPEM); err == nil || !strings.Contains(err.Error(), "holds no PEM certificate") {
		t.Errorf("LoadPool(not PEM): %v, want a no-certificate error", err)
	}
}
