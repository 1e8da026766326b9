package rtnl

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"

	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// Namespace names the network namespace a socket lives in. The zero value is
// the host namespace: the one the calling process runs in.
//
// Namespace is a small comparable value; its text form is "host", "pid:N" or
// "path:P", as accepted by ParseNamespace.
type Namespace struct {
	kind nsKind
	pid  int
	path string
}

type nsKind uint8

const (
	nsHost nsKind = iota
	nsPID
	nsPath
)

// hostNamespacePath names the host namespace from any thread that runs Go
// code: /proc/self/ns/net shows the main thread's, which Run may have left
// parked in another namespace (the runtime wedges, rather than ends, a
// locked main thread).
const hostNamespacePath = "/proc/thread-self/ns/net"

// Host returns the namespace of the calling process: the zero Namespace.
func Host() Namespace { return Namespace{} }

// NamespaceOfPID returns the namespace of process pid (/proc/PID/ns/net),
// such as a running container's.
//
// A pid that is not positive never means the host: Open fails on it with
// EINVAL, quoting it.
func NamespaceOfPID(pid int) Namespace { return Namespace{kind: nsPID, pid: pid} }

// NamespaceAt returns the namespace named by a file path, such as
// /var/run/netns/NAME or a bind-mounted /proc/PID/ns/net. An empty path
// never means the host: Open fails on it with EINVAL.
func NamespaceAt(path string) Namespace { return Namespace{kind: nsPath, path: path} }

// ParseNamespace parses "host" (or ""), "pid:N" or "path:P". It returns an
// error quoting s for anything else.
func ParseNamespace(s string) (Namespace, error) {
	switch {
	case s == "" || s == "host":
		return Host(), nil
	case strings.HasPrefix(s, "pid:"):
		pid, err := strconv.Atoi(s[len("pid:"):])
		if err != nil || pid <= 0 {
			return Namespace{}, fmt.Errorf("rtnl: ParseNamespace(%q): pid must be a positive integer", s)
		}
		return NamespaceOfPID(pid), nil
	case strings.HasPrefix(s, "path:"):
		p := s[len("path:"):]
		if p == "" {
			return Namespace{}, fmt.Errorf("rtnl: ParseNamespace(%q): empty path", s)
		}
		return NamespaceAt(p), nil
	}
	return Namespace{}, fmt.Errorf("rtnl: ParseNamespace(%q): want host, pid:N or path:P", s)
}

// IsHost reports whether ns is the host namespace.
func (ns Namespace) IsHost() bool { return ns.kind == nsHost }

// PID returns the process id for a namespace made by NamespaceOfPID, else 0.
func (ns Namespace) PID() int {
	if ns.kind != nsPID {
		return 0
	}
	return ns.pid
}

// Path returns the file that names the namespace: "" for the host,
// /proc/PID/ns/net for a pid, or the path given to NamespaceAt.
func (ns Namespace) Path() string {
	switch ns.kind {
	case nsPID:
		return fmt.Sprintf("/proc/%d/ns/net", ns.pid)
	case nsPath:
		return ns.path
	}
	return ""
}

// String returns "host", "pid:N" or "path:P".
func (ns Namespace) String() string {
	switch ns.kind {
	case nsPID:
		return "pid:" + strconv.Itoa(ns.pid)
	case nsPath:
		return "path:" + ns.path
	}
	return "host"
}

