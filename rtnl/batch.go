package rtnl

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"iter"
	"math"
	"runtime"
	"slices"
	"strings"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Batch is an ordered list of mutations applied together by Socket.Apply,
// pipelined: many requests share each sendmsg and many are in flight at
// once, as FRR's zebra installs a routing table, so that a large batch
// costs about what the kernel spends on it rather than one round trip per
// entry. Only the last request of each sendmsg asks for an
// acknowledgement: the kernel reports every failed request anyway, in
// order, so that one acknowledgement says the whole datagram was handled,
// and a batch of successes costs the kernel and the reader one reply per
// datagram instead of one per entry.
//
// Each method appends one entry; entries are numbered from 0 in the order
// they were added, and failures are reported by that number. An entry is
// encoded when it is added: the batch holds only the encoded requests (one
// byte slice) and the entries refused while encoding, so it keeps no
// reference to its arguments and 100,000 routes take a few megabytes. An
// argument that fails validation (the checks the single verbs make, such as
// a gateway of another family) is kept as a failure of its entry, reported
// by Apply without being sent.
//
// The entries work by index (Address.Index, Route.OIF, …), never by name,
// so a batch needs no lookups. The zero value is an empty batch ready to
// use. A Batch is not safe for concurrent use; it may be applied several
// times, and Reset empties it for reuse while keeping its memory.
type Batch struct {
	e       encoder
	n       int
	invalid []batchInvalid
}

type batchInvalid struct {
	index int
	err   *Error
}

// Len returns the number of entries in the batch.
func (b *Batch) Len() int { return b.n }

// Reset empties the batch, keeping its buffer for reuse.
func (b *Batch) Reset() {
	b.e.b = b.e.b[:0]
	b.e.nested = b.e.nested[:0]
	b.n = 0
	b.invalid = b.invalid[:0]
}

// batchRoom is the free space below which the buffer is doubled before
// an entry is encoded: more than any single request but the largest link
// creations, which append grows as usual.
const batchRoom = 1 << 10

// start returns the offset at which the next entry begins, first doubling
// the buffer when it is nearly full. Left to append, a large buffer grows
// by about a quarter at a time, so a batch of 100,000 routes would
// allocate and copy five times its final size; doubling bounds that to
// twice.
func (b *Batch) start() int {
	if cap(b.e.b)-len(b.e.b) < batchRoom {
		nb := make([]byte, len(b.e.b), max(2*cap(b.e.b), 4<<10))
		copy(nb, b.e.b)
		b.e.b = nb
	}
	return len(b.e.b)
}

// finish closes the entry that began at offset start: a failed encoding is
// rolled back and recorded as the entry's failure.
func (b *Batch) finish(start int, err error) {
	if err != nil {
		b.e.b = b.e.b[:start]
		b.e.nested = b.e.nested[:0]
		var e *Error
		if !errors.As(err, &e) {
			e = &Error{Errno: unix.EINVAL, Message: err.Error()}
		}
		b.invalid = append(b.invalid, batchInvalid{index: b.n, err: e})
	}
	b.n++
}

// LinkAdd appends the creation of l, as Socket.LinkAdd makes it: a parent
// in another namespace (Link.ParentElsewhere) is named by its namespace id,
// and refused, with EINVAL, where Socket.LinkAdd refuses it. A veth peer in
// another namespace (Veth.PeerNamespace) is refused, with EINVAL: use
// Socket.LinkAdd for it.
func (b *Batch) LinkAdd(l Link) {
	const op = "link add"
	start := b.start()
	if v, ok := l.Data.(Veth); ok && !v.PeerNamespace.IsHost() {
		b.finish(start, invalid(op, "link %q: a veth peer in another namespace cannot be created in a batch; use Socket.LinkAdd", l.Name))
		return
	}
	_, err := encodeLinkAdd(&b.e, op, l, nil)
	b.finish(start, err)
}

// LinkModify appends the in-place change of the link l.Index, applying
// the fields Socket.LinkModify documents.
func (b *Batch) LinkModify(l Link) {
	start := b.start()
	b.finish(start, encodeLinkModify(&b.e, "link modify", l))
}

