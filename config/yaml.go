package config

import (
	"context"
	"fmt"
	"math"
	"net"
	"net/netip"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/linx-net/linx/internal/yamlevent"
	"github.com/linx-net/linx/reconcile"
	"github.com/linx-net/linx/rtnl"
)

// reader converts the YAML event stream as it goes, collecting every
// problem with its position, so that one run reports them all. It holds
// no syntax tree: a mapping or a sequence is read entry by entry, in file
// order, by fields and list, and what no field reads is skipped.
type reader struct {
	file     string
	problems []Problem
	s        *stream
	ctx      context.Context // nil: never done
	routes   *routeReader    // made at the first route
}

// pos is a place in the file; the zero pos is none.
type pos struct{ line, col int32 }

// nodeKind says what a node holds.
type nodeKind uint8

const (
	scalarNode nodeKind = iota + 1
	nullNode            // a plain empty, ~ or null scalar
	mappingNode
	sequenceNode
	aliasNode
)

// node is one YAML value as the reader meets it: a scalar whole, a
// mapping or a sequence as its start only, its entries still in the
// stream until fields or list reads them. A nil *node is a value the
// stream could not give (it broke off).
type node struct {
	kind  nodeKind
	open  bool // a mapping or sequence whose end is not read yet
	at    pos
	value string // a scalar's text as resolved by YAML (quotes, escapes)
}

// stream hands out the events of one YAML document, counting depth and
// keeping the first syntax or limit error, after which it only reports
// ends, so that every reader unwinds.
type stream struct {
	file   string
	p      *yamlevent.Parser
	depth  int
	err    *Problem
	ctx    context.Context // nil: never done
	events int
}

func newStream(ctx context.Context, file string, data []byte) *stream {
	return &stream{file: file, p: yamlevent.New(data), ctx: ctx}
}

// checkEvery is how many events pass between two looks at the context:
// under a millisecond of reading.
const checkEvery = 1024

// next returns the next event; the zero Event once the stream is broken.
func (s *stream) next() yamlevent.Event {
	if s.err != nil {
		return yamlevent.Event{}
	}
	if s.events++; s.events%checkEvery == 0 && s.ctx != nil && s.ctx.Err() != nil {
		s.err = &Problem{File: s.file, Message: "reading stopped: " + s.ctx.Err().Error()}
		return yamlevent.Event{}
	}
	ev, err := s.p.Next()
	if err != nil {
		p := Problem{File: s.file, Message: "not valid YAML: " + err.Error()}
		if se, ok := err.(*yamlevent.SyntaxError); ok {
			p.Line, p.Column, p.Message = se.Line, se.Column, "not valid YAML: "+se.Message
		}
		s.err = &p
		return yamlevent.Event{}
	}
	switch ev.Kind {
	case yamlevent.MappingStart, yamlevent.SequenceStart:
		s.depth++
		if s.depth > MaxDepth {
			s.err = &Problem{File: s.file, Line: ev.Line, Column: ev.Column,
				Message: fmt.Sprintf("nesting deeper than %d levels (a Linx configuration needs at most 8)", MaxDepth)}
			return yamlevent.Event{}
		}
	case yamlevent.MappingEnd, yamlevent.SequenceEnd:
		s.depth--
	}
	return ev
}

// isEnd reports whether ev closes a collection (or the stream broke).
func isEnd(ev yamlevent.Event) bool {
	return ev.Kind == yamlevent.MappingEnd || ev.Kind == yamlevent.SequenceEnd || ev.Kind == 0
}

// node turns the event that starts a value into a node.
func (s *stream) node(ev yamlevent.Event) *node {
	n := &node{at: pos{int32(ev.Line), int32(ev.Column)}}
	switch ev.Kind {
	case yamlevent.Scalar:
		n.kind, n.value = scalarNode, ev.Value
		if ev.Plain {
			switch ev.Value {
			case "", "~", "null", "Null", "NULL":
				n.kind = nullNode
			}
		}
	case yamlevent.MappingStart:
		n.kind, n.open = mappingNode, true
	case yamlevent.SequenceStart:
		n.kind, n.open = sequenceNode, true
	case yamlevent.Alias:
		n.kind = aliasNode
	default:
		return nil
	}
	return n
}

