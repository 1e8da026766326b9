package sdnotify

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"
)

// Messages the agent sends, as sd_notify(3) names them.
const (
	// Ready tells the manager that start-up is complete.
	Ready = "READY=1"
	// Stopping tells the manager that the service is shutting down.
	Stopping = "STOPPING=1"
	// Reloading tells the manager that the configuration is being
	// re-read; Ready ends it.
	Reloading = "RELOADING=1"
	// Watchdog is the keep-alive ping.
	Watchdog = "WATCHDOG=1"
)

// Status returns a STATUS= line: free text shown by `systemctl status`.
// Newlines in text are replaced by spaces, since each line of a
// notification is one assignment.
func Status(text string) string {
	return "STATUS=" + strings.ReplaceAll(text, "\n", " ")
}

// Notifier sends notifications to one socket. Its zero value sends
// nothing; use FromEnv.
type Notifier struct {
	addr *net.UnixAddr // nil: not under a notify-aware manager
	// watchdog is half the manager's WatchdogSec, zero when off.
	watchdog time.Duration
}

// FromEnv returns the Notifier that $NOTIFY_SOCKET, $WATCHDOG_USEC and
// $WATCHDOG_PID describe, as getenv returns them (os.Getenv in
// production). An unset NOTIFY_SOCKET gives a Notifier that sends nothing.
// It fails on a WATCHDOG_USEC that is not a positive number of
// microseconds, quoting it.
func FromEnv(getenv func(string) string) (*Notifier, error) {
	n := &Notifier{}
	if path := getenv("NOTIFY_SOCKET"); path != "" {
		name := path
		if name[0] == '@' { // abstract namespace: a leading NUL byte
			name = "\x00" + name[1:]
		}
		n.addr = &net.UnixAddr{Name: name, Net: "unixgram"}
	}
	usec := getenv("WATCHDOG_USEC")
	if usec == "" {
		return n, nil
	}
	if pid := getenv("WATCHDOG_PID"); pid != "" && pid != strconv.Itoa(os.Getpid()) {
		return n, nil // the watchdog is meant for another process
	}
	v, err := strconv.ParseUint(usec, 10, 63)
	if err != nil || v == 0 {
		return nil, fmt.Errorf("sdnotify: WATCHDOG_USEC=%q is not a positive number of microseconds", usec)
	}
	n.watchdog = time.Duration(v) * time.Microsecond / 2
	return n, nil
}

// Enabled reports whether n sends notifications at all.
func (n *Notifier) Enabled() bool { return n != nil && n.addr != nil }

// WatchdogInterval returns how often WATCHDOG=1 should be sent: half the
// unit's WatchdogSec, or zero when the watchdog is off.
func (n *Notifier) WatchdogInterval() time.Duration {
	if !n.Enabled() {
		return 0
	}
	return n.watchdog
}

// Notify sends the given assignments (Ready, Status("…"), …) in one
// datagram. It does nothing and returns nil when n is not enabled, and
// returns the socket's error, wrapped, when the send fails.
func (n *Notifier) Notify(assignments ...string) error {
	if !n.Enabled() || len(assignments) == 0 {
		return nil
	}
	conn, err := net.DialUnix("unixgram", nil, n.addr)
	if err != nil {
		return fmt.Errorf("sdnotify: %w", err)
	}
	defer conn.Close()
	msg := strings.Join(assignments, "\n")
	if _, err := conn.Write([]byte(msg)); err != nil {
		return fmt.Errorf("sdnotify: sending %q: %w", msg, err)
	}
	return nil
}
