package rtnl

import (
	"errors"
	"fmt"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// Error is the error every verb of this package returns when the kernel (or
// the argument check before a request is sent) refuses an operation.
//
// Errno is the kernel's error number; Op names the verb ("link get",
// "route add", …); Message is the kernel's extended-ack text when it sent one
// and otherwise a sentence naming the argument at fault.
//
// Error unwraps to its Errno, so errors.Is(err, unix.ENODEV) holds for an
// unknown interface.
type Error struct {
	Op      string
	Errno   syscall.Errno
	Message string
}

// Error returns the text `netlink ENODEV (19): no such interface "nope0"`.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("netlink ")
	b.WriteString(e.Name())
	fmt.Fprintf(&b, " (%d)", int(e.Errno))
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	return b.String()
}

// Name returns the errno's symbolic name, such as "ENODEV", or "E<code>"
// for a number the platform does not name.
func (e *Error) Name() string {
	// x/sys/unix names 95 by its userspace alias ENOTSUP and 117 by the
	// filesystem alias EFSCORRUPTED; the kernel and iproute2 say these.
	switch e.Errno {
	case unix.EOPNOTSUPP:
		return "EOPNOTSUPP"
	case unix.EUCLEAN:
		return "EUCLEAN"
	}
	if n := unix.ErrnoName(e.Errno); n != "" {
		return n
	}
	return fmt.Sprintf("E%d", int(e.Errno))
}

// Code returns the errno as an int (19 for ENODEV).
func (e *Error) Code() int { return int(e.Errno) }

// Unwrap returns the errno, so that errors.Is matches unix.Exxx values.
func (e *Error) Unwrap() error { return e.Errno }

// newError builds an *Error; message is formatted with args.
func newError(op string, errno syscall.Errno, format string, args ...any) *Error {
	return &Error{Op: op, Errno: errno, Message: fmt.Sprintf(format, args...)}
}

// invalid reports bad input found before anything was sent, as EINVAL.
func invalid(op, format string, args ...any) *Error {
	return newError(op, unix.EINVAL, format, args...)
}

// withContext fills in a message for a kernel error that came without
// extended-ack text, so that the caller learns which argument was at fault.
// A message the kernel sent is kept and the context is prefixed to it.
func withContext(err error, op, context string) error {
	var e *Error
	if !errors.As(err, &e) {
		return err
	}
	c := *e
	c.Op = op
	switch {
	case c.Message == "":
		c.Message = context
	case context != "":
		c.Message = context + ": " + c.Message
	}
	return &c
}

// IsNotExist reports whether err says the object (link, address, route,
// neighbour, rule) does not exist: ENODEV, ENOENT, ESRCH or EADDRNOTAVAIL.
func IsNotExist(err error) bool {
	return errors.Is(err, unix.ENODEV) || errors.Is(err, unix.ENOENT) ||
		errors.Is(err, unix.ESRCH) || errors.Is(err, unix.EADDRNOTAVAIL)
}

// IsExist reports whether err says the object already exists (EEXIST).
func IsExist(err error) bool { return errors.Is(err, unix.EEXIST) }

// errnoOf returns the errno err wraps, or EIO for an error that wraps none.
func errnoOf(err error) syscall.Errno {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return errno
	}
	return unix.EIO
}

// messageOf returns the message of an *Error, or the text of any other
// error.
func messageOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return err.Error()
}
