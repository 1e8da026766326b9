package rtnl_test

import (
	"errors"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/linx-net/linx/internal/nstest"
	"github.com/linx-net/linx/rtnl"
	"github.com/linx-net/linx/rtnl/monitor"
)

// TestNamespaceNotNsfs: a FIFO, a regular file or a directory given as a
// namespace path is refused at once by ID, Open, Run and monitor.Open,
// with EINVAL and an error saying what the file is. Opening a FIFO for
// reading would block until a writer came: the check must never open it
// so, and no thread may be left blocked (the thread count is back where
// it was after 40 tries).
func TestNamespaceNotNsfs(t *testing.T) {
	nstest.RequireRoot(t)
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, []byte("not a namespace"), 0o600); err != nil {
		t.Fatal(err)
	}
	threads := pprof.Lookup("threadcreate")
	before := threads.Count()
	for _, c := range []struct{ path, what string }{{fifo, "FIFO"}, {file, "regular file"}, {dir, "directory"}} {
		ns := rtnl.NamespaceAt(c.path)
		check := func(name string, err error) {
			t.Helper()
			var re *rtnl.Error
			if !errors.As(err, &re) || !errors.Is(err, syscall.EINVAL) {
				t.Fatalf("%s(%s) = %v, want an *rtnl.Error with EINVAL", name, c.path, err)
			}
			if !strings.Contains(err.Error(), "not a namespace file") || !strings.Contains(err.Error(), c.what) {
				t.Fatalf("%s(%s) = %q, want it to say the %s is not a namespace file", name, c.path, err, c.what)
			}
		}
		for i := 0; i < 10; i++ {
			_, err := ns.ID()
			check("ID", err)
			_, err = rtnl.Open(ns)
			check("Open", err)
			check("Run", ns.Run(func() error { return nil }))
			_, err = monitor.Open(ns)
			check("monitor.Open", err)
		}
	}
	// Threads that entered a namespace end with their goroutine; none
	// should have been created here at all, since nothing was entered.
	if after := threads.Count(); after > before+2 {
		t.Fatalf("threads created: %d before, %d after 120 refused opens", before, after)
	}
}

// TestNamespaceID: the same namespace has the same ID whatever names it,
// a socket opened in it reports that ID with a cookie, and two namespaces
// differ.
func TestNamespaceID(t *testing.T) {
	a, b := nstest.New(t), nstest.New(t)
	idA, err := a.Namespace().ID()
	if err != nil {
		t.Fatal(err)
	}
	idB, err := b.Namespace().ID()
	if err != nil {
		t.Fatal(err)
	}
	if idA.IsZero() || idA.Same(idB) {
		t.Fatalf("IDs %v and %v of two namespaces", idA, idB)
	}
	s := a.Open()
	got := s.NamespaceID()
	if got.Cookie == 0 || !got.Same(idA) || got.Dev != idA.Dev || got.Inode != idA.Inode {
		t.Fatalf("socket in %s: NamespaceID %v, want %v with a cookie", a.Name, got, idA)
	}
	host, err := rtnl.Host().ID()
	if err != nil {
		t.Fatal(err)
	}
	if host.Same(idA) {
		t.Fatalf("host %v same as %v", host, idA)
	}
	if _, err := rtnl.NamespaceOfPID(1 << 30).ID(); !errors.Is(err, syscall.ESRCH) {
		t.Fatalf("ID of a missing pid: %v, want ESRCH", err)
	}
}
