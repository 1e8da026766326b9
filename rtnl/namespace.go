package rtnl

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"

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
// naming the pid or path that does not exist.
func (ns Namespace) open(op string) (*os.File, error) {
	switch {
	case ns.kind == nsPID && ns.pid <= 0:
		return nil, newError(op, unix.EINVAL, "invalid process id %d", ns.pid)
	case ns.kind == nsPath && ns.path == "":
		return nil, newError(op, unix.EINVAL, "empty network namespace path")
	}
	f, err := os.Open(ns.Path())
	if err == nil {
		return f, nil
	}
	var errno unix.Errno
	if !errors.As(err, &errno) {
		errno = unix.EINVAL
	}
	if ns.kind == nsPID {
		if errno == unix.ENOENT {
			return nil, newError(op, unix.ESRCH, "no such process %d", ns.pid)
		}
		return nil, newError(op, errno, "opening namespace of process %d: %v", ns.pid, errno)
	}
	if errno == unix.ENOENT {
		return nil, newError(op, errno, "no such network namespace path %q", ns.path)
	}
	return nil, newError(op, errno, "opening network namespace path %q: %v", ns.path, errno)
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
		if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
			done <- newError("namespace enter", errnoOf(err), "entering network namespace %s: %v (is it a network namespace?)", ns, err)
			return
		}
		done <- fn()
	}()
	return <-done
}