// skip reads past what is left of n, a mapping or sequence no field read.
func (r *reader) skip(n *node) {
	if n == nil || !n.open {
		return
	}
	n.open = false
	for level := 1; level > 0; {
		switch ev := r.s.next(); ev.Kind {
		case yamlevent.MappingStart, yamlevent.SequenceStart:
			level++
		case yamlevent.MappingEnd, yamlevent.SequenceEnd:
			level--
		case 0:
			return
		}
	}
}

func (r *reader) fail(n *node, path, format string, args ...any) {
	var at pos
	if n != nil {
		at = n.at
	}
	r.failAt(at, path, format, args...)
}

func (r *reader) failAt(at pos, path, format string, args ...any) {
	r.problems = append(r.problems, Problem{File: r.file, Line: int(at.line), Column: int(at.col), Path: path,
		Message: fmt.Sprintf(format, args...)})
}

// unwrap refuses aliases: a Linx configuration writes every value out, so
// that no input can expand to more than its size.
func (r *reader) unwrap(n *node, path string) *node {
	if n != nil && n.kind == aliasNode {
		r.fail(n, path, "aliases are not supported; write the value out")
		return nil
	}
	return n
}

// fields reads a mapping, calling set for each known key and reporting
// unknown keys, duplicates and missing required keys.
func (r *reader) fields(n *node, path string, known map[string]func(*node, string), required ...string) {
	defer r.skip(n)
	n = r.unwrap(n, path)
	switch {
	case n == nil:
		r.fail(n, path, "want a mapping, got nothing")
		return
	case n.kind != mappingNode:
		r.fail(n, path, "want a mapping (key: value lines), got %s", describe(n))
		return
	}
	var seen []string
	for {
		ev := r.s.next()
		if isEnd(ev) {
			break
		}
		k := r.s.node(ev)
		if k == nil {
			break
		}
		if k.kind != scalarNode && k.kind != nullNode {
			r.fail(k, path, "want a plain key, got %s", describe(k))
			r.skip(k) // its entries come before the value
			r.skip(r.s.node(r.s.next()))
			continue
		}
		v := r.s.node(r.s.next())
		if v == nil {
			break
		}
		key := k.value
		sub := join(path, key)
		set, ok := known[key]
		switch {
		case !ok:
			r.fail(k, sub, "unknown key %q (want one of %s)", key, keyList(known))
		case slices.Contains(seen, key):
			r.fail(k, sub, "key %q given twice", key)
		default:
			seen = append(seen, key)
			set(v, sub)
		}
		r.skip(v)
	}
	n.open = false
	for _, k := range required {
		if !slices.Contains(seen, k) {
			r.fail(n, join(path, k), "%s is required", k)
		}
	}
}

// list reads a sequence, calling item for each element; null is empty.
func (r *reader) list(n *node, path string, item func(*node, string)) {
	defer r.skip(n)
	n = r.unwrap(n, path)
	switch {
	case n == nil || n.kind == nullNode:
		return
	case n.kind != sequenceNode:
		r.fail(n, path, "want a list (- item lines), got %s", describe(n))
		return
	}
	for i := 0; ; i++ {
		ev := r.s.next()
		if isEnd(ev) {
			break
		}
		e := r.s.node(ev)
		if e == nil {
			break
		}
		item(e, path+"["+strconv.Itoa(i)+"]")
		r.skip(e)
	}
	n.open = false
}

// scalar returns the text of a scalar node, or reports a non-scalar.
// Numbers and booleans keep their text as written, so that 0x10 and 010
// are parsed by the field, not by YAML.
func (r *reader) scalar(n *node, path string) (string, bool) {
	n = r.unwrap(n, path)
	switch {
	case n == nil || n.kind == nullNode:
		return "", true
	case n.kind == scalarNode:
		return n.value, true
	}
	r.fail(n, path, "want a single value, got %s", describe(n))
	return "", false
}

func (r *reader) str(dst *string) func(*node, string) {
	return func(n *node, path string) {
		if s, ok := r.scalar(n, path); ok {
			*dst = s
		}
	}
}

func (r *reader) uint(dst *uint64, max uint64, what string) func(*node, string) {
	return func(n *node, path string) {
		s, ok := r.scalar(n, path)
		if !ok {
			return
		}
		v, err := strconv.ParseUint(s, 0, 64)
		if err != nil || v > max {
			r.fail(n, path, "want %s (0 to %d), got %q", what, max, s)
			return
		}
		*dst = v
	}
}