// LinkDelete appends the deletion of the link with the given index.
func (b *Batch) LinkDelete(index int) {
	start := b.start()
	if index <= 0 {
		b.finish(start, invalid("link delete", "link index %d: want a positive index", index))
		return
	}
	encodeLinkDelete(&b.e, index)
	b.finish(start, nil)
}

// AddressAdd appends the strict assignment of a (EEXIST when present). It
// uses a.Index, a.Prefix and, when set, a.Peer, a.Broadcast, a.Label,
// a.Scope and a.Flags.
func (b *Batch) AddressAdd(a Address) {
	b.address("address add", unix.RTM_NEWADDR, flagsCreate, a)
}

// AddressReplace appends the create-or-replace assignment of a.
func (b *Batch) AddressReplace(a Address) {
	b.address("address replace", unix.RTM_NEWADDR, flagsReplace, a)
}

// AddressDelete appends the removal of a.Prefix from the link a.Index.
func (b *Batch) AddressDelete(a Address) {
	b.address("address delete", unix.RTM_DELADDR, flagsModify, a)
}

func (b *Batch) address(op string, typ, flags uint16, a Address) {
	start := b.start()
	b.finish(start, encodeAddress(&b.e, op, typ, flags, a))
}

// RouteAdd appends the strict installation of r, with the zero values
// Socket.RouteAdd documents.
func (b *Batch) RouteAdd(r Route) {
	b.route("route add", unix.RTM_NEWROUTE, flagsCreate, &r)
}

// RouteReplace appends the create-or-replace installation of r.
func (b *Batch) RouteReplace(r Route) {
	b.route("route replace", unix.RTM_NEWROUTE, flagsReplace, &r)
}

// RouteDelete appends the removal of r, matched as Socket.RouteDelete
// matches it.
func (b *Batch) RouteDelete(r Route) {
	b.route("route delete", unix.RTM_DELROUTE, flagsModify, &r)
}

func (b *Batch) route(op string, typ, flags uint16, r *Route) {
	start := b.start()
	b.finish(start, encodeRoute(&b.e, op, typ, flags, r))
}

// NeighbourAdd appends the strict creation of n (EEXIST when an entry for
// n.IP exists on n.Index); State 0 means NeighPermanent and a MAC is
// required.
func (b *Batch) NeighbourAdd(n Neighbour) {
	b.neighbour("neighbour add", unix.RTM_NEWNEIGH, flagsCreate, n)
}

// NeighbourReplace appends the create-or-replace of n, as
// Socket.NeighbourSet.
func (b *Batch) NeighbourReplace(n Neighbour) {
	b.neighbour("neighbour replace", unix.RTM_NEWNEIGH, flagsReplace, n)
}

// NeighbourDelete appends the removal of the entry for n.IP on n.Index.
func (b *Batch) NeighbourDelete(n Neighbour) {
	b.neighbour("neighbour delete", unix.RTM_DELNEIGH, flagsModify, n)
}

func (b *Batch) neighbour(op string, typ, flags uint16, n Neighbour) {
	start := b.start()
	b.finish(start, encodeNeighbour(&b.e, op, typ, flags, n))
}

// RuleAdd appends the strict installation of r, as Socket.RuleAdd.
func (b *Batch) RuleAdd(r Rule) {
	start := b.start()
	b.finish(start, encodeRule(&b.e, "rule add", unix.RTM_NEWRULE, flagsCreate, r))
}

// RuleDelete appends the removal of r, as Socket.RuleDelete.
func (b *Batch) RuleDelete(r Rule) {
	start := b.start()
	b.finish(start, encodeRule(&b.e, "rule delete", unix.RTM_DELRULE, flagsModify, r))
}

// ApplyOptions tunes Socket.ApplyWith. The zero value applies every entry.
type ApplyOptions struct {
	// StopOnError stops sending at the first failure (a validation
	// failure, or the first kernel error read back). Requests are then
	// sent one datagram (up to 64 requests) at a time and its replies
	// read before the next is sent, so the requests that shared the
	// failing one's datagram were already sent: they are still reported,
	// applied or failed. Entries not yet sent
	// are not applied, and BatchError.Done says where they start.
	StopOnError bool
}

