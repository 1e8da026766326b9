package rtnl

import (
	"encoding/binary"
	"errors"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// DefaultTimeout bounds each wait for the kernel on a socket opened without
// WithTimeout. Five seconds is far above any healthy reply (a 100,000-route
// dump sends its first datagram within milliseconds, and every datagram
// restarts the wait) and short enough that a wedged request surfaces.
const DefaultTimeout = 5 * time.Second

// maxDumpAttempts bounds how often a dump interrupted by concurrent change
// (NLM_F_DUMP_INTR) is restarted before the verb fails with EINTR.
const maxDumpAttempts = 10

// recvBufferSize is the datagram buffer of a request socket. The kernel
// never builds a dump datagram above 32 KiB (netlink_dump caps
// max_recvmsg_len there), so 64 KiB holds any of them.
const recvBufferSize = 64 << 10

// Option configures Open.
type Option func(*socketConfig)

type socketConfig struct {
	timeout time.Duration
	rcvbuf  int
	sndbuf  int
}

// WithTimeout sets how long one request may wait for each reply datagram
// before it fails with EAGAIN. d <= 0 selects DefaultTimeout.
func WithTimeout(d time.Duration) Option {
	return func(c *socketConfig) {
		if d > 0 {
			c.timeout = d
		}
	}
}

// WithBuffers sets the socket's kernel receive and send buffer sizes in
// bytes (SO_RCVBUFFORCE/SO_SNDBUFFORCE where permitted, else the
// unprivileged variants). Zero keeps the default of 4 MiB each, which holds
// a full pipelined batch window of acknowledgements.
func WithBuffers(rcv, snd int) Option {
	return func(c *socketConfig) {
		if rcv > 0 {
			c.rcvbuf = rcv
		}
		if snd > 0 {
			c.sndbuf = snd
		}
	}
}

// Socket is an rtnetlink socket bound inside one network namespace. Every
// verb of this package is a method of Socket and runs in that namespace,
// whatever goroutine calls it.
//
// A Socket is safe for concurrent use: requests are serialised. Each wait
// for the kernel is bounded by the socket's timeout, so no call blocks
// forever. Close unblocks a pending request, which then fails with EBADF.
type Socket struct {
	ns      Namespace
	id      NamespaceID
	timeout time.Duration
	f       *os.File
	rc      syscall.RawConn

	mu  sync.Mutex // serialises requests; guards seq, buf and dumpSeq
	seq uint32
	buf []byte
	// dumpSeq is the sequence number of a dump abandoned before its
	// NLMSG_DONE (a wait for the kernel timed out, a reply was cut): the
	// kernel keeps such a dump running and refuses every new dump on the
	// socket with EBUSY until its remainder has been read. 0 for none.
	dumpSeq uint32

	// window is how many acknowledged batch requests may be in flight: as
	// many acknowledgements as the receive buffer, fixed at Open, holds.
	window int

	closeOnce sync.Once
	closeErr  error
	closed    atomic.Bool // set by Close: later I/O errors are EBADF

	// routeHint is the length of the last complete route listing, used to
	// size the next one (see RoutesFiltered).
	routeHint atomic.Int64
	// filteredHint is the same for the last filtered listing.
	filteredHint atomic.Pointer[routeListHint]

	// dumpRestarts counts the dumps restarted after NLM_F_DUMP_INTR, so
	// that tests can tell the retry ran.
	dumpRestarts atomic.Uint64
}

// Open returns a socket in namespace ns (Host, NamespaceOfPID or
// NamespaceAt). It fails with an *Error: ESRCH for a pid that does not
// exist, ENOENT for a path that does not exist, EPERM without the privilege
// to enter the namespace.
func Open(ns Namespace, opts ...Option) (*Socket, error) {
	cfg := socketConfig{timeout: DefaultTimeout, rcvbuf: 4 << 20, sndbuf: 4 << 20}
	for _, o := range opts {
		o(&cfg)
	}
	fd, id, err := openNetlink(ns, unix.NETLINK_ROUTE, 0)
	if err != nil {
		return nil, err
	}
	setBuffer(fd, unix.SO_RCVBUFFORCE, unix.SO_RCVBUF, cfg.rcvbuf)
	setBuffer(fd, unix.SO_SNDBUFFORCE, unix.SO_SNDBUF, cfg.sndbuf)
	window := batchWindow
	if rcv, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF); err == nil {
		window = max(batchChunkMsgs, min(batchWindow, rcv/ackTruesize/2))
	}
	// Extended acks carry the kernel's error text (a netlink.Handle never
	// shows them: vishvananda/netlink#1129); capped acks do not echo our
	// request back; strict checking enables kernel-side dump filtering.
	for _, opt := range []int{unix.NETLINK_EXT_ACK, unix.NETLINK_CAP_ACK, unix.NETLINK_GET_STRICT_CHK} {
		if err := unix.SetsockoptInt(fd, unix.SOL_NETLINK, opt, 1); err != nil {
			unix.Close(fd)
			return nil, newError("open", errnoOf(err), "setting netlink socket option %d: %v", opt, err)
		}
	}
	f := os.NewFile(uintptr(fd), "rtnetlink:"+ns.String())
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, &Error{Op: "open", Errno: unix.EBADF, Message: err.Error()}
	}
	return &Socket{ns: ns, id: id, timeout: cfg.timeout, f: f, rc: rc, buf: make([]byte, recvBufferSize), window: window}, nil
}

