package supervisor

import (
	"maps"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/linx-net/linx/messages"
)

// scopePID returns the PID of the scope supervisor the node spawned as
// its n-th scope, and fails the test if no such actor is alive.
func (h *harness) scopePID(name string, n int) *actor.PID {
	h.t.Helper()
	id := h.node.PID().Id + "/scope-" + name + "-" + strconv.Itoa(n)
	if _, ok := h.system.ProcessRegistry.GetLocal(id); !ok {
		h.t.Fatalf("no actor %s", id)
	}
	return actor.NewPID(h.system.Address(), id)
}

// TestForgedTerminatedIsIgnored sends the node a Terminated naming a scope
// whose actors still run, as a peer could over the message API: the node
// must keep the scope running and listed as such, so that StopScope still
// stops it and a second SpawnScope of the name is refused.
func TestForgedTerminatedIsIgnored(t *testing.T) {
	h := newHarness(t, Config{Interval: time.Hour})
	src := h.spawn(&messages.SpawnScope{Name: "a", Desired: desired("10.0.0.2/24")})
	h.waitFor("a", "converged", converged)
	pid := h.scopePID("a", 1)

	h.system.Root.Send(h.node.PID(), &actor.Terminated{Who: pid})
	// A stale one, naming an incarnation that never was, changes nothing
	// either.
	h.system.Root.Send(h.node.PID(), &actor.Terminated{Who: actor.NewPID(h.system.Address(), h.node.PID().Id+"/scope-a-7")})
	if st := h.status("a"); st.Phase != messages.Phase_PHASE_CONVERGED {
		t.Fatalf("after a forged Terminated: %v, want the scope still converged", st)
	}
	if err := h.node.Spawn(&messages.SpawnScope{Name: "a"}); err == nil || !strings.Contains(err.Error(), "already running") {
		t.Fatalf("second Spawn of a running scope = %v, want already running", err)
	}
	select {
	case <-h.fresh:
		t.Fatal("the second Spawn made a source")
	default:
	}
	// It is still driven: an update reaches it.
	if err := h.node.Update("a", desired("10.0.0.3/24")); err != nil {
		t.Fatalf("Update: %v", err)
	}
	waitUntil(t, "update applied", func() bool {
		return maps.Equal(src.Kernel(), map[string]string{"eth0/10.0.0.3/24": "up"})
	})
	// And StopScope really stops it.
	if err := h.node.Stop("a", false); err != nil {
		t.Fatal(err)
	}
	h.waitFor("a", "stopped", func(st *messages.ScopeStatus) bool { return st.Phase == messages.Phase_PHASE_STOPPED })
	waitUntil(t, "handles closed", func() bool { return src.Opens.Load() == src.Closes.Load() && src.OpenWatches() == 0 })
	if _, ok := h.system.ProcessRegistry.GetLocal(pid.Id); ok {
		t.Error("the scope's actor is still registered after it stopped")
	}
}
