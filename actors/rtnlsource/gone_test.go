package rtnlsource

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/netip"
	"os/exec"
	"testing"

	"github.com/linx-net/linx/actors/source"
	"github.com/linx-net/linx/internal/nstest"
	"github.com/linx-net/linx/reconcile"
	"github.com/linx-net/linx/rtnl"
)

// A failed pass in a namespace that still exists is an ordinary failure,
// whatever its errno; only a namespace that is really gone stops the scope.
func TestPassGoneOnlyWhenNamespaceIs(t *testing.T) {
	nstest.RequireRoot(t)
	var b [5]byte
	_, _ = rand.Read(b[:])
	name := nstest.Prefix + hex.EncodeToString(b[:])
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add: %v: %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", name).Run() }) // may be gone already
	src, err := New(rtnl.NamespaceAt("/var/run/netns/"+name), reconcile.NewLedger(), reconcile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	h, err := src.Open(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	// A route through an interface that does not exist fails the pass.
	bad := reconcile.Desired{Routes: []reconcile.Route{{Dst: netip.MustParsePrefix("10.9.0.0/16"), Dev: "nope0"}}}
	rep := src.Pass(context.Background(), h, bad)
	if rep.Err == nil || errors.Is(rep.Err, source.ErrScopeGone) {
		t.Fatalf("pass in a live namespace: %v, want a failure that is not ErrScopeGone", rep.Err)
	}
	if out, err := exec.Command("ip", "netns", "del", name).CombinedOutput(); err != nil {
		t.Fatalf("ip netns del: %v: %s", err, out)
	}
	// The socket keeps the namespace alive, but its name is gone.
	rep = src.Pass(context.Background(), h, reconcile.Desired{})
	if !errors.Is(rep.Err, source.ErrScopeGone) {
		t.Fatalf("pass after the namespace was removed: %v, want ErrScopeGone", rep.Err)
	}
}
