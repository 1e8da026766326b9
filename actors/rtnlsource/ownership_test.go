package rtnlsource_test

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/linx-net/linx/actors/rtnlsource"
	"github.com/linx-net/linx/actors/supervisor"
	"github.com/linx-net/linx/internal/nstest"
	"github.com/linx-net/linx/messages"
	"github.com/linx-net/linx/reconcile"
)

// ipSnapshot returns what `ip -j` prints for links, addresses, rules and
// routes of every table in ns.
func ipSnapshot(ns *nstest.NS) string {
	var b strings.Builder
	for _, c := range [][]string{{"link", "show"}, {"addr", "show"}, {"rule", "show"}, {"route", "show", "table", "all"}} {
		b.WriteString(ns.IP(append([]string{"-j"}, c...)...))
	}
	return b.String()
}

// waitGone waits until the node no longer lists scope name.
func waitGone(t *testing.T, node *supervisor.Node, name string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		list, err := node.List()
		if err != nil {
			t.Fatal(err)
		}
		if !slices.ContainsFunc(list, func(s *messages.ScopeStatus) bool { return s.GetName() == name }) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("scope %s still listed", name)
		}
		time.Sleep(time.Millisecond)
	}
}

func pathNS(ns *nstest.NS) *messages.Namespace {
	return &messages.Namespace{Kind: &messages.Namespace_Path{Path: ns.Path()}}
}

// TestScopeNameReusedOnAnotherNamespace: scope s6 on namespace A owns
// br6, an address and rule 266. After `scope stop s6 --forget`, a scope
// s6 spawned on namespace B with an empty desired state starts with an
// empty ledger: B's own br6, address and rule 266 are untouched. Spawned
// on A again, s6 takes A's ledger back and deletes what it owns there.
func TestScopeNameReusedOnAnotherNamespace(t *testing.T) {
	a, b := nstest.New(t), nstest.New(t)
	_, node, _ := supervisedNode(t, 3)
	prio := uint32(266)
	owning := &messages.Desired{
		Links:     []*messages.Link{{Name: "br6", Kind: "bridge"}},
		Addresses: []*messages.Address{{Link: "br6", Address: "10.6.0.1/24"}},
		Rules:     []*messages.Rule{{From: "10.6.0.0/24", Table: 1006, Priority: &prio}},
	}
	if err := spawnMsg(node, &messages.SpawnScope{Name: "s6", Namespace: pathNS(a), Desired: owning}); err != nil {
		t.Fatal(err)
	}
	waitPhase(t, node, "s6", messages.Phase_PHASE_CONVERGED)
	if err := node.Stop("s6", true); err != nil {
		t.Fatal(err)
	}
	waitGone(t, node, "s6")

	b.IP("link", "add", "br6", "type", "bridge")
	b.IP("addr", "add", "10.6.0.1/24", "dev", "br6")
	b.IP("rule", "add", "from", "10.6.0.0/24", "table", "1006", "priority", "266")
	before := ipSnapshot(b)
	if err := spawnMsg(node, &messages.SpawnScope{Name: "s6", Namespace: pathNS(b), Desired: &messages.Desired{}}); err != nil {
		t.Fatal(err)
	}
	st := waitPhase(t, node, "s6", messages.Phase_PHASE_CONVERGED)
	if after := ipSnapshot(b); after != before {
		t.Fatalf("scope s6 on B changed B (status %v):\nbefore %s\nafter  %s", st, before, after)
	}
	if err := node.Stop("s6", true); err != nil {
		t.Fatal(err)
	}
	waitGone(t, node, "s6")

	// Back on A, with nothing desired: its ledger owns br6 and rule 266.
	if err := spawnMsg(node, &messages.SpawnScope{Name: "s6", Namespace: pathNS(a), Desired: &messages.Desired{}}); err != nil {
		t.Fatal(err)
	}
	waitPhase(t, node, "s6", messages.Phase_PHASE_CONVERGED)
	if out := a.IP("link", "show"); strings.Contains(out, "br6") {
		t.Errorf("s6 back on A did not delete its br6:\n%s", out)
	}
	if out := a.IP("rule", "show"); strings.Contains(out, "266") {
		t.Errorf("s6 back on A did not delete its rule 266:\n%s", out)
	}
	if after := ipSnapshot(b); after != before {
		t.Fatalf("B changed:\nbefore %s\nafter  %s", before, after)
	}
}