func (r *reader) number(n *node, path string, max uint64, what string) (uint64, bool) {
	var v uint64
	before := len(r.problems)
	r.uint(&v, max, what)(n, path)
	return v, len(r.problems) == before
}

// linkState reads a link's `up`: true wants it up, false down; a link
// without the key keeps reconcile.LinkStateAny (left as it is).
func (r *reader) linkState(dst *reconcile.LinkState) func(*node, string) {
	return r.boolean("true (bring the link up) or false (take it down)", func(up bool) {
		*dst = reconcile.LinkStateDown
		if up {
			*dst = reconcile.LinkStateUp
		}
	})
}

// boolean reads true or false and passes it to set; want says what the
// values mean when the node holds neither.
func (r *reader) boolean(want string, set func(bool)) func(*node, string) {
	return func(n *node, path string) {
		s, ok := r.scalar(n, path)
		if !ok {
			return
		}
		v, err := strconv.ParseBool(s)
		if err != nil {
			r.fail(n, path, "want %s, got %q", want, s)
			return
		}
		set(v)
	}
}

// parsed returns a field reader that parses its scalar with parse into
// dst; a value parse refuses is reported as "want WANT, got VALUE" and
// leaves dst as it was.
func parsed[T any](r *reader, dst *T, parse func(string) (T, error), want string) func(*node, string) {
	return func(n *node, path string) {
		s, ok := r.scalar(n, path)
		if !ok {
			return
		}
		v, err := parse(s)
		if err != nil {
			r.fail(n, path, "want %s, got %q", want, s)
			return
		}
		*dst = v
	}
}

// protocol reads a route or rule protocol, a number or a name as
// iproute2 spells it.
func (r *reader) protocol(dst *rtnl.Protocol) func(*node, string) {
	return parsed(r, dst, rtnl.ParseProtocol, "a protocol number or name")
}

// family reads a family, "inet" or "inet6" (rtnl.ParseFamily).
func (r *reader) family(dst *rtnl.Family) func(*node, string) {
	return parsed(r, dst, rtnl.ParseFamily, "inet or inet6")
}

func (r *reader) prefix(dst *netip.Prefix) func(*node, string) {
	return parsed(r, dst, netip.ParsePrefix, "an address with prefix length such as 10.0.0.2/24")
}

func (r *reader) addr(dst *netip.Addr) func(*node, string) {
	return parsed(r, dst, netip.ParseAddr, "an IP address such as 10.0.0.1 or fd00::1")
}

func (r *reader) mac(dst *net.HardwareAddr) func(*node, string) {
	return func(n *node, path string) {
		s, ok := r.scalar(n, path)
		if !ok {
			return
		}
		m, err := net.ParseMAC(s)
		if err != nil || len(m) != 6 {
			r.fail(n, path, "want a MAC address such as 02:aa:bb:cc:dd:ee, got %q", s)
			return
		}
		*dst = m
	}
}

// document reads data, one YAML document, passing its top node to body.
// It reports false, with the problem recorded, when data is larger than
// MaxFileSize, is not one YAML document (want says what it should hold),
// is not valid YAML or nests deeper than MaxDepth: then the syntax or
// limit error is the only problem kept, since what was read before it may
// be cut short.
func (r *reader) document(data []byte, want string, body func(*node)) bool {
	if len(data) > MaxFileSize {
		r.problems = append(r.problems, Problem{File: r.file,
			Message: fmt.Sprintf("the file is %d bytes, more than the %d MiB limit (MaxFileSize)", len(data), MaxFileSize>>20)})
		return false
	}
	r.s = newStream(r.ctx, r.file, data)
	defer func() { r.s = nil }() // the parser's buffers go with it
	one := false
	if r.s.next().Kind == yamlevent.StreamStart && r.s.next().Kind == yamlevent.DocumentStart {
		ev := r.s.next()
		if n := r.s.node(ev); n != nil && n.kind != nullNode {
			one = true
			body(n)
			r.skip(n)
		}
		if r.s.next().Kind != yamlevent.DocumentEnd || r.s.next().Kind != yamlevent.StreamEnd {
			one = false
		}
	}
	if r.s.err != nil {
		r.problems = []Problem{*r.s.err}
		return false
	}
	if !one {
		r.problems = append(r.problems, Problem{File: r.file, Line: 1, Column: 1,
			Message: "want exactly one YAML document with " + want})
		return false
	}
	return true
}

