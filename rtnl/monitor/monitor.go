package monitor

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/linx-net/linx/rtnl"
	"golang.org/x/sys/unix"
)

// Defaults, in one place.
const (
	// DefaultReceiveBuffer is the kernel receive buffer of a monitor
	// socket: 4 MiB. Each notification costs about 1 KiB of buffer (the
	// socket buffer of its skb, not just its bytes), so 4 MiB absorbs a
	// burst of a few thousand changes — a scope's whole reconcile pass —
	// while the reader is descheduled. It is a limit, not an allocation:
	// an idle monitor holds no memory for it. Larger bursts (a full
	// routing table) overrun it and end in ResyncNeeded, which is correct,
	// merely slower than reading them. The rtnl request socket uses the
	// same size.
	DefaultReceiveBuffer = 4 << 20

	// DefaultQueue is the capacity of the Events channel: 1024 events
	// (about 80 KiB). A burst that fits is delivered whole; beyond it
	// every further event would only trigger the same re-list, so the
	// queue collapses into one ResyncNeeded instead of growing.
	DefaultQueue = 1024

	// readBufferSize is the user-space datagram buffer. A notification is
	// built in one skb of at most a page or NLMSG_GOODSIZE (8 KiB); links
	// with many VF attributes are the largest. 64 KiB holds any of them.
	readBufferSize = 64 << 10

	// maxBackoff bounds the pause after a receive error other than
	// ENOBUFS, so that a persistent failure cannot make the reader spin.
	maxBackoff = time.Second
)

// Option configures Open.
type Option func(*config)

type config struct {
	rcvbuf int
	queue  int
}

// WithReceiveBuffer sets the socket's kernel receive buffer in bytes, with
// SO_RCVBUFFORCE where the process has CAP_NET_ADMIN (past
// net.core.rmem_max) and SO_RCVBUF otherwise. The kernel doubles the value
// for bookkeeping and enforces a minimum of a few KiB, so a tiny value gives
// the smallest buffer the kernel allows. n <= 0 keeps
// DefaultReceiveBuffer.
func WithReceiveBuffer(n int) Option {
	return func(c *config) {
		if n > 0 {
			c.rcvbuf = n
		}
	}
}

// WithQueue sets the capacity of the Events channel. n <= 0 keeps
// DefaultQueue.
func WithQueue(n int) Option {
	return func(c *config) {
		if n > 0 {
			c.queue = n
		}
	}
}

// Monitor is a multicast rtnetlink subscription in one network namespace,
// joined to the link, IPv4 and IPv6 address, IPv4 and IPv6 route,
// neighbour, and IPv4 and IPv6 rule groups. One goroutine, started by Open
// and stopped by Close, reads and decodes the notifications.
//
// A Monitor is safe for concurrent use. Its zero value is not usable; call
// Open.
type Monitor struct {
	ns     rtnl.Namespace
	f      *os.File
	rc     syscall.RawConn
	events chan Event
	wake   chan struct{}
	done   chan struct{} // closed by Close
	exited chan struct{} // closed when the reader has returned

	closeOnce sync.Once
	closeErr  error

	received atomic.Uint64
	overruns atomic.Uint64
	dropped  atomic.Uint64
	failures atomic.Uint64

	// sendMu serialises deliver: the reader delivers events, and an
	// unmute (MuteRoutes) its ResyncNeeded. It guards ended, set when
	// the reader has closed the channels.
	sendMu sync.Mutex
	ended  bool
	// muteMu guards mutes, the number of MuteRoutes not yet undone.
	muteMu sync.Mutex
	mutes  int
}

// Open subscribes to the rtnetlink notifications of namespace ns (rtnl.Host(),
// rtnl.NamespaceOfPID or rtnl.NamespaceAt) and starts the reader. The
// socket is created inside ns and joined to its groups before Open
// returns, so a consumer that lists state after Open misses no change.
//
// Open fails with an *rtnl.Error: ESRCH for a pid that does not exist,
// ENOENT for a path that does not exist, EPERM without the privilege to
// enter the namespace or join the groups.
func Open(ns rtnl.Namespace, opts ...Option) (*Monitor, error) {
	cfg := config{rcvbuf: DefaultReceiveBuffer, queue: DefaultQueue}
	for _, o := range opts {
		o(&cfg)
	}
	fd := -1
	err := ns.Run(func() error {
		var err error
		fd, err = unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, unix.NETLINK_ROUTE)
		if err != nil {
			return sysError(err, "creating netlink socket in %s", ns)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := setup(fd, cfg.rcvbuf); err != nil {
		unix.Close(fd)
		return nil, err
	}
	f := os.NewFile(uintptr(fd), "rtnetlink-monitor:"+ns.String())
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, &rtnl.Error{Op: "monitor open", Errno: unix.EBADF, Message: err.Error()}
	}
	m := &Monitor{
		ns:     ns,
		f:      f,
		rc:     rc,
		events: make(chan Event, cfg.queue),
		wake:   make(chan struct{}, 1),
		done:   make(chan struct{}),
		exited: make(chan struct{}),
	}
	go m.read()
	return m, nil
}

// setup binds fd, sizes its receive buffer and joins the groups.
func setup(fd, rcvbuf int) error {
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return sysError(err, "binding netlink socket")
	}
	if unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, rcvbuf) != nil {
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, rcvbuf); err != nil {
			return sysError(err, "setting the receive buffer to %d bytes", rcvbuf)
		}
	}
	for _, g := range groups {
		if err := unix.SetsockoptInt(fd, unix.SOL_NETLINK, unix.NETLINK_ADD_MEMBERSHIP, g); err != nil {
			return sysError(err, "joining rtnetlink multicast group %d", g)
		}
	}
	for _, g := range optionalGroups {
		// A kernel without the group refuses to join it (EINVAL): its
		// objects cannot exist there either.
		_ = unix.SetsockoptInt(fd, unix.SOL_NETLINK, unix.NETLINK_ADD_MEMBERSHIP, g)
	}
	return nil
}

