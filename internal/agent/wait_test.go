package agent

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/linx-net/linx/config"
	"github.com/linx-net/linx/internal/nstest"
	"github.com/linx-net/linx/messages"
	"github.com/linx-net/linx/reconcile"
	"github.com/linx-net/linx/rtnl"
)

// syncBuf is a log sink safe for concurrent use.
type syncBuf struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// newLoggedAgent is newAgent logging (text) into the returned buffer.
func newLoggedAgent(t *testing.T, path string) (*Agent, *syncBuf) {
	t.Helper()
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuf{}
	a, err := New(Options{Path: path, Config: cfg, Logger: slog.New(slog.NewTextHandler(logs, nil)), NoSignals: true})
	if err != nil {
		t.Fatal(err)
	}
	return a, logs
}

func phaseOf(a *Agent, name string) messages.Phase {
	st, err := a.Node().Status(name)
	if err != nil {
		return messages.Phase_PHASE_UNSPECIFIED
	}
	return st.GetPhase()
}

// ledgerCookie returns the namespace cookie the ledger file at path is
// bound to (0: none yet).
func ledgerCookie(t *testing.T, path string) uint64 {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Namespace *struct {
			Cookie uint64 `json:"cookie"`
		} `json:"namespace"`
	}
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatalf("ledger %s: %v", path, err)
	}
	if f.Namespace == nil {
		return 0
	}
	return f.Namespace.Cookie
}

// TestScopeWaitsForItsNamespace starts an agent whose scope names a
// namespace that does not exist yet, as the example configuration does on
// a fresh install. The scope waits (phase waiting, ready, one WARN line),
// converges the namespace once `ip netns add` makes it, waits again after
// `ip netns del`, and converges the new namespace of that name from a
// ledger of its own. The time from the end of `ip netns add` to the
// address being there is logged, not asserted.
func TestScopeWaitsForItsNamespace(t *testing.T) {
	name := nstest.Name(t)
	nsPath := "/var/run/netns/" + name
	dir := t.TempDir()
	state := filepath.Join(dir, "state")
	path := filepath.Join(dir, "linx.yaml")
	body := "state_dir: " + state + "\nmetrics: {listen: \"127.0.0.1:0\"}\nscopes:\n" +
		"  - name: a\n    netns: path:" + nsPath + "\n    interval: 1h\n" +
		"    desired: {addresses: [{link: lo, address: 10.7.0.1/32}]}\n"
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	a, logs := newLoggedAgent(t, path)
	runAgent(t, a)
	eventually(t, "a waiting", func() bool { return phaseOf(a, "a") == messages.Phase_PHASE_WAITING })
	st, _ := a.Node().Status("a")
	if !strings.Contains(st.GetReason(), nsPath) {
		t.Errorf("reason = %q, want the path waited for", st.GetReason())
	}
	// Waiting counts as ready, and /readyz says what waits.
	if p := a.Pending(); len(p) != 0 {
		t.Errorf("pending while a waits = %v, want none", p)
	}
	resp, err := http.Get("http://" + a.MetricsAddr().String() + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(got), "waiting for their namespace (counted as ready): a") {
		t.Errorf("/readyz = %d %q", resp.StatusCode, got)
	}

	converge := func(round string) (time.Duration, rtnl.NamespaceID) {
		t.Helper()
		nstest.Netns(t, "add", name)
		added := time.Now()
		ns := &nstest.NS{Name: name}
		eventually(t, round+": converged", func() bool {
			return phaseOf(a, "a") == messages.Phase_PHASE_CONVERGED && strings.Contains(mustIP(t, ns, "-4", "addr", "show", "dev", "lo"), "10.7.0.1/32")
		})
		took := time.Since(added)
		sock, err := rtnl.Open(rtnl.NamespaceAt(nsPath))
		if err != nil {
			t.Fatal(err)
		}
		defer sock.Close()
		return took, sock.NamespaceID()
	}
	took1, id1 := converge("first namespace")
	t.Logf("converged %v after ip netns add (a namespace the agent waited for since its start)", took1)
	ledger1 := reconcile.LedgerPath(state, "a", id1)
	if c := ledgerCookie(t, ledger1); c != id1.Cookie {
		t.Errorf("ledger %s bound to cookie %d, want the namespace's %d", ledger1, c, id1.Cookie)
	}

	nstest.Netns(t, "del", name)
	eventually(t, "a waiting again", func() bool { return phaseOf(a, "a") == messages.Phase_PHASE_WAITING })
	took2, id2 := converge("second namespace")
	t.Logf("converged %v after ip netns add of a name deleted before", took2)
	if id2.Cookie == id1.Cookie {
		t.Fatalf("the second namespace has the first's cookie %d", id1.Cookie)
	}
	// The new namespace has a ledger of its own: bound to it, and the
	// first one's (when it is another file) still bound to the first.
	ledger2 := reconcile.LedgerPath(state, "a", id2)
	if c := ledgerCookie(t, ledger2); c != id2.Cookie {
		t.Errorf("ledger %s bound to cookie %d, want the new namespace's %d", ledger2, c, id2.Cookie)
	}
	if ledger2 != ledger1 {
		if c := ledgerCookie(t, ledger1); c != id1.Cookie {
			t.Errorf("the first namespace's ledger now bound to %d, want %d", c, id1.Cookie)
		}
	}
	st, _ = a.Node().Status("a")
	if st.GetRestarts() != 0 {
		t.Errorf("restarts = %d: a namespace coming and going is no crash", st.GetRestarts())
	}
	out := logs.String()
	if n := strings.Count(out, `level=WARN msg="scope waiting`); n != 2 {
		t.Errorf("%d WARN lines 'scope waiting', want 2 (at start, after the del):\n%s", n, out)
	}
	if n := strings.Count(out, `level=WARN msg="scope's namespace appeared`); n != 2 {
		t.Errorf("%d WARN lines 'namespace appeared', want 2:\n%s", n, out)
	}
	if strings.Contains(out, "scope is gone, stopping it") {
		t.Errorf("the namespace's deletion stopped the scope for good:\n%s", out)
	}
}

