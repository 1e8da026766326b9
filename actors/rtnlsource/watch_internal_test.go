package rtnlsource

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/linx-net/linx/actors/source"
	"github.com/linx-net/linx/actors/supervisor"
	"github.com/linx-net/linx/internal/nstest"
	"github.com/linx-net/linx/reconcile"
	"github.com/linx-net/linx/rtnl"
	"github.com/linx-net/linx/rtnl/monitor"
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

// TestWithMonitor checks that WithMonitor reaches the monitor a watch
// opens: with the smallest receive buffer the kernel allows, a burst of
// route changes overruns it, and the watch reports the overrun and asks
// for a resync, where the default buffer holds the same burst.
func TestWithMonitor(t *testing.T) {
	burst := func(ns *nstest.NS) {
		var b strings.Builder
		for i := range 1000 {
			fmt.Fprintf(&b, "route add blackhole 10.%d.%d.0/24\n", i>>8, i&255)
		}
		ns.Batch(b.String())
	}
	open := func(t *testing.T, opts ...Option) (*nstest.NS, *watch) {
		ns := nstest.New(t)
		src, err := New(ns.Namespace(), reconcile.NewLedger(), reconcile.Options{}, opts...)
		if err != nil {
			t.Fatal(err)
		}
		sw, err := src.Watch(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { sw.Close() })
		return ns, sw.(*watch)
	}

	overruns := func(t *testing.T, ns *nstest.NS, w *watch) {
		t.Helper()
		burst(ns)
		resync := false
		for deadline := time.After(5 * time.Second); !resync; {
			select {
			case ev := <-w.Events():
				resync = ev == source.Resync
			case <-deadline:
				t.Fatalf("no resync after a burst into the smallest buffer (overruns %d)", w.Overruns())
			}
		}
		if w.Overruns() == 0 {
			t.Fatal("a resync but no overrun counted")
		}
	}

	ns, w := open(t, WithMonitor(monitor.WithReceiveBuffer(1)))
	overruns(t, ns, w)

	// Through Factory, as the agent makes sources: the spawn message's
	// monitor_buffer, for that scope alone (one factory serves them all).
	factory := Factory("")
	spawn := func(name string, buffer uint32) (*nstest.NS, *watch) {
		fns := nstest.New(t)
		src, err := factory(supervisor.Spec{
			Name:      name,
			Namespace: rtnl.NamespaceAt(fns.Path()),
			Source:    Settings{MonitorBuffer: int(buffer)},
		})
		if err != nil {
			t.Fatal(err)
		}
		if n := len(src.(*Source).monitor); (buffer == 0) != (n == 0) || n > 1 {
			t.Fatalf("scope %s (monitor_buffer %d) has %d monitor options", name, buffer, n)
		}
		sw, err := src.Watch(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { sw.Close() })
		return fns, sw.(*watch)
	}
	fns, fw := spawn("small", 1)
	overruns(t, fns, fw)
	spawn("small2", 1)
	spawn("plain", 0)

	ns, w = open(t)
	burst(ns)
	// Drain what the burst woke, then check nothing was lost.
	for quiet := time.After(300 * time.Millisecond); ; {
		select {
		case <-w.Events():
			continue
		case <-quiet:
		}
		break
	}
	if n := w.Overruns(); n != 0 {
		t.Fatalf("the default buffer overran %d times on 1000 changes", n)
	}
}