// sysError wraps a system call failure as an *rtnl.Error of op "monitor
// open" (also used by MuteRoutes: the socket is set up as at open).
func sysError(err error, format string, args ...any) error {
	var errno syscall.Errno
	if !errors.As(err, &errno) {
		errno = unix.EIO
	}
	return &rtnl.Error{Op: "monitor open", Errno: errno, Message: fmt.Sprintf(format, args...) + ": " + err.Error()}
}

// Namespace returns the namespace the monitor watches.
func (m *Monitor) Namespace() rtnl.Namespace { return m.ns }

// Events returns the channel of events, in the order the kernel sent them.
// It is closed when the monitor is closed; once Close has returned it
// yields nothing more. When the consumer falls so far behind that the
// channel is full, the queued events are discarded and one ResyncNeeded
// takes their place (see the package documentation). The channel is the
// same on every call.
func (m *Monitor) Events() <-chan Event { return m.events }

// Wake returns a channel of capacity 1 that receives a value, without
// blocking the reader, whenever events have arrived since it was last
// drained: for consumers that only need to know that something changed.
// Many changes coalesce into one wake-up. It is closed when the monitor is
// closed. A consumer that uses only Wake may ignore Events: its overflow is
// handled by the slow-consumer policy.
func (m *Monitor) Wake() <-chan struct{} { return m.wake }

// Overruns returns how many times the kernel reported that it dropped
// notifications because the socket's receive buffer was full (ENOBUFS).
// Each one produced a ResyncNeeded.
func (m *Monitor) Overruns() uint64 { return m.overruns.Load() }

// Counters are a monitor's running totals since Open.
type Counters struct {
	// Received is the number of notifications decoded into events.
	Received uint64
	// Overruns is the number of ENOBUFS reports: the kernel dropped
	// notifications.
	Overruns uint64
	// Dropped is the number of queued events discarded because the
	// consumer fell behind.
	Dropped uint64
	// Failures is the number of receive errors other than ENOBUFS.
	Failures uint64
}

// Counters returns the monitor's running totals; it is safe to call at any
// time, also after Close.
func (m *Monitor) Counters() Counters {
	return Counters{
		Received: m.received.Load(),
		Overruns: m.overruns.Load(),
		Dropped:  m.dropped.Load(),
		Failures: m.failures.Load(),
	}
}

// routeGroups are the route notification groups MuteRoutes leaves.
var routeGroups = []int{unix.RTNLGRP_IPV4_ROUTE, unix.RTNLGRP_IPV6_ROUTE}

// MuteRoutes leaves the route notification groups (IPv4 and IPv6) until
// the function it returns is called; that function joins them again and
// delivers a ResyncNeeded, since routes may have changed unseen meanwhile.
// Notifications of other kinds, and route notifications already queued,
// are delivered as before.
//
// It is for a writer about to install or delete many routes itself, whose
// own changes it need not hear of: delivering each route's notification
// to a listening socket costs the kernel about a third of what installing
// the route costs, and the reader as much again to decode it.
//
// Mutes nest: the groups are joined again when every returned function
// has been called. Calling one twice, or after Close, does nothing more.
// MuteRoutes fails, with the monitor unchanged, if the socket refuses to
// leave a group, or after Close.
func (m *Monitor) MuteRoutes() (unmute func(), err error) {
	m.muteMu.Lock()
	defer m.muteMu.Unlock()
	if m.closing() {
		return nil, &rtnl.Error{Op: "monitor mute", Errno: unix.EBADF, Message: "the monitor is closed"}
	}
	if m.mutes == 0 {
		if err := m.membership(unix.NETLINK_DROP_MEMBERSHIP, routeGroups); err != nil {
			m.membership(unix.NETLINK_ADD_MEMBERSHIP, routeGroups) // back as it was
			return nil, err
		}
	}
	m.mutes++
	var once sync.Once
	return func() { once.Do(m.unmuteRoutes) }, nil
}