// BatchFailure is the failure of one batch entry.
type BatchFailure struct {
	// Index is the entry's number in the batch, from 0.
	Index int
	// Op names the entry's verb ("route add", "address delete", …).
	Op string
	// Err is the kernel's error for the entry (with its extended-ack
	// text), the validation error found when the entry was added, or,
	// for an entry in flight when the transport failed, that failure.
	Err *Error
}

// BatchError reports the entries of a batch that failed.
//
// Every entry with an index below Done that is not listed in Failures was
// applied. Entries from Done on were not sent: the batch stopped early
// (ApplyOptions.StopOnError, or a transport failure such as a timeout).
// When the transport failed, the entries that were in flight are listed
// with the transport's error, and whether the kernel applied them is
// unknown: re-read the state.
type BatchError struct {
	// Failures are the failed entries in index order.
	Failures []BatchFailure
	// Done is the number of leading entries processed; it equals the
	// batch's Len when the batch ran to its end.
	Done int
	// Len is the batch's length.
	Len int
}

// Error returns a summary such as `batch: 2 of 100 entries failed; first
// #7 route add: netlink EEXIST (17): File exists`, with the number of
// entries not sent when the batch stopped early.
func (e *BatchError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "batch: %d of %d entries failed", len(e.Failures), e.Len)
	if e.Done < e.Len {
		fmt.Fprintf(&b, ", %d not sent", e.Len-e.Done)
	}
	if len(e.Failures) > 0 {
		f := e.Failures[0]
		fmt.Fprintf(&b, "; first #%d %s: %v", f.Index, f.Op, f.Err)
	}
	return b.String()
}

// Unwrap returns each failure's *Error, so that errors.Is(err, unix.EEXIST)
// holds when any entry failed with EEXIST.
func (e *BatchError) Unwrap() []error {
	out := make([]error, len(e.Failures))
	for i, f := range e.Failures {
		out[i] = f.Err
	}
	return out
}

// Batching limits. 64 requests or 64 KiB per sendmsg keeps each datagram
// far below the socket's send buffer; at most 1024 requests in flight keeps
// their replies (one per failed request and one per datagram, about 1 KiB
// of receive buffer each, errors with their text included) well inside the
// default 4 MiB receive buffer, since a reply the buffer cannot hold is
// dropped by the kernel.
const (
	batchChunkMsgs  = 64
	batchChunkBytes = 64 << 10
	batchWindow     = 1024
	ackTruesize     = 1 << 10
)

// Apply sends every entry of b and returns nil when all were applied, or
// a *BatchError listing exactly the entries that failed (kernel errors
// mapped back to their entry, and validation failures found when the
// entries were added). Entries are applied in order; a failed entry does
// not stop the ones after it (see ApplyWith for fail-fast).
//
// The socket is held for the whole batch: other requests on it wait.
func (s *Socket) Apply(b *Batch) error { return s.ApplyWith(b, ApplyOptions{}) }

