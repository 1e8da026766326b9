package rtnlsource

import (
	"context"
	"testing"
	"time"

	"github.com/linx-net/linx/internal/nstest"
	"github.com/linx-net/linx/rtnl/reconcile"
)

// TestWatchEndIsAnError closes the watch's rtnetlink monitor under it, as
// a dead subscription would: Events must close and Err must say why, so
// that the monitor actor restarts the scope. Close afterwards still
// reports a clean end.
func TestWatchEndIsAnError(t *testing.T) {
	ns := nstest.New(t)
	src, err := New(ns.Namespace(), reconcile.NewLedger(), reconcile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	sw, err := src.Watch(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	w := sw.(*watch)
	if err := w.m.Close(); err != nil {
		t.Fatal(err)
	}
	timeout := time.After(5 * time.Second)
	for open := true; open; {
		select {
		case _, open = <-w.Events():
		case <-timeout:
			t.Fatal("Events still open after the monitor ended")
		}
	}
	if w.Err() == nil {
		t.Fatal("the watch ended by itself with Err() == nil")
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Err(); err != nil {
		t.Fatalf("Err after Close = %v; want nil", err)
	}
}
