package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/linx-net/linx/actors/supervisor"
	"github.com/linx-net/linx/config"
	"github.com/linx-net/linx/diff"
	"github.com/linx-net/linx/internal/nstest"
	"github.com/linx-net/linx/messages"
	"github.com/linx-net/linx/reconcile"
)

func mustParse(t *testing.T, yaml string) *config.Config {
	t.Helper()
	cfg, err := config.Parse("test.yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

const baseYAML = `state_dir: /tmp/x
scopes:
  - name: same
    netns: path:/var/run/netns/a
    desired: {addresses: [{link: lo, address: 10.0.0.1/32}]}
  - name: desired
    netns: path:/var/run/netns/b
    desired: {addresses: [{link: lo, address: 10.0.0.2/32}]}
  - name: moved
    netns: path:/var/run/netns/c
  - name: slower
    netns: path:/var/run/netns/d
  - name: bigger
    netns: path:/var/run/netns/e
  - name: gone
    netns: host
`

func TestDiff(t *testing.T) {
	old := mustParse(t, baseYAML)
	// Lines move (a comment at the top) without making anything change.
	next := mustParse(t, `# a comment
state_dir: /tmp/x
scopes:
  - name: fresh
    netns: host
  - name: same
    netns: path:/var/run/netns/a
    desired: {addresses: [{link: lo, address: 10.0.0.1/32}]}
  - name: desired
    netns: path:/var/run/netns/b
    desired: {addresses: [{link: lo, address: 10.0.0.3/32}]}
  - name: moved
    netns: path:/var/run/netns/elsewhere
  - name: slower
    netns: path:/var/run/netns/d
    interval: 1m
  - name: bigger
    netns: path:/var/run/netns/e
    monitor_buffer: 16MiB
`)
	c := Diff(old.Scopes, next.Scopes)
	names := func(ss []config.Scope) []string {
		var out []string
		for _, s := range ss {
			out = append(out, s.Name)
		}
		return out
	}
	for _, tc := range []struct {
		what      string
		got, want []string
	}{
		{"spawn", names(c.Spawn), []string{"fresh"}},
		{"stop", c.Stop, []string{"gone"}},
		{"respawn", names(c.Respawn), []string{"moved", "slower", "bigger"}},
		{"update", names(c.Update), []string{"desired"}},
		{"unchanged", c.Unchanged, []string{"same"}},
	} {
		if !slices.Equal(tc.got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.what, tc.got, tc.want)
		}
	}
	if c.Empty() {
		t.Error("Empty() on a non-empty change")
	}
	// Reload takes the scope a respawn replaces from Diff's index: the old
	// namespace decides whether the ledger is moved aside.
	for _, s := range append(slices.Clone(c.Respawn), c.Update...) {
		i := slices.IndexFunc(old.Scopes, func(o config.Scope) bool { return o.Name == s.Name })
		if got := c.old[s.Name]; i < 0 || !reflect.DeepEqual(got, old.Scopes[i]) {
			t.Errorf("old scope of %q: %+v, want the running one", s.Name, got)
		}
	}
	if c := Diff(old.Scopes, old.Scopes); !c.Empty() || len(c.Unchanged) != len(old.Scopes) {
		t.Errorf("Diff of a config with itself: %+v", c)
	}
}

func TestReadiness(t *testing.T) {
	r := newReadiness()
	if p := r.pending(); len(p) != 0 {
		t.Fatalf("no scopes: pending %v", p)
	}
	r.expect("b")
	r.expect("a")
	r.passed("a", false, "")
	r.passed("stranger", true, "") // a scope spawned through the API: not counted
	if p := r.pending(); !slices.Equal(p, []string{"a", "b"}) {
		t.Fatalf("pending %v, want [a b]", p)
	}
	r.passed("a", true, "")
	r.passed("a", false, "") // once converged, a later failing pass keeps it ready
	if p := r.pending(); !slices.Equal(p, []string{"b"}) {
		t.Fatalf("pending %v, want [b]", p)
	}
	r.drop("b")
	if p := r.pending(); len(p) != 0 {
		t.Fatalf("pending %v after dropping b", p)
	}
	r.expect("a") // spawned again: must converge again
	if p := r.pending(); !slices.Equal(p, []string{"a"}) {
		t.Fatalf("pending %v after respawn, want [a]", p)
	}
}

func TestHandler(t *testing.T) {
	statuses := []*messages.ScopeStatus{
		{Name: "a", Phase: messages.Phase_PHASE_CONVERGED, Restarts: 2, Resyncs: 3, MonitorOverruns: 1,
			NarrowedPasses: 4, DriftRepaired: map[string]uint64{"route": 5}},
		{Name: "b", Phase: messages.Phase_PHASE_DEGRADED, ObjectCounts: []*messages.ObjectCount{
			{Kind: "link", Desired: 3, Failed: 1, Blocked: 1}, {Kind: "route", Desired: 2, Conflict: 1}}},
	}
	var listErr error
	m := NewMetrics(func() ([]*messages.ScopeStatus, error) { return statuses, listErr }, slog.New(slog.NewTextHandler(io.Discard, nil)))
	r := newReadiness()
	r.expect("a")
	r.expect("b")
	srv := httptest.NewServer(Handler(m, r.pending, nil, r.degradedScopes))
	defer srv.Close()

	get := func(path string) (int, string) {
		t.Helper()
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("/healthz"); code != 200 || body != "ok\n" {
		t.Errorf("/healthz: %d %q", code, body)
	}
	if code, body := get("/readyz"); code != 503 || !strings.Contains(body, "a, b") {
		t.Errorf("/readyz before convergence: %d %q", code, body)
	}
	r.passed("a", true, "")
	r.passed("b", false, "") // a pass that failed early: still pending
	if code, body := get("/readyz"); code != 503 || !strings.Contains(body, "b") || strings.Contains(body, "a,") {
		t.Errorf("/readyz with b pending: %d %q", code, body)
	}
	// Degraded counts as ready, and /readyz says which scope and why.
	r.passed("b", false, "1 conflict (first: route 10.60.0.0/24 conflict: another writer's)")
	if code, body := get("/readyz"); code != 200 || body != "ready\ndegraded: b: 1 conflict (first: route 10.60.0.0/24 conflict: another writer's)\n" {
		t.Errorf("/readyz with b degraded: %d %q", code, body)
	}
	r.passed("b", true, "")
	if code, body := get("/readyz"); code != 200 || body != "ready\n" {
		t.Errorf("/readyz after convergence: %d %q", code, body)
	}
	if code, _ := get("/nope"); code != 404 {
		t.Errorf("/nope: %d", code)
	}

	rep := reconcile.Report{
		Duration: 3 * time.Millisecond,
		Applied: []diff.Op{
			{Kind: diff.KindAddress, Action: diff.Create},
			{Kind: diff.KindAddress, Action: diff.Create},
			{Kind: diff.KindRoute, Action: diff.Delete},
		},
		Failed:    &reconcile.Failure{Op: diff.Op{Kind: diff.KindLink, Action: diff.Update}, Err: errors.New("EPERM")},
		Failures:  []reconcile.Failure{{Op: diff.Op{Kind: diff.KindLink, Action: diff.Update}, Err: errors.New("EPERM")}},
		Conflicts: []diff.Conflict{{Kind: diff.KindRoute}},
	}
	m.observePass("a", rep, rep.Failed)
	m.observePass("a", reconcile.Report{}, nil)

	code, body := get("/metrics")
	if code != 200 {
		t.Fatalf("/metrics: %d", code)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("parsing /metrics: %v\n%s", err, body)
	}
	value := func(name string, labels map[string]string) float64 {
		t.Helper()
		f := fams[name]
		if f == nil {
			t.Fatalf("no metric %s", name)
		}
	next:
		for _, mt := range f.GetMetric() {
			for _, lp := range mt.GetLabel() {
				if v, ok := labels[lp.GetName()]; ok && v != lp.GetValue() {
					continue next
				}
			}
			switch {
			case mt.Counter != nil:
				return mt.Counter.GetValue()
			case mt.Gauge != nil:
				return mt.Gauge.GetValue()
			case mt.Histogram != nil:
				return float64(mt.Histogram.GetSampleCount())
			}
		}
		t.Fatalf("no %s with %v", name, labels)
		return 0
	}
	for _, tc := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"linx_passes_total", map[string]string{"scope": "a"}, 2},
		{"linx_pass_duration_seconds", map[string]string{"scope": "a"}, 2},
		{"linx_ops_total", map[string]string{"scope": "a", "kind": "address", "op": "create", "result": "applied"}, 2},
		{"linx_ops_total", map[string]string{"scope": "a", "kind": "route", "op": "delete", "result": "applied"}, 1},
		{"linx_ops_total", map[string]string{"scope": "a", "kind": "link", "op": "update", "result": "failed"}, 1},
		{"linx_pass_errors_total", map[string]string{"scope": "a"}, 1},
		{"linx_conflicts", map[string]string{"scope": "a"}, 0},
		{"linx_scope_converged", map[string]string{"scope": "a"}, 1},
		{"linx_scope_converged", map[string]string{"scope": "b"}, 0},
		{"linx_scope_running", map[string]string{"scope": "b"}, 1},
		{"linx_objects", map[string]string{"scope": "b", "kind": "link", "state": "converged"}, 1},
		{"linx_objects", map[string]string{"scope": "b", "kind": "link", "state": "failed"}, 1},
		{"linx_objects", map[string]string{"scope": "b", "kind": "link", "state": "blocked"}, 1},
		{"linx_objects", map[string]string{"scope": "b", "kind": "route", "state": "conflict"}, 1},
		{"linx_objects", map[string]string{"scope": "b", "kind": "route", "state": "converged"}, 1},
		{"linx_scope_restarts_total", map[string]string{"scope": "a"}, 2},
		{"linx_resyncs_total", map[string]string{"scope": "a"}, 3},
		{"linx_monitor_overruns_total", map[string]string{"scope": "a"}, 1},
		{"linx_narrowed_passes_total", map[string]string{"scope": "a"}, 4},
		{"linx_drift_repaired_total", map[string]string{"scope": "a", "kind": "route"}, 5},
		{"linx_drift_repaired_total", map[string]string{"scope": "a", "kind": "address"}, 0},
	} {
		if got := value(tc.name, tc.labels); got != tc.want {
			t.Errorf("%s%v = %v, want %v", tc.name, tc.labels, got, tc.want)
		}
	}

	// A scope that is forgotten loses its series; a failing list leaves
	// the status metrics out rather than failing the scrape.
	m.forget("a")
	listErr = errors.New("node busy")
	_, body = get("/metrics")
	if strings.Contains(body, `linx_passes_total{scope="a"}`) || strings.Contains(body, "linx_scope_converged") {
		t.Errorf("forgotten scope or failed list still exposed:\n%s", body)
	}
}

