package main

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"regexp"
	"strconv"
	"strings"
)

// line is one benchmark line: its name, its fields in printed order, and
// the text as printed.
type line struct {
	name   string
	keys   []string
	fields map[string]string
	text   string
}

// num returns field key as a number; ok is false when the field is absent
// or not a number.
func (l *line) num(key string) (v float64, ok bool) {
	if l == nil {
		return 0, false
	}
	s, found := l.fields[key]
	if !found {
		return 0, false
	}
	v, err := strconv.ParseFloat(s, 64)
	return v, err == nil && !math.IsNaN(v) && !math.IsInf(v, 0)
}

// lineRE matches a benchmark line anywhere in a line of output (the
// testing package may print a benchmark's name before it on the same
// line): a lower-case name, a colon, and one or more key=value fields.
var lineRE = regexp.MustCompile(`([a-z][a-z0-9_]*): ((?:[a-z][a-z0-9_]*=\S+)(?:[ \t]+[a-z][a-z0-9_]*=\S+)*)[ \t]*$`)

// parse returns every benchmark line of r, in order. It returns an error
// only when r cannot be read.
func parse(r io.Reader) ([]line, error) {
	var out []line
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		m := lineRE.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		l := line{name: m[1], fields: map[string]string{}, text: m[0]}
		for _, f := range strings.Fields(m[2]) {
			k, v, _ := strings.Cut(f, "=")
			l.keys = append(l.keys, k)
			l.fields[k] = v
		}
		out = append(out, l)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading benchmark output: %w", err)
	}
	return out, nil
}

// Figure is one measured value; Value is nil when the run did not produce
// it (printed as "-").
type Figure struct {
	Name  string   `json:"name"`
	Value *float64 `json:"value"`
}

// Check is one ratio or figure held against its target. Value is the
// ratio (or the figure, for an absolute target); Target is nil when the
// issue set none, and Op is "<=" or ">=". Met is nil when Value or Target
// is missing.
type Check struct {
	Name   string   `json:"name"`
	Value  *float64 `json:"value"`
	Unit   string   `json:"unit,omitempty"`
	Target *float64 `json:"target"`
	Op     string   `json:"op,omitempty"`
	Met    *bool    `json:"met"`
}

// Row is one benchmark: Linx's figure beside its baselines measured in
// the same run, and its checks.
type Row struct {
	Benchmark string   `json:"benchmark"`
	Unit      string   `json:"unit"`
	Linx      Figure   `json:"linx"`
	Baselines []Figure `json:"baselines"`
	Checks    []Check  `json:"checks"`
	// Line is the benchmark's line as printed, "" when the run lacks it.
	Line string `json:"line"`
	// Notes say what is missing and why.
	Notes []string `json:"notes,omitempty"`
}

func ptr(v float64) *float64 { return &v }

// fig returns field key of l as a Figure named name.
func fig(name string, l *line, key string) Figure {
	if v, ok := l.num(key); ok {
		return Figure{Name: name, Value: ptr(v)}
	}
	return Figure{Name: name}
}

// check builds a Check of value against target (nil: no target).
func check(name string, value *float64, unit, op string, target *float64) Check {
	c := Check{Name: name, Value: value, Unit: unit, Target: target}
	if target != nil {
		c.Op = op
	}
	if value != nil && target != nil {
		met := *value <= *target
		if op == ">=" {
			met = *value >= *target
		}
		c.Met = &met
	}
	return c
}

// ratio returns a/b, or nil when either is missing or b is zero.
func ratio(a, b *float64) *float64 {
	if a == nil || b == nil || *b == 0 {
		return nil
	}
	return ptr(*a / *b)
}

// printed returns field key of l, or the ratio of the figures when the
// line lacks the field.
func printed(l *line, key string, a, b *float64) *float64 {
	if v, ok := l.num(key); ok {
		return &v
	}
	return ratio(a, b)
}

// index finds lines by name (the last one wins: a rerun replaces a run)
// and the reconcile no-op lines by their foreign count.
type index struct {
	byName map[string]*line
	noop   map[string]*line
}

func newIndex(lines []line) index {
	x := index{byName: map[string]*line{}, noop: map[string]*line{}}
	for i := range lines {
		l := &lines[i]
		x.byName[l.name] = l
		if l.name == "reconcile_noop_100k" {
			x.noop[l.fields["foreign"]] = l
		}
	}
	return x
}

