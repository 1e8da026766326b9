package reconcile_test

import (
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/linx-net/linx/diff"
	"github.com/linx-net/linx/reconcile"
	"github.com/linx-net/linx/reconcile/fakekernel"
	"github.com/linx-net/linx/rtnl"
)

// countingKernel is a fake kernel that refuses dummy links and counts the
// requests to create d0.
func countingKernel(count *int) *fakekernel.Kernel {
	k := fakekernel.New(rtnl.Host(), rtnl.NamespaceID{Dev: 1, Inode: 1})
	k.SetFault(func(op string, obj any) *rtnl.Error {
		if l, ok := obj.(rtnl.Link); ok && op == "link add" && l.Name == "d0" {
			*count++
		}
		return missingKinds(op, obj)
	})
	return k
}

// Over a simulated minute of passes every 100 ms, an impossible link is
// sent no more often than its backoff allows (1 s doubling, capped at
// 30 s), while every pass still reports it failed with its error and its
// dependents blocked, and what does not depend on it stays converged.
func TestRetriesBoundAFailingObject(t *testing.T) {
	var sent int
	k := countingKernel(&sent)
	l := reconcile.NewLedger()
	retries := reconcile.NewRetries(time.Second, 30*time.Second)
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	d := impossibleLink(true)
	d.Links = d.Links[:len(d.Links)-1] // no v1: the fake has none
	d.Links[2] = reconcile.Link{Name: "v0", Kind: "ifb"}
	passes := 0
	for now := start; now.Before(start.Add(time.Minute)); now = now.Add(100 * time.Millisecond) {
		r, err := reconcile.Pass(k, d, l, reconcile.Options{Retries: retries, Now: now})
		passes++
		if r.Failed == nil || err == nil {
			t.Fatalf("pass at %v: want d0 failed, got %v", now.Sub(start), err)
		}
		if got := reconcile.RefOf(r.Failed.Op); got != (reconcile.Ref{Kind: diff.KindLink, Key: "d0"}) || !isErrno(r.Failed.Err, unix.EOPNOTSUPP) {
			t.Fatalf("pass at %v: failed %v: %v", now.Sub(start), got, r.Failed.Err)
		}
		if len(r.Blocked) != 4 || r.Failed.RetryAt.IsZero() || !r.Failed.RetryAt.After(now) {
			t.Fatalf("pass at %v: blocked %v, retry at %v", now.Sub(start), r.Blocked, r.Failed.RetryAt)
		}
		if passes > 1 && len(r.Applied) != 0 {
			t.Fatalf("pass at %v applied %v", now.Sub(start), r.Applied)
		}
	}
	// The bound: one attempt at the start, then one per backoff period.
	bound := 0
	for at, n := time.Duration(0), 1; at < time.Minute; n++ {
		bound++
		at += retries.Backoff(n)
	}
	t.Logf("%d passes, d0 sent %d times (bound %d)", passes, sent, bound)
	if sent > bound || sent < 2 {
		t.Errorf("d0 sent %d times in %d passes over a minute; the backoff allows %d", sent, passes, bound)
	}
}

// The backoff ends when what the object depends on changes: its desired
// state, or the kernel's links.
func TestRetriesResetOnChange(t *testing.T) {
	var sent int
	k := countingKernel(&sent)
	l := reconcile.NewLedger()
	retries := reconcile.NewRetries(time.Second, 30*time.Second)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	d := reconcile.Desired{Links: []reconcile.Link{{Name: "d0", Kind: "dummy"}}}
	pass := func(d reconcile.Desired) {
		t.Helper()
		if _, err := reconcile.Pass(k, d, l, reconcile.Options{Retries: retries, Now: now}); err == nil {
			t.Fatal("want d0 failed")
		}
		now = now.Add(100 * time.Millisecond)
	}
	pass(d)
	pass(d)
	if sent != 1 {
		t.Fatalf("d0 sent %d times in its first backoff, want 1", sent)
	}
	d.Links[0].MTU = 1400 // the desired object changed
	pass(d)
	if sent != 2 {
		t.Fatalf("after a change of desired state d0 sent %d times, want 2", sent)
	}
	pass(d)
	var b rtnl.Batch
	b.LinkAdd(rtnl.Link{Name: "x0", Kind: "bridge"}) // a link appears
	if err := k.ApplyWith(&b, rtnl.ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	pass(d)
	if sent != 3 {
		t.Fatalf("after a link appeared d0 sent %d times, want 3", sent)
	}
	if got := retries.Failures(reconcile.Ref{Kind: diff.KindLink, Key: "d0"}); got != 1 {
		t.Errorf("failures after a reset = %d, want 1", got)
	}
	pass(reconcile.Desired{Links: []reconcile.Link{{Name: "x1", Kind: "dummy"}}})
	if retries.Failures(reconcile.Ref{Kind: diff.KindLink, Key: "d0"}) != 0 {
		t.Error("d0 still backs off after it is no longer desired")
	}
}

func isErrno(err error, errno unix.Errno) bool {
	e, ok := err.(*rtnl.Error)
	return ok && e.Errno == errno
}