func TestLogging(t *testing.T) {
	for in, want := range map[string]slog.Level{"debug": slog.LevelDebug, "INFO": slog.LevelInfo, "warn": slog.LevelWarn, "error": slog.LevelError} {
		if got, err := ParseLevel(in); err != nil || got != want {
			t.Errorf("ParseLevel(%q) = %v, %v", in, got, err)
		}
	}
	if _, err := ParseLevel("loud"); err == nil || !strings.Contains(err.Error(), `"loud"`) {
		t.Errorf("ParseLevel(loud): %v", err)
	}
	var b bytes.Buffer
	l := NewLogger(&b, slog.LevelWarn, false)
	l.Info("hidden")
	l.Warn("shown", "k", 1)
	var rec map[string]any
	if err := json.Unmarshal(b.Bytes(), &rec); err != nil || rec["msg"] != "shown" || rec["k"] != 1.0 {
		t.Errorf("JSON log %q: %v", b.String(), err)
	}
	b.Reset()
	NewLogger(&b, slog.LevelInfo, true).Info("tinted")
	if !strings.Contains(b.String(), "tinted") || strings.HasPrefix(b.String(), "{") {
		t.Errorf("terminal log %q", b.String())
	}
	if IsTerminal(nil) {
		t.Error("IsTerminal(nil) = true")
	}
}