// unmuteRoutes undoes one MuteRoutes.
func (m *Monitor) unmuteRoutes() {
	m.muteMu.Lock()
	defer m.muteMu.Unlock()
	m.mutes--
	if m.mutes > 0 || m.closing() {
		return
	}
	err := m.membership(unix.NETLINK_ADD_MEMBERSHIP, routeGroups)
	if err != nil {
		m.failures.Add(1)
		err = fmt.Errorf("joining the route notification groups again in %s: %w", m.ns, err)
	}
	// Joined first, then told: a consumer that re-lists on this
	// ResyncNeeded misses no change.
	m.resync(err)
}

// membership joins (NETLINK_ADD_MEMBERSHIP) or leaves
// (NETLINK_DROP_MEMBERSHIP) groups, stopping at the first refusal.
func (m *Monitor) membership(opt int, groups []int) error {
	var serr error
	err := m.rc.Control(func(fd uintptr) {
		for _, g := range groups {
			if err := unix.SetsockoptInt(int(fd), unix.SOL_NETLINK, opt, g); err != nil {
				serr = sysError(err, "changing the membership of group %d", g)
				return
			}
		}
	})
	if err != nil {
		return &rtnl.Error{Op: "monitor mute", Errno: unix.EBADF, Message: err.Error()}
	}
	return serr
}

// Close stops the reader, closes the socket and the Events and Wake
// channels, and waits for the reader goroutine to return: when Close
// returns no goroutine or file descriptor of the monitor remains and no
// event is delivered any more (events still queued are discarded). Close is
// idempotent and safe to call concurrently; every call returns the result
// of closing the socket.
func (m *Monitor) Close() error {
	m.closeOnce.Do(func() {
		close(m.done)
		// Closing the file wakes a reader parked in the poller; the
		// descriptor itself is released once that read has returned.
		m.closeErr = m.f.Close()
	})
	<-m.exited
	return m.closeErr
}

// read is the reader goroutine: it receives datagrams until Close, decodes
// them and delivers the events.
func (m *Monitor) read() {
	defer func() {
		// Nothing may be delivered after Close: discard what is queued,
		// then close the channels. Without blocking: a consumer may take
		// the last event between a length check and a receive.
		m.sendMu.Lock()
		defer m.sendMu.Unlock()
		m.ended = true
	drain:
		for {
			select {
			case <-m.events:
			default:
				break drain
			}
		}
		close(m.events)
		select {
		case <-m.wake:
		default:
		}
		close(m.wake)
		close(m.exited)
	}()
	buf := make([]byte, readBufferSize)
	backoff := time.Duration(0)
	for {
		var (
			n    int
			from unix.Sockaddr
			rerr error
		)
		err := m.rc.Read(func(fd uintptr) bool {
			n, from, rerr = unix.Recvfrom(int(fd), buf, unix.MSG_TRUNC)
			return rerr != unix.EAGAIN
		})
		if m.closing() {
			return
		}
		if err == nil {
			err = rerr
		}
		switch {
		case err == nil:
			backoff = 0
		case errors.Is(err, unix.ENOBUFS):
			// The kernel dropped notifications; the socket stays usable
			// (vishvananda/netlink's subscriptions end here instead).
			m.overruns.Add(1)
			m.resync(nil)
			continue
		case errors.Is(err, unix.EINTR):
			continue
		default:
			m.failures.Add(1)
			m.resync(fmt.Errorf("receiving rtnetlink notifications in %s: %w", m.ns, err))
			backoff = min(max(2*backoff, 10*time.Millisecond), maxBackoff)
			if !m.sleep(backoff) {
				return
			}
			continue
		}
		if sa, ok := from.(*unix.SockaddrNetlink); !ok || sa.Pid != 0 {
			continue // not from the kernel
		}
		if n > len(buf) {
			// A notification larger than our buffer was cut: its change
			// is lost, so the consumer must re-list.
			m.resync(fmt.Errorf("rtnetlink notification of %d bytes exceeded the %d-byte read buffer", n, len(buf)))
			continue
		}
		splitMessages(buf[:n], func(typ uint16, payload []byte) {
			if ev, ok := decodeEvent(typ, payload); ok {
				m.received.Add(1)
				m.deliver(ev)
			}
		})
	}
}

// closing reports whether Close has been called.
func (m *Monitor) closing() bool {
	select {
	case <-m.done:
		return true
	default:
		return false
	}
}

// sleep waits d or until Close; it returns false if Close came first.
func (m *Monitor) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-m.done:
		return false
	}
}

// deliver queues ev without ever blocking the reader. Senders hold
// sendMu, so after the queue has been emptied the send of the
// ResyncNeeded that replaces it always succeeds.
func (m *Monitor) deliver(ev Event) {
	m.sendMu.Lock()
	defer m.sendMu.Unlock()
	if m.ended {
		return
	}
	select {
	case m.events <- ev:
	default:
		// The consumer is behind: everything queued is superseded by a
		// re-list, so replace it (and ev) with one ResyncNeeded.
		dropped := uint64(1)
		for {
			select {
			case <-m.events:
				dropped++
				continue
			default:
			}
			break
		}
		m.dropped.Add(dropped)
		m.events <- Event{Op: ResyncNeeded}
	}
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// resync delivers a ResyncNeeded carrying err.
func (m *Monitor) resync(err error) { m.deliver(Event{Op: ResyncNeeded, Err: err}) }
