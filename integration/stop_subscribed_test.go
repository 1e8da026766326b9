package integration

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/linx-net/linx/client"
	"github.com/linx-net/linx/internal/nstest"
)

// TestAgentStopsWithSubscriber sends SIGTERM to an agent while a
// controller is subscribed to its statuses. The scopes stop first, and
// publish their STOPPED statuses while the message API is still up (their
// delivery is not waited for: the API closes right after); publishing
// through a closed API made protoactor panic inside the node, whose stop
// then hung. The agent must exit 0 within 20 s, half its stop bound (the
// default pass timeout plus a 10 s margin), which a hung stop waits out.
func TestAgentStopsWithSubscriber(t *testing.T) {
	nstest.RequireRoot(t)
	bin := agentBuild(t)
	ns := nstest.New(t)
	path, _ := agentConfig(t, t.TempDir(), agentScope("a", ns, "1h", "      addresses: [{link: lo, address: 10.66.0.1/32}]\n"))
	tlsOpt := agentAppendTLSAPI(t, path)
	p := agentStart(t, bin, path)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, fleetAPIAddr(t, p), tlsOpt)
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
	go func() { // keep the subscription read
		for range ch {
		}
	}()

	start := time.Now()
	p.signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(20 * time.Second):
		t.Fatal("the agent did not exit within 20 s of SIGTERM with a subscriber")
	}
	if p.err != nil {
		t.Fatalf("the agent exited with %v after SIGTERM, after %v", p.err, time.Since(start))
	}
}
