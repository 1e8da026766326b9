package config

import (
	"fmt"
	"math"
	"net"
	"net/netip"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"

	"github.com/linx-net/linx/reconcile"
	"github.com/linx-net/linx/rtnl"
)

// reader walks the YAML syntax tree, converting as it goes and collecting
// every problem with its position, so that one run reports them all.
type reader struct {
	file     string
	problems []Problem
}

func (r *reader) fail(n ast.Node, path, format string, args ...any) {
	p := Problem{File: r.file, Path: path, Message: fmt.Sprintf(format, args...)}
	if n != nil {
		if t := n.GetToken(); t != nil && t.Position != nil {
			p.Line, p.Column = t.Position.Line, t.Position.Column
		}
	}
	r.problems = append(r.problems, p)
}

// unwrap strips tags, anchors and comments; aliases are refused.
func (r *reader) unwrap(n ast.Node, path string) ast.Node {
	for {
		switch v := n.(type) {
		case *ast.TagNode:
			n = v.Value
		case *ast.AnchorNode:
			n = v.Value
		case *ast.AliasNode:
			r.fail(n, path, "aliases are not supported; write the value out")
			return nil
		case *ast.CommentGroupNode:
			return nil
		default:
			return n
		}
	}
}

// fields reads a mapping, calling set for each known key and reporting
// unknown keys, duplicates and missing required keys.
func (r *reader) fields(n ast.Node, path string, known map[string]func(ast.Node, string), required ...string) {
	n = r.unwrap(n, path)
	var pairs []*ast.MappingValueNode
	switch v := n.(type) {
	case *ast.MappingNode:
		pairs = v.Values
	case *ast.MappingValueNode:
		pairs = []*ast.MappingValueNode{v}
	case nil:
		r.fail(n, path, "want a mapping, got nothing")
		return
	default:
		r.fail(n, path, "want a mapping (key: value lines), got %s", describe(n))
		return
	}
	seen := map[string]bool{}
	for _, kv := range pairs {
		key := kv.Key.String()
		if s, ok := r.unwrap(kv.Key, path).(*ast.StringNode); ok {
			key = s.Value
		}
		sub := join(path, key)
		set, ok := known[key]
		switch {
		case !ok:
			r.fail(kv.Key, sub, "unknown key %q (want one of %s)", key, keyList(known))
		case seen[key]:
			r.fail(kv.Key, sub, "key %q given twice", key)
		default:
			seen[key] = true
			set(kv.Value, sub)
		}
	}
	for _, k := range required {
		if !seen[k] {
			r.fail(n, join(path, k), "%s is required", k)
		}
	}
}

// list reads a sequence, calling item for each element; null is empty.
func (r *reader) list(n ast.Node, path string, item func(ast.Node, string)) {
	n = r.unwrap(n, path)
	switch v := n.(type) {
	case *ast.SequenceNode:
		for i, e := range v.Values {
			item(e, fmt.Sprintf("%s[%d]", path, i))
		}
	case *ast.NullNode, nil:
	default:
		r.fail(n, path, "want a list (- item lines), got %s", describe(n))
	}
}

// scalar returns the text of a scalar node, or reports a non-scalar.
func (r *reader) scalar(n ast.Node, path string) (string, bool) {
	n = r.unwrap(n, path)
	switch v := n.(type) {
	case *ast.StringNode:
		return v.Value, true
	case *ast.LiteralNode:
		return v.Value.Value, true
	case *ast.NullNode, nil:
		return "", true
	case ast.ScalarNode:
		// Numbers and booleans: keep the text as written, so that 0x10 and
		// 010 are parsed by the field, not by YAML.
		return v.GetToken().Value, true
	}
	r.fail(n, path, "want a single value, got %s", describe(n))
	return "", false
}

func (r *reader) str(dst *string) func(ast.Node, string) {
	return func(n ast.Node, path string) {
		if s, ok := r.scalar(n, path); ok {
			*dst = s
		}
	}
}

