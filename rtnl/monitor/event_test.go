package monitor

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/linx-net/linx/rtnl"
)

func TestOpString(t *testing.T) {
	for op, want := range map[Op]string{
		NewLink: "link", DelLink: "deleted link",
		NewAddress: "address", DelAddress: "deleted address",
		NewRoute: "route", DelRoute: "deleted route",
		NewNeighbour: "neigh", DelNeighbour: "deleted neigh",
		NewRule: "rule", DelRule: "deleted rule",
		NewNexthop: "nexthop", DelNexthop: "deleted nexthop",
		ResyncNeeded: "resync", 0: "Op(0)", 200: "Op(200)",
	} {
		if got := op.String(); got != want {
			t.Errorf("Op(%d).String() = %q, want %q", uint8(op), got, want)
		}
		if got, want := op.IsDelete(), strings.HasPrefix(want, "deleted "); got != want {
			t.Errorf("%v.IsDelete() = %v, want %v", op, got, want)
		}
	}
}

// message builds a netlink message of type typ around payload.
func message(typ uint16, payload []byte) []byte {
	n := unix.NLMSG_HDRLEN + len(payload)
	b := make([]byte, (n+3)&^3)
	binary.NativeEndian.PutUint32(b[0:4], uint32(n))
	binary.NativeEndian.PutUint16(b[4:6], typ)
	copy(b[unix.NLMSG_HDRLEN:], payload)
	return b
}

// rtattr encodes one route attribute.
func rtattr(typ uint16, data []byte) []byte {
	n := 4 + len(data)
	b := make([]byte, (n+3)&^3)
	binary.NativeEndian.PutUint16(b[0:2], uint16(n))
	binary.NativeEndian.PutUint16(b[2:4], typ)
	copy(b[4:], data)
	return b
}

func TestDecodeEvent(t *testing.T) {
	// RTM_NEWADDR for 192.0.2.1/24 on ifindex 7.
	ifa := []byte{unix.AF_INET, 24, 0, 0, 7, 0, 0, 0}
	binary.NativeEndian.PutUint32(ifa[4:8], 7)
	addr := append(ifa, rtattr(unix.IFA_LOCAL, []byte{192, 0, 2, 1})...)
	addr = append(addr, rtattr(unix.IFA_ADDRESS, []byte{192, 0, 2, 1})...)

	var got []Event
	datagram := append(message(unix.RTM_NEWADDR, addr), message(unix.RTM_DELADDR, addr)...)
	datagram = append(datagram, message(unix.NLMSG_NOOP, nil)...)
	splitMessages(datagram, func(typ uint16, payload []byte) {
		if ev, ok := decodeEvent(typ, payload); ok {
			got = append(got, ev)
		}
	})
	if len(got) != 2 || got[0].Op != NewAddress || got[1].Op != DelAddress {
		t.Fatalf("decoded %v, want a new and a deleted address", got)
	}
	want, _ := rtnl.DecodeAddress(addr)
	if want.Prefix != netip.MustParsePrefix("192.0.2.1/24") || want.Index != 7 {
		t.Fatalf("test message decodes as %v", want)
	}
	for _, ev := range got {
		if ev.Err != nil || ev.Address == nil || ev.Address.Prefix != want.Prefix || ev.Address.Index != 7 {
			t.Errorf("event %v, want address %v", ev, want)
		}
		if r := ev.Resource(); r == nil {
			t.Errorf("Resource() of %v is nil", ev)
		}
	}
	if s := got[1].String(); !strings.HasPrefix(s, "deleted address ") || !strings.Contains(s, "192.0.2.1/24") {
		t.Errorf("String() = %q", s)
	}
}

func TestDecodeEventSkipsWhatLinxDoesNotModel(t *testing.T) {
	bridgePort := make([]byte, 16) // ifinfomsg of family AF_BRIDGE
	bridgePort[0] = unix.AF_BRIDGE
	fdb := make([]byte, 12) // ndmsg of family AF_BRIDGE
	fdb[0] = unix.AF_BRIDGE
	for _, tc := range []struct {
		name    string
		typ     uint16
		payload []byte
	}{
		{"bridge port", unix.RTM_NEWLINK, bridgePort},
		{"forwarding entry", unix.RTM_NEWNEIGH, fdb},
		{"qdisc", unix.RTM_NEWQDISC, make([]byte, 20)},
		{"done", unix.NLMSG_DONE, make([]byte, 4)},
	} {
		if ev, ok := decodeEvent(tc.typ, tc.payload); ok {
			t.Errorf("%s: decoded as %v, want skipped", tc.name, ev)
		}
	}
}