// TestEarlyFailedPassesCounted runs passes of a scope's source directly:
// one that reconciles (counted once, through OnPass) and one that fails
// before reconciling anything (a handle that is not a socket), which must
// count as a pass and an error too.
func TestEarlyFailedPassesCounted(t *testing.T) {
	ns := nstest.New(t)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	a := &Agent{logger: logger, metrics: NewMetrics(nil, logger), ready: newReadiness()}
	src, err := a.newSource(t.TempDir())(supervisor.Spec{Name: "x", Namespace: ns.Namespace()})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	h, err := src.Open(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	if r := src.Pass(ctx, h, reconcile.Desired{}); r.Err != nil {
		t.Fatalf("pass: %v", r.Err)
	}
	if p, e := counter(t, a.metrics, "linx_passes_total"), counter(t, a.metrics, "linx_pass_errors_total"); p != 1 || e != 0 {
		t.Fatalf("after one good pass: passes %v, errors %v; want 1, 0", p, e)
	}
	if r := src.Pass(ctx, nil, reconcile.Desired{}); r.Err == nil {
		t.Fatal("a pass without a handle succeeded")
	}
	if p, e := counter(t, a.metrics, "linx_passes_total"), counter(t, a.metrics, "linx_pass_errors_total"); p != 2 || e != 1 {
		t.Errorf("after a pass that failed early: passes %v, errors %v; want 2, 1", p, e)
	}
}

// counter returns the value of the counter family name for scope x.
func counter(t *testing.T, m *Metrics, name string) float64 {
	t.Helper()
	fams, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() == name {
			for _, mm := range f.GetMetric() {
				for _, l := range mm.GetLabel() {
					if l.GetName() == "scope" && l.GetValue() == "x" {
						return mm.GetCounter().GetValue()
					}
				}
			}
		}
	}
	return 0
}

// TestSameServing checks that a reload tells a change of the API's
// serving (a restart's) from a change of its rules (applied at once).
func TestSameServing(t *testing.T) {
	a := config.API{Socket: "/run/linx/linx.sock", Authorization: []config.Grant{{Identity: "x", Verbs: []string{"status"}}}}
	b := a
	b.Authorization = nil
	if !sameServing(a, b) {
		t.Error("a change of the rules alone is taken for a change of serving")
	}
	b.Group = "linx"
	if sameServing(a, b) {
		t.Error("a change of api.group is not seen")
	}
}
