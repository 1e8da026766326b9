package rtnlsource_test

import (
	"net/netip"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"go.uber.org/goleak"

	"github.com/linx-net/linx/actors/internal/crash"
	"github.com/linx-net/linx/actors/supervisor"
	"github.com/linx-net/linx/api/convert"
	"github.com/linx-net/linx/internal/nstest"
	"github.com/linx-net/linx/messages"
	"github.com/linx-net/linx/reconcile"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreTopFunction("github.com/asynkron/protoactor-go/actor.NewDeadLetter.NewThrottle.func4.1"),
	)
}

// startNode starts a node with the default restart limit; see
// supervisedNode.
func startNode(t *testing.T) (*actor.ActorSystem, *supervisor.Node) {
	t.Helper()
	system, node, _ := supervisedNode(t, 0)
	return system, node
}

func waitPhase(t *testing.T, node *supervisor.Node, name string, phase messages.Phase) *messages.ScopeStatus {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, err := node.Status(name)
		if err != nil {
			t.Fatal(err)
		}
		if st.Phase == phase {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("scope %s: want %v, have %v", name, phase, st)
		}
		time.Sleep(time.Millisecond)
	}
}

type ipAddr struct {
	IfName   string `json:"ifname"`
	AddrInfo []struct {
		Local     string `json:"local"`
		PrefixLen int    `json:"prefixlen"`
	} `json:"addr_info"`
}

func hasAddr(ns *nstest.NS, dev, addr string) bool {
	var links []ipAddr
	ns.JSON(&links, "addr", "show", "dev", dev)
	for _, l := range links {
		for _, a := range l.AddrInfo {
			if a.Local+"/"+strconv.Itoa(a.PrefixLen) == addr {
				return true
			}
		}
	}
	return false
}

func linkIndex(t *testing.T, ns *nstest.NS, name string) int {
	t.Helper()
	var links []struct {
		IfIndex int `json:"ifindex"`
	}
	ns.JSON(&links, "link", "show", "dev", name)
	if len(links) != 1 {
		t.Fatalf("link %s: %d entries", name, len(links))
	}
	return links[0].IfIndex
}

func TestScopeConvergesAndSelfHeals(t *testing.T) {
	ns := nstest.New(t)
	system, node := startNode(t)
	up := true
	err := spawnMsg(node, &messages.SpawnScope{
		Name:      "a",
		Namespace: &messages.Namespace{Kind: &messages.Namespace_Path{Path: ns.Path()}},
		Desired: &messages.Desired{
			Links: []*messages.Link{{
				Name: "a0", Kind: "veth", Up: &up,
				Settings: &messages.Link_Veth{Veth: &messages.Veth{Peer: "a1"}},
			}},
			Addresses: []*messages.Address{{Link: "a0", Address: "10.0.0.2/24"}},
			Routes:    []*messages.Route{{Dst: "10.1.0.0/16", Via: "10.0.0.1"}},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	st := waitPhase(t, node, "a", messages.Phase_PHASE_CONVERGED)
	if st.OpsApplied == 0 && st.Passes == 1 {
		t.Errorf("first pass applied nothing: %v", st)
	}
	if !hasAddr(ns, "a0", "10.0.0.2/24") {
		t.Fatal("address not applied, per ip -j addr")
	}
	for i := range 5 {
		ns.IP("addr", "del", "10.0.0.2/24", "dev", "a0")
		start := time.Now()
		for !hasAddr(ns, "a0", "10.0.0.2/24") {
			if time.Since(start) > 2*time.Second {
				t.Fatalf("round %d: address deleted by hand not restored within 2 s (interval is 1 h)", i)
			}
			time.Sleep(time.Millisecond)
		}
	}
	// Crashes restart the subtree, which resyncs with the ledger kept: the
	// veth it created is neither lost nor re-created.
	index := linkIndex(t, ns, "a0")
	for i, who := range []string{"socket", "monitor", "reconciler", "socket", "monitor", "reconciler"} {
		v, err := system.Root.RequestFuture(node.PID(), &crash.Inject{Scope: "a", Actor: who, Reason: "test"}, time.Second).Result()
		if err != nil || v.(*messages.Ack).GetError() != "" {
			t.Fatalf("inject %s: %v %v", who, err, v)
		}
		deadline := time.Now().Add(10 * time.Second)
		for {
			st, err := node.Status("a")
			if err != nil {
				t.Fatal(err)
			}
			if st.Restarts == uint32(i+1) && st.Phase == messages.Phase_PHASE_CONVERGED {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("crash %d (%s): not converged again: %v", i, who, st)
			}
			time.Sleep(time.Millisecond)
		}
	}
	if got := linkIndex(t, ns, "a0"); got != index {
		t.Errorf("a0 re-created across restarts: index %d, was %d", got, index)
	}
	ns.IP("addr", "del", "10.0.0.2/24", "dev", "a0")
	for start := time.Now(); !hasAddr(ns, "a0", "10.0.0.2/24"); time.Sleep(time.Millisecond) {
		if time.Since(start) > 2*time.Second {
			t.Fatal("after restarts, a deleted address is not restored")
		}
	}

	// The ledger owns the veth: emptying the desired state deletes it.
	if err := updateMsg(node, "a", &messages.Desired{}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		out := ns.IP("-br", "link", "show")
		if !strings.Contains(out, "a0") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("owned veth not deleted after desired emptied:\n%s", out)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestProcessExitStopsScope(t *testing.T) {
	pid := nstest.Process(t)
	_, node := startNode(t)
	err := spawnMsg(node, &messages.SpawnScope{
		Name:      "p",
		Namespace: &messages.Namespace{Kind: &messages.Namespace_Pid{Pid: uint32(pid)}},
		Desired:   &messages.Desired{Addresses: []*messages.Address{{Link: "lo", Address: "10.9.9.9/32"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	waitPhase(t, node, "p", messages.Phase_PHASE_CONVERGED)
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	st := waitPhase(t, node, "p", messages.Phase_PHASE_STOPPED)
	if !strings.Contains(st.Reason, "exited") || st.Restarts != 0 {
		t.Errorf("stopped with reason %q after %d restarts; want the process exit, no restart", st.Reason, st.Restarts)
	}
}

func TestDesiredFromProtoReportsEveryProblem(t *testing.T) {
	_, err := convert.DesiredFromProto(&messages.Desired{
		Addresses:  []*messages.Address{{Link: "eth0", Address: "10.0.0.300/24"}},
		Neighbours: []*messages.Neighbour{{Link: "eth0", Ip: "10.0.0.1", Mac: "zz"}},
	})
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"addresses[0].address", "10.0.0.300/24", "neighbours[0].mac"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	d, err := convert.DesiredFromProto(&messages.Desired{
		Routes: []*messages.Route{{Dst: "default", Via: "fd00::1"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if r := d.(reconcile.Desired).Routes[0]; r.Dst != netip.MustParsePrefix("::/0") {
		t.Errorf("default route via fd00::1: dst %v, want ::/0", r.Dst)
	}
}
