package integration

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/linx-net/linx/diff"
	"github.com/linx-net/linx/internal/nstest"
	"github.com/linx-net/linx/reconcile"
	"github.com/linx-net/linx/rtnl"
	"github.com/linx-net/linx/rtnl/monitor"
)

// End-to-end tests of the linx-node binary: each builds it, runs it as a
// real process against namespaces it created, and checks the kernel with
// ip -j.

// agentBuild builds linx-node into a temporary directory and returns its
// path. It skips tb without root or without the go command.
func agentBuild(tb testing.TB) string {
	tb.Helper()
	nstest.RequireRoot(tb)
	goTool, err := exec.LookPath("go")
	if err != nil {
		tb.Skip("SKIPPED: the go command is not on PATH")
	}
	bin := filepath.Join(tb.TempDir(), "linx-node")
	cmd := exec.Command(goTool, "build", "-o", bin, "github.com/linx-net/linx/cmd/linx-node")
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// agentSyncBuffer is a bytes.Buffer safe for a process to write while the
// test reads it.
type agentSyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *agentSyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *agentSyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// agentProc is a running `linx-node run`.
type agentProc struct {
	t      *testing.T
	cmd    *exec.Cmd
	stderr *agentSyncBuffer
	done   chan struct{}
	err    error
	addr   string // metrics host:port
}

// agentStart runs `bin run --config path` and waits until it serves
// metrics. The process is killed in t.Cleanup if still running.
func agentStart(t *testing.T, bin, path string) *agentProc {
	t.Helper()
	p := &agentProc{t: t, stderr: &agentSyncBuffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(bin, "run", "--config", path, "--log-level", "debug")
	p.cmd.Stdout = io.Discard
	p.cmd.Stderr = p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = p.cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("linx-node stderr:\n%s", p.stderr.String())
		}
	})
	deadline := time.Now().Add(15 * time.Second)
	for p.addr == "" {
		sc := bufio.NewScanner(strings.NewReader(p.stderr.String()))
		for sc.Scan() {
			var rec struct {
				Msg  string `json:"msg"`
				Addr string `json:"addr"`
			}
			if json.Unmarshal(sc.Bytes(), &rec) == nil && rec.Msg == "serving metrics and health" {
				p.addr = rec.Addr
			}
		}
		select {
		case <-p.done:
			t.Fatalf("linx-node exited before serving: %v\n%s", p.err, p.stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("linx-node does not serve metrics:\n%s", p.stderr.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	return p
}

// signal sends sig to the agent.
func (p *agentProc) signal(sig os.Signal) {
	p.t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		p.t.Fatal(err)
	}
}

// stop sends SIGTERM and checks that the agent exits 0.
func (p *agentProc) stop() {
	p.t.Helper()
	p.signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		p.t.Fatalf("linx-node did not stop on SIGTERM")
	}
	if p.err != nil {
		p.t.Fatalf("linx-node exited with %v after SIGTERM\n%s", p.err, p.stderr.String())
	}
}

// get returns the status code and body of GET path on the metrics server.
func (p *agentProc) get(path string) (int, string) {
	p.t.Helper()
	resp, err := http.Get("http://" + p.addr + path)
	if err != nil {
		p.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		p.t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// waitReady polls /readyz until it answers 200.
func (p *agentProc) waitReady(timeout time.Duration) {
	p.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		code, body := p.get("/readyz")
		if code == http.StatusOK {
			return
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("not ready after %v: %d %s", timeout, code, body)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// metrics scrapes and parses /metrics.
func (p *agentProc) metrics() map[string]*dto.MetricFamily {
	p.t.Helper()
	code, body := p.get("/metrics")
	if code != http.StatusOK {
		p.t.Fatalf("/metrics: %d %s", code, body)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		p.t.Fatalf("parsing /metrics: %v", err)
	}
	return fams
}

// agentMetric returns the value of the series of name whose labels include
// labels (a counter, gauge, or a histogram's sample count), or -1 if none.
func agentMetric(fams map[string]*dto.MetricFamily, name string, labels map[string]string) float64 {
	f := fams[name]
next:
	for _, m := range f.GetMetric() {
		have := map[string]string{}
		for _, lp := range m.GetLabel() {
			have[lp.GetName()] = lp.GetValue()
		}
		for k, v := range labels {
			if have[k] != v {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue()
		case m.Gauge != nil:
			return m.Gauge.GetValue()
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount())
		}
	}
	return -1
}

// agentConfig writes a configuration with one scope per (name, ns, desired
// YAML) triple and returns its path and state directory.
func agentConfig(t *testing.T, dir string, scopes ...string) (path, state string) {
	t.Helper()
	state = filepath.Join(dir, "state")
	path = filepath.Join(dir, "linx.yaml")
	agentWrite(t, path, state, scopes...)
	return path, state
}

// agentWrite (re)writes the configuration at path.
func agentWrite(t *testing.T, path, state string, scopes ...string) {
	t.Helper()
	var b strings.Builder
	// The message API's socket in the test's directory, never the
	// default under /run.
	fmt.Fprintf(&b, "state_dir: %s\nmetrics:\n  listen: 127.0.0.1:0\napi:\n  socket: %s\nscopes:\n", state, agentSocket(path))
	for _, s := range scopes {
		b.WriteString(s)
	}
	if len(scopes) == 0 {
		b.WriteString("  []\n")
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
}

// agentScope returns the YAML of one scope; desired is indented YAML
// under "desired:".
// agentLedger returns the ledger file of scope in ns under state.
func agentLedger(t *testing.T, state, scope string, ns *nstest.NS) string {
	t.Helper()
	id, err := ns.Namespace().ID()
	if err != nil {
		t.Fatal(err)
	}
	return reconcile.LedgerPath(state, scope, id)
}

func agentScope(name string, ns *nstest.NS, interval, desired string) string {
	return fmt.Sprintf("  - name: %s\n    netns: path:%s\n    interval: %s\n    desired:\n%s", name, ns.Path(), interval, desired)
}

// agentAddrs returns the addresses (CIDR) of dev in ns, nil if dev does
// not exist.
func agentAddrs(ns *nstest.NS, dev string) []string {
	var links []struct {
		Info []struct {
			Local string `json:"local"`
			Len   int    `json:"prefixlen"`
		} `json:"addr_info"`
	}
	out, _ := ns.TryIP("-j", "addr", "show", "dev", dev)
	if json.Unmarshal([]byte(out), &links) != nil {
		return nil
	}
	var addrs []string
	for _, l := range links {
		for _, a := range l.Info {
			addrs = append(addrs, a.Local+"/"+strconv.Itoa(a.Len))
		}
	}
	return addrs
}

// agentLinks returns the link names of ns, sorted.
func agentLinks(ns *nstest.NS) []string {
	var links []struct {
		Name string `json:"ifname"`
	}
	ns.JSON(&links, "link", "show")
	var out []string
	for _, l := range links {
		out = append(out, l.Name)
	}
	slices.Sort(out)
	return out
}

// agentState is the links, addresses and routes of ns as ip prints them,
// but for their operational state, for before/after comparisons.
func agentState(ns *nstest.NS) string {
	s := ns.IP("-o", "link", "show") + ns.IP("-o", "addr", "show") + ns.IP("route", "show", "table", "all")
	return operational.ReplaceAllString(s, "")
}

// operational matches what ip shows of the state the kernel changes on
// its own, which agentState leaves out: carrier and operstate (a bridge
// loses its carrier up to a second after its last running port goes),
// duplicate address detection, routes over a link without carrier.
var operational = regexp.MustCompile(`NO-CARRIER,|,LOWER_UP|,M-DOWN| state [A-Z]+| linkdown| tentative`)

// agentExit runs bin with args and returns its exit code, stdout and
// stderr.
func agentExit(t *testing.T, bin string, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		return ee.ExitCode(), stdout.String(), stderr.String()
	case err != nil:
		t.Fatal(err)
	}
	return 0, stdout.String(), stderr.String()
}

const agentDesiredVeth = `      links:
        - {name: br0, kind: bridge, up: true}
        - {name: v0a, kind: veth, peer: v0b, master: br0, up: true}
      addresses:
        - {link: br0, address: 10.0.42.1/24}
      routes:
        - {dst: 10.50.0.0/24, via: 10.0.42.254, table: 100}
`

func TestAgentConfigErrors(t *testing.T) {
	bin := agentBuild(t)
	ns := nstest.New(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "linx.yaml")
	state := filepath.Join(dir, "state")
	// Three problems, on lines 4, 9 and 11; the rest is valid and would
	// create links and addresses.
	body := "state_dir: " + state + `
metrics: {listen: "127.0.0.1:0"}
scopes:
  - name: bad
    netns: path:` + ns.Path() + `
    interval: 30s
    desired:
      links:
        - {name: br0, kind: bridge, colour: blue}
      addresses:
        - {link: br0, address: 10.0.42.300/24}
  - nmae: typo
`
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	before := agentState(ns)
	for _, args := range [][]string{
		{"run", "--config", path},
		{"apply", "--config", path},
		{"plan", "--config", path},
	} {
		code, stdout, stderr := agentExit(t, bin, args...)
		if code != 2 {
			t.Errorf("linx-node %s: exit %d, want 2\n%s", args[0], code, stderr)
		}
		for _, want := range []string{path + ":9:", path + ":11:", path + ":12:", `"colour"`, `"10.0.42.300/24"`} {
			if !strings.Contains(stderr, want) {
				t.Errorf("linx-node %s: stderr lacks %q:\n%s", args[0], want, stderr)
			}
		}
		if stdout != "" {
			t.Errorf("linx-node %s: stdout %q", args[0], stdout)
		}
	}
	if after := agentState(ns); after != before {
		t.Errorf("an invalid configuration changed the namespace:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	if _, err := os.Stat(state); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("state directory created for an invalid configuration: %v", err)
	}
	if code, _, stderr := agentExit(t, bin, "run"); code != 2 || !strings.Contains(stderr, "--config") {
		t.Errorf("run without --config: exit %d, %q", code, stderr)
	}
	for _, c := range []string{"run", "plan", "apply", "monitor"} {
		if code, out, _ := agentExit(t, bin, c, "--help"); code != 0 || !strings.Contains(out, "Usage:") || !strings.Contains(out, "linx-node "+c) {
			t.Errorf("linx-node %s --help: exit %d\n%s", c, code, out)
		}
	}
	if code, _, stderr := agentExit(t, bin, "run", "--config", path, "--log-level", "loud"); code != 2 || !strings.Contains(stderr, `"loud"`) {
		t.Errorf("run --log-level loud: exit %d, %q", code, stderr)
	}
}

func TestAgentConvergeSelfHealMetrics(t *testing.T) {
	bin := agentBuild(t)
	ns, late := nstest.New(t), nstest.New(t)
	path, state := agentConfig(t, t.TempDir(),
		agentScope("main", ns, "1h", agentDesiredVeth),
		// "late" cannot converge until its link exists: it holds /readyz
		// at 503 until the test creates the link.
		agentScope("late", late, "1h", "      links:\n        - {name: up0, up: true}\n      addresses:\n        - {link: up0, address: 10.1.0.1/24}\n"),
	)
	p := agentStart(t, bin, path)

	// main may or may not have converged yet; late cannot have.
	if code, body := p.get("/readyz"); code != http.StatusServiceUnavailable || !strings.Contains(body, "late") {
		t.Fatalf("/readyz before late's link exists: %d %q, want 503 naming late", code, body)
	}
	if code, body := p.get("/healthz"); code != http.StatusOK {
		t.Errorf("/healthz: %d %q", code, body)
	}
	late.IP("link", "add", "up0", "type", "veth", "peer", "name", "up1")
	p.waitReady(10 * time.Second)

	if got := agentAddrs(ns, "br0"); !slices.Contains(got, "10.0.42.1/24") {
		t.Fatalf("br0 addresses %v, want 10.0.42.1/24", got)
	}
	if got := agentAddrs(late, "up0"); !slices.Contains(got, "10.1.0.1/24") {
		t.Fatalf("up0 addresses %v, want 10.1.0.1/24", got)
	}
	var routes []map[string]any
	ns.JSON(&routes, "route", "show", "table", "100")
	if len(routes) != 1 || routes[0]["dst"] != "10.50.0.0/24" || fmt.Sprint(routes[0]["protocol"]) != "76" {
		t.Errorf("table 100: %v, want 10.50.0.0/24 proto 76", routes)
	}
	for _, f := range []string{agentLedger(t, state, "main", ns), agentLedger(t, state, "late", late)} {
		if fi, err := os.Stat(f); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v, %v; want mode 0600", f, fi, err)
		}
	}
	if fi, err := os.Stat(state); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("state dir: %v, %v; want mode 0700", fi, err)
	}

	// Self-heal: an address deleted by hand comes back on the monitor's
	// wake-up, long before the 1h interval.
	start := time.Now()
	ns.IP("addr", "del", "10.0.42.1/24", "dev", "br0")
	for !slices.Contains(agentAddrs(ns, "br0"), "10.0.42.1/24") {
		if time.Since(start) > 10*time.Second {
			t.Fatal("the deleted address was not restored within 10s")
		}
		time.Sleep(time.Millisecond)
	}
	t.Logf("address restored after %v", time.Since(start))

	m := p.metrics()
	for _, tc := range []struct {
		name   string
		labels map[string]string
		min    float64
	}{
		{"linx_scope_converged", map[string]string{"scope": "main"}, 1},
		{"linx_scope_converged", map[string]string{"scope": "late"}, 1},
		{"linx_scope_running", map[string]string{"scope": "main"}, 1},
		{"linx_passes_total", map[string]string{"scope": "main"}, 2},
		{"linx_pass_duration_seconds", map[string]string{"scope": "main"}, 2},
		{"linx_ops_total", map[string]string{"scope": "main", "kind": "address", "op": "create", "result": "applied"}, 2},
		{"linx_ops_total", map[string]string{"scope": "main", "kind": "link", "op": "create", "result": "applied"}, 2},
		{"linx_ops_total", map[string]string{"scope": "main", "kind": "route", "op": "create", "result": "applied"}, 1},
		{"linx_resyncs_total", map[string]string{"scope": "main"}, 1},
		{"linx_scope_restarts_total", map[string]string{"scope": "main"}, 0},
		{"linx_monitor_overruns_total", map[string]string{"scope": "main"}, 0},
		{"linx_conflicts", map[string]string{"scope": "main"}, 0},
	} {
		if got := agentMetric(m, tc.name, tc.labels); got < tc.min {
			t.Errorf("%s%v = %v, want at least %v", tc.name, tc.labels, got, tc.min)
		}
	}
	if got := agentMetric(m, "linx_ops_total", map[string]string{"scope": "main", "kind": "address", "op": "create", "result": "applied"}); got != 2 {
		t.Errorf("address creates = %v, want 2 (the first pass and the repair)", got)
	}

	// SIGTERM stops the agent; nothing is deleted.
	before := agentState(ns)
	p.stop()
	if after := agentState(ns); after != before {
		t.Errorf("stopping the agent changed the namespace:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}

func TestAgentSIGHUP(t *testing.T) {
	bin := agentBuild(t)
	ns := nstest.New(t)
	desired := func(addr string) string {
		return "      links:\n        - {name: br0, kind: bridge, up: true}\n      addresses:\n        - {link: br0, address: " + addr + "}\n"
	}
	path, state := agentConfig(t, t.TempDir(), agentScope("hup", ns, "1h", desired("10.2.0.1/24")))
	p := agentStart(t, bin, path)
	p.waitReady(10 * time.Second)
	if got := agentAddrs(ns, "br0"); !slices.Contains(got, "10.2.0.1/24") {
		t.Fatalf("br0: %v", got)
	}

	// A new desired state: the old address goes, the new one comes.
	agentWrite(t, path, state, agentScope("hup", ns, "1h", desired("10.2.0.2/24")))
	p.signal(syscall.SIGHUP)
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := agentAddrs(ns, "br0")
		if slices.Contains(got, "10.2.0.2/24") && !slices.Contains(got, "10.2.0.1/24") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after SIGHUP br0 has %v, want 10.2.0.2/24 alone", got)
		}
		time.Sleep(5 * time.Millisecond)
	}

	// An invalid file is refused: the agent keeps running the old state,
	// and still repairs it.
	if err := os.WriteFile(path, []byte("scopes:\n  - name: hup\n    netns: sideways\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p.signal(syscall.SIGHUP)
	deadline = time.Now().Add(10 * time.Second)
	for agentMetric(p.metrics(), "linx_config_reloads_total", map[string]string{"result": "refused"}) != 1 {
		if time.Now().After(deadline) {
			t.Fatal("the invalid reload is not counted as refused")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if !strings.Contains(p.stderr.String(), `sideways`) {
		t.Errorf("the refused reload's problem is not logged:\n%s", p.stderr.String())
	}
	ns.IP("addr", "del", "10.2.0.2/24", "dev", "br0")
	deadline = time.Now().Add(10 * time.Second)
	for !slices.Contains(agentAddrs(ns, "br0"), "10.2.0.2/24") {
		if time.Now().After(deadline) {
			t.Fatal("after a refused reload the scope no longer repairs its state")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if got := agentMetric(p.metrics(), "linx_scope_converged", map[string]string{"scope": "hup"}); got != 1 {
		t.Errorf("converged gauge %v after the refused reload", got)
	}
	p.stop()
}

// agentRoute returns the i-th of the large pass's routes.
func agentRoute(i int) string {
	return fmt.Sprintf("10.%d.%d.0/24", 100+i/256, i%256)
}

// agentLargeDesired returns the YAML of a desired state with the routes
// from..to-1 (see agentRoute) in table 100 through v0a's gateway, a bridge
// br0 and a veth v0a with an address each and, withExtra, a second bridge
// br9 with an address and a second address on br0.
func agentLargeDesired(from, to int, withExtra bool) string {
	var b strings.Builder
	b.WriteString("      links:\n")
	b.WriteString("        - {name: br0, kind: bridge, up: true}\n")
	b.WriteString("        - {name: v0a, kind: veth, peer: v0b, up: true}\n")
	if withExtra {
		b.WriteString("        - {name: br9, kind: bridge, up: true}\n")
	}
	b.WriteString("      addresses:\n")
	b.WriteString("        - {link: v0a, address: 10.3.0.1/24}\n")
	b.WriteString("        - {link: br0, address: 10.4.0.1/24}\n")
	if withExtra {
		b.WriteString("        - {link: br0, address: 10.4.1.1/24}\n")
		b.WriteString("        - {link: br9, address: 10.9.0.1/24}\n")
	}
	b.WriteString("      routes:\n")
	for i := from; i < to; i++ {
		fmt.Fprintf(&b, "        - {dst: %s, via: 10.3.0.254, table: 100}\n", agentRoute(i))
	}
	return b.String()
}

// agentOwnRoutes returns the destinations of the routes of protocol 76 in
// table 100 of the namespace of s.
func agentOwnRoutes(t *testing.T, s *rtnl.Socket) map[string]bool {
	t.Helper()
	routes, err := s.RoutesFiltered(rtnl.RouteFilter{Table: 100, Protocol: rtnl.DefaultProtocol})
	if err != nil {
		t.Fatal(err)
	}
	out := make(map[string]bool, len(routes))
	for _, r := range routes {
		if r.Protocol == rtnl.DefaultProtocol && r.Table == 100 {
			out[r.Dst.String()] = true
		}
	}
	return out
}

const (
	// agentKillRoutes is the size of the killed pass; the restart keeps
	// its second half.
	agentKillRoutes = 20000
	// agentKillAttempts bounds the kill cycles tried before the test
	// gives up on landing a SIGKILL among the route installs.
	agentKillAttempts = 5
)

// agentKillForeign is the foreign state of the kill test: a veth with an
// address, a bridge of the same kind as the dropped br9, and a route of
// another protocol in the agent's table.
const agentKillForeign = `link add f0 type veth peer name f1
link set f0 up
address add 10.66.0.1/24 dev f0
link add fbr type bridge
link set fbr up
route add 10.77.0.0/24 via 10.66.0.254 dev f0 table 100 proto static
`

// agentKillMidPass makes a namespace holding agentKillForeign, runs
// linx-node on the large desired state with br9 and the extra addresses,
// and SIGKILLs it on the first route of protocol 76 the kernel reports
// (or on a monitor overrun). It returns the namespace, the configuration
// and state directory, and the routes installed at the kill; miss says
// why the kill did not land while the pass was installing routes: none or
// all of them installed, or none of those the restart drops.
func agentKillMidPass(t *testing.T, bin string) (ns *nstest.NS, path, state string, installed map[string]bool, miss string) {
	t.Helper()
	ns = nstest.New(t)
	ns.Batch(agentKillForeign)
	path, state = agentConfig(t, t.TempDir(), agentScope("big", ns, "1h", agentLargeDesired(0, agentKillRoutes, true)))

	// Subscribed before the agent starts: no route event can be missed.
	mon, err := monitor.Open(ns.Namespace())
	if err != nil {
		t.Fatal(err)
	}
	defer mon.Close()
	stderr := &agentSyncBuffer{}
	cmd := exec.Command(bin, "run", "--config", path, "--log-level", "debug")
	cmd.Stdout, cmd.Stderr = io.Discard, stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
	})
	timeout := time.After(20 * time.Second)
	for killed := false; !killed; {
		select {
		case ev, ok := <-mon.Events():
			if !ok {
				t.Fatal("the monitor stopped")
			}
			if ev.Op == monitor.ResyncNeeded || ev.Op == monitor.NewRoute && ev.Route != nil && ev.Route.Protocol == rtnl.DefaultProtocol {
				if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
					t.Fatal(err)
				}
				killed = true
			}
		case <-exited:
			t.Fatalf("linx-node exited before installing a route: %v\n%s", cmd.ProcessState, stderr.String())
		case <-timeout:
			t.Fatalf("linx-node installed no route within 20s:\n%s", stderr.String())
		}
	}
	<-exited
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("linx-node ended with %v, not by the SIGKILL", cmd.ProcessState)
	}

	installed = agentOwnRoutes(t, ns.Open())
	dropped := 0
	for i := range agentKillRoutes / 2 {
		if installed[agentRoute(i)] {
			dropped++
		}
	}
	t.Logf("SIGKILL landed with %d of %d routes installed, %d of them among those the restart drops", len(installed), agentKillRoutes, dropped)
	switch {
	case len(installed) == 0 || len(installed) == agentKillRoutes:
		miss = fmt.Sprintf("%d of %d routes installed at the kill", len(installed), agentKillRoutes)
	case dropped == 0:
		miss = fmt.Sprintf("none of the %d routes installed at the kill is one the restart drops", len(installed))
	}
	return ns, path, state, installed, miss
}

// TestAgentKillMidPassRestart SIGKILLs linx-node while its first pass is
// installing 20,000 routes (retrying a few times should the kill land
// before or after them), checks that br9, the address 10.4.1.1/24 on br0
// and routes the restart drops are in the kernel and (but for routes,
// owned by protocol) in the ledger file, then restarts it on a
// configuration without them. The restarted agent must converge, delete
// them and leave the foreign state alone. Only the ledger it read from
// disk can tell it that br9 and 10.4.1.1/24 are its own: the foreign
// bridge fbr and the foreign address 10.4.2.1/24, added on br0 after the
// kill, are just as undesired and must stay.
func TestAgentKillMidPassRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("SKIPPED: 20,000 routes, not in -short")
	}
	bin := agentBuild(t)
	var (
		ns          *nstest.NS
		path, state string
		installed   map[string]bool
		misses      []string
	)
	for attempt := 1; ; attempt++ {
		var miss string
		ns, path, state, installed, miss = agentKillMidPass(t, bin)
		if miss == "" {
			break
		}
		misses = append(misses, miss)
		if attempt == agentKillAttempts {
			t.Fatalf("no SIGKILL landed in the middle of the route installs in %d attempts: %s", attempt, strings.Join(misses, "; "))
		}
	}
	ledger := agentLedger(t, state, "big", ns)
	sock := ns.Open()
	br0, err := sock.LinkByName("br0")
	if err != nil {
		t.Fatal(err)
	}
	br9, err := sock.LinkByName("br9")
	if err != nil {
		t.Fatalf("br9 is not in the kernel after the kill (links %v): the pass creates links before routes", agentLinks(ns))
	}
	extra := netip.MustParsePrefix("10.4.1.1/24")
	br9Addr := netip.MustParsePrefix("10.9.0.1/24")

	// Before the restart: the items the restart drops exist, in the kernel
	// (as ip shows it) and in the ledger file the killed agent left.
	if links := agentLinks(ns); !slices.Contains(links, "br9") || !slices.Contains(links, "fbr") || !slices.Contains(links, "f0") {
		t.Fatalf("links after the kill %v: want br9 and the foreign fbr and f0", links)
	}
	if got := agentAddrs(ns, "br0"); !slices.Contains(got, extra.String()) {
		t.Fatalf("br0 addresses after the kill %v: want %s", got, extra)
	}
	if got := agentAddrs(ns, "br9"); !slices.Contains(got, br9Addr.String()) {
		t.Fatalf("br9 addresses after the kill %v: want %s", got, br9Addr)
	}
	l, err := reconcile.OpenLedger(ledger)
	if err != nil {
		t.Fatalf("the ledger left by the SIGKILL: %v", err)
	}
	owned := l.Owned()
	for _, name := range []string{"br0", "v0a", "br9"} {
		if !owned.Links.Has(diff.LinkKey{Name: name}) {
			t.Errorf("the ledger file does not own the link %s created before the kill: %v", name, owned.Links)
		}
	}
	for _, name := range []string{"f0", "f1", "fbr"} {
		if owned.Links.Has(diff.LinkKey{Name: name}) {
			t.Errorf("the ledger file owns the foreign link %s", name)
		}
	}
	for _, k := range []diff.AddressKey{{Index: br0.Index, Prefix: extra}, {Index: br9.Index, Prefix: br9Addr}} {
		if !owned.Addresses.Has(k) {
			t.Errorf("the ledger file does not own the address %v created before the kill: %v", k, owned.Addresses)
		}
	}
	if t.Failed() {
		t.FailNow()
	}

	// Foreign state added while the agent is down: an address on the
	// agent's own br0, undesired like 10.4.1.1/24 but not in the ledger.
	ns.IP("addr", "add", "10.4.2.1/24", "dev", "br0")

	// Restart with the second half of the routes, without br9 and
	// 10.4.1.1/24.
	agentWrite(t, path, state, agentScope("big", ns, "1h", agentLargeDesired(agentKillRoutes/2, agentKillRoutes, false)))
	p := agentStart(t, bin, path)
	p.waitReady(60 * time.Second)

	// Converged: exactly the desired routes, as rtnl and ip see them.
	have := agentOwnRoutes(t, sock)
	missing, stale := 0, 0
	for i := range agentKillRoutes {
		switch {
		case i < agentKillRoutes/2 && have[agentRoute(i)]:
			stale++
		case i >= agentKillRoutes/2 && !have[agentRoute(i)]:
			missing++
		}
	}
	if len(have) != agentKillRoutes/2 || missing != 0 || stale != 0 {
		t.Errorf("after the restart: %d routes of protocol 76, %d desired ones missing, %d dropped ones (%d installed before the kill) left; want %d, 0, 0",
			len(have), missing, stale, len(installed), agentKillRoutes/2)
	}
	var ipRoutes []struct {
		Dst      string `json:"dst"`
		Protocol any    `json:"protocol"`
	}
	ns.JSON(&ipRoutes, "route", "show", "table", "100")
	own, foreign := 0, 0
	for _, r := range ipRoutes {
		switch proto := fmt.Sprint(r.Protocol); {
		case proto == strconv.Itoa(int(rtnl.DefaultProtocol)):
			own++
		case r.Dst == "10.77.0.0/24" && proto == strconv.Itoa(int(rtnl.ProtocolStatic)):
			foreign++
		}
	}
	if own != agentKillRoutes/2 || foreign != 1 || len(ipRoutes) != own+foreign {
		t.Errorf("ip route show table 100: %d routes of protocol 76, %d foreign 10.77.0.0/24 proto static, %d in all; want %d, 1, %d",
			own, foreign, len(ipRoutes), agentKillRoutes/2, agentKillRoutes/2+1)
	}
	if got := agentMetric(p.metrics(), "linx_scope_converged", map[string]string{"scope": "big"}); got != 1 {
		t.Errorf("linx_scope_converged{scope=big} = %v after the restart, want 1", got)
	}

	// Dropped items gone, foreign ones untouched.
	if links, want := agentLinks(ns), []string{"br0", "f0", "f1", "fbr", "lo", "v0a", "v0b"}; !slices.Equal(links, want) {
		t.Errorf("links after the restart %v, want %v (br9 deleted, the foreign fbr, f0 and f1 kept)", links, want)
	}
	if got := agentAddrs(ns, "br0"); !slices.Contains(got, "10.4.0.1/24") || !slices.Contains(got, "10.4.2.1/24") || slices.Contains(got, extra.String()) {
		t.Errorf("br0 addresses after the restart %v: want 10.4.0.1/24 and the foreign 10.4.2.1/24, not the dropped %s", got, extra)
	}
	if got := agentAddrs(ns, "f0"); !slices.Contains(got, "10.66.0.1/24") {
		t.Errorf("the foreign address on f0 was touched: %v", got)
	}
	if got := agentMetric(p.metrics(), "linx_ops_total", map[string]string{"scope": "big", "kind": "link", "op": "delete", "result": "applied"}); got != 1 {
		t.Errorf("the restarted agent applied %v link deletes, want 1 (br9)", got)
	}

	// The ledger no longer owns what was deleted.
	if err := l.Refresh(); err != nil {
		t.Fatal(err)
	}
	owned = l.Owned()
	if owned.Links.Has(diff.LinkKey{Name: "br9"}) || owned.Addresses.Has(diff.AddressKey{Index: br0.Index, Prefix: extra}) ||
		!owned.Links.Has(diff.LinkKey{Name: "br0"}) || !owned.Addresses.Has(diff.AddressKey{Index: br0.Index, Prefix: netip.MustParsePrefix("10.4.0.1/24")}) {
		t.Errorf("ledger after the restart: links %v, addresses %v; want br0 and 10.4.0.1/24 on it, not br9 or %s", owned.Links, owned.Addresses, extra)
	}
	if fi, err := os.Stat(ledger); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("ledger: %v, %v", fi, err)
	}
	p.stop()
}

func TestPlanApply(t *testing.T) {
	bin := agentBuild(t)
	ns := nstest.New(t)
	dir := t.TempDir()
	path, state := agentConfig(t, dir, agentScope("one", ns, "30s", agentDesiredVeth))

	before := agentState(ns)
	code, out, stderr := agentExit(t, bin, "plan", "--config", path)
	if code != 0 || !strings.Contains(out, "scope one") || !strings.Contains(out, "+ address 10.0.42.1/24 dev br0") {
		t.Fatalf("plan: exit %d\n%s%s", code, out, stderr)
	}
	if after := agentState(ns); after != before {
		t.Errorf("plan changed the namespace")
	}
	if _, err := os.Stat(agentLedger(t, state, "one", ns)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("plan wrote a ledger: %v", err)
	}

	code, out, stderr = agentExit(t, bin, "apply", "--config", path, "-o", "json")
	var res []struct {
		Scope     string   `json:"scope"`
		Converged bool     `json:"converged"`
		Ops       []string `json:"ops"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil || code != 0 || len(res) != 1 || !res[0].Converged || len(res[0].Ops) < 4 {
		t.Fatalf("apply: exit %d, %v, %+v\n%s%s", code, err, res, out, stderr)
	}
	if !slices.Contains(agentAddrs(ns, "br0"), "10.0.42.1/24") {
		t.Errorf("apply did not add the address")
	}
	if fi, err := os.Stat(agentLedger(t, state, "one", ns)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("apply's ledger: %v, %v", fi, err)
	}
	if code, out, _ := agentExit(t, bin, "plan", "--config", path); code != 0 || !strings.Contains(out, "up to date") {
		t.Errorf("plan after apply: exit %d\n%s", code, out)
	}

	// A foreign route holding a desired route's key is a conflict: apply
	// leaves it and exits 1.
	ns.IP("route", "add", "10.60.0.0/24", "via", "10.0.42.254", "table", "100", "proto", "static")
	agentWrite(t, path, state, agentScope("one", ns, "30s", agentDesiredVeth+"        - {dst: 10.60.0.0/24, via: 10.0.42.254, table: 100}\n"))
	code, out, stderr = agentExit(t, bin, "apply", "--config", path)
	if code != 1 || !strings.Contains(out, "conflict") || !strings.Contains(stderr, "conflicts") {
		t.Errorf("apply with a conflict: exit %d\n%s%s", code, out, stderr)
	}
	var routes []map[string]any
	ns.JSON(&routes, "route", "show", "table", "100", "10.60.0.0/24")
	if len(routes) != 1 || fmt.Sprint(routes[0]["protocol"]) != strconv.Itoa(int(rtnl.ProtocolStatic)) {
		t.Errorf("the foreign route was touched: %v", routes)
	}
}

func TestMonitorCommand(t *testing.T) {
	bin := agentBuild(t)
	ns := nstest.New(t)
	cmd := exec.Command(bin, "monitor", "--netns", "path:"+ns.Path(), "-o", "json")
	stdout := &agentSyncBuffer{}
	cmd.Stdout = stdout
	cmd.Stderr = stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	var waitErr error
	go func() { waitErr = cmd.Wait(); close(done) }()
	defer func() {
		select {
		case <-done:
		default:
			_ = cmd.Process.Kill()
			<-done
		}
	}()
	// The subscription starts asynchronously: add and remove an address
	// until an event shows up.
	deadline := time.Now().Add(10 * time.Second)
	var ev map[string]any
	for ev == nil {
		if time.Now().After(deadline) {
			t.Fatalf("no address event printed:\n%s", stdout.String())
		}
		ns.IP("addr", "add", "10.5.0.1/32", "dev", "lo")
		time.Sleep(20 * time.Millisecond)
		ns.IP("addr", "del", "10.5.0.1/32", "dev", "lo")
		for _, line := range strings.Split(stdout.String(), "\n") {
			var m map[string]any
			if json.Unmarshal([]byte(line), &m) == nil && m["op"] == "new" && m["object"] == "address" {
				ev = m
				break
			}
		}
	}
	a, _ := ev["address"].(map[string]any)
	if a["address"] != "10.5.0.1/32" || ev["deleted"] != false {
		t.Errorf("event %v", ev)
	}
	deleted := func() bool {
		for _, line := range strings.Split(stdout.String(), "\n") {
			var m map[string]any
			if json.Unmarshal([]byte(line), &m) == nil && m["op"] == "del" && m["object"] == "address" && m["deleted"] == true {
				return true
			}
		}
		return false
	}
	if !deleted() {
		// The deletion may not be printed yet; give it a moment.
		time.Sleep(100 * time.Millisecond)
		if !deleted() {
			t.Errorf("no deletion event:\n%s", stdout.String())
		}
	}
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
		if waitErr != nil {
			t.Errorf("monitor exited with %v after SIGINT", waitErr)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("monitor did not stop on SIGINT")
	}
}

// agentSocket is the message API socket of the agent whose configuration
// is at path: in the test's own directory.
func agentSocket(path string) string {
	return filepath.Join(filepath.Dir(path), "run", "linx.sock")
}
