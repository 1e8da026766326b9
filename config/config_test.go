package config

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/linx-net/linx/diff"
	"github.com/linx-net/linx/reconcile"
	"github.com/linx-net/linx/rtnl"
)

func TestLoadExample(t *testing.T) {
	cfg, err := Load("examples/linx.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.StateDir != "/var/lib/linx" || cfg.API.Listen != "" || cfg.API.Socket != DefaultSocket || cfg.Metrics.Listen != "127.0.0.1:9476" {
		t.Errorf("top level: %+v", cfg)
	}
	if len(cfg.Scopes) != 1 {
		t.Fatalf("scopes: %d", len(cfg.Scopes))
	}
	s := cfg.Scopes[0]
	if s.Name != "demo" || s.Namespace != rtnl.NamespaceAt("/var/run/netns/demo") || s.Interval != 30*time.Second || s.Protocol != 76 {
		t.Errorf("scope: %+v", s)
	}
	d := s.Desired
	if len(d.Links) != 2 || d.Links[1].Data != (rtnl.Veth{Peer: "v0b"}) || d.Links[1].Master != "br0" || d.Links[1].MTU != 1400 || d.Links[1].State != reconcile.LinkStateUp {
		t.Errorf("links: %+v", d.Links)
	}
	if len(d.Addresses) != 2 || d.Addresses[1].Prefix != netip.MustParsePrefix("fd00:42::1/64") {
		t.Errorf("addresses: %+v", d.Addresses)
	}
	if len(d.Routes) != 2 || d.Routes[0].Table != 100 || d.Routes[0].Metric != 50 || d.Routes[1].Dst != netip.MustParsePrefix("0.0.0.0/0") {
		t.Errorf("routes: %+v", d.Routes)
	}
	if len(d.Rules) != 2 || d.Rules[1].FwMark != 1 || diff.KeyOfRule(d.Rules[1]).Family != rtnl.FamilyV4 || d.Rules[0].Priority != 200 {
		t.Errorf("rules: %+v", d.Rules)
	}
	if len(d.Neighbours) != 1 || d.Neighbours[0].MAC.String() != "02:aa:bb:cc:dd:ee" {
		t.Errorf("neighbours: %+v", d.Neighbours)
	}
}

