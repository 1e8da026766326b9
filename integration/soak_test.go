//go:build soak

package integration

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/linx-net/linx/actors/rtnlsource"
	"github.com/linx-net/linx/actors/supervisor"
	"github.com/linx-net/linx/diff"
	"github.com/linx-net/linx/internal/nstest"
	"github.com/linx-net/linx/messages"
	"github.com/linx-net/linx/reconcile"
	"github.com/linx-net/linx/rtnl"
	"github.com/linx-net/linx/rtnl/monitor"
)

// The reliability suite (make soak). Each test prints one verdict line,
//
//	soak_<part>: PASS|FAIL <figures>
//
// and fails when the verdict is FAIL. Build with -tags soak.

// soakVerdict prints t's verdict line with its figures.
func soakVerdict(t *testing.T, part string, figures string) {
	t.Helper()
	v := "PASS"
	if t.Failed() {
		v = "FAIL"
	}
	fmt.Printf("soak_%s: %s %s\n", part, v, figures)
}

// soakDrift returns the operations interval passes of the scope st
// describes applied although no event had come since the pass before:
// what narrowed passes missed (linx_drift_repaired_total, all kinds).
func soakDrift(st *messages.ScopeStatus) uint64 {
	var n uint64
	for _, v := range st.GetDriftRepaired() {
		n += v
	}
	return n
}

// soakCount returns the IPv4 routes of protocol proto in every table of
// ns, as sorted "table dst" strings.
func soakCount(t *testing.T, s *rtnl.Socket, proto rtnl.Protocol) []string {
	t.Helper()
	rs, err := s.RoutesFiltered(rtnl.RouteFilter{Family: rtnl.FamilyV4, Protocol: proto})
	if err != nil {
		t.Fatal(err)
	}
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = fmt.Sprint(r.Table, " ", r.Dst)
	}
	slices.Sort(out)
	return out
}

// soakBatch feeds lines to `ip -n NAME -force -batch -` and returns the
// numbers (from 1) of the lines that failed.
func soakBatch(t *testing.T, ns *nstest.NS, lines string) []int {
	t.Helper()
	cmd := exec.Command("ip", "-n", ns.Name, "-force", "-batch", "-")
	cmd.Stdin = strings.NewReader(lines)
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = io.Discard, &stderr
	err := cmd.Run()
	var failed []int
	for line := range strings.Lines(stderr.String()) {
		if n, ok := strings.CutPrefix(strings.TrimSpace(line), "Command failed -:"); ok {
			i, perr := strconv.Atoi(n)
			if perr != nil {
				t.Fatalf("ip -batch: %q", line)
			}
			failed = append(failed, i)
		}
	}
	if err != nil && len(failed) == 0 {
		t.Fatalf("ip -n %s -force -batch: %v: %s", ns.Name, err, stderr.String())
	}
	return failed
}

const (
	soakStormBursts   = 4
	soakStormRoutes   = 100_000
	soakStormOwned    = 1_000
	soakStormForeign  = 1_000
	soakForeignProto  = 99
	soakStormProto    = 98
	soakStormConverge = 60 * time.Second
	// soakStormTail is how many owned routes each burst deletes, spread
	// among its 100,000 changes, while the monitor is overrun.
	soakStormTail = 10
)

