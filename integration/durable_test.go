package integration

import (
	"context"
	"slices"
	"syscall"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/linx-net/linx/client"
	"github.com/linx-net/linx/internal/nstest"
	"github.com/linx-net/linx/messages"
)

// A scope spawned through the message API outlives the agent: SIGKILLed
// (no chance to save anything on the way out) and started again, the
// agent resumes it from its record and repairs what was deleted while it
// was down.
func TestAgentKilledResumesAPIScopes(t *testing.T) {
	ns := nstest.New(t)
	bin := agentBuild(t)
	path, _ := agentConfig(t, t.TempDir())
	p := agentStart(t, bin, path)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := client.DialSocket(ctx, agentSocket(path))
	if err != nil {
		t.Fatal(err)
	}
	err = c.Spawn(ctx, &messages.SpawnScope{
		Name:      "api1",
		Namespace: &messages.Namespace{Kind: &messages.Namespace_Path{Path: ns.Path()}},
		Interval:  durationpb.New(time.Hour),
		Desired:   &messages.Desired{Addresses: []*messages.Address{{Link: "lo", Address: "10.61.0.1/32"}}},
	})
	c.Close()
	if err != nil {
		t.Fatal(err)
	}
	has := func() bool { return slices.Contains(agentAddrs(ns, "lo"), "10.61.0.1/32") }
	waitFor(t, "the API scope's address", has)

	p.signal(syscall.SIGKILL)
	<-p.done
	ns.IP("address", "del", "10.61.0.1/32", "dev", "lo")
	if has() {
		t.Fatal("the address is still there after deleting it")
	}

	p = agentStart(t, bin, path)
	waitFor(t, "the resumed scope to put the address back", has)
	c, err = client.DialSocket(ctx, agentSocket(path))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	st, err := c.Status(ctx, "api1")
	if err != nil {
		t.Fatalf("status of the resumed scope: %v", err)
	}
	if st.GetPhase() != messages.Phase_PHASE_CONVERGED {
		t.Errorf("resumed scope: %v", st)
	}
	p.stop()
}

// waitFor polls cond for up to 15 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
