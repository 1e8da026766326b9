package rtnlsource

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/linx-net/linx/actors/source"
	"github.com/linx-net/linx/actors/supervisor"
	"github.com/linx-net/linx/internal/nstest"
	"github.com/linx-net/linx/reconcile"
	"github.com/linx-net/linx/rtnl"
)

// Factory tells a path: namespace that is not there yet (no file, or the
// empty file `ip netns add` mounts the namespace on) from one that is
// wrong: only the first wraps source.ErrScopeAbsent.
func TestFactoryAbsentNamespace(t *testing.T) {
	dir := t.TempDir()
	empty, full, fifo := filepath.Join(dir, "empty"), filepath.Join(dir, "full"), filepath.Join(dir, "fifo")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(full, []byte("not a namespace\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	factory := Factory(filepath.Join(dir, "state"))
	for _, c := range []struct {
		ns     rtnl.Namespace
		absent bool
	}{
		{rtnl.NamespaceAt(filepath.Join(dir, "missing")), true},
		{rtnl.NamespaceAt(filepath.Join(dir, "no", "such", "dir")), true},
		{rtnl.NamespaceAt(empty), true},
		{rtnl.NamespaceAt(full), false},
		{rtnl.NamespaceAt(fifo), false},
		{rtnl.NamespaceOfPID(1 << 22), false}, // above pid_max: never a process
	} {
		spec := supervisor.Spec{Name: "a", Namespace: c.ns, Desired: reconcile.Desired{}}
		_, err := factory(spec)
		if err == nil {
			t.Errorf("%s: Factory succeeded", c.ns)
			continue
		}
		if got := errors.Is(err, source.ErrScopeAbsent); got != c.absent {
			t.Errorf("%s: %v; absent = %v, want %v", c.ns, err, got, c.absent)
		}
		_, cerr := Claim(spec)
		if got := cerr != nil && errors.Is(cerr, source.ErrScopeAbsent); got != c.absent {
			t.Errorf("%s: Claim: %v; absent = %v, want %v", c.ns, cerr, got, c.absent)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "state")); err == nil {
		entries, _ := os.ReadDir(filepath.Join(dir, "state"))
		if len(entries) != 0 {
			t.Errorf("ledgers written for namespaces that are not there: %v", entries)
		}
	}
}

// Appear fires when the path's nearest existing directory sees the next
// element created, from a directory that does not exist yet down to the
// file itself; a watch that never fires is released by stop.
func TestAppear(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "run", "netns", "x")
	spec := supervisor.Spec{Name: "a", Namespace: rtnl.NamespaceAt(path)}
	step := func(what string, do func() error) {
		t.Helper()
		ch, stop := Appear(spec)
		defer stop()
		if ch == nil {
			t.Fatalf("%s: no watch", what)
		}
		select {
		case <-ch:
			t.Fatalf("%s: fired before anything happened", what)
		default:
		}
		if err := do(); err != nil {
			t.Fatal(err)
		}
		select {
		case <-ch:
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: the watch did not fire", what)
		}
	}
	step("run created", func() error { return os.Mkdir(filepath.Join(dir, "run"), 0o700) })
	step("netns created", func() error { return os.Mkdir(filepath.Join(dir, "run", "netns"), 0o700) })
	step("x created", func() error { return os.WriteFile(path, nil, 0o600) })
	step("x removed", func() error { return os.Remove(path) })
	// Another name in the directory does not fire it.
	ch, stop := Appear(spec)
	if err := os.WriteFile(filepath.Join(dir, "run", "netns", "y"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond)
	select {
	case <-ch:
		t.Error("fired for another name")
	default:
	}
	stop()
	if ch, stop := Appear(supervisor.Spec{Name: "p", Namespace: rtnl.NamespaceOfPID(1)}); ch != nil {
		stop()
		t.Error("a watch for a pid: namespace, which never comes back")
	}
}

// A Source made for a process's namespace takes a pid that names another
// namespace since (the kernel reused the number) as gone for good, not as
// one to wait for; the same for a path is gone and may come back.
func TestAliveNamesIdentity(t *testing.T) {
	pid := nstest.Process(t)
	src, err := New(rtnl.NamespaceOfPID(pid), reconcile.NewLedger(), reconcile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := src.alive(); err != nil {
		t.Fatalf("alive: %v", err)
	}
	src.id.Inode++ // as if the pid now named another namespace
	err = src.alive()
	if !errors.Is(err, source.ErrScopeGone) || errors.Is(err, source.ErrScopeAbsent) {
		t.Errorf("pid reused: %v, want gone for good", err)
	}
	ns := nstest.New(t)
	src, err = New(ns.Namespace(), reconcile.NewLedger(), reconcile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	src.id.Inode++ // as if the path now named a new namespace
	if err := src.alive(); !errors.Is(err, source.ErrScopeGone) || !errors.Is(err, source.ErrScopeAbsent) {
		t.Errorf("path naming a new namespace: %v, want gone and absent", err)
	}
}

// The watch of a path: namespace ends as soon as `ip netns del` removes
// its file, with an error that is gone and absent, although the
// namespace, held by the watch's own socket, sends no event.
func TestWatchEndsWhenNamespaceDeleted(t *testing.T) {
	name := nstest.Name(t)
	nstest.Netns(t, "add", name)
	src, err := New(rtnl.NamespaceAt("/var/run/netns/"+name), reconcile.NewLedger(), reconcile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	w, err := src.Watch(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	nstest.Netns(t, "del", name)
	deadline := time.After(10 * time.Second)
	for open := true; open; {
		select {
		case _, open = <-w.Events():
		case <-deadline:
			t.Fatal("the watch did not end after ip netns del")
		}
	}
	if err := w.Err(); !errors.Is(err, source.ErrScopeGone) || !errors.Is(err, source.ErrScopeAbsent) {
		t.Fatalf("Err = %v, want gone and absent", err)
	}
}
