package rtnl

import (
	"encoding/binary"

	"golang.org/x/sys/unix"
)

// This file lends the external tests a view of the transport's internals;
// it is compiled only into the package's tests.

// DumpRestarts returns how many dumps s has restarted because the kernel
// marked them interrupted (NLM_F_DUMP_INTR).
func DumpRestarts(s *Socket) uint64 { return s.dumpRestarts.Load() }

// SocketTimeout returns the wait bound s was opened with.
func SocketTimeout(s *Socket) int64 { return int64(s.timeout) }

// RequestUnanswered sends a request the kernel handles without replying
// (NLMSG_NOOP without NLM_F_ACK: netlink_rcv_skb skips it silently) through
// the path every verb takes, so that it can only end by timing out.
func RequestUnanswered(s *Socket) error {
	msg := make([]byte, unix.NLMSG_HDRLEN)
	binary.NativeEndian.PutUint32(msg[0:4], unix.NLMSG_HDRLEN)
	binary.NativeEndian.PutUint16(msg[4:6], unix.NLMSG_NOOP)
	binary.NativeEndian.PutUint16(msg[6:8], unix.NLM_F_REQUEST)
	return s.request("noop", msg, nil)
}

// RoutesAbandoned starts the dump Routes makes and, once its first route
// has arrived, lets the next wait for the kernel time out at once, as a
// socket opened with a tiny timeout would: the request fails with EAGAIN
// while the kernel still holds the rest of the dump. It returns that error
// and how many routes had been received.
func RoutesAbandoned(s *Socket) (int, error) {
	var e encoder
	e.begin(unix.RTM_GETROUTE, unix.NLM_F_DUMP)
	e.fixed(rtmsg{}.bytes())
	e.end()
	saved := s.timeout
	defer func() {
		s.mu.Lock()
		s.timeout = saved
		s.mu.Unlock()
	}()
	n := 0
	err := s.request("route list", e.message(), func(h header, m []byte) error {
		if h.Type == unix.RTM_NEWROUTE {
			n++
		}
		s.timeout = 1 // s.mu is held by request
		return nil
	})
	return n, err
}

// AddressesDuring lists addresses as Socket.Addresses does, calling
// during(attempt) once in each attempt of the dump, after that attempt's
// first address arrived and while the kernel is still producing the rest:
// a change made there interrupts the attempt. Attempts count from 1.
func AddressesDuring(s *Socket, during func(attempt int)) ([]Address, error) {
	var e encoder
	e.begin(unix.RTM_GETADDR, unix.NLM_F_DUMP)
	e.fixed(ifaddrmsg(FamilyAll, 0, 0, 0, 0))
	e.end()
	var out []Address
	attempt := 0
	err := s.dump("address list", e.message(), func() {
		out = out[:0]
		attempt++
	}, func(h header, m []byte) error {
		if h.Type != unix.RTM_NEWADDR {
			return nil
		}
		a, err := decodeAddress(m)
		if err != nil {
			return err
		}
		if len(out) == 0 {
			during(attempt)
		}
		out = append(out, a)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// MaxDumpAttempts is how many attempts a dump gets before it fails with
// EINTR.
const MaxDumpAttempts = maxDumpAttempts

// OwePhantomDump marks s as owing the rest of a dump that is not running,
// as when the end of an abandoned dump was lost: nothing will come.
func OwePhantomDump(s *Socket) {
	s.mu.Lock()
	s.dumpSeq = s.nextSeq()
	s.mu.Unlock()
}
