package rtnlsource_test

import (
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/linx-net/linx/internal/nstest"
	"github.com/linx-net/linx/messages"
)

// TestIntervalWithoutMonitor runs two scopes with event wake-ups off
// (ScopeOptions.NoMonitor) against the kernel: one on the node's interval
// of an hour, which leaves an address deleted by hand alone, and one whose
// own interval of 200 ms restores it on the next timer pass.
func TestIntervalWithoutMonitor(t *testing.T) {
	_, node := startNode(t)
	spawn := func(name string, interval time.Duration) *nstest.NS {
		ns := nstest.New(t)
		ns.IP("link", "add", "a0", "type", "veth", "peer", "name", "a1")
		spec := &messages.SpawnScope{
			Name:      name,
			Namespace: &messages.Namespace{Kind: &messages.Namespace_Path{Path: ns.Path()}},
			Desired:   &messages.Desired{Addresses: []*messages.Address{{Link: "a0", Address: "10.0.0.2/24"}}},
			Options:   &messages.ScopeOptions{NoMonitor: true},
		}
		if interval > 0 {
			spec.Interval = durationpb.New(interval)
		}
		if err := spawnMsg(node, spec); err != nil {
			t.Fatal(err)
		}
		waitPhase(t, node, name, messages.Phase_PHASE_CONVERGED)
		if !hasAddr(ns, "a0", "10.0.0.2/24") {
			t.Fatalf("scope %s: address not applied, per ip -j addr", name)
		}
		return ns
	}

	// No monitor, no timer within the test: nothing repairs.
	idle := spawn("idle", 0)
	st, err := node.Status("idle")
	if err != nil {
		t.Fatal(err)
	}
	passes := st.Passes
	idle.IP("addr", "del", "10.0.0.2/24", "dev", "a0")
	time.Sleep(500 * time.Millisecond)
	if hasAddr(idle, "a0", "10.0.0.2/24") {
		t.Fatal("with the monitor off and an hour's interval, the deleted address came back: something still wakes the scope")
	}
	if st, err := node.Status("idle"); err != nil || st.Passes != passes {
		t.Fatalf("passes went from %d to %v (%v); want no pass", passes, st, err)
	}

	// The scope's own interval repairs.
	timed := spawn("timed", 200*time.Millisecond)
	for i := range 3 {
		timed.IP("addr", "del", "10.0.0.2/24", "dev", "a0")
		for start := time.Now(); !hasAddr(timed, "a0", "10.0.0.2/24"); time.Sleep(5 * time.Millisecond) {
			if time.Since(start) > 5*time.Second {
				t.Fatalf("round %d: the deleted address was not restored within 5 s on a 200 ms interval", i)
			}
		}
	}
}