func TestDecodeEventReportsMalformed(t *testing.T) {
	for typ, op := range map[uint16]Op{
		unix.RTM_NEWLINK: NewLink, unix.RTM_DELADDR: DelAddress, unix.RTM_NEWROUTE: NewRoute,
		unix.RTM_DELNEIGH: DelNeighbour, unix.RTM_NEWRULE: NewRule,
	} {
		ev, ok := decodeEvent(typ, []byte{0}) // shorter than any header
		if !ok || ev.Op != op || ev.Err == nil || ev.Resource() != nil {
			t.Errorf("type %d: got %v (ok %v), want %v with an error and no resource", typ, ev, ok, op)
		}
	}
}

// TestDecodeEventOpOfEveryType checks that each notification type maps to
// its own op, creation and deletion alike.
func TestDecodeEventOpOfEveryType(t *testing.T) {
	for typ, op := range map[uint16]Op{
		unix.RTM_NEWLINK: NewLink, unix.RTM_DELLINK: DelLink,
		unix.RTM_NEWADDR: NewAddress, unix.RTM_DELADDR: DelAddress,
		unix.RTM_NEWROUTE: NewRoute, unix.RTM_DELROUTE: DelRoute,
		unix.RTM_NEWNEIGH: NewNeighbour, unix.RTM_DELNEIGH: DelNeighbour,
		unix.RTM_NEWRULE: NewRule, unix.RTM_DELRULE: DelRule,
		unix.RTM_NEWNEXTHOP: NewNexthop, unix.RTM_DELNEXTHOP: DelNexthop,
	} {
		ev, ok := decodeEvent(typ, []byte{0})
		if !ok || ev.Op != op {
			t.Errorf("type %d: got %v (ok %v), want op %v", typ, ev, ok, op)
		}
	}
}

// TestDeliverCollapsesAFullQueue checks the slow-consumer policy without a
// kernel: a full queue is replaced by one ResyncNeeded, and later events
// queue behind it.
func TestDeliverCollapsesAFullQueue(t *testing.T) {
	m := &Monitor{events: make(chan Event, 3), wake: make(chan struct{}, 1)}
	for range 3 {
		m.deliver(Event{Op: NewRoute})
	}
	m.deliver(Event{Op: NewRule}) // overflows: 3 queued + this one dropped
	m.deliver(Event{Op: NewLink})
	if got := m.dropped.Load(); got != 4 {
		t.Errorf("dropped = %d, want 4", got)
	}
	var ops []Op
	for len(m.events) > 0 {
		ops = append(ops, (<-m.events).Op)
	}
	if len(ops) != 2 || ops[0] != ResyncNeeded || ops[1] != NewLink {
		t.Fatalf("queue after overflow = %v, want [resync link]", ops)
	}
	if len(m.wake) != 1 {
		t.Fatalf("%d wake-ups pending, want 1", len(m.wake))
	}
	m.resync(errors.New("boom"))
	if ev := <-m.events; ev.Op != ResyncNeeded || ev.Err == nil {
		t.Fatalf("resync(err) delivered %v", ev)
	}
}

// FuzzDecode feeds arbitrary datagrams through the reader's decoding path:
// it must never panic, and every event it yields is well formed.
func FuzzDecode(f *testing.F) {
	ifa := []byte{unix.AF_INET6, 64, 0, 0, 1, 0, 0, 0}
	f.Add(message(unix.RTM_NEWADDR, append(ifa, rtattr(unix.IFA_ADDRESS, make([]byte, 16))...)))
	f.Add(message(unix.RTM_NEWLINK, make([]byte, 16)))
	f.Add(message(unix.RTM_DELROUTE, make([]byte, 12)))
	f.Add(message(unix.RTM_NEWRULE, make([]byte, 12)))
	f.Add(message(unix.RTM_NEWNEIGH, []byte{unix.AF_INET, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0}))
	f.Fuzz(func(t *testing.T, b []byte) {
		splitMessages(b, func(typ uint16, payload []byte) {
			ev, ok := decodeEvent(typ, payload)
			if !ok {
				return
			}
			set := 0
			for _, p := range []bool{ev.Link != nil, ev.Address != nil, ev.Route != nil, ev.Neighbour != nil, ev.Rule != nil} {
				if p {
					set++
				}
			}
			if ev.Op == 0 || ev.Op >= ResyncNeeded || (ev.Err == nil) != (set == 1) || set > 1 {
				t.Fatalf("malformed event %#v", ev)
			}
		})
	})
}