func (r *reader) config(data []byte) *Config {
	cfg := &Config{StateDir: DefaultStateDir}
	var apiNode, stateDirNode, metricsListenNode *node
	top := map[string]func(*node, string){
		"state_dir": func(n *node, p string) { stateDirNode = n; r.str(&cfg.StateDir)(n, p) },
		"api":       func(n *node, p string) { apiNode = n; r.api(n, p, &cfg.API) },
		"fleet":     func(n *node, p string) { r.fleet(n, p, &cfg.Fleet) },
		"metrics": func(n *node, p string) {
			r.fields(n, p, map[string]func(*node, string){
				"listen": func(n *node, p string) { metricsListenNode = n; r.str(&cfg.Metrics.Listen)(n, p) },
			})
		},
		"scopes": func(n *node, p string) {
			r.list(n, p, func(n *node, p string) { cfg.Scopes = append(cfg.Scopes, r.scope(n, p)) })
		},
	}
	if !r.document(data, "state_dir, api, metrics and scopes", func(n *node) { r.fields(n, "", top) }) {
		return nil
	}
	if !filepath.IsAbs(cfg.StateDir) {
		r.fail(stateDirNode, "state_dir", "want an absolute path, got %q", cfg.StateDir)
	}
	r.checkAPI(apiNode, &cfg.API)
	if cfg.Metrics.Listen == "" {
		cfg.Metrics.Listen = DefaultMetricsListen
	} else if cfg.Metrics.Listen != "off" {
		if _, _, err := net.SplitHostPort(cfg.Metrics.Listen); err != nil {
			r.fail(metricsListenNode, "metrics.listen", "want host:port or off, got %q", cfg.Metrics.Listen)
		}
	}
	names := map[string]int{}
	type owner struct {
		ns    rtnl.Namespace
		proto rtnl.Protocol
	}
	owners := map[owner]int{}
	for i, s := range cfg.Scopes {
		if j, dup := names[s.Name]; dup && s.Name != "" {
			r.problems = append(r.problems, Problem{File: r.file, Line: s.Line, Path: fmt.Sprintf("scopes[%d].name", i),
				Message: fmt.Sprintf("scope name %q already used by scopes[%d]", s.Name, j)})
		}
		names[s.Name] = i
		// Two scopes owning one protocol in one namespace (their own, or a
		// route's override, which the scope then owns too) would delete
		// each other's routes on every pass.
		for _, proto := range s.Desired.Protocols(s.Protocol) {
			o := owner{s.Namespace, proto}
			if j, dup := owners[o]; dup && j != i {
				r.problems = append(r.problems, Problem{File: r.file, Line: s.Line, Path: fmt.Sprintf("scopes[%d].protocol", i),
					Message: fmt.Sprintf("scopes[%d] already owns protocol %d in namespace %s; each would delete the other's routes", j, proto, s.Namespace)})
				continue
			}
			owners[o] = i
		}
	}
	return cfg
}