// ApplyWith is Apply with options; it fails as Apply does, and with
// StopOnError the *BatchError's Done marks the first entry not sent.
func (s *Socket) ApplyWith(b *Batch, o ApplyOptions) error {
	const op = "batch"
	s.mu.Lock()
	defer s.mu.Unlock()

	window := s.window
	if o.StopOnError {
		// Read each datagram's replies before sending the next,
		// so that at most one datagram's worth runs past a failure.
		window = batchChunkMsgs
	}

	msgs := b.e.b
	total := b.n - len(b.invalid)
	// Reserve a contiguous run of sequence numbers, so that an ack's seq
	// gives its request's position directly.
	if uint64(s.seq)+uint64(total)+1 > math.MaxUint32 {
		s.seq = 0
	}
	base := s.seq + 1
	s.seq += uint32(total)

	type slot struct{ entry, off int }
	ring := make([]slot, window)
	rx := newAckReader(s.buf)
	var (
		fails   []BatchFailure
		off     int // next message to send
		entry   int // next entry to go through
		inv     int // next invalid entry
		sent    int // messages sent
		acked   int // messages known handled (their datagram's ack read)
		stopped bool
		reading bool // the read deadline is set for this read phase
	)
	fail := func(index int, err *Error) {
		fails = append(fails, BatchFailure{Index: index, Op: err.Op, Err: err})
		if o.StopOnError {
			stopped = true
		}
	}
	// skipInvalid records the refused entries at the current position.
	skipInvalid := func() {
		for !stopped && inv < len(b.invalid) && b.invalid[inv].index == entry {
			fail(entry, b.invalid[inv].err)
			inv++
			entry++
		}
	}
	// transport reports the requests in flight as failed with err.
	transport := func(err error) error {
		e, ok := err.(*Error)
		if !ok {
			e = newError(op, unix.EIO, "%v", err)
		}
		// Requests in flight whose failure was already read are reported
		// with it, not twice.
		var known map[int]bool
		if acked < sent {
			first := ring[acked%window].entry
			for _, f := range fails {
				if f.Index >= first {
					if known == nil {
						known = map[int]bool{}
					}
					known[f.Index] = true
				}
			}
		}
		for k := acked; k < sent; k++ {
			sl := ring[k%window]
			if known[sl.entry] {
				continue
			}
			c := *e
			c.Op = requestOp(msgs[sl.off:])
			c.Message = "outcome unknown: " + c.Message
			fails = append(fails, BatchFailure{Index: sl.entry, Op: c.Op, Err: &c})
		}
		return finishBatch(fails, entry, b.n)
	}

	for {
		// Send chunks while the window has room.
		for !stopped && sent-acked <= window-batchChunkMsgs {
			skipInvalid()
			if stopped || off >= len(msgs) {
				break
			}
			start, last, n := off, off, 0
			for n < batchChunkMsgs && off < len(msgs) && !stopped {
				if n > 0 {
					skipInvalid()
					if stopped {
						break
					}
				}
				l := int(binary.NativeEndian.Uint32(msgs[off:]))
				if n > 0 && off+l-start > batchChunkBytes {
					break
				}
				binary.NativeEndian.PutUint32(msgs[off+8:], base+uint32(sent))
				setAck(msgs[off:], false)
				ring[sent%window] = slot{entry: entry, off: off}
				last = off
				off += nlmAlign(l)
				entry++
				sent++
				n++
			}
			if n == 0 {
				break
			}
			setAck(msgs[last:], true)
			reading = false
			if err := s.send(op, msgs[start:off]); err != nil {
				// A failed sendmsg delivered none of its messages.
				sent -= n
				entry = ring[sent%window].entry
				fails = slices.DeleteFunc(fails, func(f BatchFailure) bool { return f.Index >= entry })
				return transport(err)
			}
		}
		if !stopped && off >= len(msgs) {
			skipInvalid() // trailing refused entries
		}
		if acked == sent {
			if stopped || off >= len(msgs) {
				break
			}
			continue
		}
		// Read replies. The kernel handles a sendmsg's requests before
		// the call returns, so their replies are already queued: one
		// deadline per read phase bounds the wait, rather than one timer
		// update per datagram.
		if !reading {
			if err := s.f.SetReadDeadline(time.Now().Add(s.timeout)); err != nil {
				return transport(s.ioError(op, err))
			}
			reading = true
		}
		nd, err := rx.recv(s, op)
		if err != nil {
			return transport(err)
		}
		for i := range nd {
			d := rx.datagram(i)
			for len(d) >= unix.NLMSG_HDRLEN {
				h, ok := parseHeader(d)
				if !ok {
					return transport(newError(op, unix.EBADMSG, "malformed netlink message from the kernel"))
				}
				m := d[unix.NLMSG_HDRLEN:h.Len]
				d = d[min(nlmAlign(int(h.Len)), len(d)):]
				k := int(h.Seq - base)
				if h.Type != unix.NLMSG_ERROR || h.Seq-base >= uint32(sent) || k < acked {
					continue // not ours: a stale reply to an earlier request
				}
				sl := ring[k%window]
				if !ackOK(m) {
					if err := parseAck(requestOp(msgs[sl.off:]), m); err != nil {
						e, ok := err.(*Error)
						if !ok {
							e = newError(op, unix.EBADMSG, "%v", err)
						}
						fail(sl.entry, e)
					}
				}
				if hasAck(msgs[sl.off:]) {
					// The datagram's last request: the kernel handled the
					// datagram in order, so every failure before it has
					// been read, and the requests up to it are done.
					acked = k + 1
				}
			}
		}
	}
	return finishBatch(fails, entry, b.n)
}

