package reconcile_test

import (
	"testing"

	"github.com/linx-net/linx/reconcile"
	"github.com/linx-net/linx/reconcile/fakekernel"
	"github.com/linx-net/linx/rtnl"
)

// mutingKernel is a fake kernel that is a reconcile.RouteMuter, with
// mute as its MuteRoutes.
type mutingKernel struct {
	*fakekernel.Kernel
	mute func() func()
}

func (k mutingKernel) MuteRoutes() func() { return k.mute() }

// TestMuteRoutes: a pass over a RouteMuter mutes around a batch of at
// least BulkRoutes route operations, creates and deletes alike, and
// unmutes once they are all sent; not for a smaller batch, and never in a
// Plan.
func TestMuteRoutes(t *testing.T) {
	fk := fakekernel.New(rtnl.Host(), rtnl.NamespaceID{Dev: 1, Inode: 1})
	l := reconcile.NewLedger()
	own := func() int {
		rs, err := fk.RoutesFiltered(rtnl.RouteFilter{Protocol: rtnl.DefaultProtocol})
		if err != nil {
			t.Fatal(err)
		}
		return len(rs)
	}
	type mute struct{ before, after int }
	var mutes []mute
	k := mutingKernel{fk, func() func() {
		mutes = append(mutes, mute{before: own(), after: -1})
		i := len(mutes) - 1
		return func() { mutes[i].after = own() }
	}}
	var o reconcile.Options
	pass := func(d reconcile.Desired) {
		t.Helper()
		if _, err := reconcile.Pass(k, d, l, o); err != nil {
			t.Fatal(err)
		}
	}
	bulk := validatedDesired(reconcile.BulkRoutes)

	if _, err := reconcile.Plan(k, bulk, l, o); err != nil {
		t.Fatal(err)
	}
	if len(mutes) != 0 {
		t.Fatalf("Plan muted routes: %v", mutes)
	}
	pass(validatedDesired(reconcile.BulkRoutes - 1))
	if len(mutes) != 0 || own() != reconcile.BulkRoutes-1 {
		t.Fatalf("a pass of %d route creates muted routes (%v), or left %d routes", reconcile.BulkRoutes-1, mutes, own())
	}
	pass(validatedDesired(0))
	if len(mutes) != 0 || own() != 0 {
		t.Fatalf("a pass of %d route deletes muted routes (%v), or left %d routes", reconcile.BulkRoutes-1, mutes, own())
	}

	pass(bulk)
	if len(mutes) != 1 || mutes[0] != (mute{before: 0, after: reconcile.BulkRoutes}) {
		t.Fatalf("a pass of %d route creates: mutes %v, want one from 0 routes to %d", reconcile.BulkRoutes, mutes, reconcile.BulkRoutes)
	}
	pass(bulk)
	if len(mutes) != 1 {
		t.Fatalf("a converged pass muted routes: %v", mutes)
	}
	pass(validatedDesired(0))
	if len(mutes) != 2 || mutes[1] != (mute{before: reconcile.BulkRoutes, after: 0}) {
		t.Fatalf("a pass of %d route deletes: mutes %v, want a second from %d routes to 0", reconcile.BulkRoutes, mutes, reconcile.BulkRoutes)
	}
}