func TestDefaults(t *testing.T) {
	cfg, err := Parse("x.yaml", []byte("scopes:\n  - name: a\n"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.StateDir != DefaultStateDir || cfg.Metrics.Listen != DefaultMetricsListen || cfg.API.Listen != "" {
		t.Errorf("defaults: %+v", cfg)
	}
	s := cfg.Scopes[0]
	if !s.Namespace.IsHost() || s.Interval != DefaultInterval || s.Protocol != rtnl.DefaultProtocol {
		t.Errorf("scope defaults: %+v", s)
	}
}

// Every problem is reported at once, in file order, with file:line.
func TestAllProblemsAtOnce(t *testing.T) {
	const bad = `state_dir: relative/dir
api:
  listen: 0.0.0.0:9477
colour: blue
scopes:
  - name: a
    netns: pod:12
    interval: 1ms
    desired:
      links:
        - {name: averyveryverylongname, kind: bogus, mtu: -1}
      addresses:
        - {link: br0, address: 10.0.0.300/24}
      routes:
        - {dst: 10.1.2.3/16, via: "fd00::1"}
      rules:
        - {from: 10.0.0.0/8}
  - name: a
metrics:
  listen: nope
`
	_, err := Parse("bad.yaml", []byte(bad))
	var ce *Error
	if !errors.As(err, &ce) {
		t.Fatalf("want *Error, got %v", err)
	}
	want := []string{
		"bad.yaml:3:", "api.listen", // non-loopback without mTLS
		"bad.yaml:4:1: colour: unknown key",
		"bad.yaml:7:12: scopes[0].netns: want host, pid:N or path:P",
		"bad.yaml:8:15: scopes[0].interval",
		"scopes[0].desired.links[0].mtu: want an MTU",
		"scopes[0].desired.links[0].name: interface name \"averyveryverylongname\": 21 bytes, the kernel allows at most 15",
		"scopes[0].desired.links[0].kind: unknown kind \"bogus\"",
		"scopes[0].desired.addresses[0].address: want an address with prefix length",
		"scopes[0].desired.routes[0].dst: destination 10.1.2.3/16 has host bits set",
		"scopes[0].desired.routes[0].via: gateway fd00::1 and destination",
		"scopes[0].desired.rules[0].table: table is required",
		"scopes[0].desired.rules[0].priority: priority is required",
		"scopes[1].name: scope name \"a\" already used",
		"bad.yaml:1:12: state_dir: want an absolute path",
		"bad.yaml:20:11: metrics.listen: want host:port or off",
	}
	text := err.Error()
	for _, w := range want {
		if !strings.Contains(text, w) {
			t.Errorf("missing %q in:\n%s", w, text)
		}
	}
	// The address that did not parse is reported once, not again by the
	// desired state's validation.
	if n := strings.Count(text, "addresses[0].address"); n != 1 {
		t.Errorf("addresses[0].address reported %d times:\n%s", n, text)
	}
	for _, p := range ce.Problems {
		if p.Line == 0 {
			t.Errorf("problem without a line: %v", p)
		}
	}
	for i := 1; i < len(ce.Problems); i++ {
		if ce.Problems[i-1].Line > ce.Problems[i].Line {
			t.Errorf("problems out of file order: %v before %v", ce.Problems[i-1], ce.Problems[i])
		}
	}
}

func TestRefusals(t *testing.T) {
	for _, tc := range []struct{ name, yaml, want string }{
		{"not yaml", "scopes: [", "not valid YAML"},
		{"scopes not a list", "scopes: {a: 1}", "want a list"},
		{"tls incomplete", "api:\n  listen: 127.0.0.1:1\n  tls: {cert: a}\n", "cert, key and client_ca go together"},
		{"bad listen", "api:\n  listen: nope\n", "want host:port"},
		{"bad mac", "scopes:\n - name: a\n   desired:\n    neighbours:\n     - {link: x, ip: 10.0.0.1, mac: zz}\n", "want a MAC address"},
		{"mode on wrong kind", "scopes:\n - name: a\n   desired:\n    links:\n     - {name: b, kind: bridge, mode: vepa}\n", "mode does not apply to kind \"bridge\""},
		{"learning on wrong kind", "scopes:\n - name: a\n   desired:\n    links:\n     - {name: b, kind: bridge, learning: false}\n", "learning does not apply to kind \"bridge\""},
		{"learning not a boolean", "scopes:\n - name: a\n   desired:\n    links:\n     - {name: v, kind: vxlan, vni: 1, learning: often}\n", "links[0].learning: want true or false, got \"often\""},
		{"link up not a boolean", "scopes:\n - name: a\n   desired:\n    links:\n     - {name: e, up: maybe}\n", "links[0].up: want true (bring the link up) or false (take it down), got \"maybe\""},
		{"macvlan mode", "scopes:\n - name: a\n   desired:\n    links:\n     - {name: m, kind: macvlan, parent: e, mode: nope}\n", "want private, vepa, bridge, passthru or source"},
		{"alias", "x: &a 1\nstate_dir: *a\n", "aliases are not supported"},
		{"scope name with slash", "scopes:\n - name: a/b\n", "may not contain slashes"},
		{"missing name", "scopes:\n - netns: host\n", "name is required"},
		{"kernel protocol", "scopes:\n - name: a\n   protocol: kernel\n", "protocol 2 (kernel) belongs to another writer"},
		{"boot protocol", "scopes:\n - name: a\n   protocol: 3\n", "protocol 3 (boot) belongs to another writer"},
		{"route protocol override", "scopes:\n - name: a\n   desired:\n    routes:\n     - {dst: 10.0.0.0/8, type: blackhole, protocol: static}\n", "protocol 4 (static) belongs to another writer"},
		{"two owners", "scopes:\n - name: a\n - name: b\n", "scopes[0] already owns protocol 76 in namespace host"},
		{"override owned by another scope", "scopes:\n - name: a\n - name: b\n   protocol: 77\n   desired:\n    routes:\n     - {dst: 10.0.0.0/8, type: blackhole, protocol: 76}\n", "scopes[0] already owns protocol 76"},
		{"dot name", "scopes:\n - name: .x\n", "may not start with a dot"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("t.yaml", []byte(tc.yaml))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("want error containing %q, got %v", tc.want, err)
			}
		})
	}
}

// TestLinkUp checks that a link's up maps onto its desired state: true up,
// false down, absent left as it is.
func TestLinkUp(t *testing.T) {
	cfg, err := Parse("t.yaml", []byte(`scopes:
  - name: a
    desired:
      links:
        - {name: u0, up: true}
        - {name: d0, up: false}
        - {name: a0}
`))
	if err != nil {
		t.Fatal(err)
	}
	var got []reconcile.LinkState
	for _, l := range cfg.Scopes[0].Desired.Links {
		got = append(got, l.State)
	}
	want := []reconcile.LinkState{reconcile.LinkStateUp, reconcile.LinkStateDown, reconcile.LinkStateAny}
	if len(got) != len(want) {
		t.Fatalf("states %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("links[%d]: state %v, want %v", i, got[i], want[i])
		}
	}
}