func finishBatch(fails []BatchFailure, done, n int) error {
	if len(fails) == 0 && done == n {
		return nil
	}
	slices.SortStableFunc(fails, func(a, b BatchFailure) int { return cmp.Compare(a.Index, b.Index) })
	return &BatchError{Failures: fails, Done: done, Len: n}
}

// requestOp names the verb of an encoded request from its type and flags.
// The names are constants: naming a request allocates nothing.
func requestOp(msg []byte) string {
	typ := binary.NativeEndian.Uint16(msg[4:6])
	flags := binary.NativeEndian.Uint16(msg[6:8])
	verb := 0 // add, replace, modify, delete
	switch {
	case typ == unix.RTM_DELLINK || typ == unix.RTM_DELADDR || typ == unix.RTM_DELROUTE ||
		typ == unix.RTM_DELNEIGH || typ == unix.RTM_DELRULE || typ == unix.RTM_DELNEXTHOP:
		verb = 3
	case flags&unix.NLM_F_REPLACE != 0:
		verb = 1
	case flags&unix.NLM_F_CREATE == 0:
		verb = 2
	}
	var names *[4]string
	switch typ {
	case unix.RTM_NEWLINK, unix.RTM_DELLINK:
		names = &[4]string{"link add", "link replace", "link modify", "link delete"}
	case unix.RTM_NEWADDR, unix.RTM_DELADDR:
		names = &[4]string{"address add", "address replace", "address modify", "address delete"}
	case unix.RTM_NEWROUTE, unix.RTM_DELROUTE:
		names = &[4]string{"route add", "route replace", "route modify", "route delete"}
	case unix.RTM_NEWNEIGH, unix.RTM_DELNEIGH:
		names = &[4]string{"neighbour add", "neighbour replace", "neighbour modify", "neighbour delete"}
	case unix.RTM_NEWRULE, unix.RTM_DELRULE:
		names = &[4]string{"rule add", "rule replace", "rule modify", "rule delete"}
	case unix.RTM_NEWNEXTHOP, unix.RTM_DELNEXTHOP:
		names = &[4]string{"nexthop add", "nexthop replace", "nexthop modify", "nexthop delete"}
	default:
		return fmt.Sprintf("request %d", typ)
	}
	return names[verb]
}

// setAck sets or clears NLM_F_ACK on the encoded request msg.
func setAck(msg []byte, on bool) {
	f := binary.NativeEndian.Uint16(msg[6:8]) &^ unix.NLM_F_ACK
	if on {
		f |= unix.NLM_F_ACK
	}
	binary.NativeEndian.PutUint16(msg[6:8], f)
}

// hasAck reports whether the encoded request msg asks for an
// acknowledgement.
func hasAck(msg []byte) bool {
	return binary.NativeEndian.Uint16(msg[6:8])&unix.NLM_F_ACK != 0
}

// ackOK reports whether the acknowledgement payload m says success: the
// common case, checked without naming the request.
func ackOK(m []byte) bool {
	return len(m) >= 4 && binary.NativeEndian.Uint32(m[:4]) == 0
}

// ackReader reads many acknowledgements per system call (recvmmsg), each
// datagram into its own slot of the socket's receive buffer: a batch's
// acks are single small datagrams, and reading them one recvfrom at a
// time would cost as much as the kernel's work on the requests.
type ackReader struct {
	buf  []byte
	iov  []unix.Iovec
	hdrs []mmsghdr
}

