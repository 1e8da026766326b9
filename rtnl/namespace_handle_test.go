package rtnl_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/linx-net/linx/internal/nstest"
	"github.com/linx-net/linx/rtnl"
)

// Handle gives vishvananda/netns the same namespace Run enters, and
// refuses what is not a namespace without opening it.
func TestNamespaceHandle(t *testing.T) {
	ns := nstest.New(t)
	h, err := ns.Namespace().Handle()
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	want, err := netns.GetFromPath(ns.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer want.Close()
	if !h.Equal(want) {
		t.Fatalf("Handle() = %s, want the namespace at %s (%s)", h, ns.Path(), want)
	}
	id, err := ns.Namespace().ID()
	if err != nil {
		t.Fatal(err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(int(h), &st); err != nil || st.Ino != id.Inode || st.Dev != id.Dev {
		t.Fatalf("handle's file %d:%d, ID %s (%v)", st.Dev, st.Ino, id, err)
	}

	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := rtnl.NamespaceAt(fifo).Handle(); !errors.Is(err, unix.EINVAL) {
		t.Errorf("Handle of a FIFO: %v, want EINVAL", err)
	}
	if _, err := rtnl.NamespaceAt(filepath.Join(t.TempDir(), "gone")).Handle(); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Handle of a missing path: %v, want ENOENT", err)
	}
}
