package agent

import (
	"errors"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/linx-net/linx/actors/rtnlsource"
	"github.com/linx-net/linx/diff"
	"github.com/linx-net/linx/messages"
	"github.com/linx-net/linx/reconcile"
)

// Metrics are the agent's Prometheus metrics, in a registry of their own
// (nothing is registered globally). Pass outcomes are counted as passes
// happen (observePass); what the node supervisor keeps per scope
// (restarts, resyncs, monitor overruns, phase) is read from it at each
// scrape, so it can never drift from `linx-node status`.
type Metrics struct {
	// Registry holds every metric below plus the Go and process collectors.
	Registry *prometheus.Registry

	passes    *prometheus.CounterVec
	duration  *prometheus.HistogramVec
	ops       *prometheus.CounterVec
	errors    *prometheus.CounterVec
	conflicts *prometheus.GaugeVec
	fighting  *prometheus.GaugeVec
	reloads   *prometheus.CounterVec
	api       *prometheus.CounterVec
}

// Metric label values for linx_ops_total's result.
const (
	resultApplied = "applied"
	resultFailed  = "failed"
)

// NewMetrics returns the agent's metrics in a new registry. list, when not
// nil, is called at each scrape for the scopes' statuses (a failing list
// is logged to logger and the status metrics are left out of that scrape).
func NewMetrics(list func() ([]*messages.ScopeStatus, error), logger *slog.Logger) *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		passes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "linx_passes_total", Help: "Reconcile passes run, by scope.",
		}, []string{"scope"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "linx_pass_duration_seconds", Help: "How long a reconcile pass took, by scope.",
			// From a no-op pass over a small namespace (well under a
			// millisecond) to installing 100k routes (seconds).
			Buckets: prometheus.ExponentialBuckets(0.0005, 4, 10),
		}, []string{"scope"}),
		ops: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "linx_ops_total", Help: "Operations sent to the kernel, by scope, kind (link, address, route, neighbour, rule), op (create, update, delete) and result (applied, failed).",
		}, []string{"scope", "kind", "op", "result"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "linx_pass_errors_total", Help: "Passes that ended with an error (a failed op, a failed listing, an invalid desired state), by scope.",
		}, []string{"scope"}),
		conflicts: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "linx_conflicts", Help: "Desired objects held by foreign state (left alone) in the last pass, by scope.",
		}, []string{"scope"}),
		fighting: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "linx_scope_fighting", Help: "1 when the scope's last pass redid what another writer keeps undoing (the same key created, deleted or updated again and again), 0 otherwise, by scope.",
		}, []string{"scope"}),
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "linx_config_reloads_total", Help: "Configuration reloads (SIGHUP), by result (applied; refused: an invalid file; failed: some scope changes failed).",
		}, []string{"result"}),
	}
	m.api = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "linx_api_requests_total", Help: "Requests to the message API, by verb (status, spawn, update, stop) and result (accepted; failed: the node refused it; refused: no grant; limited: a rate or scope limit; invalid).",
	}, []string{"verb", "result"})
	m.Registry.MustRegister(m.api)
	m.Registry.MustRegister(m.passes, m.duration, m.ops, m.errors, m.conflicts, m.fighting, m.reloads,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if list != nil {
		m.Registry.MustRegister(&statusCollector{list: list, logger: logger})
	}
	return m
}

// observePass counts one pass of scope: its ops by kind, op and result,
// its duration, and whether it failed.
func (m *Metrics) observePass(scope string, rep reconcile.Report, err error) {
	m.passes.WithLabelValues(scope).Inc()
	m.duration.WithLabelValues(scope).Observe(rep.Duration.Seconds())
	for _, op := range rep.Applied {
		m.ops.WithLabelValues(scope, op.Kind.String(), op.Action.String(), resultApplied).Inc()
	}
	for _, f := range rep.Failures {
		if !f.Skipped { // one backing off was not sent
			m.ops.WithLabelValues(scope, f.Op.Kind.String(), f.Op.Action.String(), resultFailed).Inc()
		}
	}
	if err != nil {
		m.errors.WithLabelValues(scope).Inc()
	}
	m.conflicts.WithLabelValues(scope).Set(float64(len(rep.Conflicts)))
	var fight *rtnlsource.FightError
	if errors.As(err, &fight) {
		m.fighting.WithLabelValues(scope).Set(1)
	} else {
		m.fighting.WithLabelValues(scope).Set(0)
	}
}

// observeEarlyFailure counts one pass of scope that failed before it
// reconciled anything (and so has no report of ops): a pass and an error.
func (m *Metrics) observeEarlyFailure(scope string, d time.Duration) {
	m.passes.WithLabelValues(scope).Inc()
	m.duration.WithLabelValues(scope).Observe(d.Seconds())
	m.errors.WithLabelValues(scope).Inc()
}