// soNetnsCookie is SO_NETNS_COOKIE (include/uapi/asm-generic/socket.h,
// Linux 5.14), which golang.org/x/sys/unix does not name.
const soNetnsCookie = 71

// openNetlink creates a non-blocking netlink socket of the given protocol
// inside ns, bound to the multicast groups mask, and returns it with the
// identity of the namespace it lives in.
func openNetlink(ns Namespace, protocol int, groups uint32) (int, NamespaceID, error) {
	fd := -1
	var id NamespaceID
	err := ns.Run(func() error {
		var err error
		fd, err = unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, protocol)
		if err != nil {
			return newError("open", errnoOf(err), "creating netlink socket in %s: %v", ns, err)
		}
		// The namespace this thread is in now, whatever named it.
		var st unix.Stat_t
		if unix.Stat(hostNamespacePath, &st) == nil {
			id.Dev, id.Inode = st.Dev, st.Ino
		}
		return nil
	})
	if err != nil {
		return -1, id, err
	}
	if c, err := unix.GetsockoptUint64(fd, unix.SOL_SOCKET, soNetnsCookie); err == nil {
		id.Cookie = c // unknown (0) before Linux 5.14
	}
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK, Groups: groups}); err != nil {
		unix.Close(fd)
		return -1, id, newError("open", errnoOf(err), "binding netlink socket: %v", err)
	}
	return fd, id, nil
}

// setBuffer sets a socket buffer, forcing past rmem_max/wmem_max where the
// process has CAP_NET_ADMIN and falling back to the capped option otherwise.
func setBuffer(fd, force, plain, size int) {
	if unix.SetsockoptInt(fd, unix.SOL_SOCKET, force, size) != nil {
		_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, plain, size)
	}
}

// Namespace returns the namespace the socket was opened in.
func (s *Socket) Namespace() Namespace { return s.ns }

// NamespaceID returns the identity of the namespace the socket lives in,
// read when it was opened, with its cookie (zero fields where the kernel
// did not tell).
func (s *Socket) NamespaceID() NamespaceID { return s.id }

// Close releases the socket. A request in flight on another goroutine fails
// with EBADF. Close is idempotent; later calls return the first result.
func (s *Socket) Close() error {
	s.closeOnce.Do(func() {
		s.closed.Store(true)
		s.closeErr = s.f.Close()
	})
	return s.closeErr
}

// nextSeq returns a fresh sequence number; s.mu must be held.
func (s *Socket) nextSeq() uint32 {
	s.seq++
	if s.seq == 0 {
		s.seq = 1
	}
	return s.seq
}

// send writes one or more complete netlink messages in a single sendmsg,
// first finishing a dump an earlier request abandoned. s.mu must be held.
func (s *Socket) send(op string, b []byte) error {
	if s.dumpSeq != 0 {
		if err := s.finishAbandonedDump(op); err != nil {
			return err
		}
	}
	if err := s.f.SetWriteDeadline(time.Now().Add(s.timeout)); err != nil {
		return s.ioError(op, err)
	}
	var serr error
	// A fresh address per send: unix.Sendto encodes into the value it is
	// given, so one shared between sockets is a data race.
	kernel := &unix.SockaddrNetlink{Family: unix.AF_NETLINK}
	err := s.rc.Write(func(fd uintptr) bool {
		serr = unix.Sendto(int(fd), b, 0, kernel)
		return serr != unix.EAGAIN
	})
	if err == nil {
		err = serr
	}
	if err != nil {
		return s.ioError(op, err)
	}
	return nil
}