// rows returns the table's rows, in the order of issue 9, from the lines
// of one run.
func rows(lines []line) []Row {
	x := newIndex(lines)
	var out []Row
	add := func(r Row, l *line) {
		if l != nil {
			r.Line = l.text
		} else {
			r.Notes = append(r.Notes, "the run printed no line for this benchmark")
		}
		out = append(out, r)
	}

	// Route dump: Linx, a raw dump, vishvananda/netlink, ip -j route show.
	l := x.byName["route_dump_100k"]
	r := Row{Benchmark: "route dump 100k", Unit: "ms", Linx: fig("linx", l, "linx")}
	r.Baselines = []Figure{fig("raw dump", l, "raw"), fig("vishvananda", l, "vishvananda"), fig("ip -j route show", l, "ip_json")}
	r.Checks = []Check{
		check("linx/raw", printed(l, "ratio_raw", r.Linx.Value, r.Baselines[0].Value), "", "<=", ptr(1.5)),
		check("linx/vishvananda", printed(l, "ratio_vishvananda", r.Linx.Value, r.Baselines[1].Value), "", "", nil),
		check("linx/ip -j route show", printed(l, "ratio_ip_json", r.Linx.Value, r.Baselines[2].Value), "", "", nil),
	}
	if l != nil && r.Baselines[2].Value == nil {
		r.Notes = append(r.Notes, "no `ip -j route show` timing: the line has no ip_json field (printed by an older benchmark)")
	}
	add(r, l)

	// Route install and delete: raw batched, vishvananda, ip -batch/flush.
	for _, op := range []struct{ name, line, ip, ipName string }{
		{"route install 100k", "route_install_100k", "ip_batch", "ip -batch"},
		{"route delete 100k", "route_delete_100k", "ip_flush", "ip route flush proto"},
	} {
		l := x.byName[op.line]
		r := Row{Benchmark: op.name, Unit: "ms", Linx: fig("linx", l, "linx")}
		r.Baselines = []Figure{fig("raw batched", l, "raw_batched"), fig("vishvananda", l, "vishvananda"), fig(op.ipName, l, op.ip)}
		r.Checks = []Check{
			check("linx/raw batched", printed(l, "ratio_raw", r.Linx.Value, r.Baselines[0].Value), "", "<=", ptr(1.2)),
			check("linx/vishvananda", ratio(r.Linx.Value, r.Baselines[1].Value), "", "", nil),
			check("linx/"+op.ipName, ratio(r.Linx.Value, r.Baselines[2].Value), "", "", nil),
		}
		add(r, l)
	}

	// Reconcile passes.
	l = x.byName["reconcile_install_100k"]
	r = Row{Benchmark: "reconcile install 100k", Unit: "ms", Linx: fig("linx", l, "linx")}
	r.Baselines = []Figure{fig("raw batched", l, "raw_batched")}
	r.Checks = []Check{check("linx/raw batched", printed(l, "ratio", r.Linx.Value, r.Baselines[0].Value), "", "<=", ptr(1.3))}
	add(r, l)

	l0 := x.noop["0"]
	r0 := Row{Benchmark: "reconcile no-op 100k, 0 foreign", Unit: "ms", Linx: fig("linx", l0, "linx")}
	r0.Baselines = []Figure{fig("raw dump of owned", l0, "raw_dump")}
	r0.Checks = []Check{check("linx/raw dump", printed(l0, "ratio", r0.Linx.Value, r0.Baselines[0].Value), "", "<=", ptr(2.0))}
	add(r0, l0)

	l = x.noop["200000"]
	r = Row{Benchmark: "reconcile no-op 100k, 200k foreign", Unit: "ms", Linx: fig("linx", l, "linx")}
	r.Baselines = []Figure{fig("raw dump of owned", l, "raw_dump"), {Name: "no-op with 0 foreign", Value: r0.Linx.Value}}
	r.Checks = []Check{
		check("linx/raw dump", printed(l, "ratio", r.Linx.Value, r.Baselines[0].Value), "", "<=", ptr(2.0)),
		check("200k foreign/0 foreign", ratio(r.Linx.Value, r0.Linx.Value), "", "<=", ptr(1.3)),
	}
	add(r, l)

	// Diff.
	l = x.byName["diff_100k"]
	lb := x.byName["diff_100k_baseline"]
	r = Row{Benchmark: "diff 100k", Unit: "ns/op", Linx: fig("linx", l, "ns_per_op")}
	r.Baselines = []Figure{fig("index both sides", lb, "index_both_sides_ns")}
	r.Checks = []Check{check("linx/index both sides", printed(lb, "ratio", r.Linx.Value, r.Baselines[0].Value), "", "", nil)}
	if lb == nil {
		r.Notes = append(r.Notes, "no diff_100k_baseline line")
	}
	add(r, l)

	l = x.byName["diff_routes_scaling"]
	r = Row{Benchmark: "diff cost per route, 1m vs 10k", Unit: "ns/route", Linx: fig("at 1m", l, "per_item_1m")}
	r.Baselines = []Figure{fig("at 10k", l, "per_item_10k"), fig("at 100k", l, "per_item_100k")}
	r.Checks = []Check{check("1m/10k", printed(l, "ratio_1m_10k", r.Linx.Value, r.Baselines[0].Value), "", "<=", ptr(1.5))}
	add(r, l)

	// Self-heal latency against a timer-only loop.
	l = x.byName["selfheal_latency"]
	for _, q := range []struct {
		name, key, timer string
		target           float64
	}{{"self-heal p50", "p50", "timer_only_p50", 10}, {"self-heal p99", "p99", "timer_only_p99", 50}} {
		r := Row{Benchmark: q.name, Unit: "ms", Linx: fig("linx", l, q.key)}
		timer := fig("timer-only loop", l, q.timer)
		if iv, ok := l.num("timer_only_interval"); ok {
			timer.Name = fmt.Sprintf("timer-only loop (%g ms interval)", iv)
		}
		r.Baselines = []Figure{timer}
		r.Checks = []Check{
			check("latency", r.Linx.Value, "ms", "<=", ptr(q.target)),
			check("linx/timer-only", ratio(r.Linx.Value, timer.Value), "", "", nil),
		}
		add(r, l)
	}

	// Self-heal in a scope owning a million routes, against a full pass
	// at the same size.
	l = x.byName["selfheal_scale"]
	for _, q := range []struct {
		name, key string
		target    float64
	}{{"self-heal at 1m routes p50", "p50", 5}, {"self-heal at 1m routes p99", "p99", 20}} {
		r := Row{Benchmark: q.name, Unit: "ms", Linx: fig("linx", l, q.key)}
		r.Baselines = []Figure{fig("full pass p50", l, "full_pass_p50")}
		r.Checks = []Check{
			check("latency", r.Linx.Value, "ms", "<=", ptr(q.target)),
			check("linx/full pass", ratio(r.Linx.Value, r.Baselines[0].Value), "", "", nil),
		}
		add(r, l)
	}

	// A scope given a million routes: converging against a raw batched
	// install, the no-op pass against a raw dump, the idle memory.
	l = x.byName["scope_1m"]
	r = Row{Benchmark: "scope 1m routes", Unit: "s", Linx: fig("converge", l, "converge_s")}
	r.Baselines = []Figure{fig("raw batched install", l, "raw_install_s"), fig("no-op ms", l, "noop_ms"), fig("raw dump ms", l, "raw_dump_ms")}
	r.Checks = []Check{
		check("converge/raw install", printed(l, "ratio", r.Linx.Value, r.Baselines[0].Value), "", "<=", ptr(1.3)),
		check("no-op/raw dump", printed(l, "noop_ratio", r.Baselines[1].Value, r.Baselines[2].Value), "", "<=", ptr(2.0)),
		check("idle RSS", fig("", l, "idle_rss").Value, "MB", "<=", ptr(400)),
	}
	add(r, l)

	// Reading configuration: plan on 100k routes of YAML, and hostile
	// input refused.
	l = x.byName["ingest_100k_yaml"]
	r = Row{Benchmark: "ingest 100k routes of YAML", Unit: "ms", Linx: fig("plan", l, "load_ms")}
	base, baseRSS := fig("previous reader", l, "before_load_ms"), fig("previous reader peak RSS MB", l, "before_peak_rss")
	if base.Value == nil {
		base, baseRSS = fig("raw YAML decode", l, "raw_yaml_ms"), fig("raw YAML decode peak RSS MB", l, "raw_yaml_rss")
	}
	r.Baselines = []Figure{base, baseRSS}
	r.Checks = []Check{
		check("load", r.Linx.Value, "ms", "<=", ptr(1000)),
		check("peak RSS", fig("", l, "peak_rss").Value, "MB", "<=", ptr(150)),
	}
	add(r, l)

	l = x.byName["ingest_hostile"]
	r = Row{Benchmark: "hostile YAML refused", Unit: "ms", Linx: fig("40k-deep nesting", l, "nest_40k_ms")}
	r.Baselines = []Figure{fig("alias bomb ms", l, "alias_ms")}
	r.Checks = []Check{
		check("nesting time", r.Linx.Value, "ms", "<=", ptr(100)),
		check("nesting RSS", fig("", l, "nest_40k_rss").Value, "MB", "<=", ptr(50)),
		check("alias bomb time", r.Baselines[0].Value, "ms", "<=", ptr(100)),
		check("alias bomb RSS", fig("", l, "alias_rss").Value, "MB", "<=", ptr(50)),
	}
	r.Notes = append(r.Notes, "no baseline: the targets are absolute")
	add(r, l)

	// Monitor throughput against vishvananda/netlink's subscription.
	l = x.byName["monitor_events"]
	r = Row{Benchmark: "monitor events/s", Unit: "events/s", Linx: fig("linx", l, "linx")}
	r.Baselines = []Figure{fig("vishvananda", l, "baseline"), fig("ip -batch install rate", l, "install")}
	r.Checks = []Check{check("linx/vishvananda", printed(l, "ratio", r.Linx.Value, r.Baselines[0].Value), "", "", nil)}
	add(r, l)

	// Nexthop objects: a group replace against rewriting every route, and
	// an install through a nexthop against a raw batched one.
	l = x.byName["nexthop_failover"]
	r = Row{Benchmark: "nexthop failover, 100k routes", Unit: "ms", Linx: fig("group replace", l, "group_ms")}
	r.Baselines = []Figure{fig("every route rewritten", l, "per_route_ms"), fig("group replace, compat mode 1", l, "group_compat_ms")}
	r.Checks = []Check{
		check("group replace", r.Linx.Value, "ms", "<=", ptr(5)),
		check("rewritten/group", printed(l, "ratio", r.Baselines[0].Value, r.Linx.Value), "", "", nil),
	}
	add(r, l)

	l = x.byName["route_install_nh_100k"]
	r = Row{Benchmark: "route install via nexthop 100k", Unit: "ms", Linx: fig("linx", l, "linx")}
	r.Baselines = []Figure{fig("raw batched", l, "raw")}
	r.Checks = []Check{check("linx/raw batched", printed(l, "ratio", r.Linx.Value, r.Baselines[0].Value), "", "<=", ptr(1.2))}
	add(r, l)

	// The fleet: one apply to 1000 node supervisors until every status
	// says converged, and an agent's restart until its durable scopes are.
	l = x.byName["fleet_fanout"]
	r = Row{Benchmark: "fleet fan-out, 1000 nodes", Unit: "ms", Linx: fig("p99", l, "p99")}
	r.Baselines = []Figure{fig("p50", l, "p50"), fig("etcd writes per change", l, "etcd_writes_per_change")}
	r.Checks = []Check{
		check("p99", r.Linx.Value, "ms", "<=", ptr(2000)),
		check("etcd writes per change", r.Baselines[1].Value, "", "<=", ptr(3)),
	}
	r.Notes = append(r.Notes, "no baseline: the targets are absolute")
	add(r, l)

	l = x.byName["fleet_resume"]
	r = Row{Benchmark: "fleet resume, 100 durable scopes", Unit: "ms", Linx: fig("resume", l, "resume_ms")}
	r.Baselines = []Figure{fig("spawned afresh", l, "spawn_ms")}
	r.Checks = []Check{check("resume/spawn", printed(l, "ratio_spawn", r.Linx.Value, r.Baselines[0].Value), "", "", nil)}
	add(r, l)

	// Memory.
	l = x.byName["rss_per_100k_routes"]
	r = Row{Benchmark: "RSS per 100k desired routes", Unit: "MB", Linx: fig("linx", l, "rss")}
	r.Baselines = []Figure{{Name: "baseline"}}
	r.Checks = []Check{check("rss", r.Linx.Value, "MB", "", nil)}
	r.Notes = append(r.Notes, "no baseline: no other tool holds desired routes")
	add(r, l)

	// show routes through the built linx-node against ip, at 100k and 1m:
	// both times at most ip's, and bounded memory whatever the size.
	for _, sz := range []string{"100k", "1m"} {
		l := x.byName["show_routes_"+sz]
		r := Row{Benchmark: "show routes " + sz, Unit: "s", Linx: fig("table", l, "table_s")}
		r.Baselines = []Figure{fig("ip route show", l, "ip_s"), fig("linx -o json", l, "json_s"), fig("ip -j route show", l, "ip_json_s")}
		r.Checks = []Check{
			check("table/ip", printed(l, "ratio_table", r.Linx.Value, r.Baselines[0].Value), "", "<=", ptr(1)),
			check("json/ip -j", printed(l, "ratio_json", r.Baselines[1].Value, r.Baselines[2].Value), "", "<=", ptr(1)),
			check("peak RSS", fig("", l, "peak_rss").Value, "MB", "<=", ptr(64)),
		}
		add(r, l)
	}

	l = x.byName["scopes_100"]
	r = Row{Benchmark: "100 scopes RSS", Unit: "MB", Linx: fig("linx", l, "rss")}
	r.Baselines = []Figure{fig("goroutines", l, "goroutines"), fig("idle CPU %", l, "idle_cpu")}
	r.Checks = []Check{check("rss", r.Linx.Value, "MB", "<=", ptr(100))}
	r.Notes = append(r.Notes, "no baseline: the target is absolute (goroutines and idle CPU shown beside)")
	add(r, l)
	return out
}

