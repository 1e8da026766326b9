package supervisor

import (
	"strings"
	"testing"
	"time"

	"github.com/linx-net/linx/actors/internal/fakesource"
	"github.com/linx-net/linx/messages"
)

// TestClaimsRefuseOverlap checks the node's one-owner rule with a Claim
// that reads the namespace from the path and the protocol from the spec,
// plus one protocol per desired address (a stand-in for route overrides):
// overlapping spawns and updates are refused naming the owner; a stopped
// owner frees its claim.
func TestClaimsRefuseOverlap(t *testing.T) {
	h := newHarness(t, Config{Interval: time.Hour, Claim: func(spec Spec) (Claim, error) {
		m := spec.Source.(*messages.SpawnScope)
		c := Claim{Namespace: m.GetNamespace().GetPath(), Protocols: []uint8{uint8(m.GetProtocol())}}
		for k := range spec.Desired.(fakesource.Desired) {
			if strings.HasSuffix(k, "/10.0.0.99/24") {
				c.Protocols = append(c.Protocols, 99)
			}
		}
		return c, nil
	}})
	ns := func(p string) *messages.Namespace {
		return &messages.Namespace{Kind: &messages.Namespace_Path{Path: p}}
	}
	h.spawn(&messages.SpawnScope{Name: "a", Namespace: ns("x"), Protocol: 76, Desired: desired("10.0.0.1/24")})
	err := h.spawnMsg(&messages.SpawnScope{Name: "b", Namespace: ns("x"), Protocol: 76})
	if err == nil || !strings.Contains(err.Error(), `scope "a" already owns route protocol 76`) {
		t.Fatalf("overlapping spawn: %v", err)
	}
	h.spawn(&messages.SpawnScope{Name: "c", Namespace: ns("y"), Protocol: 76})
	h.spawn(&messages.SpawnScope{Name: "d", Namespace: ns("x"), Protocol: 77})
	// d takes protocol 99 by update; then a may not.
	if err := h.updateMsg("d", desired("10.0.0.99/24")); err != nil {
		t.Fatalf("update of d: %v", err)
	}
	if err := h.updateMsg("a", desired("10.0.0.99/24")); err == nil || !strings.Contains(err.Error(), `scope "d" already owns route protocol 99`) {
		t.Fatalf("overlapping update: %v", err)
	}
	if err := h.node.Stop("a", true); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		l, err := h.node.List()
		if err != nil {
			t.Fatal(err)
		}
		if len(l) == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a never left: %v", l)
		}
		time.Sleep(5 * time.Millisecond)
	}
	h.spawn(&messages.SpawnScope{Name: "b", Namespace: ns("x"), Protocol: 76})
}