// TestSpawnRefusesNonNamespacePath: a FIFO or a regular file with
// content as the namespace path is refused by Spawn at once, with an error
// saying so; nothing is left running and no thread is left blocked. (An
// empty regular file is what `ip netns add` mounts a new namespace on: a
// scope naming one waits; see TestFactoryAbsentNamespace.)
func TestSpawnRefusesNonNamespacePath(t *testing.T) {
	nstest.RequireRoot(t)
	_, node, _ := supervisedNode(t, 3)
	dir := t.TempDir()
	fifo, file := filepath.Join(dir, "fifo"), filepath.Join(dir, "file")
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, []byte("not a namespace\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	threads := pprof.Lookup("threadcreate")
	before := threads.Count()
	for i := 0; i < 20; i++ {
		for _, p := range []string{fifo, file} {
			err := spawnMsg(node, &messages.SpawnScope{Name: "bad", Namespace: &messages.Namespace{Kind: &messages.Namespace_Path{Path: p}}})
			if err == nil || !strings.Contains(err.Error(), "not a namespace file") {
				t.Fatalf("Spawn in path:%s = %v, want refused as not a namespace file", p, err)
			}
		}
	}
	if list, err := node.List(); err != nil || len(list) != 0 {
		t.Fatalf("scopes after refused spawns: %v, %v", list, err)
	}
	if after := threads.Count(); after > before+4 {
		t.Fatalf("threads: %d before 40 refused spawns, %d after", before, after)
	}
}

// TestSpawnProtocolClaim: a foreign route 10.202.0.0/24 proto 77 in
// main, and a scope with a desired route of protocol 77 (its own
// protocol, or an override of one route): the spawn is refused, naming
// the route, and nothing changes. With adopt_protocol it is accepted and
// the scope owns protocol 77.
func TestSpawnProtocolClaim(t *testing.T) {
	ns := nstest.New(t)
	_, node, _ := supervisedNode(t, 3)
	ns.IP("route", "add", "blackhole", "10.202.0.0/24", "proto", "77")
	before := ipSnapshot(ns)
	for _, spec := range []*messages.SpawnScope{
		{Name: "p", Namespace: pathNS(ns), Protocol: 77,
			Desired: &messages.Desired{Routes: []*messages.Route{{Dst: "10.203.0.0/24", Type: "blackhole"}}}},
		{Name: "q", Namespace: pathNS(ns),
			Desired: &messages.Desired{Routes: []*messages.Route{{Dst: "10.203.0.0/24", Type: "blackhole", Protocol: 77}}}},
	} {
		err := spawnMsg(node, spec)
		if err == nil || !strings.Contains(err.Error(), "10.202.0.0/24") || !strings.Contains(err.Error(), "protocol 77") {
			t.Fatalf("Spawn claiming protocol 77 = %v, want refused naming 10.202.0.0/24", err)
		}
		if after := ipSnapshot(ns); after != before {
			t.Fatalf("a refused spawn changed the namespace:\nbefore %s\nafter  %s", before, after)
		}
		spec.AdoptProtocol = true
		if err := spawnMsg(node, spec); err != nil {
			t.Fatalf("Spawn with adopt_protocol: %v", err)
		}
		waitPhase(t, node, spec.Name, messages.Phase_PHASE_CONVERGED)
		out := ns.IP("route", "show", "proto", "77")
		if strings.Contains(out, "10.202.0.0/24") || !strings.Contains(out, "10.203.0.0/24") {
			t.Fatalf("routes of protocol 77 after adopting it:\n%s", out)
		}
		if err := node.Stop(spec.Name, true); err != nil {
			t.Fatal(err)
		}
		waitGone(t, node, spec.Name)
		// Spawned again, the scope resumes its claim: no adoption needed.
		spec.AdoptProtocol = false
		if err := spawnMsg(node, spec); err != nil {
			t.Fatalf("Spawn resuming the claim of protocol 77: %v", err)
		}
		waitPhase(t, node, spec.Name, messages.Phase_PHASE_CONVERGED)
		if err := node.Stop(spec.Name, true); err != nil {
			t.Fatal(err)
		}
		waitGone(t, node, spec.Name)
		// The next case starts from the foreign route again.
		ns.IP("route", "flush", "proto", "77")
		ns.IP("route", "add", "blackhole", "10.202.0.0/24", "proto", "77")
		before = ipSnapshot(ns)
	}
}

// TestUpdateOverrideProtocolClaim: a running scope given, by an update, a
// route overriding its protocol with 77, which marks a foreign route: no
// pass applies it; the scope's status names the foreign route, which is
// left byte-for-byte as it was.
func TestUpdateOverrideProtocolClaim(t *testing.T) {
	ns := nstest.New(t)
	_, node, _ := supervisedNode(t, 3)
	ns.IP("route", "add", "blackhole", "10.202.0.0/24", "proto", "77")
	if err := spawnMsg(node, &messages.SpawnScope{Name: "u", Namespace: pathNS(ns), Desired: &messages.Desired{}}); err != nil {
		t.Fatal(err)
	}
	waitPhase(t, node, "u", messages.Phase_PHASE_CONVERGED)
	before := ipSnapshot(ns)
	if err := updateMsg(node, "u", &messages.Desired{Routes: []*messages.Route{{Dst: "10.203.0.0/24", Type: "blackhole", Protocol: 77}}}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, err := node.Status("u")
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(st.GetLastError(), "10.202.0.0/24") && strings.Contains(st.GetLastError(), "protocol 77") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("status after the update: %v", st)
		}
		time.Sleep(time.Millisecond)
	}
	if after := ipSnapshot(ns); after != before {
		t.Fatalf("the refused override changed the namespace:\nbefore %s\nafter  %s", before, after)
	}
}