// num formats a figure for the table: "-" when missing, and fewer
// decimals as it grows.
func num(v *float64) string {
	if v == nil {
		return "-"
	}
	a := math.Abs(*v)
	switch {
	case a == 0:
		return "0"
	case *v == math.Trunc(*v) && a < 1e15:
		return strconv.FormatFloat(*v, 'f', 0, 64)
	case a >= 1000:
		return strconv.FormatFloat(*v, 'f', 0, 64)
	case a >= 100:
		return strconv.FormatFloat(*v, 'f', 1, 64)
	case a >= 0.1:
		return strconv.FormatFloat(*v, 'f', 2, 64)
	}
	return strconv.FormatFloat(*v, 'g', 3, 64)
}

// target formats c's target, "-" when it has none.
func (c Check) target() string {
	if c.Target == nil {
		return "-"
	}
	op := "≤"
	if c.Op == ">=" {
		op = "≥"
	}
	s := op + " " + num(c.Target)
	if c.Unit != "" {
		s += " " + c.Unit
	}
	return s
}

// verdict is "met", "NOT MET", "-" (no target) or "missing".
func (c Check) verdict() string {
	switch {
	case c.Value == nil:
		return "missing"
	case c.Met == nil:
		return "-"
	case *c.Met:
		return "met"
	}
	return "NOT MET"
}