func (r *reader) scope(n *node, path string) Scope {
	s := Scope{Interval: DefaultInterval, Protocol: rtnl.DefaultProtocol}
	s.Line = int(n.at.line)
	entries := entries{} // where each desired entry starts, to place validation problems
	r.fields(n, path, map[string]func(*node, string){
		"name": r.str(&s.Name),
		"netns": func(n *node, p string) {
			v, ok := r.scalar(n, p)
			if !ok {
				return
			}
			ns, err := rtnl.ParseNamespace(v)
			if err != nil {
				r.fail(n, p, "want host, pid:N or path:P, got %q", v)
				return
			}
			s.Namespace = ns
		},
		"interval": func(n *node, p string) {
			v, ok := r.scalar(n, p)
			if !ok {
				return
			}
			d, err := time.ParseDuration(v)
			if err != nil || d < MinInterval {
				r.fail(n, p, "want a duration of at least %v such as 30s, got %q", MinInterval, v)
				return
			}
			s.Interval = d
		},
		"protocol": func(n *node, p string) {
			v, ok := r.scalar(n, p)
			if !ok {
				return
			}
			proto, err := rtnl.ParseProtocol(v)
			if err != nil || proto == 0 {
				r.fail(n, p, "want a protocol number 1-255, got %q", v)
				return
			}
			if err := reconcile.CheckProtocol(proto); err != nil {
				r.fail(n, p, "%v", err)
				return
			}
			s.Protocol = proto
		},
		"monitor_buffer": func(n *node, p string) {
			v, ok := r.scalar(n, p)
			if !ok {
				return
			}
			size, err := parseSize(v)
			if err != nil || size < 1 || size > MaxMonitorBuffer {
				r.fail(n, p, "want a size from 1 byte to 1GiB such as 16MiB, got %q", v)
				return
			}
			s.MonitorBuffer = size
		},
		"adopt_protocol": r.boolean("true (take the routes the protocol already marks as the scope's own) or false", func(v bool) { s.AdoptProtocol = v }),
		"no_routes":      r.boolean("true (the scope manages no routes) or false", func(v bool) { s.NoRoutes = v }),
		"desired":        func(n *node, p string) { s.Desired = r.desired(n, p, entries) },
	}, "name")
	if err := checkScopeName(s.Name); err != nil && s.Name != "" {
		r.fail(n, join(path, "name"), "%v", err)
	}
	if err := s.Desired.Validate(); err != nil {
		if ie, ok := err.(*reconcile.InvalidError); ok {
			for _, p := range ie.Problems {
				at := join(path, "desired."+p.Entry+"."+p.Field)
				if !r.reported(at) { // a field that did not parse is reported once
					r.failAt(entries.at(p.Entry), at, "%s", p.Message)
				}
			}
		}
	}
	if s.NoRoutes && len(s.Desired.Routes) > 0 {
		r.failAt(entries.at("routes[0]"), join(path, "desired.routes[0]"), "the scope has no_routes: true, so it may desire no route")
	}
	if s.NoRoutes && len(s.Desired.Nexthops) > 0 {
		r.failAt(entries.at("nexthops[0]"), join(path, "desired.nexthops[0]"), "the scope has no_routes: true, so it may desire no nexthop")
	}
	return s
}

// entries holds where each desired entry starts, by kind ("routes") and
// index: 8 bytes an entry, not a node.
type entries map[string][]pos

// at returns where entry ("routes[2]") starts, or no position.
func (e entries) at(entry string) pos {
	kind, rest, ok := strings.Cut(entry, "[")
	if !ok {
		return pos{}
	}
	i, err := strconv.Atoi(strings.TrimSuffix(rest, "]"))
	if err != nil || i < 0 || i >= len(e[kind]) {
		return pos{}
	}
	return e[kind][i]
}

func (r *reader) desired(n *node, path string, entries entries) reconcile.Desired {
	var d reconcile.Desired
	r.fields(n, path, map[string]func(*node, string){
		"links":      entryList(r, entries, "links", &d.Links, r.link),
		"addresses":  entryList(r, entries, "addresses", &d.Addresses, r.address),
		"routes":     entryList(r, entries, "routes", &d.Routes, r.route),
		"neighbours": entryList(r, entries, "neighbours", &d.Neighbours, r.neighbour),
		"rules":      entryList(r, entries, "rules", &d.Rules, r.rule),
		"nexthops":   entryList(r, entries, "nexthops", &d.Nexthops, r.nexthop),
	})
	return d
}

// entryList returns a field reader for a list of desired entries of kind,
// each read by read and noted in entries. The entries are gathered in
// chunks and copied once into *dst, a slice of exactly their number: a
// slice grown by append would copy 100,000 routes (176 bytes each) four
// times over and leave up to a quarter of its capacity unused.
func entryList[T any](r *reader, entries entries, kind string, dst *[]T, read func(*node, string) T) func(*node, string) {
	const chunk = 1024
	return func(n *node, p string) {
		var (
			chunks [][]T
			total  int
		)
		r.list(n, p, func(n *node, p string) {
			entries[kind] = append(entries[kind], n.at)
			if len(chunks) == 0 || len(chunks[len(chunks)-1]) == chunk {
				chunks = append(chunks, make([]T, 0, chunk))
			}
			last := &chunks[len(chunks)-1]
			*last = append(*last, read(n, p))
			total++
		})
		if total == 0 {
			return
		}
		out := make([]T, 0, total)
		for i := range chunks {
			out = append(out, chunks[i]...)
			chunks[i] = nil
		}
		*dst = out
	}
}

