package agent

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"
	"golang.org/x/sys/unix"

	"github.com/linx-net/linx/config"
	"github.com/linx-net/linx/internal/nstest"
	"github.com/linx-net/linx/reconcile"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// protoactor's dead-letter throttle outlives its actor system.
		goleak.IgnoreTopFunction("github.com/asynkron/protoactor-go/actor.NewDeadLetter.NewThrottle.func4.1"),
	)
}

// addrs returns the addresses of dev in ns as ip prints them (CIDR).
func addrs(ns *nstest.NS, dev string) []string {
	var links []struct {
		Info []struct {
			Local string `json:"local"`
			Len   int    `json:"prefixlen"`
		} `json:"addr_info"`
	}
	ns.JSON(&links, "-4", "addr", "show", "dev", dev)
	var out []string
	for _, l := range links {
		for _, a := range l.Info {
			out = append(out, a.Local+"/"+strconv.Itoa(a.Len))
		}
	}
	return out
}

// ledgerPath returns the ledger file of scope in ns under state.
func ledgerPath(t *testing.T, state, scope string, ns *nstest.NS) string {
	t.Helper()
	id, err := ns.Namespace().ID()
	if err != nil {
		t.Fatal(err)
	}
	return reconcile.LedgerPath(state, scope, id)
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestAgentRunReloadStop(t *testing.T) {
	nsA, nsB := nstest.New(t), nstest.New(t)
	dir := t.TempDir()
	state := filepath.Join(dir, "state")
	path := filepath.Join(dir, "linx.yaml")
	write := func(body string) {
		t.Helper()
		head := "state_dir: " + state + "\nmetrics: {listen: \"127.0.0.1:0\"}\nscopes:\n"
		if err := os.WriteFile(path, []byte(head+body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	scopeA := func(addr string) string {
		return "  - name: a\n    netns: path:" + nsA.Path() + "\n    interval: 1h\n    desired: {addresses: [{link: lo, address: " + addr + "}]}\n"
	}
	scopeB := "  - name: b\n    netns: path:" + nsB.Path() + "\n    interval: 1h\n    desired: {addresses: [{link: lo, address: 10.8.0.1/32}]}\n"
	write(scopeA("10.7.0.1/32"))
	a := newAgent(t, path)
	if fi, err := os.Stat(state); err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("state dir: %v, %v; want mode 0700", fi, err)
	}
	stop := runAgent(t, a)

	eventually(t, "scope a ready", func() bool { return len(a.Pending()) == 0 && slices.Contains(addrs(nsA, "lo"), "10.7.0.1/32") })
	if fi, err := os.Stat(ledgerPath(t, state, "a", nsA)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("ledger: %v, %v; want mode 0600", fi, err)
	}

	// A changed desired state, and a new scope.
	write(scopeA("10.7.0.2/32") + scopeB)
	if err := a.Reload(); err != nil {
		t.Fatalf("Reload: %v", err)
	}
	eventually(t, "a updated, b spawned", func() bool {
		return slices.Equal(addrs(nsA, "lo"), []string{"127.0.0.1/8", "10.7.0.2/32"}) &&
			slices.Contains(addrs(nsB, "lo"), "10.8.0.1/32") && len(a.Pending()) == 0
	})

	// An invalid file is refused and changes nothing.
	if err := os.WriteFile(path, []byte("scopes: [{name: a, netns: sideways}]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var ce *config.Error
	if err := a.Reload(); !errors.As(err, &ce) {
		t.Fatalf("Reload of an invalid file: %v, want a *config.Error", err)
	}
	if l, err := a.Node().List(); err != nil || len(l) != 2 {
		t.Fatalf("after a refused reload: %v, %v; want both scopes", l, err)
	}

	// A removed scope stops; its kernel state stays.
	write(scopeA("10.7.0.2/32"))
	if err := a.Reload(); err != nil {
		t.Fatalf("Reload: %v", err)
	}
	l, err := a.Node().List()
	if err != nil || len(l) != 1 || l[0].GetName() != "a" {
		t.Fatalf("after removing b: %v, %v; want a alone", l, err)
	}
	if !slices.Contains(addrs(nsB, "lo"), "10.8.0.1/32") {
		t.Errorf("stopping scope b deleted its address: %v", addrs(nsB, "lo"))
	}

	// A new namespace: the scope is spawned again there with a ledger of
	// its own; the old namespace keeps what it had, and its ledger.
	if err := os.WriteFile(path, []byte("state_dir: "+state+"\nmetrics: {listen: \"127.0.0.1:0\"}\nscopes:\n"+
		"  - name: a\n    netns: path:"+nsB.Path()+"\n    interval: 1h\n    desired: {addresses: [{link: lo, address: 10.7.0.9/32}]}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := a.Reload(); err != nil {
		t.Fatalf("Reload: %v", err)
	}
	eventually(t, "a respawned in nsB", func() bool {
		return slices.Contains(addrs(nsB, "lo"), "10.7.0.9/32") && len(a.Pending()) == 0
	})
	if !slices.Contains(addrs(nsA, "lo"), "10.7.0.2/32") {
		t.Errorf("moving scope a deleted its address in the old namespace: %v", addrs(nsA, "lo"))
	}
	if l, err := reconcile.OpenLedger(ledgerPath(t, state, "a", nsA)); err != nil || l.Len() != 1 {
		t.Errorf("the ledger of the old namespace: %v, %v; want it kept with its key", l, err)
	}

	// Stopping the agent deletes nothing.
	stop()
	if !slices.Contains(addrs(nsB, "lo"), "10.7.0.9/32") {
		t.Errorf("stopping the agent deleted scope a's address: %v", addrs(nsB, "lo"))
	}
}

// TestAgentKeepsRouteTypeAndSource runs the agent on a configuration whose
// desired state only the full message form carries (a blackhole route, a
// preferred source), spawned and then updated through the node's messages,
// and checks the kernel's routes with ip.
func TestAgentKeepsRouteTypeAndSource(t *testing.T) {
	ns := nstest.New(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "linx.yaml")
	write := func(holeType string) {
		t.Helper()
		body := "state_dir: " + filepath.Join(dir, "state") + "\nmetrics: {listen: \"127.0.0.1:0\"}\nscopes:\n" +
			"  - name: rich\n    netns: path:" + ns.Path() + "\n    interval: 1h\n    desired:\n" +
			"      links: [{name: lo, up: true}]\n" +
			"      addresses: [{link: lo, address: 10.7.0.1/32}]\n" +
			"      routes:\n" +
			"        - {dst: 10.9.0.0/24, type: " + holeType + "}\n" +
			"        - {dst: 10.10.0.0/24, dev: lo, src: 10.7.0.1}\n"
		if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	type route struct {
		Dst     string `json:"dst"`
		Type    string `json:"type"`
		PrefSrc string `json:"prefsrc"`
	}
	routes := func() map[string]route {
		var rs []route
		ns.JSON(&rs, "-4", "route", "show", "table", "main")
		m := map[string]route{}
		for _, r := range rs {
			m[r.Dst] = r
		}
		return m
	}
	write("blackhole")
	a := newAgent(t, path)
	runAgent(t, a)
	eventually(t, "blackhole route and source kept", func() bool {
		rs := routes()
		return len(a.Pending()) == 0 && isType(rs["10.9.0.0/24"].Type, "blackhole", unix.RTN_BLACKHOLE) && rs["10.10.0.0/24"].PrefSrc == "10.7.0.1"
	})

	// An update (UpdateDesired) carries the type as well.
	write("unreachable")
	if err := a.Reload(); err != nil {
		t.Fatalf("Reload: %v", err)
	}
	eventually(t, "route type updated", func() bool {
		rs := routes()
		return isType(rs["10.9.0.0/24"].Type, "unreachable", unix.RTN_UNREACHABLE) && rs["10.10.0.0/24"].PrefSrc == "10.7.0.1"
	})
}

// isType reports whether ip's route type (a name, or a number under -N)
// is name.
func isType(got, name string, number int) bool {
	return got == name || got == strconv.Itoa(number)
}

// TestReloadRetriesFailedSpawn reloads a file whose new scope cannot be
// spawned (its ledger cannot be read: a directory holds its path), and
// another whose respawn fails the same way after its stop succeeded. Neither runs, the reload says so and
// /readyz waits for them; once the ledgers are fixed, a reload of the very
// same file spawns both.
func TestReloadRetriesFailedSpawn(t *testing.T) {
	nsA, nsB := nstest.New(t), nstest.New(t)
	dir := t.TempDir()
	state := filepath.Join(dir, "state")
	path := filepath.Join(dir, "linx.yaml")
	head := "state_dir: " + state + "\nmetrics: {listen: \"off\"}\nscopes:\n"
	scopeA := func(interval string) string {
		return "  - name: a\n    netns: path:" + nsA.Path() + "\n    interval: " + interval + "\n    desired: {addresses: [{link: lo, address: 10.7.0.1/32}]}\n"
	}
	scopeB := "  - name: b\n    netns: path:" + nsB.Path() + "\n    interval: 1h\n    desired: {addresses: [{link: lo, address: 10.8.0.1/32}]}\n"
	if err := os.WriteFile(path, []byte(head+scopeA("1h")), 0o600); err != nil {
		t.Fatal(err)
	}
	a := newAgent(t, path)
	runAgent(t, a)
	eventually(t, "scope a ready", func() bool { return len(a.Pending()) == 0 && slices.Contains(addrs(nsA, "lo"), "10.7.0.1/32") })

	// b is new and a changes interval (a respawn): both ledgers
	// unreadable. (A ledger that cannot be parsed is moved aside, and
	// does not stop its scope.)
	ledgerA, ledgerB := ledgerPath(t, state, "a", nsA), ledgerPath(t, state, "b", nsB)
	for _, p := range []string{ledgerA, ledgerB} {
		if err := os.RemoveAll(p); err != nil {
			t.Fatal(err)
		}
		if err := os.Mkdir(p, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(path, []byte(head+scopeA("30m")+scopeB), 0o600); err != nil {
		t.Fatal(err)
	}
	err := a.Reload()
	if err == nil || !strings.Contains(err.Error(), `scope "a"`) || !strings.Contains(err.Error(), `scope "b"`) {
		t.Fatalf("Reload with corrupt ledgers = %v, want failures of a and b", err)
	}
	if l, err := a.Node().List(); err != nil || len(l) != 0 {
		t.Fatalf("after the failed reload: %v, %v; want no scope running", l, err)
	}
	if got := a.Pending(); !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("pending after the failed reload = %v, want [a b]", got)
	}

	// A scope dropped from the file while it did not run is no longer
	// waited for; a, still in the file, is retried (and fails again).
	if err := os.WriteFile(path, []byte(head+scopeA("30m")), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := a.Reload(); err == nil || !strings.Contains(err.Error(), `scope "a"`) || strings.Contains(err.Error(), `scope "b"`) {
		t.Fatalf("Reload without b = %v, want a's failure alone", err)
	}
	if got := a.Pending(); !slices.Equal(got, []string{"a"}) {
		t.Errorf("pending after dropping b = %v, want [a]", got)
	}

	// Fixed ledgers, and the file of the failed reload again: the reload
	// spawns what did not run.
	if err := os.WriteFile(path, []byte(head+scopeA("30m")+scopeB), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{ledgerA, ledgerB} {
		if err := os.Remove(p); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.Reload(); err != nil {
		t.Fatalf("Reload after fixing the ledgers: %v", err)
	}
	eventually(t, "a and b spawned and ready", func() bool {
		l, err := a.Node().List()
		return err == nil && len(l) == 2 && len(a.Pending()) == 0 && slices.Contains(addrs(nsB, "lo"), "10.8.0.1/32")
	})
	// Nothing left to do: the running configuration is the file.
	if err := a.Reload(); err != nil {
		t.Fatalf("third Reload: %v", err)
	}
	if l, err := a.Node().List(); err != nil || len(l) != 2 {
		t.Fatalf("after the third reload: %v, %v", l, err)
	}
}

// TestSignalsHandledFromTheStart sends SIGHUP while Run is still spawning
// its scopes (held up by the ledger's lock, which the test holds): the
// agent must already handle it, as a reload, rather than leave it to the
// default action, which kills the process. The test notifies itself too,
// so that a missed signal fails the test instead of killing it.
func TestSignalsHandledFromTheStart(t *testing.T) {
	guard := make(chan os.Signal, 1)
	signal.Notify(guard, syscall.SIGHUP)
	defer signal.Stop(guard)

	ns := nstest.New(t)
	dir := t.TempDir()
	state := filepath.Join(dir, "state")
	path := filepath.Join(dir, "linx.yaml")
	body := "state_dir: " + state + "\nmetrics: {listen: \"off\"}\nscopes:\n" +
		"  - name: a\n    netns: path:" + ns.Path() + "\n    interval: 1h\n"
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	a, err := New(Options{Path: path, Config: cfg, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	lock, err := os.OpenFile(ledgerPath(t, state, "a", ns)+".lock", os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	if err := unix.Flock(int(lock.Fd()), unix.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	runAgent(t, a)
	time.Sleep(100 * time.Millisecond) // Run is spawning scope a, waiting for the lock
	if err := unix.Kill(os.Getpid(), unix.SIGHUP); err != nil {
		t.Fatal(err)
	}
	<-guard
	time.Sleep(50 * time.Millisecond)
	if err := unix.Flock(int(lock.Fd()), unix.LOCK_UN); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the SIGHUP handled as a reload", func() bool {
		return reloads(t, a, "applied") == 1
	})
}

// reloads returns linx_config_reloads_total{result=result}.
func reloads(t *testing.T, a *Agent, result string) float64 {
	t.Helper()
	fams, err := a.Metrics().Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() != "linx_config_reloads_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "result" && l.GetValue() == result {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}

// newAgent loads the configuration at path and returns an agent for it
// that handles no signals and logs nothing.
func newAgent(t *testing.T, path string) *Agent {
	t.Helper()
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	a, err := New(Options{Path: path, Config: cfg, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), NoSignals: true})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// runAgent runs a until stop is called or the test ends, and checks that
// Run returned nil. stop waits for Run to return; it may be called more
// than once.
func runAgent(t *testing.T, a *Agent) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}