// TestFactoryDamagedLedger: a scope whose ledger file cannot be parsed
// still spawns, with an empty ledger; the file is moved aside and the
// logger says where, naming the line it could not read.
func TestFactoryDamagedLedger(t *testing.T) {
	ns := nstest.New(t)
	dir := t.TempDir()
	id, err := ns.Namespace().ID()
	if err != nil {
		t.Fatal(err)
	}
	path := reconcile.LedgerPath(dir, "d", id)
	if err := os.WriteFile(path, []byte("{\n  \"version\": 2,\n  \"links\": [\"a b\"]\n}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	f := rtnlsource.Factory(dir, rtnlsource.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	src, err := f(supervisor.Spec{Name: "d", Namespace: ns.Namespace()})
	if err != nil {
		t.Fatalf("spawn with a damaged ledger: %v", err)
	}
	l := src.(*rtnlsource.Source).Ledger()
	d := l.Damaged()
	if d == nil || l.Len() != 0 || !strings.Contains(logs.String(), "ledger damaged") || !strings.Contains(logs.String(), d.MovedTo) || !strings.Contains(logs.String(), "line 3") {
		t.Fatalf("damaged %v, %d keys, log:\n%s", d, l.Len(), logs.String())
	}
	if _, err := os.Stat(d.MovedTo); err != nil {
		t.Fatal(err)
	}
}

// A scope that manages no routes claims no route protocol: it can share a
// namespace with one that owns routes of the same protocol.
func TestClaimNoRoutes(t *testing.T) {
	ns := nstest.New(t)
	spec := supervisor.Spec{Name: "a", Namespace: ns.Namespace()}
	c, err := rtnlsource.Claim(spec)
	if err != nil || len(c.Protocols) != 1 || c.Protocols[0] != 76 {
		t.Fatalf("Claim = %+v, %v; want protocol 76", c, err)
	}
	spec.Source = rtnlsource.Settings{NoRoutes: true}
	c, err = rtnlsource.Claim(spec)
	if err != nil || len(c.Protocols) != 0 || c.Namespace == "" {
		t.Fatalf("Claim with no_routes = %+v, %v; want the namespace and no protocol", c, err)
	}
}