// forget removes the per-scope series of a scope that is no longer
// configured.
func (m *Metrics) forget(scope string) {
	l := prometheus.Labels{"scope": scope}
	m.passes.DeletePartialMatch(l)
	m.duration.DeletePartialMatch(l)
	m.ops.DeletePartialMatch(l)
	m.errors.DeletePartialMatch(l)
	m.conflicts.DeletePartialMatch(l)
	m.fighting.DeletePartialMatch(l)
}

// statusCollector turns the node supervisor's scope statuses into metrics
// at scrape time.
type statusCollector struct {
	list   func() ([]*messages.ScopeStatus, error)
	logger *slog.Logger
}

var (
	descConverged = prometheus.NewDesc("linx_scope_converged",
		"1 when the scope's last pass reached the desired state, 0 otherwise.", []string{"scope"}, nil)
	descRunning = prometheus.NewDesc("linx_scope_running",
		"1 while the scope's actors run (starting, converging, converged or degraded), 0 while it waits for its namespace and once stopped or failed.", []string{"scope"}, nil)
	descRestarts = prometheus.NewDesc("linx_scope_restarts_total",
		"Restarts of the scope's actors after a crash, since the scope was spawned.", []string{"scope"}, nil)
	descResyncs = prometheus.NewDesc("linx_resyncs_total",
		"Passes run from scratch (one per start, one per lost-event signal), since the scope was spawned.", []string{"scope"}, nil)
	descNarrowed = prometheus.NewDesc("linx_narrowed_passes_total",
		"Passes that looked only at what the kernel's events said changed, since the scope was spawned.", []string{"scope"}, nil)
	descDrift = prometheus.NewDesc("linx_drift_repaired_total",
		"Operations, by kind, that interval passes applied although no event had come since the pass before: differences the events, and so narrowed passes, missed. 0 in a healthy scope.", []string{"scope", "kind"}, nil)
	descOverruns = prometheus.NewDesc("linx_monitor_overruns_total",
		"Times the scope's monitor lost events (ENOBUFS or a full queue), since the scope was spawned.", []string{"scope"}, nil)
	descObjects = prometheus.NewDesc("linx_objects",
		"Desired objects of the scope's last pass, by kind (link, address, route, neighbour, rule, nexthop) and state: converged, failed (the kernel refused it), blocked (held back by an object it depends on) or conflict (another writer's object holds its key).",
		[]string{"scope", "kind", "state"}, nil)
)

func (c *statusCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descConverged, descRunning, descRestarts, descResyncs, descOverruns, descNarrowed, descDrift, descObjects} {
		ch <- d
	}
}

func (c *statusCollector) Collect(ch chan<- prometheus.Metric) {
	statuses, err := c.list()
	if err != nil {
		c.logger.Warn("metrics: listing the scopes", "err", err)
		return
	}
	for _, st := range statuses {
		name := st.GetName()
		converged, running := 0.0, 0.0
		switch st.GetPhase() {
		case messages.Phase_PHASE_CONVERGED:
			converged, running = 1, 1
		case messages.Phase_PHASE_STARTING, messages.Phase_PHASE_CONVERGING, messages.Phase_PHASE_DEGRADED:
			running = 1
		}
		for _, c := range st.GetObjectCounts() {
			bad := c.GetFailed() + c.GetBlocked() + c.GetConflict()
			for state, n := range map[string]uint32{
				"converged": c.GetDesired() - min(bad, c.GetDesired()),
				"failed":    c.GetFailed(), "blocked": c.GetBlocked(), "conflict": c.GetConflict(),
			} {
				ch <- prometheus.MustNewConstMetric(descObjects, prometheus.GaugeValue, float64(n), name, c.GetKind(), state)
			}
		}
		ch <- prometheus.MustNewConstMetric(descConverged, prometheus.GaugeValue, converged, name)
		ch <- prometheus.MustNewConstMetric(descRunning, prometheus.GaugeValue, running, name)
		ch <- prometheus.MustNewConstMetric(descRestarts, prometheus.CounterValue, float64(st.GetRestarts()), name)
		ch <- prometheus.MustNewConstMetric(descResyncs, prometheus.CounterValue, float64(st.GetResyncs()), name)
		ch <- prometheus.MustNewConstMetric(descOverruns, prometheus.CounterValue, float64(st.GetMonitorOverruns()), name)
		ch <- prometheus.MustNewConstMetric(descNarrowed, prometheus.CounterValue, float64(st.GetNarrowedPasses()), name)
		// Every kind, 0 included, so that a dashboard sees the series
		// before any drift.
		for _, k := range []diff.Kind{diff.KindLink, diff.KindAddress, diff.KindRoute, diff.KindNeighbour, diff.KindRule, diff.KindNexthop} {
			kind := k.String()
			ch <- prometheus.MustNewConstMetric(descDrift, prometheus.CounterValue, float64(st.GetDriftRepaired()[kind]), name, kind)
		}
	}
}

// ObserveAPI counts one request to the message API by verb and result
// (linx_api_requests_total).
func (m *Metrics) ObserveAPI(verb, result string) {
	m.api.WithLabelValues(verb, result).Inc()
}
