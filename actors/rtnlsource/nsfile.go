package rtnlsource

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"

	"github.com/linx-net/linx/actors/source"
	"github.com/linx-net/linx/actors/supervisor"
	"github.com/linx-net/linx/rtnl"
)

// A namespace named by a path (path:/var/run/netns/NAME) can be absent and
// come back: `ip netns add NAME` after the agent started, or `ip netns del
// NAME` and a new `ip netns add NAME`. Each time it is a new namespace.
// The errors that say so wrap source.ErrScopeAbsent, so the node waits for
// the namespace (phase waiting) instead of refusing the scope or stopping
// it for good; Appear tells the node when to look again. A namespace named
// by a process (pid:N) never comes back: a process that exited is gone
// for good, and a pid the kernel hands to another process names another
// namespace.

// absent wraps err with source.ErrScopeAbsent when it says that ns, a
// namespace named by a path, is not there: the path does not exist
// (ENOENT), or names an empty regular file, which is what `ip netns add`
// creates before it mounts the new namespace on it. Any other error is
// returned as it is.
func absent(ns rtnl.Namespace, err error) error {
	if err == nil || ns.PID() != 0 || ns.Path() == "" {
		return err
	}
	if errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("%w (%w)", err, source.ErrScopeAbsent)
	}
	if errors.Is(err, unix.EINVAL) {
		if fi, serr := os.Stat(ns.Path()); serr == nil && fi.Mode().IsRegular() && fi.Size() == 0 {
			return fmt.Errorf("%s is an empty file, not a namespace: %w (%w)", ns.Path(), err, source.ErrScopeAbsent)
		}
	}
	return err
}

// alive returns why the namespace s was made for is no longer the one
// its name names, nil while it is: for a path, the path is gone or now
// names another namespace (an error wrapping source.ErrScopeGone and
// source.ErrScopeAbsent: a new one may come); for a process, it exited or
// its pid now names another namespace (source.ErrScopeGone alone). A
// Source whose identity is unknown checks only that the name exists.
func (s *Source) alive() error {
	pid := s.ns.PID()
	path := s.ns.Path()
	if path == "" {
		return nil // the host
	}
	if pid != 0 {
		if err := unix.Kill(pid, 0); errors.Is(err, unix.ESRCH) {
			return fmt.Errorf("namespace %s: process %d exited: %w", s.ns, pid, source.ErrScopeGone)
		}
	}
	var st unix.Stat_t
	err := unix.Stat(path, &st)
	switch {
	case errors.Is(err, unix.ENOENT) && pid != 0:
		// A zombie still answers kill(0); its /proc/PID/ns/net is gone.
		return fmt.Errorf("namespace %s: process %d exited: %w", s.ns, pid, source.ErrScopeGone)
	case errors.Is(err, unix.ENOENT):
		return fmt.Errorf("namespace %s: %s no longer exists: %w (%w)", s.ns, path, source.ErrScopeGone, source.ErrScopeAbsent)
	case err != nil || s.id.IsZero() || (st.Dev == s.id.Dev && st.Ino == s.id.Inode):
		return nil
	case pid != 0:
		return fmt.Errorf("namespace %s: process %d is gone: its number now names a process in another namespace: %w", s.ns, pid, source.ErrScopeGone)
	}
	return fmt.Errorf("namespace %s: %s now names another namespace (it was deleted and made again): %w (%w)",
		s.ns, path, source.ErrScopeGone, source.ErrScopeAbsent)
}

// nameWatch watches a directory for changes to one of its entries
// (created, deleted, moved in or out) and to the directory itself
// (deleted, moved, unmounted), with inotify.
type nameWatch struct {
	f    *os.File
	name string
}

// watchName watches entry name of directory dir. It fails when dir cannot
// be watched (it does not exist, or inotify is out of watches).
func watchName(dir, name string) (*nameWatch, error) {
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		return nil, os.NewSyscallError("inotify_init1", err)
	}
	const mask = unix.IN_CREATE | unix.IN_DELETE | unix.IN_MOVED_FROM | unix.IN_MOVED_TO |
		unix.IN_DELETE_SELF | unix.IN_MOVE_SELF | unix.IN_ONLYDIR
	if _, err := unix.InotifyAddWatch(fd, dir, mask); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("watching %s: %w", dir, os.NewSyscallError("inotify_add_watch", err))
	}
	// Non-blocking, so the runtime poller serves Read and Close unblocks it.
	return &nameWatch{f: os.NewFile(uintptr(fd), "inotify:"+dir), name: name}, nil
}