// TestVxlan checks a vxlan link's settings, learning included: absent or
// true keeps the kernel's default, false turns it off.
func TestVxlan(t *testing.T) {
	cfg, err := Parse("t.yaml", []byte(`scopes:
  - name: a
    desired:
      links:
        - {name: v0, kind: vxlan, parent: e0, vni: 42, port: 4789, local: 10.0.0.1, remote: 10.0.0.2}
        - {name: v1, kind: vxlan, vni: 7, group: 239.1.1.1, learning: true}
        - {name: v2, kind: vxlan, vni: 8, learning: false}
`))
	if err != nil {
		t.Fatal(err)
	}
	want := []rtnl.Vxlan{
		{VNI: 42, Port: 4789, Local: netip.MustParseAddr("10.0.0.1"), Remote: netip.MustParseAddr("10.0.0.2")},
		{VNI: 7, Group: netip.MustParseAddr("239.1.1.1")},
		{VNI: 8, NoLearning: true},
	}
	links := cfg.Scopes[0].Desired.Links
	if len(links) != len(want) {
		t.Fatalf("%d links, want %d", len(links), len(want))
	}
	for i, w := range want {
		if links[i].Data != w {
			t.Errorf("links[%d] settings %+v, want %+v", i, links[i].Data, w)
		}
	}
	if links[0].Parent != "e0" {
		t.Errorf("links[0] parent %q, want e0", links[0].Parent)
	}
}

// TestMonitorBuffer checks a scope's monitor_buffer: bytes, plain or with
// a binary suffix; absent means the default (0).
func TestMonitorBuffer(t *testing.T) {
	cfg, err := Parse("t.yaml", []byte(`scopes:
  - {name: a, monitor_buffer: 4096}
  - {name: b, monitor_buffer: 512KiB, netns: "path:/run/netns/b"}
  - {name: c, monitor_buffer: 16MiB, netns: "path:/run/netns/c"}
  - {name: d, monitor_buffer: 1GiB, netns: "path:/run/netns/d"}
  - {name: e, netns: "path:/run/netns/e"}
`))
	if err != nil {
		t.Fatal(err)
	}
	want := []int{4096, 512 << 10, 16 << 20, 1 << 30, 0}
	for i, s := range cfg.Scopes {
		if s.MonitorBuffer != want[i] {
			t.Errorf("scope %s: monitor buffer %d, want %d", s.Name, s.MonitorBuffer, want[i])
		}
	}
	for _, bad := range []string{"0", "lots", "2GiB", "-1", "1.5MiB", "16MB"} {
		_, err := Parse("t.yaml", []byte("scopes:\n  - {name: a, monitor_buffer: "+bad+"}\n"))
		if err == nil || !strings.Contains(err.Error(), "t.yaml:2:") ||
			!strings.Contains(err.Error(), "scopes[0].monitor_buffer: want a size from 1 byte to 1GiB") {
			t.Errorf("monitor_buffer %s: %v; want a problem on line 2", bad, err)
		}
	}
}

