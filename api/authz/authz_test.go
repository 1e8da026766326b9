package authz

import (
	"strings"
	"testing"

	"github.com/linx-net/linx/config"
	"github.com/linx-net/linx/messages"
)

func host() *messages.Namespace {
	return &messages.Namespace{Kind: &messages.Namespace_Host{Host: true}}
}
func at(p string) *messages.Namespace {
	return &messages.Namespace{Kind: &messages.Namespace_Path{Path: p}}
}
func pid(n uint32) *messages.Namespace {
	return &messages.Namespace{Kind: &messages.Namespace_Pid{Pid: n}}
}

var grants = []config.Grant{
	{Identity: "spiffe://example.org/tenant/*", Verbs: []string{"*"}, Paths: []string{"/var/run/netns/tenant-*"},
		Scopes: []string{"tenant-*"}, MaxObjects: 10, Line: 7},
	{Identity: "monitor", Verbs: []string{"status"}},
	{Identity: "ops", Verbs: []string{"update", "stop"}, Host: true, Configured: true},
	{Identity: "cni", Verbs: []string{"spawn", "update", "stop"}, PID: true},
}

func TestDecide(t *testing.T) {
	rules := New(grants)
	const tenant = "spiffe://example.org/tenant/a"
	for _, tc := range []struct {
		name string
		r    Request
		ok   bool
		want string // in the refusal
	}{
		{"root does everything", Request{Identity: "uid:0", Verb: Spawn, Scope: "x", Namespace: host()}, true, ""},
		{"root touches a configured scope", Request{Identity: "uid:0", Verb: Update, Scope: "demo", Namespace: at("/var/run/netns/demo"), Configured: true}, true, ""},
		{"an unnamed uid reads", Request{Identity: "uid:65534", Verb: Status}, true, ""},
		{"an unnamed uid cannot spawn", Request{Identity: "uid:65534", Verb: Spawn, Scope: "evil", Namespace: host()}, false, RuleDefault},
		{"tenant in its glob", Request{Identity: tenant, Verb: Spawn, Scope: "tenant-a", Namespace: at("/var/run/netns/tenant-a")}, true, ""},
		{"tenant refused the host", Request{Identity: tenant, Verb: Spawn, Scope: "tenant-a", Namespace: host()}, false, "host namespace needs an explicit grant"},
		{"tenant refused an unset namespace", Request{Identity: tenant, Verb: Spawn, Scope: "tenant-a"}, false, "host namespace"},
		{"tenant refused a path outside its glob", Request{Identity: tenant, Verb: Spawn, Scope: "tenant-a", Namespace: at("/proc/1/ns/net")}, false, "outside the granted paths"},
		{"tenant refused a path escaping its glob", Request{Identity: tenant, Verb: Spawn, Scope: "tenant-a", Namespace: at("/var/run/netns/tenant-a/../../../../proc/1/ns/net")}, false, "not a clean absolute path"},
		{"tenant refused a pid", Request{Identity: tenant, Verb: Spawn, Scope: "tenant-a", Namespace: pid(1)}, false, "process namespaces"},
		{"tenant refused a scope name", Request{Identity: tenant, Verb: Spawn, Scope: "web", Namespace: at("/var/run/netns/tenant-a")}, false, "scope name"},
		{"tenant over its object cap", Request{Identity: tenant, Verb: Update, Scope: "tenant-a", Namespace: at("/var/run/netns/tenant-a"), Objects: 11}, false, "exceed the rule's cap of 10"},
		{"tenant stopping a scope of unknown namespace", Request{Identity: tenant, Verb: Stop, Scope: "tenant-x"}, false, "host namespace"},
		{"status-only cannot spawn", Request{Identity: "monitor", Verb: Spawn, Scope: "x", Namespace: at("/x")}, false, "verb spawn is not granted"},
		{"status-only reads", Request{Identity: "monitor", Verb: Status}, true, ""},
		{"no grant: configured update", Request{Identity: "cni", Verb: Update, Scope: "demo", Namespace: host(), Configured: true}, false, "belongs to the configuration file"},
		{"no grant: configured stop", Request{Identity: "cni", Verb: Stop, Scope: "demo", Configured: true}, false, "belongs to the configuration file"},
		{"grant: configured update", Request{Identity: "ops", Verb: Update, Scope: "demo", Namespace: host(), Configured: true}, true, ""},
		{"cni in a pid namespace", Request{Identity: "cni", Verb: Spawn, Scope: "pod", Namespace: pid(4242)}, true, ""},
		{"tenant's veth peer in its glob", Request{Identity: tenant, Verb: Spawn, Scope: "tenant-a", Namespace: at("/var/run/netns/tenant-a"),
			Reaches: []*messages.Namespace{at("/var/run/netns/tenant-b")}}, true, ""},
		{"tenant's veth peer in the host", Request{Identity: tenant, Verb: Spawn, Scope: "tenant-a", Namespace: at("/var/run/netns/tenant-a"),
			Reaches: []*messages.Namespace{host()}}, false, "a veth's peer namespace: the host namespace needs an explicit grant"},
		{"tenant's veth peer outside its glob", Request{Identity: tenant, Verb: Update, Scope: "tenant-a", Namespace: at("/var/run/netns/tenant-a"),
			Reaches: []*messages.Namespace{at("/proc/1/ns/net")}}, false, "a veth's peer namespace: namespace path \"/proc/1/ns/net\" is outside"},
	} {
		d := rules.Decide(tc.r)
		err := d.Err(tc.r)
		if d.Allowed != tc.ok {
			t.Errorf("%s: %+v; want allowed=%v", tc.name, d, tc.ok)
			continue
		}
		if !tc.ok && (!strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "permission denied") || !strings.Contains(err.Error(), d.Rule)) {
			t.Errorf("%s: %v; want it to name %q and the rule", tc.name, err, tc.want)
		}
	}
}