// nexthop reads a nexthop object: {id, via, dev} or {id, blackhole: true}
// or {id, group: [{id, weight}], type, buckets, idle_timer,
// unbalanced_timer}.
func (r *reader) nexthop(n *node, path string) reconcile.Nexthop {
	var (
		nh      reconcile.Nexthop
		id      uint64
		buckets uint64
	)
	timer := func(dst *time.Duration) func(*node, string) {
		return func(n *node, p string) {
			v, ok := r.scalar(n, p)
			if !ok {
				return
			}
			d, err := time.ParseDuration(v)
			if err != nil || d < 0 || d > time.Duration(1<<32-1)*10*time.Millisecond {
				r.fail(n, p, "want a duration such as 120s (at most 497 days), got %q", v)
				return
			}
			*dst = d
		}
	}
	r.fields(n, path, map[string]func(*node, string){
		"id":        r.uint(&id, 1<<32-1, "a nexthop id"),
		"via":       r.addr(&nh.Via),
		"dev":       r.str(&nh.Dev),
		"blackhole": r.boolean("true or false", func(v bool) { nh.Blackhole = v }),
		"group": func(n *node, p string) {
			nh.Group = []rtnl.NexthopMember{}
			r.list(n, p, func(n *node, p string) {
				var mid, weight uint64
				r.fields(n, p, map[string]func(*node, string){
					"id":     r.uint(&mid, 1<<32-1, "a nexthop id"),
					"weight": r.uint(&weight, 256, "a weight"),
				}, "id")
				nh.Group = append(nh.Group, rtnl.NexthopMember{ID: uint32(mid), Weight: uint32(weight)})
			})
		},
		"type": func(n *node, p string) {
			v, ok := r.scalar(n, p)
			if !ok {
				return
			}
			switch v {
			case "multipath", "mpath":
				nh.Type = rtnl.NexthopGroupMultipath
			case "resilient":
				nh.Type = rtnl.NexthopGroupResilient
			default:
				r.fail(n, p, "want multipath or resilient, got %q", v)
			}
		},
		"buckets":          r.uint(&buckets, 65535, "a number of buckets"),
		"idle_timer":       timer(&nh.Resilient.IdleTimer),
		"unbalanced_timer": timer(&nh.Resilient.UnbalancedTimer),
	}, "id")
	nh.ID, nh.Resilient.Buckets = uint32(id), uint16(buckets)
	return nh
}

// nextHops reads a route's via: as a list of paths, {via, dev, weight}.
func (r *reader) nextHops(n *node, path string) []reconcile.NextHop {
	hops := []reconcile.NextHop{}
	r.list(n, path, func(n *node, p string) {
		var (
			h      reconcile.NextHop
			weight uint64
		)
		r.fields(n, p, map[string]func(*node, string){
			"via": r.addr(&h.Via), "dev": r.str(&h.Dev),
			"weight": r.uint(&weight, 256, "a weight (1 to 256)"),
		})
		h.Weight = int(weight)
		hops = append(hops, h)
	})
	return hops
}

