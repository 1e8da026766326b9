package integration

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/linx-net/linx/client"
	"github.com/linx-net/linx/internal/nstest"
	"github.com/linx-net/linx/messages"
)

// TestAgentStopsWithSubscriber sends SIGTERM to an agent while a
// controller is subscribed to its statuses: the scopes stop first, their
// STOPPED statuses reach the subscriber over the message API, and only
// then does the API close. The agent exits 0 within 20 s, half its stop
// bound (the default pass timeout plus a 10 s margin), which a stop that
// hangs would wait out.
func TestAgentStopsWithSubscriber(t *testing.T) {
	nstest.RequireRoot(t)
	bin := agentBuild(t)
	ns := nstest.New(t)
	path, _ := agentConfig(t, t.TempDir(), agentScope("a", ns, "1h", "      addresses: [{link: lo, address: 10.66.0.1/32}]\n"))
	agentAppendAPI(t, path)
	p := agentStart(t, bin, path)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, fleetAPIAddr(t, p))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ch, stop, err := c.Subscribe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	fleetWait(t, ch, "a", "converged", converged)

	start := time.Now()
	p.signal(syscall.SIGTERM)
	fleetWait(t, ch, "a", "stopped", func(st *messages.ScopeStatus) bool {
		return st.GetPhase() == messages.Phase_PHASE_STOPPED
	})
	select {
	case <-p.done:
	case <-time.After(20 * time.Second):
		t.Fatal("the agent did not exit within 20 s of SIGTERM with a subscriber")
	}
	if p.err != nil {
		t.Fatalf("the agent exited with %v after SIGTERM, after %v", p.err, time.Since(start))
	}
}