// TestFirstMatchDecides checks that a rule naming uid:0 narrows root.
func TestFirstMatchDecides(t *testing.T) {
	rules := New([]config.Grant{{Identity: "uid:0", Verbs: []string{"status"}}})
	r := Request{Identity: "uid:0", Verb: Spawn, Scope: "x", Namespace: host()}
	if d := rules.Decide(r); d.Allowed || !strings.Contains(d.Rule, "api.authorization[0]") {
		t.Errorf("%+v; want refused by api.authorization[0]", d)
	}
	var none *Rules
	if d := none.Decide(r); !d.Allowed {
		t.Errorf("nil rules: %+v; want root allowed", d)
	}
}

func TestReplyAllowed(t *testing.T) {
	rules := New([]config.Grant{{Identity: "ctl", Verbs: []string{"status"}, ReplyAddresses: []string{"10.0.0.5", "10.0.0.6:4000"}}})
	for addr, want := range map[string]bool{"10.0.0.5:1": true, "10.0.0.6:4000": true, "10.0.0.6:4001": false, "10.0.0.7:1": false} {
		if got := rules.ReplyAllowed("ctl", addr); got != want {
			t.Errorf("%s: %v; want %v", addr, got, want)
		}
	}
	if rules.ReplyAllowed("other", "10.0.0.5:1") {
		t.Error("another identity may use ctl's reply address")
	}
}

// FuzzDecide feeds hostile requests to the rules: Decide never panics,
// and never allows a mutating request to an identity other than root or
// the tenant, nor the tenant a namespace outside its grant.
func FuzzDecide(f *testing.F) {
	f.Add("uid:65534", uint8(1), "evil", uint8(0), "", uint32(0), 1, false)
	f.Add("spiffe://example.org/tenant/a", uint8(1), "tenant-a", uint8(2), "/var/run/netns/tenant-a/../x", uint32(0), 3, false)
	f.Add("spiffe://example.org/tenant/a", uint8(1), "tenant-a", uint8(2), "/var/run/netns/tenant-[", uint32(0), 3, false)
	f.Add("", uint8(3), "", uint8(1), "", uint32(1), -1, true)
	rules := New(grants)
	f.Fuzz(func(t *testing.T, id string, verb uint8, scope string, kind uint8, p string, pidN uint32, objects int, configured bool) {
		r := Request{Identity: id, Verb: Verb(verb % 5), Scope: scope, Objects: objects, Configured: configured}
		switch kind % 4 {
		case 1:
			r.Namespace = host()
		case 2:
			r.Namespace = at(p)
		case 3:
			r.Namespace = pid(pidN)
		}
		d := rules.Decide(r)
		_ = d.Err(r)
		if !d.Allowed || !r.Verb.Mutating() {
			return
		}
		switch {
		case id == "uid:0", id == "ops", id == "cni":
		case strings.HasPrefix(id, "spiffe://example.org/tenant/"):
			if kind%4 != 2 || !strings.HasPrefix(p, "/var/run/netns/tenant-") || strings.Contains(p, "..") {
				t.Errorf("tenant allowed %+v", r)
			}
		default:
			t.Errorf("%q allowed %+v by %s", id, r, d.Rule)
		}
	})
}

func TestPeerNamespaces(t *testing.T) {
	d := &messages.Desired{Links: []*messages.Link{
		{Name: "br0", Kind: "bridge"},
		{Name: "v0", Kind: "veth", Settings: &messages.Link_Veth{Veth: &messages.Veth{Peer: "v1"}}},
		{Name: "v2", Kind: "veth", Settings: &messages.Link_Veth{Veth: &messages.Veth{Peer: "eth0", PeerNamespace: host()}}},
		{Name: "v3", Kind: "veth", Settings: &messages.Link_Veth{Veth: &messages.Veth{Peer: "eth0", PeerNamespace: at("/run/netns/x")}}},
	}}
	got := PeerNamespaces(d)
	if len(got) != 2 || !got[0].GetHost() || got[1].GetPath() != "/run/netns/x" {
		t.Fatalf("PeerNamespaces = %v, want the host and /run/netns/x", got)
	}
	if PeerNamespaces(nil) != nil {
		t.Fatal("PeerNamespaces(nil) must be empty")
	}
}