func (r *reader) link(n *node, path string) reconcile.Link {
	var (
		l                    reconcile.Link
		mode, peer           string
		id, vni, port        uint64
		local, remote, group netip.Addr
		modeNode             *node
		learning, learnSet   bool
		peerNS               rtnl.Namespace
		peerNSSet            bool
	)
	r.fields(n, path, map[string]func(*node, string){
		"name": r.str(&l.Name), "kind": r.str(&l.Kind), "parent": r.str(&l.Parent),
		"master": r.str(&l.Master), "mac": r.mac(&l.MAC), "up": r.linkState(&l.State),
		"mtu": func(n *node, p string) {
			if v, ok := r.number(n, p, 65535, "an MTU"); ok {
				l.MTU = int(v)
			}
		},
		"mode": func(n *node, p string) { modeNode = n; r.str(&mode)(n, p) },
		"peer": r.str(&peer),
		"peer_netns": func(n *node, p string) {
			v, ok := r.scalar(n, p)
			if !ok {
				return
			}
			ns, err := rtnl.ParseNamespace(v)
			if err != nil {
				r.fail(n, p, "want host, pid:N or path:P, got %q", v)
			}
			peerNS, peerNSSet = ns, true
		},
		"id":    r.uint(&id, 4094, "a VLAN id"),
		"vni":   r.uint(&vni, 1<<24-1, "a VXLAN network identifier"),
		"port":  r.uint(&port, 65535, "a UDP port"),
		"local": r.addr(&local), "remote": r.addr(&remote), "group": r.addr(&group),
		"learning": r.boolean("true or false", func(v bool) { learning, learnSet = v, true }),
		"adopt":    r.boolean("true or false", func(v bool) { l.Adopt = v }),
	}, "name")
	switch l.Kind {
	case "macvlan", "macvtap":
		m := rtnl.MacvlanBridge
		if mode != "" {
			var err error
			if m, err = rtnl.ParseMacvlanMode(mode); err != nil {
				r.fail(modeNode, join(path, "mode"), "want private, vepa, bridge, passthru or source, got %q", mode)
			}
		}
		l.Data = rtnl.Macvlan{Mode: m, Tap: l.Kind == "macvtap"}
	case "ipvlan":
		m := rtnl.IPVlanL3
		if mode != "" {
			var err error
			if m, err = rtnl.ParseIPVlanMode(mode); err != nil {
				r.fail(modeNode, join(path, "mode"), "want l2, l3 or l3s, got %q", mode)
			}
		}
		l.Data = rtnl.IPVlan{Mode: m}
	case "vlan":
		l.Data = rtnl.VLAN{ID: uint16(id)}
	case "vxlan":
		l.Data = rtnl.Vxlan{VNI: uint32(vni), Port: uint16(port), Local: local, Remote: remote, Group: group,
			NoLearning: learnSet && !learning}
	case "veth":
		l.Data = rtnl.Veth{Peer: peer, PeerNamespace: peerNS}
	}
	for key, set := range map[string]bool{
		"mode":       mode != "" && l.Kind != "macvlan" && l.Kind != "macvtap" && l.Kind != "ipvlan",
		"peer":       peer != "" && l.Kind != "veth",
		"peer_netns": peerNSSet && l.Kind != "veth",
		"id":         id != 0 && l.Kind != "vlan",
		"vni":        (vni != 0 || port != 0 || local.IsValid() || remote.IsValid() || group.IsValid()) && l.Kind != "vxlan",
		"learning":   learnSet && l.Kind != "vxlan",
	} {
		if set {
			r.fail(n, join(path, key), "%s does not apply to kind %q", key, l.Kind)
		}
	}
	return l
}

func (r *reader) address(n *node, path string) reconcile.Address {
	var a reconcile.Address
	r.fields(n, path, map[string]func(*node, string){
		"link": r.str(&a.Link), "address": r.prefix(&a.Prefix),
	}, "link", "address")
	return a
}

// routeReader reads one route at a time into its fields; its table of
// field readers is made once per file, not once per route, since a file
// may hold a full routing table.
type routeReader struct {
	rt      reconcile.Route
	dst     string
	fam     rtnl.Family
	famNode *node
	fields  map[string]func(*node, string)
}

func (r *reader) newRouteReader() *routeReader {
	rr := &routeReader{}
	rr.fields = map[string]func(*node, string){
		"dst": func(n *node, p string) {
			if v, ok := r.scalar(n, p); ok {
				rr.dst = v
				if v != "default" {
					r.prefix(&rr.rt.Dst)(n, p)
				}
			}
		},
		"via": func(n *node, p string) {
			if n != nil && n.kind == sequenceNode {
				rr.rt.NextHops = r.nextHops(n, p)
				return
			}
			r.addr(&rr.rt.Via)(n, p)
		},
		"dev": r.str(&rr.rt.Dev), "src": r.addr(&rr.rt.Src),
		"from": r.prefix(&rr.rt.From),
		"nexthop": func(n *node, p string) {
			if v, ok := r.number(n, p, 1<<32-1, "a nexthop id"); ok {
				rr.rt.Nexthop = uint32(v)
			}
		},
		"table": func(n *node, p string) {
			if v, ok := r.number(n, p, 1<<32-1, "a table id"); ok {
				rr.rt.Table = uint32(v)
			}
		},
		"metric": func(n *node, p string) {
			if v, ok := r.number(n, p, 1<<32-1, "a metric"); ok {
				rr.rt.Metric = uint32(v)
			}
		},
		"protocol": r.protocol(&rr.rt.Protocol),
		"family":   func(n *node, p string) { rr.famNode = n; r.family(&rr.fam)(n, p) },
		"type": func(n *node, p string) {
			v, ok := r.scalar(n, p)
			if !ok {
				return
			}
			t, err := rtnl.ParseRouteType(v)
			if err != nil {
				r.fail(n, p, "want unicast, blackhole, unreachable or prohibit, got %q", v)
			}
			rr.rt.Type = t
		},
	}
	return rr
}