func TestMutualTLSAllowsNonLoopback(t *testing.T) {
	cfg, err := Parse("t.yaml", []byte("api:\n  listen: 10.0.0.5:9477\n  tls: {cert: c.pem, key: k.pem, client_ca: ca.pem}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.API.Advertise != "" {
		t.Errorf("advertise %q; want unset (listen is dialled as it is)", cfg.API.Advertise)
	}
}

// TestAdvertise checks api.advertise: required for a wildcard listen,
// which no controller can dial, and never itself a wildcard or port 0.
func TestAdvertise(t *testing.T) {
	const tls = "  tls: {cert: c.pem, key: k.pem, client_ca: ca.pem}\n"
	cfg, err := Parse("t.yaml", []byte("api:\n  listen: 0.0.0.0:9477\n  advertise: node7.example:9477\n"+tls))
	if err != nil || cfg.API.Advertise != "node7.example:9477" {
		t.Fatalf("wildcard listen with advertise: %v, %+v", err, cfg)
	}
	for _, tc := range []struct{ api, want string }{
		{"  listen: 0.0.0.0:9477\n", "api.advertise: listen \"0.0.0.0:9477\" is on every address"},
		{"  listen: '[::]:9477'\n", "api.advertise: listen \"[::]:9477\" is on every address"},
		{"  listen: ':9477'\n  advertise: 10.0.0.5:9477\n", "api.listen: want host:port with a host"},
		{"  listen: 0.0.0.0:9477\n  advertise: 0.0.0.0:9477\n", "api.advertise: want the host:port controllers dial"},
		{"  listen: 10.0.0.5:9477\n  advertise: 10.0.0.5:0\n", "api.advertise: want the host:port controllers dial"},
		{"  listen: 10.0.0.5:9477\n  advertise: nope\n", "api.advertise: want the host:port controllers dial"},
		{"  advertise: 10.0.0.5:9477\n", "api.advertise: advertise without listen"},
	} {
		_, err := Parse("t.yaml", []byte("api:\n"+tc.api+tls))
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "t.yaml:2:") {
			t.Errorf("api %q: %v; want %q on line 2", tc.api, err, tc.want)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"", "scopes: []", "state_dir: /x\nscopes:\n - name: a\n   desired: {links: [{name: b, kind: veth, peer: c}]}\n", "a: [1, {b: c}]", "- 1\n- 2"} {
		f.Add([]byte(s))
	}
	f.Add([]byte(nested(100)))
	f.Add([]byte(aliasBomb(3)))
	f.Add([]byte("scopes: [\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse("fuzz.yaml", data)
		if (cfg == nil) == (err == nil) {
			t.Fatalf("want exactly one of config and error: %v %v", cfg, err)
		}
		var ce *Error
		if errors.As(err, &ce) {
			for _, p := range ce.Problems {
				// Syntax and limit problems always carry a position.
				if strings.HasPrefix(p.Message, "not valid YAML") || strings.HasPrefix(p.Message, "nesting deeper") {
					if p.Line == 0 || p.Column == 0 || len(ce.Problems) != 1 {
						t.Fatalf("syntax problem without its position or not alone: %v", ce.Problems)
					}
				}
			}
		}
	})
}

// TestNexthopProblems checks that every new field of nexthops and of
// multipath, nexthop and source routes is checked, each problem with the
// line of its entry.
func TestNexthopProblems(t *testing.T) {
	const bad = `scopes:
  - name: a
    desired:
      nexthops:
        - {id: 0, via: 10.0.0.1}
        - {id: 2, via: 10.0.0.1, blackhole: true}
        - {id: 3, group: [{id: 9}], type: resilient, buckets: 70000}
        - {id: 4, group: [{id: 2, weight: 300}], type: spread}
        - {id: 5, dev: br0, idle_timer: soon}
      routes:
        - {dst: 10.1.0.0/16, via: [{via: 10.0.0.2, weight: 0}, {dev: br0, weight: 999}, {}]}
        - {dst: 10.2.0.0/16, nexthop: 77}
        - {dst: 10.3.0.0/16, via: 10.0.0.1, nexthop: 2}
        - {dst: 10.4.0.0/16, from: "fd00::/64", dev: br0}
        - {dst: "fd50::/64", from: "fd00::1/64", dev: br0}
`
	_, err := Parse("bad.yaml", []byte(bad))
	var ce *Error
	if !errors.As(err, &ce) {
		t.Fatalf("want *Error, got %v", err)
	}
	want := []string{
		"bad.yaml:5:", "nexthops[0].id: id is required",
		"bad.yaml:6:", "nexthops[1].via: a nexthop takes exactly one of",
		"bad.yaml:7:", "nexthops[2].group[0]: member 9 is not a single nexthop", "nexthops[2].buckets: want a number of buckets",
		"bad.yaml:8:", "nexthops[3].group[0].weight: want a weight", "nexthops[3].type: want multipath or resilient",
		"bad.yaml:9:", "nexthops[4].idle_timer: want a duration",
		"bad.yaml:11:", "routes[0].via[1].weight: want a weight", "routes[0].via[2]: a next hop needs a gateway (via) or a device (dev)",
		"bad.yaml:12:", "routes[1].nexthop: nexthop 77 is not among the desired nexthops",
		"bad.yaml:13:", "routes[2].via: a route through several next hops or a nexthop object takes no single gateway",
		"bad.yaml:14:", "routes[3].from: source prefix fd00::/64: only IPv6 routes take a source prefix",
		"bad.yaml:15:", "routes[4].from: source prefix fd00::1/64 has host bits set",
	}
	text := err.Error()
	for _, w := range want {
		if !strings.Contains(text, w) {
			t.Errorf("missing %q in:\n%s", w, text)
		}
	}
	for _, p := range ce.Problems {
		if p.Line == 0 {
			t.Errorf("problem without a line: %v", p)
		}
	}
}
