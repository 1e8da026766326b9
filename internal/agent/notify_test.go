package agent

import (
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/linx-net/linx/config"
	"github.com/linx-net/linx/internal/nstest"
	"github.com/linx-net/linx/internal/sdnotify"
)

// notifySocket listens where a test agent sends its notifications and
// returns a function reading the next one (failing the test after 10 s).
func notifySocket(t *testing.T) (*sdnotify.Notifier, func() string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "notify.sock")
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	n, err := sdnotify.FromEnv(func(k string) string {
		switch k {
		case "NOTIFY_SOCKET":
			return path
		case "WATCHDOG_USEC":
			return "100000" // a ping every 50 ms
		}
		return ""
	})
	if err != nil {
		t.Fatal(err)
	}
	next := func() string {
		t.Helper()
		buf := make([]byte, 4096)
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		k, err := c.Read(buf)
		if err != nil {
			t.Fatalf("waiting for a notification: %v", err)
		}
		return string(buf[:k])
	}
	return n, next
}

func newNotifyingAgent(t *testing.T, body string, n *sdnotify.Notifier, readyTimeout time.Duration) *Agent {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "linx.yaml")
	head := "state_dir: " + filepath.Join(dir, "state") + "\nmetrics: {listen: \"off\"}\nscopes:\n"
	if err := os.WriteFile(path, []byte(head+body), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	a, err := New(Options{Path: path, Config: cfg, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		NoSignals: true, Notifier: n, ReadyTimeout: readyTimeout})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// READY=1 comes once the configured scope has converged, watchdog pings
// follow while the node answers, and STOPPING=1 ends the run.
func TestNotifyReadyWatchdogStopping(t *testing.T) {
	ns := nstest.New(t)
	n, next := notifySocket(t)
	a := newNotifyingAgent(t, "  - name: a\n    netns: path:"+ns.Path()+
		"\n    interval: 1h\n    desired: {addresses: [{link: lo, address: 10.7.0.1/32}]}\n", n, time.Hour)
	stop := runAgent(t, a)

	if got, want := next(), "READY=1\nSTATUS=every configured scope has converged"; got != want {
		t.Fatalf("first notification %q, want %q", got, want)
	}
	if got := addrs(ns, "lo"); !slices.Contains(got, "10.7.0.1/32") {
		t.Fatalf("READY=1 before the scope converged: lo has %v", got)
	}
	for range 3 {
		if got := next(); got != "WATCHDOG=1" {
			t.Fatalf("after READY=1: %q, want WATCHDOG=1", got)
		}
	}
	stop()
	for {
		got := next()
		if got == "STOPPING=1" {
			break
		}
		if got != "WATCHDOG=1" {
			t.Fatalf("while stopping: %q, want WATCHDOG=1 or STOPPING=1", got)
		}
	}
}

// A scope that never runs a pass to its end does not hold READY=1 past
// the timeout; the status names it. A scope whose pass leaves objects
// unconverged (an address on a link that does not exist, here) is
// degraded and counts as ready; one whose passes never end cannot be
// made on demand from a configuration, so the test expects one more
// scope, "never", that no pass reports.
func TestNotifyReadyTimeout(t *testing.T) {
	ns := nstest.New(t)
	n, next := notifySocket(t)
	a := newNotifyingAgent(t, "  - name: degraded\n    netns: path:"+ns.Path()+
		"\n    interval: 1h\n    desired: {addresses: [{link: nope0, address: 10.7.0.1/32}]}\n", n, 300*time.Millisecond)
	a.ready.expect("never")
	runAgent(t, a)
	got := next()
	if got != "READY=1\nSTATUS=ready after 300ms; not converged yet: never" {
		t.Fatalf("notification %q: want READY=1 with a status naming the scope never, and not the degraded one", got)
	}
}