// recv reads one datagram into the socket's buffer and returns it. The
// slice is valid until the next recv.
func (s *Socket) recv(op string) ([]byte, error) {
	if err := s.f.SetReadDeadline(time.Now().Add(s.timeout)); err != nil {
		return nil, s.ioError(op, err)
	}
	var (
		n    int
		rerr error
	)
	err := s.rc.Read(func(fd uintptr) bool {
		n, _, rerr = unix.Recvfrom(int(fd), s.buf, unix.MSG_TRUNC)
		return rerr != unix.EAGAIN
	})
	if err == nil {
		err = rerr
	}
	if err != nil {
		return nil, s.ioError(op, err)
	}
	if n > len(s.buf) {
		// The datagram was cut; grow so that a retry of the request fits.
		s.buf = make([]byte, n)
		return nil, newError(op, unix.EMSGSIZE, "kernel reply of %d bytes was larger than the receive buffer; retry the request", n)
	}
	return s.buf[:n], nil
}

// finishAbandonedDump reads and discards the rest of the dump numbered
// s.dumpSeq, up to its NLMSG_DONE, so that the kernel ends it and accepts
// the next dump. The kernel queues a running dump's next part as soon as
// the last one is read, so a read that waits the socket's whole timeout in
// vain means the dump is over, its end lost (in a cut datagram, say): the
// dump is then no longer owed and the request goes on. Any other failure
// ends the wait too, and is returned. s.mu must be held.
func (s *Socket) finishAbandonedDump(op string) error {
	for s.dumpSeq != 0 {
		b, err := s.recv(op)
		switch {
		case errors.Is(err, unix.EMSGSIZE):
			continue // a cut datagram, read and gone: keep reading
		case errors.Is(err, unix.EAGAIN):
			s.dumpSeq = 0
			return nil
		case err != nil:
			s.dumpSeq = 0
			return err
		}
		for len(b) >= unix.NLMSG_HDRLEN {
			h, ok := parseHeader(b)
			if !ok {
				break
			}
			b = b[min(nlmAlign(int(h.Len)), len(b)):]
			if h.Seq == s.dumpSeq && (h.Type == unix.NLMSG_DONE || h.Type == unix.NLMSG_ERROR) {
				s.dumpSeq = 0
			}
		}
	}
	return nil
}

// ioError converts a transport failure into an *Error.
func (s *Socket) ioError(op string, err error) error {
	switch {
	// The raw connection reports a closed file as an unexported poll
	// error ("use of closed file"), not os.ErrClosed.
	case s.closed.Load() || errors.Is(err, os.ErrClosed):
		return newError(op, unix.EBADF, "socket closed")
	case errors.Is(err, os.ErrDeadlineExceeded):
		return newError(op, unix.EAGAIN, "no reply from the kernel within %v", s.timeout)
	}
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return newError(op, errno, "%v", errno)
	}
	return newError(op, unix.EIO, "%v", err)
}

// header is the decoded nlmsghdr of a reply, without nlmsg_pid, which no
// reader needs: with four fields the compiler keeps a header in registers,
// where a fifth puts it on the stack, and request builds, copies and
// passes one for every message of a dump (a tenth of the decoding cost of
// a route listing, in store-forwarding stalls).
type header struct {
	Len   uint32
	Type  uint16
	Flags uint16
	Seq   uint32
}

func parseHeader(b []byte) (header, bool) {
	if len(b) < unix.NLMSG_HDRLEN {
		return header{}, false
	}
	h := header{
		Len:   binary.NativeEndian.Uint32(b[0:4]),
		Type:  binary.NativeEndian.Uint16(b[4:6]),
		Flags: binary.NativeEndian.Uint16(b[6:8]),
		Seq:   binary.NativeEndian.Uint32(b[8:12]),
	}
	if h.Len < unix.NLMSG_HDRLEN || int(h.Len) > len(b) {
		return header{}, false
	}
	return h, true
}

// errInterrupted marks a dump the kernel flagged NLM_F_DUMP_INTR.
var errInterrupted = errors.New("dump interrupted")