func (r *reader) route(n *node, path string) reconcile.Route {
	if r.routes == nil {
		r.routes = r.newRouteReader()
	}
	rr := r.routes
	rr.rt, rr.dst, rr.fam, rr.famNode = reconcile.Route{}, "", 0, nil
	r.fields(n, path, rr.fields, "dst")
	switch {
	case rr.dst == "default":
		rr.rt.Dst = reconcile.DefaultDst(rr.fam, rr.rt.Via, rr.rt.Src)
	case rr.famNode != nil:
		r.fail(rr.famNode, join(path, "family"), "family applies to dst: default only; %s has its own", rr.dst)
	}
	return rr.rt
}

func (r *reader) neighbour(n *node, path string) reconcile.Neighbour {
	var nb reconcile.Neighbour
	r.fields(n, path, map[string]func(*node, string){
		"link": r.str(&nb.Link), "ip": r.addr(&nb.IP), "mac": r.mac(&nb.MAC),
	}, "link", "ip", "mac")
	return nb
}

func (r *reader) rule(n *node, path string) reconcile.Rule {
	var (
		rl             reconcile.Rule
		table, prio    uint64
		fwmark, fwmask uint64
		tos            uint64
	)
	r.fields(n, path, map[string]func(*node, string){
		"from": r.prefix(&rl.From), "to": r.prefix(&rl.To),
		"iif": r.str(&rl.IIF), "oif": r.str(&rl.OIF),
		"fwmark":   r.uint(&fwmark, 1<<32-1, "a firewall mark"),
		"fwmask":   r.uint(&fwmask, 1<<32-1, "a firewall mask"),
		"priority": r.uint(&prio, 1<<32-1, "a priority"),
		"table":    r.uint(&table, 1<<32-1, "a table id"),
		"family":   r.family(&rl.Family),
		"tos":      r.uint(&tos, 255, "a TOS value"),
		"invert":   r.boolean("true or false", func(v bool) { rl.Invert = v }),
		"action": func(n *node, p string) {
			v, ok := r.scalar(n, p)
			if !ok {
				return
			}
			a, err := rtnl.ParseRuleAction(v)
			if err != nil {
				r.fail(n, p, "want to_tbl, goto, nop, blackhole, unreachable, prohibit or a number, got %q", v)
			}
			rl.Action = a
		},
		"protocol": r.protocol(&rl.Protocol),
	})
	rl.Table, rl.Priority, rl.FwMark, rl.FwMask = uint32(table), uint32(prio), uint32(fwmark), uint32(fwmask)
	rl.TOS = uint8(tos)
	// A rule without a family takes it from From or To, IPv4 when neither
	// is set (as the kernel, and the protobuf form, read it).
	return rl
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func keyList(m map[string]func(*node, string)) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return strings.Join(keys, ", ")
}

func describe(n *node) string {
	switch n.kind {
	case sequenceNode:
		return "a list"
	case mappingNode:
		return "a mapping"
	case nullNode:
		return "nothing"
	case aliasNode:
		return "an alias"
	}
	return fmt.Sprintf("%q", n.value)
}

// reported reports whether a problem was already found at or under path.
func (r *reader) reported(path string) bool {
	for _, p := range r.problems {
		if p.Path == path || strings.HasPrefix(p.Path, path+".") {
			return true
		}
	}
	return false
}

// checkScopeName refuses names that cannot name a ledger file safely.
func checkScopeName(name string) error {
	switch {
	case len(name) > 64:
		return fmt.Errorf("scope name %q is longer than 64 bytes", name)
	case strings.HasPrefix(name, "."):
		return fmt.Errorf("scope name %q may not start with a dot (it names a file)", name)
	case strings.ContainsFunc(name, func(c rune) bool { return c <= ' ' || c == '/' || c == '\\' || c == 0x7f }):
		return fmt.Errorf("scope name %q may not contain slashes, spaces or control characters (it names a file)", name)
	}
	return nil
}

// parseSize parses a byte count, plain or with a binary suffix: 4096,
// 512KiB, 16MiB, 1GiB.
func parseSize(s string) (int, error) {
	mult := 1
	for _, u := range []struct {
		suffix string
		mult   int
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}} {
		if n, ok := strings.CutSuffix(s, u.suffix); ok {
			s, mult = n, u.mult
			break
		}
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n > math.MaxInt32/mult {
		return 0, fmt.Errorf("invalid size %q", s)
	}
	return n * mult, nil
}
