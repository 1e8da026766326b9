package sdnotify

import (
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// listen returns a datagram socket at a fresh path (or an abstract name
// when abstract is set) and the NOTIFY_SOCKET value naming it.
func listen(t *testing.T, abstract bool) (*net.UnixConn, string) {
	t.Helper()
	name := filepath.Join(t.TempDir(), "notify.sock")
	env := name
	if abstract {
		env = "@linx-sdnotify-test-" + strconv.Itoa(os.Getpid()) + "-" + strconv.FormatInt(time.Now().UnixNano(), 36)
		name = "\x00" + env[1:]
	}
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: name, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, env
}

func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

func read(t *testing.T, c *net.UnixConn) string {
	t.Helper()
	buf := make([]byte, 4096)
	if err := c.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
		t.Fatal(err)
	}
	n, err := c.Read(buf)
	if err != nil {
		t.Fatalf("reading a notification: %v", err)
	}
	return string(buf[:n])
}

func TestNotify(t *testing.T) {
	for _, abstract := range []bool{false, true} {
		c, sock := listen(t, abstract)
		n, err := FromEnv(env(map[string]string{"NOTIFY_SOCKET": sock}))
		if err != nil {
			t.Fatal(err)
		}
		if !n.Enabled() {
			t.Fatalf("NOTIFY_SOCKET=%s: not enabled", sock)
		}
		if err := n.Notify(Ready, Status("two\nlines")); err != nil {
			t.Fatal(err)
		}
		if got, want := read(t, c), "READY=1\nSTATUS=two lines"; got != want {
			t.Errorf("abstract=%v: got %q, want %q", abstract, got, want)
		}
	}
}

func TestNotifyDisabled(t *testing.T) {
	n, err := FromEnv(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if n.Enabled() || n.WatchdogInterval() != 0 {
		t.Fatalf("no NOTIFY_SOCKET: Enabled=%v WatchdogInterval=%v", n.Enabled(), n.WatchdogInterval())
	}
	if err := n.Notify(Ready); err != nil {
		t.Fatalf("Notify without a manager: %v, want nil", err)
	}
	var zero *Notifier
	if zero.Enabled() || zero.Notify(Ready) != nil {
		t.Fatal("a nil Notifier must send nothing and succeed")
	}
}

func TestNotifyMissingSocket(t *testing.T) {
	n, err := FromEnv(env(map[string]string{"NOTIFY_SOCKET": filepath.Join(t.TempDir(), "gone.sock")}))
	if err != nil {
		t.Fatal(err)
	}
	err = n.Notify(Ready)
	if err == nil || !strings.Contains(err.Error(), "sdnotify") {
		t.Fatalf("Notify to a missing socket: %v, want an sdnotify error", err)
	}
}

func TestWatchdogInterval(t *testing.T) {
	_, sock := listen(t, false)
	self := strconv.Itoa(os.Getpid())
	for _, tc := range []struct {
		usec, pid string
		want      time.Duration
		fail      bool
	}{
		{usec: "", want: 0},
		{usec: "20000000", want: 10 * time.Second},
		{usec: "20000000", pid: self, want: 10 * time.Second},
		{usec: "20000000", pid: "1", want: 0}, // meant for another process
		{usec: "0", fail: true},
		{usec: "-5", fail: true},
		{usec: "10s", fail: true},
	} {
		n, err := FromEnv(env(map[string]string{"NOTIFY_SOCKET": sock, "WATCHDOG_USEC": tc.usec, "WATCHDOG_PID": tc.pid}))
		if tc.fail {
			if err == nil || !strings.Contains(err.Error(), strconv.Quote(tc.usec)) {
				t.Errorf("WATCHDOG_USEC=%q: err %v, want one quoting it", tc.usec, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("WATCHDOG_USEC=%q: %v", tc.usec, err)
			continue
		}
		if got := n.WatchdogInterval(); got != tc.want {
			t.Errorf("WATCHDOG_USEC=%q WATCHDOG_PID=%q: interval %v, want %v", tc.usec, tc.pid, got, tc.want)
		}
	}
}