// wait blocks until an event concerns the entry or the directory, and
// reports true; it reports false once the watch is closed.
func (w *nameWatch) wait() bool {
	var buf [4096]byte
	for {
		n, err := w.f.Read(buf[:])
		if err != nil {
			return false
		}
		for off := 0; off+unix.SizeofInotifyEvent <= n; {
			mask := binary.NativeEndian.Uint32(buf[off+4:])
			size := int(binary.NativeEndian.Uint32(buf[off+12:]))
			name := buf[off+unix.SizeofInotifyEvent : min(n, off+unix.SizeofInotifyEvent+size)]
			off += unix.SizeofInotifyEvent + size
			const self = unix.IN_DELETE_SELF | unix.IN_MOVE_SELF | unix.IN_UNMOUNT | unix.IN_IGNORED | unix.IN_Q_OVERFLOW
			if mask&self != 0 || cstring(name) == w.name {
				return true
			}
		}
	}
}

// Close ends the watch; a wait under way returns false.
func (w *nameWatch) Close() error { return w.f.Close() }

// cstring is b up to its first NUL (inotify pads names with NULs).
func cstring(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}

// fileWatch ends a Watch as soon as the path naming its namespace no
// longer does (`ip netns del`), instead of at the next pass: a namespace
// held only by the scope's own sockets sends no events, and a new one of
// the same name would wait for the interval to be noticed. Its methods
// are no-ops on nil.
type fileWatch struct {
	nw   *nameWatch
	gone chan error
	done chan struct{}
}

// watchFile starts watching the path naming s's namespace; nil for a
// namespace not named by a path, or one whose directory cannot be watched
// (passes still notice it is gone).
func (s *Source) watchFile() *fileWatch {
	path := s.ns.Path()
	if s.ns.PID() != 0 || path == "" {
		return nil
	}
	nw, err := watchName(filepath.Dir(path), filepath.Base(path))
	if err != nil {
		return nil
	}
	f := &fileWatch{nw: nw, gone: make(chan error, 1), done: make(chan struct{})}
	go func() {
		defer close(f.done)
		for nw.wait() {
			if err := s.alive(); err != nil {
				// Never blocks: the check below may have filled it.
				select {
				case f.gone <- err:
				default:
				}
				return
			}
		}
	}()
	// Checked once the watch is set: a removal just before it is seen too.
	if err := s.alive(); err != nil {
		select {
		case f.gone <- err:
		default:
		}
	}
	return f
}

// vanished returns the channel that receives why the namespace is gone;
// a nil channel (never ready) for a nil f.
func (f *fileWatch) vanished() <-chan error {
	if f == nil {
		return nil
	}
	return f.gone
}

// close stops the watch and waits for its goroutine.
func (f *fileWatch) close() error {
	if f == nil {
		return nil
	}
	err := f.nw.Close()
	<-f.done
	return err
}

// Appear is a supervisor.Config.Appear for scopes of this package. For a
// namespace named by a path, the channel it returns is closed when the
// nearest of the path's directories that exists (/var/run/netns, or /var
// or /run while that does not exist yet) sees the next element of the path
// created, removed or moved, or is itself removed or moved: the node then
// looks again at once. It is nil (never closed) for other namespaces, and
// when the directory cannot be watched: the node's backoff alone serves
// then. stop releases the watch and waits for its goroutine.
func Appear(spec supervisor.Spec) (appeared <-chan struct{}, stop func()) {
	path := spec.Namespace.Path()
	if spec.Namespace.PID() != 0 || path == "" {
		return nil, func() {}
	}
	dir, name := filepath.Dir(filepath.Clean(path)), filepath.Base(path)
	for {
		if fi, err := os.Stat(dir); err == nil && fi.IsDir() {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return nil, func() {}
		}
		dir, name = parent, filepath.Base(dir)
	}
	nw, err := watchName(dir, name)
	if err != nil {
		return nil, func() {}
	}
	ch, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		if nw.wait() {
			close(ch)
		}
	}()
	return ch, func() {
		nw.Close()
		<-done
	}
}