// request sends the message in msg (whose sequence number it sets) and reads
// replies until the kernel acknowledges it or, for a dump, sends
// NLMSG_DONE. fn, when not nil, is called for every reply that is neither
// an ack, an error nor DONE; its payload aliases the receive buffer and is
// valid only during the call. An error returned by fn stops the request
// after the remaining replies have been drained.
func (s *Socket) request(op string, msg []byte, fn func(h header, payload []byte) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	seq := s.nextSeq()
	binary.NativeEndian.PutUint32(msg[8:12], seq)
	if err := s.send(op, msg); err != nil {
		return err
	}
	flags := binary.NativeEndian.Uint16(msg[6:8])
	dump := flags&unix.NLM_F_DUMP == unix.NLM_F_DUMP
	if dump {
		// Owed until its DONE (or the error that refused it) is read.
		s.dumpSeq = seq
	}
	var cbErr error
	interrupted := false
	for {
		b, err := s.recv(op)
		if err != nil {
			return err
		}
		for len(b) >= unix.NLMSG_HDRLEN {
			h, ok := parseHeader(b)
			if !ok {
				return newError(op, unix.EBADMSG, "malformed netlink message from the kernel")
			}
			m := b[unix.NLMSG_HDRLEN:h.Len]
			b = b[min(nlmAlign(int(h.Len)), len(b)):]
			if h.Seq != seq {
				continue // a stale reply to an earlier, timed-out request
			}
			if h.Flags&unix.NLM_F_DUMP_INTR != 0 {
				interrupted = true
			}
			switch h.Type {
			case unix.NLMSG_NOOP:
				continue
			case unix.NLMSG_ERROR:
				if err := parseAck(op, m); err != nil {
					s.dumpSeq = 0 // a refused dump never started
					return errors.Join(err, cbErr)
				}
				if !dump {
					return cbErr
				}
				continue
			case unix.NLMSG_DONE:
				s.dumpSeq = 0
				if err := parseDone(op, m); err != nil {
					return err
				}
				if interrupted {
					return errInterrupted
				}
				return cbErr
			}
			if fn != nil && cbErr == nil {
				cbErr = fn(h, m)
			}
			if !dump && h.Flags&unix.NLM_F_MULTI == 0 && flags&unix.NLM_F_ACK == 0 {
				return cbErr
			}
		}
	}
}

// dump runs a dump request, restarting it when the kernel reports that the
// dump was interrupted by a concurrent change. reset is called before every
// attempt so that the caller can drop partial results.
func (s *Socket) dump(op string, msg []byte, reset func(), fn func(h header, payload []byte) error) error {
	for attempt := 1; ; attempt++ {
		if reset != nil {
			reset()
		}
		err := s.request(op, msg, fn)
		if err != errInterrupted {
			return err
		}
		if attempt == maxDumpAttempts {
			return newError(op, unix.EINTR, "dump interrupted by concurrent changes %d times in a row; giving up", attempt)
		}
		s.dumpRestarts.Add(1)
	}
}

// parseAck decodes an NLMSG_ERROR payload: nil for an ack, else an *Error
// with the kernel's extended-ack message when present.
func parseAck(op string, m []byte) error {
	if len(m) < 4 {
		return newError(op, unix.EBADMSG, "truncated netlink error message")
	}
	code := int32(binary.NativeEndian.Uint32(m[:4]))
	if code == 0 {
		return nil
	}
	e := &Error{Op: op, Errno: syscall.Errno(-code)}
	// With NETLINK_CAP_ACK the echoed request is only its header; the
	// extended-ack TLVs follow it.
	if len(m) >= 4+unix.NLMSG_HDRLEN {
		e.Message = extAckMessage(m[4+unix.NLMSG_HDRLEN:])
	}
	return e
}

// parseDone decodes the NLMSG_DONE payload, which carries a negative errno
// when the dump itself failed.
func parseDone(op string, m []byte) error {
	if len(m) < 4 {
		return nil
	}
	code := int32(binary.NativeEndian.Uint32(m[:4]))
	if code >= 0 {
		return nil
	}
	return &Error{Op: op, Errno: syscall.Errno(-code), Message: extAckMessage(m[4:])}
}

// extAckMessage returns the NLMSGERR_ATTR_MSG string among ext-ack TLVs.
func extAckMessage(b []byte) string {
	ad := newAttrDecoder(b)
	for ad.Next() {
		if ad.Type() == unix.NLMSGERR_ATTR_MSG {
			return ad.String()
		}
	}
	return ""
}

func nlmAlign(n int) int { return (n + unix.NLMSG_ALIGNTO - 1) &^ (unix.NLMSG_ALIGNTO - 1) }
