package supervisor

import (
	"errors"
	"maps"
	"sync/atomic"
	"testing"

	"github.com/linx-net/linx/actors/internal/fakesource"
	"github.com/linx-net/linx/messages"
)

// badDesired is a desired state whose own Validate fails.
type badDesired struct{}

type badError struct{}

func (badError) Error() string { return "bad desired state" }

func (badDesired) Validate() error { return badError{} }

// TestSpawnGoSpec drives the node in Go types only: a Spec spawns, an
// Update replaces the desired state, and Config.Check runs once per spawn
// and per update, never per pass; what it returns is what the passes get.
func TestSpawnGoSpec(t *testing.T) {
	var checks atomic.Int32
	h := newHarness(t, Config{Check: func(d any) (any, error) {
		checks.Add(1)
		return d, nil
	}})
	if err := h.node.Spawn(Spec{Name: "a", Desired: fakesource.Desired{"eth0/10.0.0.2/24": "up"}}); err != nil {
		t.Fatal(err)
	}
	src := <-h.fresh
	h.waitFor("a", "converged", converged)
	if err := h.node.Update("a", fakesource.Desired{"eth0/10.0.0.3/24": "up"}); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"eth0/10.0.0.3/24": "up"}
	waitUntil(t, "the update applied", func() bool { return maps.Equal(src.Kernel(), want) })
	h.waitFor("a", "converged", converged)
	if n := checks.Load(); n != 2 {
		t.Errorf("Check ran %d times for one spawn and one update, want 2", n)
	}
	if st := h.status("a"); st.GetPasses() < 2 {
		t.Errorf("passes = %d, want at least 2", st.GetPasses())
	}
}

// TestSpawnRefusesInvalidSpec: without Config.Check the node calls the
// desired state's own Validate once, and Spawn and Update return its error
// itself, wrapped, for errors.As.
func TestSpawnRefusesInvalidSpec(t *testing.T) {
	h := newHarness(t, Config{})
	var bad badError
	err := h.node.Spawn(Spec{Name: "a", Desired: badDesired{}})
	if !errors.As(err, &bad) {
		t.Fatalf("Spawn of an invalid spec = %v, want the Validate error", err)
	}
	if _, err := h.node.Status("a"); err == nil {
		t.Error("the refused scope is listed")
	}
	h.spawn(&messages.SpawnScope{Name: "b"})
	if err := h.node.Update("b", badDesired{}); !errors.As(err, &bad) {
		t.Fatalf("Update to an invalid state = %v, want the Validate error", err)
	}
}