// TestSoakOverrunStorms drives bursts of 100,000 foreign route changes
// (ip -batch, alternately adding and deleting blackholes of protocol 98 in
// table 300) at a scope whose monitor has the smallest receive buffer,
// while the scope repairs an address deleted by hand just before each
// burst (which also flushes the owned routes through its link). Each
// burst ends by deleting 10 owned routes while the monitor is overrun;
// the scope's interval is an hour, so only the monitor's resync (or the
// deletions' own events, should they get through) can bring them back.
// After every burst the monitor must have overrun, the scope must
// converge again (owned routes and address back, checked in the kernel),
// and the foreign routes (1,000 of protocol 99 installed beforehand, and
// the burst's own) must be exactly as the foreign writer left them.
func TestSoakOverrunStorms(t *testing.T) {
	nstest.RequireRoot(t)
	ns := nstest.New(t)
	sock := ns.Open()
	var foreign strings.Builder
	for i := range soakStormForeign {
		fmt.Fprintf(&foreign, "route add blackhole 172.16.%d.%d/32 proto %d table 200\n", i>>8, i&255, soakForeignProto)
	}
	ns.Batch(foreign.String())
	foreignBefore := soakCount(t, sock, soakForeignProto)

	// The production Source, its monitor given the smallest receive
	// buffer the kernel allows, so that every burst overruns it.
	node := benchActorsNode(t, func(c *supervisor.Config) {
		c.NewSource = rtnlsource.Factory(t.TempDir(), rtnlsource.WithMonitor(monitor.WithReceiveBuffer(1)))
	})
	d := benchActorsVeth("o0", "o1", "10.0.0.1/24")
	for i := range soakStormOwned {
		d.Routes = append(d.Routes, &messages.Route{Dst: installDst(i).String(), Via: installGateway.String(), Dev: "o0"})
	}
	var worst time.Duration
	var figures []string
	tailDeleted := 0
	defer func() {
		st, _ := node.Status("storm")
		soakVerdict(t, "overrun_storms", fmt.Sprintf("bursts=%d changes_per_burst=%d owned_deleted_in_storms=%d worst_reconverge_ms=%d overruns=%d resyncs=%d passes=%d narrowed=%d drift_repaired=%d foreign_before=%d foreign_after=%d %s",
			soakStormBursts, soakStormRoutes, tailDeleted, worst.Milliseconds(), st.GetMonitorOverruns(), st.GetResyncs(), st.GetPasses(),
			st.GetNarrowedPasses(), soakDrift(st), len(foreignBefore), len(soakCount(t, sock, soakForeignProto)), strings.Join(figures, " ")))
	}()
	// An hour's interval: the timer cannot repair what a lost event hid.
	err := spawnMsg(node, &messages.SpawnScope{Name: "storm", Namespace: benchActorsPath(ns), Desired: d, Interval: durationpb.New(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	benchActorsWait(t, node, 30*time.Second, "storm")
	owned := netip.MustParsePrefix("10.0.0.1/24")
	for burst := range soakStormBursts {
		verb := "add"
		if burst%2 == 1 {
			verb = "del"
		}
		var lines strings.Builder
		tail := map[int]bool{} // line numbers (from 1) of the owned deletions
		for i := range soakStormRoutes {
			fmt.Fprintf(&lines, "route %s blackhole 10.%d.%d.%d/32 proto %d table 300\n", verb, 64+i>>16&255, i>>8&255, i&255, soakStormProto)
			if j := len(tail); (i+1)%(soakStormRoutes/(soakStormTail+1)) == 0 && j < soakStormTail {
				fmt.Fprintf(&lines, "route del %s proto %d\n", installDst(burst*soakStormTail+j), rtnl.DefaultProtocol)
				tail[i+j+2] = true
			}
		}
		before, err := node.Status("storm")
		if err != nil {
			t.Fatal(err)
		}
		if err := sock.AddressDelete("o0", owned); err != nil {
			t.Fatal(err)
		}
		stormStart := time.Now()
		// An owned deletion fails (and is not counted) should the scope
		// not have restored that route yet; nothing else may fail.
		failed := soakBatch(t, ns, lines.String())
		end := time.Now()
		for _, line := range failed {
			if !tail[line] {
				t.Fatalf("burst %d: line %d of the storm failed", burst, line)
			}
		}
		tailDeleted += soakStormTail - len(failed)

		// Converged again: passes ran since the deletion, the last one
		// converged, and the kernel holds what the scope owns (the
		// address can only be back because the scope restored it).
		deadline := end.Add(soakStormConverge)
		for {
			st, err := node.Status("storm")
			if err != nil {
				t.Fatal(err)
			}
			if st.GetPhase() == messages.Phase_PHASE_CONVERGED && st.GetPasses() > before.GetPasses() {
				addrs, err := sock.AddressesOf("o0")
				if err != nil {
					t.Fatal(err)
				}
				has := slices.ContainsFunc(addrs, func(a rtnl.Address) bool { return a.Prefix == owned })
				if has && len(soakCount(t, sock, rtnl.DefaultProtocol)) == soakStormOwned {
					break
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("burst %d: not converged %s after the storm: %v", burst, soakStormConverge, st)
			}
			time.Sleep(10 * time.Millisecond)
		}
		took := time.Since(end)
		worst = max(worst, took)
		st, _ := node.Status("storm")
		if st.GetMonitorOverruns() == before.GetMonitorOverruns() {
			t.Errorf("burst %d did not overrun the monitor: it tested nothing", burst)
		}
		figures = append(figures, fmt.Sprintf("burst%d=%s,storm_%dms,owned_deleted_%d,reconverged_%dms_after,overruns+%d",
			burst, verb, end.Sub(stormStart).Milliseconds(), soakStormTail-len(failed), took.Milliseconds(), st.GetMonitorOverruns()-before.GetMonitorOverruns()))

		want := soakStormRoutes
		if verb == "del" {
			want = 0
		}
		if got := len(soakCount(t, sock, soakStormProto)); got != want {
			t.Errorf("burst %d: %d foreign burst routes in the kernel, want %d", burst, got, want)
		}
		if got := soakCount(t, sock, soakForeignProto); !slices.Equal(got, foreignBefore) {
			t.Errorf("burst %d: the foreign routes changed: %d now, %d before", burst, len(got), len(foreignBefore))
		}
	}
	if tailDeleted == 0 {
		t.Error("no owned route was deleted during a storm: the scope's repair after an overrun was not tested")
	}
	if st, _ := node.Status("storm"); soakDrift(st) != 0 {
		t.Errorf("interval passes repaired what narrowed passes missed: %v", st.GetDriftRepaired())
	}
}

const (
	soakFightFor   = 10 * time.Second
	soakFightRate  = 10.0
	soakFightBurst = 3
	// soakFightCPU bounds the agent's CPU while fighting, in percent of
	// one core: the rate limit is what keeps it low.
	soakFightCPU = 25.0
	// soakFightInterval is the fight scope's interval: its passes check
	// what the narrowed ones did.
	soakFightInterval = time.Second
)

// TestSoakFight has another writer (an `ip -batch` process, so that its
// CPU is not the agent's) delete an address the scope owns every
// millisecond for 10 s. The scope's passes must stay under its configured
// limit (10 per second, burst 3) and the agent process's CPU must stay
// bounded; when the writer stops, the scope converges again. The link
// keeps a second address, so that the kernel flushes nothing with the
// first and the wake-ups' passes stay narrowed; the interval is a second,
// so that passes checking everything run during and after the fight, and
// must find nothing the narrowed passes missed (drift_repaired=0).
func TestSoakFight(t *testing.T) {
	nstest.RequireRoot(t)
	ns := nstest.New(t)
	node := benchActorsNode(t, nil)
	var (
		elapsed   time.Duration
		deletes   int
		passes    uint64
		rate, cpu float64
	)
	defer func() {
		st, _ := node.Status("fight")
		soakVerdict(t, "fight", fmt.Sprintf("seconds=%.1f deletes=%d passes=%d pass_rate=%.2f limit=%.0f cpu=%.2f cpu_bound=%.0f narrowed=%d drift_repaired=%d",
			elapsed.Seconds(), deletes, passes, rate, soakFightRate, cpu, soakFightCPU, st.GetNarrowedPasses(), soakDrift(st)))
	}()
	err := spawnMsg(node, &messages.SpawnScope{
		Name: "fight", Namespace: benchActorsPath(ns),
		Desired:  benchActorsVeth("f0", "f1", "10.0.0.1/24", "10.0.1.1/24"),
		Interval: durationpb.New(soakFightInterval),
		Options:  &messages.ScopeOptions{MaxPassesPerSecond: soakFightRate, Burst: soakFightBurst},
	})
	if err != nil {
		t.Fatal(err)
	}
	benchActorsWait(t, node, 10*time.Second, "fight")

	cmd := exec.Command("ip", "-n", ns.Name, "-force", "-batch", "-")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	before, err := node.Status("fight")
	if err != nil {
		t.Fatal(err)
	}
	cpu0, start := benchActorsCPU(t), time.Now()
	tick := time.NewTicker(time.Millisecond)
	for time.Since(start) < soakFightFor {
		<-tick.C
		if _, err := io.WriteString(stdin, "address del 10.0.0.1/24 dev f0\n"); err != nil {
			t.Fatal(err)
		}
		deletes++
	}
	tick.Stop()
	elapsed = time.Since(start)
	cpu = 100 * float64(benchActorsCPU(t)-cpu0) / float64(elapsed)
	after, err := node.Status("fight")
	if err != nil {
		t.Fatal(err)
	}
	stdin.Close()
	_ = cmd.Wait()

	passes = after.GetPasses() - before.GetPasses()
	rate = float64(passes) / elapsed.Seconds()
	limit := soakFightRate*elapsed.Seconds() + soakFightBurst
	if float64(passes) > limit {
		t.Errorf("%d passes in %s: over the limit of %.0f/s burst %d (%.0f)", passes, elapsed, soakFightRate, soakFightBurst, limit)
	}
	if passes < uint64(soakFightRate*elapsed.Seconds()/2) {
		t.Errorf("only %d passes in %s: the scope stopped fighting back", passes, elapsed)
	}
	if cpu > soakFightCPU {
		t.Errorf("the agent used %.1f%% of a core while fighting, bound %.0f%%", cpu, soakFightCPU)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(ns.IP("-br", "addr", "show", "dev", "f0"), "10.0.0.1/24") {
		if time.Now().After(deadline) {
			t.Fatal("the address was not restored after the fight")
		}
		time.Sleep(10 * time.Millisecond)
	}
	benchActorsWait(t, node, 10*time.Second, "fight")
	// A few interval passes after the fight: what they repair, the
	// narrowed passes missed.
	time.Sleep(3 * soakFightInterval)
	st, err := node.Status("fight")
	if err != nil {
		t.Fatal(err)
	}
	if st.GetNarrowedPasses() == 0 {
		t.Error("no pass was narrowed during the fight")
	}
	if d := soakDrift(st); d != 0 {
		t.Errorf("interval passes repaired %d operations the narrowed passes missed: %v", d, st.GetDriftRepaired())
	}
}

const (
	soakChurnWaves = 10
	soakChurnWave  = 20 // scopes per wave: 200 in all
)

// soakProcess starts `sleep` in a new network namespace and returns its
// pid and a function that kills and reaps it (also run in Cleanup), so
// that no process handle outlives its wave.
func soakProcess(t *testing.T) (int, func()) {
	t.Helper()
	cmd := exec.Command("unshare", "--net", "sleep", "3600")
	if err := cmd.Start(); err != nil {
		t.Fatalf("unshare --net sleep: %v", err)
	}
	var once sync.Once
	kill := func() {
		once.Do(func() {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		})
	}
	t.Cleanup(kill)
	self, _ := os.Readlink("/proc/thread-self/ns/net")
	for range 1000 {
		if ns, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/net", cmd.Process.Pid)); err == nil && ns != self {
			return cmd.Process.Pid, kill
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatalf("process %d never entered its own namespace", cmd.Process.Pid)
	return 0, nil
}

// soakNetns creates a named namespace (with nstest's prefix, so that the
// host check would catch a leak) and returns it and a function that
// removes it (also run in Cleanup).
func soakNetns(t *testing.T) (*nstest.NS, func()) {
	t.Helper()
	var b [5]byte
	_, _ = rand.Read(b[:])
	name := nstest.Prefix + "soak-" + hex.EncodeToString(b[:])
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add %s: %v: %s", name, err, out)
	}
	var once sync.Once
	del := func() {
		once.Do(func() {
			if out, err := exec.Command("ip", "netns", "del", name).CombinedOutput(); err != nil {
				t.Errorf("ip netns del %s: %v: %s", name, err, out)
			}
		})
	}
	t.Cleanup(del)
	return &nstest.NS{Name: name}, del
}

// soakSettle waits up to 5 s for the goroutine count to come back to at
// most want, and returns the count it ended with.
func soakSettle(want int) int {
	n := runtime.NumGoroutine()
	for deadline := time.Now().Add(5 * time.Second); n > want && time.Now().Before(deadline); n = runtime.NumGoroutine() {
		time.Sleep(20 * time.Millisecond)
	}
	return n
}

// TestSoakNamespaceChurn creates and destroys 200 namespaces with a scope
// each, in waves of 20: three quarters named by path (the scope is stopped,
// then the namespace removed), a quarter by the pid of a process (the
// process is killed and the scope must stop by itself, the namespace being
// gone). Goroutines, file descriptors and memory after the last wave must
// be back to what they were after the first (the warm-up).
func TestSoakNamespaceChurn(t *testing.T) {
	nstest.RequireRoot(t)
	node := benchActorsNode(t, nil)
	var (
		g0, fd0     int
		rss0, heap0 float64
		created     int
	)
	heap := func() float64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return float64(ms.HeapInuse) / (1 << 20)
	}
	var g1, fd1 int
	var rss1, heap1 float64
	defer func() {
		soakVerdict(t, "namespace_churn", fmt.Sprintf("scopes=%d goroutines=%d->%d fds=%d->%d rss=%.1f->%.1f heap=%.1f->%.1f",
			created, g0, g1, fd0, fd1, rss0, rss1, heap0, heap1))
	}()
	start := time.Now()
	for wave := range soakChurnWaves {
		names := make([]string, soakChurnWave)
		var dels, kills []func()
		for i := range names {
			names[i] = fmt.Sprintf("w%d-%d", wave, i)
			spec := &messages.SpawnScope{Name: names[i], Desired: benchActorsVeth("c0", "c1", "10.0.0.1/24", "10.0.1.1/24")}
			if i%4 == 3 {
				pid, kill := soakProcess(t)
				kills = append(kills, kill)
				spec.Namespace = &messages.Namespace{Kind: &messages.Namespace_Pid{Pid: uint32(pid)}}
			} else {
				ns, del := soakNetns(t)
				dels = append(dels, del)
				spec.Namespace = benchActorsPath(ns)
			}
			if err := spawnMsg(node, spec); err != nil {
				t.Fatal(err)
			}
			created++
		}
		benchActorsWait(t, node, 30*time.Second, names...)
		for i, name := range names {
			if i%4 != 3 {
				if err := node.Stop(name, false); err != nil {
					t.Fatal(err)
				}
			}
		}
		for _, kill := range kills {
			kill()
		}
		// Every scope stops: by request, or because its process exited.
		deadline := time.Now().Add(20 * time.Second)
		for _, name := range names {
			for {
				st, err := node.Status(name)
				if err != nil {
					t.Fatal(err)
				}
				if st.GetPhase() == messages.Phase_PHASE_STOPPED {
					if !strings.Contains(st.GetReason(), "stopped by request") && !strings.Contains(st.GetReason(), "exited") {
						t.Errorf("scope %s stopped for an unexpected reason: %q", name, st.GetReason())
					}
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("wave %d: scope %s did not stop: %v", wave, name, st)
				}
				time.Sleep(5 * time.Millisecond)
			}
			if err := node.Stop(name, true); err != nil { // forget it
				t.Fatal(err)
			}
		}
		for _, del := range dels {
			del()
		}
		if wave == 0 {
			g0, fd0, rss0, heap0 = soakSettle(0), benchActorsFDs(t), benchActorsRSS(t), heap()
		}
	}
	g1 = soakSettle(g0)
	fd1, rss1, heap1 = benchActorsFDs(t), benchActorsRSS(t), heap()
	t.Logf("%d scopes in %s", created, time.Since(start))
	if g1 > g0 {
		t.Errorf("goroutines grew from %d to %d", g0, g1)
	}
	if fd1 > fd0 {
		t.Errorf("file descriptors grew from %d to %d", fd0, fd1)
	}
	if heap1 > heap0*1.5+4 {
		t.Errorf("heap in use grew from %.1f to %.1f MB", heap0, heap1)
	}
	if rss1 > rss0*1.5+8 {
		t.Errorf("RSS grew from %.1f to %.1f MB", rss0, rss1)
	}
}

// soakKillSet is one desired state of the kill/restart test, written as
// the agent's YAML and kept for the final comparison.
type soakKillSet struct {
	links      []string // every link the scope creates, veth peers included
	addresses  []string
	routes     int
	neighbours []string // IPs
	rules      []int    // priorities
	yaml       string
}

// soakKillConfig returns configuration variant v (0 or 1) of the scope
// named "k" in ns: a bridge, veths, addresses, 20,000 routes, a neighbour
// and a rule, with items the other variant drops.
func soakKillConfig(ns *nstest.NS, state string, metrics string, v int) soakKillSet {
	const routes = 20_000
	var s soakKillSet
	var y strings.Builder
	fmt.Fprintf(&y, "state_dir: %s\nmetrics:\n  listen: %s\napi: {socket: \"off\"}\nscopes:\n  - name: k\n    netns: path:%s\n    desired:\n", state, metrics, ns.Path())
	y.WriteString("      links:\n        - {name: br0, kind: bridge, up: true}\n        - {name: v0a, kind: veth, peer: v0b, master: br0, up: true}\n")
	s.links = []string{"br0", "v0a", "v0b"}
	extra := fmt.Sprintf("v%da", v+1)
	fmt.Fprintf(&y, "        - {name: %s, kind: veth, peer: v%db, up: true}\n", extra, v+1)
	s.links = append(s.links, extra, fmt.Sprintf("v%db", v+1))
	s.addresses = []string{"10.0.42.1/24", fmt.Sprintf("10.0.%d.1/24", 50+v)}
	y.WriteString("      addresses:\n")
	for _, a := range s.addresses {
		fmt.Fprintf(&y, "        - {link: br0, address: %s}\n", a)
	}
	y.WriteString("      routes:\n")
	for i := v * routes / 2; i < v*routes/2+routes; i++ {
		fmt.Fprintf(&y, "        - {dst: %s, via: 10.0.42.254}\n", installDst(i))
	}
	s.routes = routes
	s.neighbours = []string{fmt.Sprintf("10.0.42.%d", 9+v)}
	fmt.Fprintf(&y, "      neighbours:\n        - {link: br0, ip: %s, mac: \"02:aa:bb:cc:dd:0%d\"}\n", s.neighbours[0], v)
	s.rules = []int{200 + v}
	fmt.Fprintf(&y, "      rules:\n        - {from: 10.0.42.0/24, table: 100, priority: %d}\n", s.rules[0])
	s.yaml = y.String()
	return s
}

// soakKillState is what the kill/restart test compares in the namespace.
type soakKillState struct {
	links, addresses, neighbours []string
	rules                        []int
	owned, foreign               int
}

func soakKillRead(t *testing.T, ns *nstest.NS) soakKillState {
	t.Helper()
	var st soakKillState
	var links []struct {
		IfName   string `json:"ifname"`
		AddrInfo []struct {
			Family    string `json:"family"`
			Local     string `json:"local"`
			PrefixLen int    `json:"prefixlen"`
		} `json:"addr_info"`
	}
	ns.JSON(&links, "addr", "show")
	for _, l := range links {
		st.links = append(st.links, l.IfName)
		for _, a := range l.AddrInfo {
			if a.Family == "inet" && a.Local != "127.0.0.1" {
				st.addresses = append(st.addresses, fmt.Sprintf("%s/%d", a.Local, a.PrefixLen))
			}
		}
	}
	var neigh []struct {
		Dst   string   `json:"dst"`
		State []string `json:"state"`
	}
	ns.JSON(&neigh, "neigh", "show", "nud", "permanent")
	for _, n := range neigh {
		st.neighbours = append(st.neighbours, n.Dst)
	}
	var rules []struct {
		Priority int `json:"priority"`
	}
	ns.JSON(&rules, "-4", "rule", "show")
	for _, r := range rules {
		st.rules = append(st.rules, r.Priority)
	}
	sock, err := rtnl.Open(ns.Namespace())
	if err != nil {
		t.Fatal(err)
	}
	defer sock.Close()
	st.owned = len(soakCount(t, sock, rtnl.DefaultProtocol))
	st.foreign = len(soakCount(t, sock, soakForeignProto))
	for _, s := range [][]string{st.links, st.addresses, st.neighbours} {
		slices.Sort(s)
	}
	slices.Sort(st.rules)
	return st
}

// soakKillAgent starts `linx-node run` on config and returns the command.
func soakKillAgent(t *testing.T, bin, config string, stderr io.Writer) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(bin, "run", "--config", config)
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	return cmd
}

const (
	soakKillCycles = 12
	// soakKillWindow is how long after the agent's first route change a
	// kill may come: about what is left of the pass then, so that most
	// kills land during it and the others on a converged agent.
	soakKillWindow = 120 * time.Millisecond
)

// soakKillWant returns the namespace state set converges to beside the
// foreign state.
func soakKillWant(foreign soakKillState, set soakKillSet) soakKillState {
	return soakKillState{
		links:      slices.Sorted(slices.Values(append(slices.Clone(foreign.links), set.links...))),
		addresses:  slices.Sorted(slices.Values(append(slices.Clone(foreign.addresses), set.addresses...))),
		neighbours: slices.Sorted(slices.Values(append(slices.Clone(foreign.neighbours), set.neighbours...))),
		rules:      slices.Sorted(slices.Values(append(slices.Clone(foreign.rules), set.rules...))),
		owned:      set.routes,
		foreign:    foreign.foreign,
	}
}

// soakKillUnowned returns the links, addresses, neighbours and rules of got
// that are neither foreign nor owned by ledger: created by Linx and left
// unowned. A veth's peer (vNb) is covered by its owned veth (vNa), which
// takes it along when deleted. Routes are owned by their protocol.
func soakKillUnowned(got, foreign soakKillState, ledger *reconcile.Ledger) []string {
	o := ledger.Owned()
	var out []string
	for _, l := range got.links {
		if slices.Contains(foreign.links, l) || o.Links.Has(diff.LinkKey{Name: l}) {
			continue
		}
		if peer, ok := strings.CutSuffix(l, "b"); ok && o.Links.Has(diff.LinkKey{Name: peer + "a"}) {
			continue
		}
		out = append(out, "link "+l)
	}
	for _, a := range got.addresses {
		if slices.Contains(foreign.addresses, a) {
			continue
		}
		p := netip.MustParsePrefix(a)
		if !slices.ContainsFunc(slices.Collect(o.Addresses.All()), func(k diff.AddressKey) bool { return k.Prefix == p }) {
			out = append(out, "address "+a)
		}
	}
	for _, n := range got.neighbours {
		if slices.Contains(foreign.neighbours, n) {
			continue
		}
		ip := netip.MustParseAddr(n)
		if !slices.ContainsFunc(slices.Collect(o.Neighbours.All()), func(k diff.NeighbourKey) bool { return k.IP == ip }) {
			out = append(out, "neighbour "+n)
		}
	}
	for _, r := range got.rules {
		if slices.Contains(foreign.rules, r) || r == 0 || r >= 32766 { // the kernel's own
			continue
		}
		if !slices.ContainsFunc(slices.Collect(o.Rules.All()), func(k diff.RuleKey) bool { return int(k.Priority) == r }) {
			out = append(out, "rule "+strconv.Itoa(r))
		}
	}
	return out
}

// TestSoakKillRestart runs the real agent (`linx-node run`) on a namespace
// that also holds foreign state, alternating between two configurations
// that differ in links, addresses, routes, a neighbour and a rule, and
// SIGKILLs it at a random moment of its first passes, 12 times. After
// each kill the ledger on disk must load and own every link, address,
// neighbour and rule in the namespace that is not foreign. A kill counts
// as landing during a pass when the namespace it leaves is neither what
// the cycle started from nor the configuration's full state; at least one
// must. Then the agent runs to readiness on the last configuration and is
// stopped with SIGTERM: the namespace must hold exactly that configuration
// plus the foreign state — nothing Linx created in an earlier run is left
// behind — and the ledger must own exactly its links, addresses,
// neighbours and rules.
func TestSoakKillRestart(t *testing.T) {
	nstest.RequireRoot(t)
	var ledgerLens []string
	notReady, midPass := 0, 0
	defer func() {
		soakVerdict(t, "kill_restart", fmt.Sprintf("cycles=%d killed_mid_pass=%d killed_before_converged=%d ledger_keys_after_each=%s",
			soakKillCycles, midPass, notReady, strings.Join(ledgerLens, ",")))
	}()
	dir := t.TempDir()
	bin := filepath.Join(dir, "linx-node")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/linx-net/linx/cmd/linx-node").CombinedOutput(); err != nil {
		t.Fatalf("building linx-node: %v\n%s", err, out)
	}
	ns := nstest.New(t)
	// Foreign state the agent must never touch.
	ns.Batch("link add f0 type veth peer name f1\nlink set f0 up\naddress add 10.9.0.1/24 dev f0\n" +
		"neigh add 10.9.0.7 lladdr 02:00:00:00:00:07 dev f0 nud permanent\n" +
		"rule add from 10.9.0.0/24 table 300 priority 300\n" +
		fmt.Sprintf("route add 10.99.0.0/16 via 10.9.0.2 proto %d\n", soakForeignProto))
	foreign := soakKillRead(t, ns)

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	metrics := l.Addr().String()
	l.Close()
	state := filepath.Join(dir, "state")
	sets := [2]soakKillSet{}
	paths := [2]string{}
	for v := range sets {
		sets[v] = soakKillConfig(ns, state, metrics, v)
		paths[v] = filepath.Join(dir, fmt.Sprintf("linx-%d.yaml", v))
		if err := os.WriteFile(paths[v], []byte(sets[v].yaml), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	var logs bytes.Buffer
	last := foreign
	for cycle := range soakKillCycles {
		// The kill comes at a random moment after the first route of
		// protocol 76 added or deleted (only the agent writes them: its
		// pass has reached the routes). Subscribed first, so that the
		// change cannot be missed; an overrun counts as the change.
		mon, err := monitor.Open(ns.Namespace())
		if err != nil {
			t.Fatal(err)
		}
		cmd := soakKillAgent(t, bin, paths[cycle%2], &logs)
		timeout := time.After(30 * time.Second)
	wait:
		for {
			select {
			case ev := <-mon.Events():
				if ev.Op == monitor.ResyncNeeded || ev.Route != nil && ev.Route.Protocol == rtnl.DefaultProtocol {
					break wait
				}
			case <-timeout:
				t.Fatalf("cycle %d: the agent changed no route in 30s; its log:\n%s", cycle, logs.String())
			}
		}
		mon.Close()
		time.Sleep(rand2N(soakKillWindow))
		if !soakKillReady(metrics) {
			notReady++
		}
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		_ = cmd.Wait()
		got := soakKillRead(t, ns)
		if s := fmt.Sprint(got); s != fmt.Sprint(last) && s != fmt.Sprint(soakKillWant(foreign, sets[cycle%2])) {
			midPass++
		}
		last = got
		ledger, err := reconcile.OpenLedger(agentLedger(t, state, "k", ns))
		if err != nil {
			t.Fatalf("cycle %d: the ledger does not load after SIGKILL: %v", cycle, err)
		}
		ledgerLens = append(ledgerLens, strconv.Itoa(ledger.Len()))
		if un := soakKillUnowned(got, foreign, ledger); len(un) > 0 {
			t.Errorf("cycle %d: after SIGKILL the namespace holds what neither the foreign writer nor the ledger owns: %v", cycle, un)
		}
	}
	if midPass == 0 {
		t.Errorf("none of the %d SIGKILLs landed during a pass (each left the namespace as the cycle found it or fully converged): the kills tested nothing", soakKillCycles)
	}

	final := sets[(soakKillCycles)%2]
	cmd := soakKillAgent(t, bin, paths[soakKillCycles%2], &logs)
	deadline := time.Now().Add(60 * time.Second)
	for !soakKillReady(metrics) {
		if time.Now().After(deadline) {
			t.Fatalf("the agent never became ready; its log:\n%s", logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("the agent's exit after SIGTERM: %v", err)
	}

	got := soakKillRead(t, ns)
	want := soakKillWant(foreign, final)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("namespace after the kills and a clean run:\n got %+v\nwant %+v", got, want)
	}
	ledger, err := reconcile.OpenLedger(agentLedger(t, state, "k", ns))
	if err != nil {
		t.Fatal(err)
	}
	o := ledger.Owned()
	if o.Addresses.Len() != len(final.addresses) || o.Neighbours.Len() != len(final.neighbours) || o.Rules.Len() != len(final.rules) || o.Links.Len() != 3 {
		t.Errorf("ledger owns %d links, %d addresses, %d neighbours, %d rules; want 3 (br0 and two veths), %d, %d, %d",
			o.Links.Len(), o.Addresses.Len(), o.Neighbours.Len(), o.Rules.Len(), len(final.addresses), len(final.neighbours), len(final.rules))
	}
	ledgerLens = append(ledgerLens, "final="+strconv.Itoa(ledger.Len()))
}

// soakKillReady reports whether the agent serving metrics answers
// /readyz with 200: every scope has converged once.
func soakKillReady(metrics string) bool {
	c := http.Client{Timeout: time.Second}
	resp, err := c.Get("http://" + metrics + "/readyz")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// rand2N returns a random duration in [0, d).
func rand2N(d time.Duration) time.Duration { return time.Duration(mrand.Int64N(int64(d))) }