func mustIP(t *testing.T, ns *nstest.NS, args ...string) string {
	out, err := ns.TryIP(args...)
	if err != nil {
		return "" // not there yet
	}
	return out
}

// TestReloadRespawnsStoppedScope: a configured scope that stopped is
// spawned again by a reload of the same file, and the reload's log line
// counts it; a pid: scope whose process exited stays stopped, as its
// pid may name another namespace some day.
func TestReloadRespawnsStoppedScope(t *testing.T) {
	nsA := nstest.New(t)
	pid := nstest.Process(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "linx.yaml")
	body := "state_dir: " + filepath.Join(dir, "state") + "\nmetrics: {listen: \"off\"}\nscopes:\n" +
		"  - name: a\n    netns: path:" + nsA.Path() + "\n    interval: 1h\n    desired: {addresses: [{link: lo, address: 10.7.0.1/32}]}\n" +
		"  - name: p\n    netns: pid:" + strconv.Itoa(pid) + "\n    interval: 1h\n    desired: {addresses: [{link: lo, address: 10.7.0.2/32}]}\n"
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	a, logs := newLoggedAgent(t, path)
	runAgent(t, a)
	eventually(t, "a and p converged", func() bool {
		return phaseOf(a, "a") == messages.Phase_PHASE_CONVERGED && phaseOf(a, "p") == messages.Phase_PHASE_CONVERGED
	})

	if err := a.Node().Stop("a", false); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	eventually(t, "a and p stopped", func() bool {
		return phaseOf(a, "a") == messages.Phase_PHASE_STOPPED && phaseOf(a, "p") == messages.Phase_PHASE_STOPPED
	})
	nsA.IP("addr", "del", "10.7.0.1/32", "dev", "lo")
	if err := a.Reload(); err != nil {
		t.Fatalf("Reload: %v", err)
	}
	eventually(t, "a converged again", func() bool {
		return phaseOf(a, "a") == messages.Phase_PHASE_CONVERGED && strings.Contains(nsA.IP("-4", "addr", "show", "dev", "lo"), "10.7.0.1/32")
	})
	if p := phaseOf(a, "p"); p != messages.Phase_PHASE_STOPPED {
		t.Errorf("p after the reload: %v, want still stopped", p)
	}
	out := logs.String()
	if !strings.Contains(out, `msg="reload done"`) || !strings.Contains(out, "restarted=1") {
		t.Errorf("the reload's line does not count the scope spawned again:\n%s", out)
	}
	if !strings.Contains(out, "left stopped") {
		t.Errorf("p's staying stopped is not logged:\n%s", out)
	}
}

// TestReloadRespawnsFailedScope: a waiting scope whose path turns out to
// name something that is not a namespace fails (with the reason); once the
// path is fixed, a reload of the same file spawns it again and it
// converges.
func TestReloadRespawnsFailedScope(t *testing.T) {
	ns := nstest.New(t)
	dir := t.TempDir()
	nsPath := filepath.Join(dir, "ns")
	path := filepath.Join(dir, "linx.yaml")
	body := "state_dir: " + filepath.Join(dir, "state") + "\nmetrics: {listen: \"off\"}\nscopes:\n" +
		"  - name: a\n    netns: path:" + nsPath + "\n    interval: 1h\n    desired: {addresses: [{link: lo, address: 10.7.0.3/32}]}\n"
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	a, logs := newLoggedAgent(t, path)
	runAgent(t, a)
	eventually(t, "a waiting", func() bool { return phaseOf(a, "a") == messages.Phase_PHASE_WAITING })
	if err := os.WriteFile(nsPath, []byte("not a namespace\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	eventually(t, "a failed", func() bool { return phaseOf(a, "a") == messages.Phase_PHASE_FAILED })
	st, _ := a.Node().Status("a")
	if !strings.Contains(st.GetReason(), "not a namespace file") {
		t.Errorf("reason = %q", st.GetReason())
	}
	if err := os.Remove(nsPath); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(ns.Path(), nsPath); err != nil {
		t.Fatal(err)
	}
	if err := a.Reload(); err != nil {
		t.Fatalf("Reload: %v", err)
	}
	eventually(t, "a converged", func() bool {
		return phaseOf(a, "a") == messages.Phase_PHASE_CONVERGED && strings.Contains(ns.IP("-4", "addr", "show", "dev", "lo"), "10.7.0.3/32")
	})
	if out := logs.String(); !strings.Contains(out, "restarted=1") {
		t.Errorf("the reload's line does not count the failed scope spawned again:\n%s", out)
	}
}