// MarshalText implements encoding.TextMarshaler.
func (ns Namespace) MarshalText() ([]byte, error) { return []byte(ns.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler with ParseNamespace.
func (ns *Namespace) UnmarshalText(b []byte) error {
	v, err := ParseNamespace(string(b))
	if err != nil {
		return err
	}
	*ns = v
	return nil
}

// open returns an O_RDONLY descriptor of the namespace file, or an *Error
// naming the pid or path that does not exist or is not a network
// namespace (see ID): the file is checked through an O_PATH descriptor
// before it is opened for reading, so that a FIFO, a device or any other
// file that could block or act when opened is never opened.
func (ns Namespace) open(op string) (*os.File, error) {
	pf, _, err := ns.openPath(op)
	if err != nil {
		return nil, err
	}
	defer pf.Close()
	// Reopening the checked descriptor, not the path, opens the very file
	// checked even if the path is replaced meanwhile.
	f, err := os.Open("/proc/self/fd/" + strconv.Itoa(int(pf.Fd())))
	if err != nil {
		var errno unix.Errno
		if !errors.As(err, &errno) {
			errno = unix.EINVAL
		}
		return nil, newError(op, errno, "opening network namespace %s: %v", ns, errno)
	}
	return f, nil
}

// openPath returns an O_PATH descriptor of the namespace file, checked to
// be a network namespace, with its stat.
func (ns Namespace) openPath(op string) (*os.File, unix.Stat_t, error) {
	var st unix.Stat_t
	path := ns.Path()
	switch {
	case ns.kind == nsPID && ns.pid <= 0:
		return nil, st, newError(op, unix.EINVAL, "invalid process id %d", ns.pid)
	case ns.kind == nsPath && ns.path == "":
		return nil, st, newError(op, unix.EINVAL, "empty network namespace path")
	case ns.kind == nsHost:
		path = hostNamespacePath
	}
	fd, err := unix.Open(path, unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		errno := errnoOf(err)
		switch {
		case ns.kind == nsPID && errno == unix.ENOENT:
			return nil, st, newError(op, unix.ESRCH, "no such process %d", ns.pid)
		case ns.kind == nsPID:
			return nil, st, newError(op, errno, "opening namespace of process %d: %v", ns.pid, errno)
		case errno == unix.ENOENT:
			return nil, st, newError(op, errno, "no such network namespace path %q", ns.path)
		}
		return nil, st, newError(op, errno, "opening network namespace %s: %v", ns, errno)
	}
	f := os.NewFile(uintptr(fd), path)
	var fs unix.Statfs_t
	if err := unix.Fstatfs(fd, &fs); err != nil {
		f.Close()
		return nil, st, newError(op, errnoOf(err), "checking network namespace %s: %v", ns, err)
	}
	if err := unix.Fstat(fd, &st); err != nil {
		f.Close()
		return nil, st, newError(op, errnoOf(err), "checking network namespace %s: %v", ns, err)
	}
	if fs.Type != unix.NSFS_MAGIC {
		f.Close()
		return nil, st, newError(op, unix.EINVAL, "%s is not a namespace file (a %s, not a file of nsfs such as /proc/PID/ns/net or /run/netns/NAME)", path, fileType(st.Mode))
	}
	return f, st, nil
}

// fileType names the type of a file mode, for errors.
func fileType(mode uint32) string {
	switch mode & unix.S_IFMT {
	case unix.S_IFIFO:
		return "FIFO"
	case unix.S_IFREG:
		return "regular file"
	case unix.S_IFDIR:
		return "directory"
	case unix.S_IFCHR:
		return "character device"
	case unix.S_IFBLK:
		return "block device"
	case unix.S_IFSOCK:
		return "socket"
	case unix.S_IFLNK:
		return "symbolic link"
	}
	return "file"
}

// NamespaceID identifies a network namespace while it exists: the device
// and inode of its nsfs file, the same whatever path or pid names it. The
// kernel may give a later namespace the inode of one that no longer
// exists; Cookie, the namespace's never-reused cookie (SO_NETNS_COOKIE),
// tells them apart when known.
//
// The zero NamespaceID identifies no namespace.
type NamespaceID struct {
	Dev   uint64 `json:"dev"`
	Inode uint64 `json:"inode"`
	// Cookie is 0 when unknown: ID reads the file only, a Socket knows it.
	Cookie uint64 `json:"cookie,omitempty"`
}

// IsZero reports whether id is the zero NamespaceID.
func (id NamespaceID) IsZero() bool { return id == NamespaceID{} }

// Same reports whether id and o identify the same namespace: the same
// device and inode, and the same cookie where both know one.
func (id NamespaceID) Same(o NamespaceID) bool {
	if id.Dev != o.Dev || id.Inode != o.Inode {
		return false
	}
	return id.Cookie == 0 || o.Cookie == 0 || id.Cookie == o.Cookie
}

// String returns "DEV:INODE", with "/COOKIE" when the cookie is known.
func (id NamespaceID) String() string {
	s := strconv.FormatUint(id.Dev, 10) + ":" + strconv.FormatUint(id.Inode, 10)
	if id.Cookie != 0 {
		s += "/" + strconv.FormatUint(id.Cookie, 10)
	}
	return s
}

// ID returns the identity of the namespace ns names (its Cookie unknown),
// checking that it is one: the file is opened with O_PATH, which never
// blocks or acts on the file, and must be on nsfs (fstatfs NSFS_MAGIC).
// It fails with an *Error: ESRCH for a pid that does not exist, ENOENT for
// a path that does not exist, EINVAL for a file that is not a namespace
// (a FIFO, a regular file, a directory, …) or an empty path.
//
// A namespace file of another type (a mount namespace, say) passes this
// check; entering it fails with EINVAL.
func (ns Namespace) ID() (NamespaceID, error) {
	f, st, err := ns.openPath("namespace")
	if err != nil {
		return NamespaceID{}, err
	}
	f.Close()
	return NamespaceID{Dev: st.Dev, Inode: st.Ino}, nil
}

// Handle opens the namespace ns names and returns it as a
// github.com/vishvananda/netns handle, for code written against that
// package (vishvananda/netlink's NewHandleAt, netns.Set). The caller
// closes it. The namespace is checked and opened as Run opens it: never
// with netns.GetFromPath, whose plain open(2) would block on a FIFO. It
// fails as ID does.
func (ns Namespace) Handle() (netns.NsHandle, error) {
	f, err := ns.open("namespace handle")
	if err != nil {
		return netns.None(), err
	}
	defer f.Close()
	fd, err := unix.FcntlInt(f.Fd(), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return netns.None(), newError("namespace handle", errnoOf(err), "duplicating the descriptor of %s: %v", ns, err)
	}
	return netns.NsHandle(fd), nil
}

// Run calls fn on an OS thread that has entered ns and returns its error.
// The thread is never returned to the Go scheduler: it ends with the
// goroutine, so no other goroutine can ever run in the wrong namespace.
// For the host namespace fn runs on the calling goroutine.
//
// Run is the only place in Linx that changes a thread's namespace; use it to
// create sockets (which then stay in ns) or to do short per-namespace work.
func (ns Namespace) Run(fn func() error) error {
	if ns.IsHost() {
		return fn()
	}
	f, err := ns.open("namespace enter")
	if err != nil {
		return err
	}
	defer f.Close()
	done := make(chan error, 1)
	go func() {
		// Deliberately no UnlockOSThread: the thread dies with this goroutine.
		runtime.LockOSThread()
		// A panic here would end the process; hand it to the caller instead.
		defer func() {
			if r := recover(); r != nil {
				done <- newError("namespace enter", unix.EFAULT, "panic while running in namespace %s: %v", ns, r)
			}
		}()
		if err := netns.Set(netns.NsHandle(f.Fd())); err != nil {
			done <- newError("namespace enter", errnoOf(err), "entering network namespace %s: %v (is it a network namespace?)", ns, err)
			return
		}
		done <- fn()
	}()
	return <-done
}
