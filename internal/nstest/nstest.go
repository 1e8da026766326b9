package nstest

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/linx-net/linx/rtnl"
)

// Prefix starts the name of every namespace this package makes.
const Prefix = "linx-t-"

// RequireRoot skips tb, loudly, when the process cannot create namespaces.
func RequireRoot(tb testing.TB) {
	tb.Helper()
	if os.Geteuid() != 0 {
		tb.Skip("SKIPPED: integration test needs root (run `sudo make test`)")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		tb.Skip("SKIPPED: iproute2's `ip` is not installed")
	}
}

// NS is a throwaway named network namespace.
type NS struct {
	// Name is the namespace's name under /var/run/netns.
	Name string
	tb   testing.TB
}

// New creates a namespace with a unique name, brings its loopback up and
// registers its removal with tb.Cleanup. It skips tb without root.
func New(tb testing.TB) *NS {
	tb.Helper()
	RequireRoot(tb)
	name := uniqueName()
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		tb.Fatalf("ip netns add %s: %v: %s", name, err, out)
	}
	ns := &NS{Name: name, tb: tb}
	tb.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "del", name).CombinedOutput(); err != nil {
			tb.Errorf("ip netns del %s: %v: %s", name, err, out)
		}
	})
	ns.IP("link", "set", "lo", "up")
	return ns
}

// uniqueName returns a namespace name of this package's, unused in
// practice: Prefix and ten random hex digits.
func uniqueName() string {
	var b [5]byte
	_, _ = rand.Read(b[:])
	return Prefix + hex.EncodeToString(b[:])
}

// Name returns a unique name for a namespace the test adds and deletes
// itself (see Netns), for code that must meet a namespace that is not
// there yet or goes away. Whatever has that name when the test ends is
// removed, failed test or not. It skips tb without root.
func Name(tb testing.TB) string {
	tb.Helper()
	RequireRoot(tb)
	name := uniqueName()
	tb.Cleanup(func() {
		if _, err := os.Stat("/var/run/netns/" + name); err == nil {
			if out, err := exec.Command("ip", "netns", "del", name).CombinedOutput(); err != nil {
				tb.Errorf("ip netns del %s: %v: %s", name, err, out)
			}
		}
	})
	return name
}

// Netns runs `ip netns VERB NAME` (add or del) and fails tb if it fails.
func Netns(tb testing.TB, verb, name string) {
	tb.Helper()
	if out, err := exec.Command("ip", "netns", verb, name).CombinedOutput(); err != nil {
		tb.Fatalf("ip netns %s %s: %v: %s", verb, name, err, out)
	}
}

// Namespace returns the rtnl.Namespace naming ns by path.
func (ns *NS) Namespace() rtnl.Namespace { return rtnl.NamespaceAt(ns.Path()) }

// Path returns /var/run/netns/NAME.
func (ns *NS) Path() string { return "/var/run/netns/" + ns.Name }

// Open opens an rtnl socket in ns, closed in tb.Cleanup.
func (ns *NS) Open() *rtnl.Socket {
	ns.tb.Helper()
	s, err := rtnl.Open(ns.Namespace())
	if err != nil {
		ns.tb.Fatalf("rtnl.Open(%s): %v", ns.Path(), err)
	}
	ns.tb.Cleanup(func() { s.Close() })
	return s
}

// IP runs `ip -n NAME args…` and fails the test on error. It returns the
// command's standard output.
func (ns *NS) IP(args ...string) string {
	ns.tb.Helper()
	out, err := ns.TryIP(args...)
	if err != nil {
		ns.tb.Fatalf("ip -n %s %s: %v", ns.Name, strings.Join(args, " "), err)
	}
	return out
}

// TryIP runs `ip -n NAME args…` and returns its output, or an error that
// carries its standard error.
func (ns *NS) TryIP(args ...string) (string, error) {
	cmd := exec.Command("ip", append([]string{"-n", ns.Name}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return string(out), fmt.Errorf("%v: %s", err, strings.TrimSpace(stderr.String()))
	}
	return string(out), nil
}

// Batch feeds lines to `ip -n NAME -batch -` and fails the test on error.
func (ns *NS) Batch(lines string) {
	ns.tb.Helper()
	cmd := exec.Command("ip", "-n", ns.Name, "-batch", "-")
	cmd.Stdin = strings.NewReader(lines)
	if out, err := cmd.CombinedOutput(); err != nil {
		ns.tb.Fatalf("ip -n %s -batch: %v: %s", ns.Name, err, out)
	}
}

// JSON runs `ip -N -j -n NAME args…` (numeric output) and decodes its
// output into v.
func (ns *NS) JSON(v any, args ...string) {
	ns.tb.Helper()
	out := ns.IP(append([]string{"-N", "-j"}, args...)...)
	if strings.TrimSpace(out) == "" {
		out = "[]"
	}
	if err := json.Unmarshal([]byte(out), v); err != nil {
		ns.tb.Fatalf("decoding ip -j %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// Exec runs a command inside ns (`ip netns exec`), failing the test on
// error, and returns its combined output.
func (ns *NS) Exec(name string, args ...string) string {
	ns.tb.Helper()
	cmd := exec.Command("ip", append([]string{"netns", "exec", ns.Name, name}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		ns.tb.Fatalf("ip netns exec %s %s: %v: %s", ns.Name, name, err, out)
	}
	return string(out)
}

// Process starts `sleep` inside a new, unnamed network namespace (through
// unshare) and returns its pid; the process is killed in tb.Cleanup. Use it
// to exercise namespaces named by pid.
func Process(tb testing.TB) int {
	tb.Helper()
	RequireRoot(tb)
	cmd := exec.Command("unshare", "--net", "sleep", "3600")
	if err := cmd.Start(); err != nil {
		tb.Fatalf("unshare --net sleep: %v", err)
	}
	tb.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	// unshare execs sleep in place, so the pid is the namespaced process;
	// wait until it has left our namespace.
	// Compare with this thread's namespace, not /proc/self's: /proc/self
	// is the main thread, which stays wedged in another namespace when a
	// locked goroutine entered one on it (rtnl's Namespace.Run) and exited.
	self, _ := os.Readlink("/proc/thread-self/ns/net")
	for range 1000 {
		if ns, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/net", cmd.Process.Pid)); err == nil && ns != self {
			return cmd.Process.Pid
		}
		time.Sleep(time.Millisecond)
	}
	tb.Fatalf("process %d never entered its own namespace", cmd.Process.Pid)
	return 0
}