func (r *reader) uint(dst *uint64, max uint64, what string) func(ast.Node, string) {
	return func(n ast.Node, path string) {
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

func (r *reader) number(n ast.Node, path string, max uint64, what string) (uint64, bool) {
	var v uint64
	before := len(r.problems)
	r.uint(&v, max, what)(n, path)
	return v, len(r.problems) == before
}

// linkState reads a link's `up`: true wants it up, false down; a link
// without the key keeps reconcile.LinkStateAny (left as it is).
func (r *reader) linkState(dst *reconcile.LinkState) func(ast.Node, string) {
	return r.boolean("true (bring the link up) or false (take it down)", func(up bool) {
		*dst = reconcile.LinkStateDown
		if up {
			*dst = reconcile.LinkStateUp
		}
	})
}

// boolean reads true or false and passes it to set; want says what the
// values mean when the node holds neither.
func (r *reader) boolean(want string, set func(bool)) func(ast.Node, string) {
	return func(n ast.Node, path string) {
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
func parsed[T any](r *reader, dst *T, parse func(string) (T, error), want string) func(ast.Node, string) {
	return func(n ast.Node, path string) {
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
func (r *reader) protocol(dst *rtnl.Protocol) func(ast.Node, string) {
	return parsed(r, dst, rtnl.ParseProtocol, "a protocol number or name")
}

// family reads a family, "inet" or "inet6" (rtnl.ParseFamily).
func (r *reader) family(dst *rtnl.Family) func(ast.Node, string) {
	return parsed(r, dst, rtnl.ParseFamily, "inet or inet6")
}

func (r *reader) prefix(dst *netip.Prefix) func(ast.Node, string) {
	return parsed(r, dst, netip.ParsePrefix, "an address with prefix length such as 10.0.0.2/24")
}

func (r *reader) addr(dst *netip.Addr) func(ast.Node, string) {
	return parsed(r, dst, netip.ParseAddr, "an IP address such as 10.0.0.1 or fd00::1")
}

func (r *reader) mac(dst *net.HardwareAddr) func(ast.Node, string) {
	return func(n ast.Node, path string) {
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

func (r *reader) config(data []byte) *Config {
	f, err := parser.ParseBytes(data, 0)
	if err != nil {
		r.problems = append(r.problems, Problem{File: r.file, Message: "not valid YAML: " + err.Error()})
		return nil
	}
	cfg := &Config{StateDir: DefaultStateDir}
	if len(f.Docs) != 1 || f.Docs[0].Body == nil {
		r.fail(nil, "", "want exactly one YAML document with state_dir, api, metrics and scopes")
		return nil
	}
	var apiNode, stateDirNode, metricsListenNode ast.Node
	r.fields(f.Docs[0].Body, "", map[string]func(ast.Node, string){
		"state_dir": func(n ast.Node, p string) { stateDirNode = n; r.str(&cfg.StateDir)(n, p) },
		"api":       func(n ast.Node, p string) { apiNode = n; r.api(n, p, &cfg.API) },
		"fleet":     func(n ast.Node, p string) { r.fleet(n, p, &cfg.Fleet) },
		"metrics": func(n ast.Node, p string) {
			r.fields(n, p, map[string]func(ast.Node, string){
				"listen": func(n ast.Node, p string) { metricsListenNode = n; r.str(&cfg.Metrics.Listen)(n, p) },
			})
		},
		"scopes": func(n ast.Node, p string) {
			r.list(n, p, func(n ast.Node, p string) { cfg.Scopes = append(cfg.Scopes, r.scope(n, p)) })
		},
	})
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

func (r *reader) scope(n ast.Node, path string) Scope {
	s := Scope{Interval: DefaultInterval, Protocol: rtnl.DefaultProtocol}
	if t := n.GetToken(); t != nil && t.Position != nil {
		s.Line = t.Position.Line
	}
	entries := map[string]ast.Node{} // "links[2]" -> node, to place validation problems
	r.fields(n, path, map[string]func(ast.Node, string){
		"name": r.str(&s.Name),
		"netns": func(n ast.Node, p string) {
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
		"interval": func(n ast.Node, p string) {
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
		"protocol": func(n ast.Node, p string) {
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
		"monitor_buffer": func(n ast.Node, p string) {
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
		"desired":        func(n ast.Node, p string) { s.Desired = r.desired(n, p, entries) },
	}, "name")
	if err := checkScopeName(s.Name); err != nil && s.Name != "" {
		r.fail(n, join(path, "name"), "%v", err)
	}
	if err := s.Desired.Validate(); err != nil {
		if ie, ok := err.(*reconcile.InvalidError); ok {
			for _, p := range ie.Problems {
				at := join(path, "desired."+p.Entry+"."+p.Field)
				if !r.reported(at) { // a field that did not parse is reported once
					r.fail(entries[p.Entry], at, "%s", p.Message)
				}
			}
		}
	}
	if s.NoRoutes && len(s.Desired.Routes) > 0 {
		r.fail(entries["routes[0]"], join(path, "desired.routes[0]"), "the scope has no_routes: true, so it may desire no route")
	}
	if s.NoRoutes && len(s.Desired.Nexthops) > 0 {
		r.fail(entries["nexthops[0]"], join(path, "desired.nexthops[0]"), "the scope has no_routes: true, so it may desire no nexthop")
	}
	return s
}

func (r *reader) desired(n ast.Node, path string, entries map[string]ast.Node) reconcile.Desired {
	var d reconcile.Desired
	each := func(kind string, add func(ast.Node, string)) func(ast.Node, string) {
		return func(n ast.Node, p string) {
			i := 0
			r.list(n, p, func(n ast.Node, p string) {
				entries[fmt.Sprintf("%s[%d]", kind, i)] = n
				i++
				add(n, p)
			})
		}
	}
	r.fields(n, path, map[string]func(ast.Node, string){
		"links":      each("links", func(n ast.Node, p string) { d.Links = append(d.Links, r.link(n, p)) }),
		"addresses":  each("addresses", func(n ast.Node, p string) { d.Addresses = append(d.Addresses, r.address(n, p)) }),
		"routes":     each("routes", func(n ast.Node, p string) { d.Routes = append(d.Routes, r.route(n, p)) }),
		"neighbours": each("neighbours", func(n ast.Node, p string) { d.Neighbours = append(d.Neighbours, r.neighbour(n, p)) }),
		"rules":      each("rules", func(n ast.Node, p string) { d.Rules = append(d.Rules, r.rule(n, p)) }),
		"nexthops":   each("nexthops", func(n ast.Node, p string) { d.Nexthops = append(d.Nexthops, r.nexthop(n, p)) }),
	})
	return d
}

// nexthop reads a nexthop object: {id, via, dev} or {id, blackhole: true}
// or {id, group: [{id, weight}], type, buckets, idle_timer,
// unbalanced_timer}.
func (r *reader) nexthop(n ast.Node, path string) reconcile.Nexthop {
	var (
		nh      reconcile.Nexthop
		id      uint64
		buckets uint64
	)
	timer := func(dst *time.Duration) func(ast.Node, string) {
		return func(n ast.Node, p string) {
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
	r.fields(n, path, map[string]func(ast.Node, string){
		"id":        r.uint(&id, 1<<32-1, "a nexthop id"),
		"via":       r.addr(&nh.Via),
		"dev":       r.str(&nh.Dev),
		"blackhole": r.boolean("true or false", func(v bool) { nh.Blackhole = v }),
		"group": func(n ast.Node, p string) {
			nh.Group = []rtnl.NexthopMember{}
			r.list(n, p, func(n ast.Node, p string) {
				var mid, weight uint64
				r.fields(n, p, map[string]func(ast.Node, string){
					"id":     r.uint(&mid, 1<<32-1, "a nexthop id"),
					"weight": r.uint(&weight, 256, "a weight"),
				}, "id")
				nh.Group = append(nh.Group, rtnl.NexthopMember{ID: uint32(mid), Weight: uint32(weight)})
			})
		},
		"type": func(n ast.Node, p string) {
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
func (r *reader) nextHops(n ast.Node, path string) []reconcile.NextHop {
	hops := []reconcile.NextHop{}
	r.list(n, path, func(n ast.Node, p string) {
		var (
			h      reconcile.NextHop
			weight uint64
		)
		r.fields(n, p, map[string]func(ast.Node, string){
			"via": r.addr(&h.Via), "dev": r.str(&h.Dev),
			"weight": r.uint(&weight, 256, "a weight (1 to 256)"),
		})
		h.Weight = int(weight)
		hops = append(hops, h)
	})
	return hops
}

func (r *reader) link(n ast.Node, path string) reconcile.Link {
	var (
		l                    reconcile.Link
		mode, peer           string
		id, vni, port        uint64
		local, remote, group netip.Addr
		modeNode             ast.Node
		learning, learnSet   bool
		peerNS               rtnl.Namespace
		peerNSSet            bool
	)
	r.fields(n, path, map[string]func(ast.Node, string){
		"name": r.str(&l.Name), "kind": r.str(&l.Kind), "parent": r.str(&l.Parent),
		"master": r.str(&l.Master), "mac": r.mac(&l.MAC), "up": r.linkState(&l.State),
		"mtu": func(n ast.Node, p string) {
			if v, ok := r.number(n, p, 65535, "an MTU"); ok {
				l.MTU = int(v)
			}
		},
		"mode": func(n ast.Node, p string) { modeNode = n; r.str(&mode)(n, p) },
		"peer": r.str(&peer),
		"peer_netns": func(n ast.Node, p string) {
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

func (r *reader) address(n ast.Node, path string) reconcile.Address {
	var a reconcile.Address
	r.fields(n, path, map[string]func(ast.Node, string){
		"link": r.str(&a.Link), "address": r.prefix(&a.Prefix),
	}, "link", "address")
	return a
}

func (r *reader) route(n ast.Node, path string) reconcile.Route {
	var (
		rt      reconcile.Route
		dst     string
		fam     rtnl.Family
		famNode ast.Node
	)
	r.fields(n, path, map[string]func(ast.Node, string){
		"dst": func(n ast.Node, p string) {
			if v, ok := r.scalar(n, p); ok {
				dst = v
				if v != "default" {
					r.prefix(&rt.Dst)(n, p)
				}
			}
		},
		"via": func(n ast.Node, p string) {
			if _, ok := r.unwrap(n, p).(*ast.SequenceNode); ok {
				rt.NextHops = r.nextHops(n, p)
				return
			}
			r.addr(&rt.Via)(n, p)
		},
		"dev": r.str(&rt.Dev), "src": r.addr(&rt.Src),
		"from": r.prefix(&rt.From),
		"nexthop": func(n ast.Node, p string) {
			if v, ok := r.number(n, p, 1<<32-1, "a nexthop id"); ok {
				rt.Nexthop = uint32(v)
			}
		},
		"table": func(n ast.Node, p string) {
			if v, ok := r.number(n, p, 1<<32-1, "a table id"); ok {
				rt.Table = uint32(v)
			}
		},
		"metric": func(n ast.Node, p string) {
			if v, ok := r.number(n, p, 1<<32-1, "a metric"); ok {
				rt.Metric = uint32(v)
			}
		},
		"protocol": r.protocol(&rt.Protocol),
		"family":   func(n ast.Node, p string) { famNode = n; r.family(&fam)(n, p) },
		"type": func(n ast.Node, p string) {
			v, ok := r.scalar(n, p)
			if !ok {
				return
			}
			t, err := rtnl.ParseRouteType(v)
			if err != nil {
				r.fail(n, p, "want unicast, blackhole, unreachable or prohibit, got %q", v)
			}
			rt.Type = t
		},
	}, "dst")
	switch {
	case dst == "default":
		rt.Dst = reconcile.DefaultDst(fam, rt.Via, rt.Src)
	case famNode != nil:
		r.fail(famNode, join(path, "family"), "family applies to dst: default only; %s has its own", dst)
	}
	return rt
}

func (r *reader) neighbour(n ast.Node, path string) reconcile.Neighbour {
	var nb reconcile.Neighbour
	r.fields(n, path, map[string]func(ast.Node, string){
		"link": r.str(&nb.Link), "ip": r.addr(&nb.IP), "mac": r.mac(&nb.MAC),
	}, "link", "ip", "mac")
	return nb
}

func (r *reader) rule(n ast.Node, path string) reconcile.Rule {
	var (
		rl             reconcile.Rule
		table, prio    uint64
		fwmark, fwmask uint64
		tos            uint64
	)
	r.fields(n, path, map[string]func(ast.Node, string){
		"from": r.prefix(&rl.From), "to": r.prefix(&rl.To),
		"iif": r.str(&rl.IIF), "oif": r.str(&rl.OIF),
		"fwmark":   r.uint(&fwmark, 1<<32-1, "a firewall mark"),
		"fwmask":   r.uint(&fwmask, 1<<32-1, "a firewall mask"),
		"priority": r.uint(&prio, 1<<32-1, "a priority"),
		"table":    r.uint(&table, 1<<32-1, "a table id"),
		"family":   r.family(&rl.Family),
		"tos":      r.uint(&tos, 255, "a TOS value"),
		"invert":   r.boolean("true or false", func(v bool) { rl.Invert = v }),
		"action": func(n ast.Node, p string) {
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

func keyList(m map[string]func(ast.Node, string)) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return strings.Join(keys, ", ")
}

func describe(n ast.Node) string {
	switch n.(type) {
	case *ast.SequenceNode:
		return "a list"
	case *ast.MappingNode, *ast.MappingValueNode:
		return "a mapping"
	case *ast.NullNode:
		return "nothing"
	}
	return fmt.Sprintf("%q", n.String())
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