// writeTable prints rows as an aligned text table, then the notes.
func writeTable(w io.Writer, rs []Row) error {
	head := []string{"benchmark", "unit", "linx", "baselines (same run)", "ratio / figure", "value", "target", "verdict"}
	var cells [][]string
	for _, r := range rs {
		var bs []string
		for _, b := range r.Baselines {
			bs = append(bs, b.Name+"="+num(b.Value))
		}
		for i, c := range r.Checks {
			row := []string{"", "", "", "", c.Name, num(c.Value), c.target(), c.verdict()}
			if i == 0 {
				row[0], row[1], row[2], row[3] = r.Benchmark, r.Unit, num(r.Linx.Value), strings.Join(bs, " ")
			}
			cells = append(cells, row)
		}
	}
	width := make([]int, len(head))
	for _, row := range append([][]string{head}, cells...) {
		for i, c := range row {
			width[i] = max(width[i], len([]rune(c)))
		}
	}
	var b strings.Builder
	put := func(row []string) {
		for i, c := range row {
			if i > 0 {
				b.WriteString("  ")
			}
			b.WriteString(c)
			if i < len(row)-1 {
				b.WriteString(strings.Repeat(" ", width[i]-len([]rune(c))))
			}
		}
		b.WriteString("\n")
	}
	put(head)
	rule := make([]string, len(head))
	for i := range rule {
		rule[i] = strings.Repeat("-", width[i])
	}
	put(rule)
	for _, row := range cells {
		put(row)
	}
	var notes []string
	for _, r := range rs {
		for _, n := range r.Notes {
			notes = append(notes, r.Benchmark+": "+n)
		}
	}
	if len(notes) > 0 {
		b.WriteString("\nNotes (\"-\" is a figure this run did not produce):\n")
		for _, n := range notes {
			b.WriteString("  " + n + "\n")
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}