// mmsghdr is struct mmsghdr; Go pads it to the platform's alignment.
type mmsghdr struct {
	Hdr unix.Msghdr
	Len uint32
}

// ackSlot bounds one acknowledgement datagram: a capped ack is 36 bytes,
// plus the kernel's extended-ack text and attributes.
const ackSlot = 2 << 10

func newAckReader(buf []byte) *ackReader {
	n := len(buf) / ackSlot
	r := &ackReader{buf: buf, iov: make([]unix.Iovec, n), hdrs: make([]mmsghdr, n)}
	for i := range n {
		r.iov[i].Base = &buf[i*ackSlot]
		r.iov[i].SetLen(ackSlot)
		r.hdrs[i].Hdr.Iov = &r.iov[i]
		r.hdrs[i].Hdr.SetIovlen(1)
	}
	return r
}

// recv reads at least one datagram, waiting under the read deadline the
// caller has set, and returns how many it read.
func (r *ackReader) recv(s *Socket, op string) (int, error) {
	var (
		n    int
		rerr error
	)
	err := s.rc.Read(func(fd uintptr) bool {
		v, _, e := unix.Syscall6(unix.SYS_RECVMMSG, fd, uintptr(unsafe.Pointer(&r.hdrs[0])), uintptr(len(r.hdrs)), 0, 0, 0)
		n, rerr = int(v), nil
		if e != 0 {
			n, rerr = 0, e
		}
		return rerr != unix.EAGAIN
	})
	runtime.KeepAlive(r)
	if err == nil {
		err = rerr
	}
	if err != nil {
		return 0, s.ioError(op, err)
	}
	return n, nil
}

// datagram returns the i-th datagram of the last recv. A datagram cut at
// the slot's size (an unusually long error text) keeps its header and
// errno: its length is clamped to what was read.
func (r *ackReader) datagram(i int) []byte {
	d := r.buf[i*ackSlot : i*ackSlot+min(int(r.hdrs[i].Len), ackSlot)]
	if r.hdrs[i].Hdr.Flags&unix.MSG_TRUNC != 0 && len(d) >= unix.NLMSG_HDRLEN {
		binary.NativeEndian.PutUint32(d, uint32(len(d)))
	}
	return d
}

// BatchEntry is one entry of a Batch as Apply would send it: the netlink
// message type (unix.RTM_NEWROUTE, …), its flags (unix.NLM_F_CREATE, …,
// without NLM_F_ACK, which Apply sets per datagram) and the payload after
// the netlink header, which the Decode functions read (DecodeRoute, …);
// or, for an entry refused while it was added, Err and nothing else.
type BatchEntry struct {
	Type    uint16
	Flags   uint16
	Payload []byte
	Err     *Error
}

// Entries returns the entries of b in order, numbered as Apply numbers
// them, for a stand-in kernel that carries batches out in memory (a
// test's fake). The payloads alias b's buffer: they are valid until b is
// changed or reset and must not be written to.
func (b *Batch) Entries() iter.Seq2[int, BatchEntry] {
	return func(yield func(int, BatchEntry) bool) {
		off, inv := 0, 0
		msgs := b.e.b
		for i := 0; i < b.n; i++ {
			if inv < len(b.invalid) && b.invalid[inv].index == i {
				if !yield(i, BatchEntry{Err: b.invalid[inv].err}) {
					return
				}
				inv++
				continue
			}
			if off+unix.NLMSG_HDRLEN > len(msgs) {
				return
			}
			l := int(binary.NativeEndian.Uint32(msgs[off:]))
			e := BatchEntry{
				Type:    binary.NativeEndian.Uint16(msgs[off+4:]),
				Flags:   binary.NativeEndian.Uint16(msgs[off+6:]) &^ unix.NLM_F_ACK,
				Payload: msgs[off+unix.NLMSG_HDRLEN : off+l : off+l],
			}
			off += nlmAlign(l)
			if !yield(i, e) {
				return
			}
		}
	}
}
