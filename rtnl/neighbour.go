package rtnl

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"

	"golang.org/x/sys/unix"
)

// Neighbour is an ARP (IPv4) or NDP (IPv6) table entry: an IP address
// mapped to a link-layer address on one interface (RTM_NEWNEIGH).
type Neighbour struct {
	// Index is the interface's index.
	Index int
	// IP is the neighbour's address; it gives the entry's family.
	IP netip.Addr
	// HardwareAddr is the link-layer address; nil for an entry that has
	// none yet (INCOMPLETE, FAILED).
	HardwareAddr net.HardwareAddr
	// State is the NUD state; zero means NeighPermanent when adding.
	State NeighState
	// Flags are the NTF_* flags (router, proxy, …).
	Flags uint8
	// Protocol says who installed the entry (NDA_PROTOCOL, Linux 5.0 and
	// later), in the numbering of a route's; 0 when none was given.
	Protocol Protocol
}

// ndaProtocol is NDA_PROTOCOL (include/uapi/linux/neighbour.h), which
// golang.org/x/sys/unix does not name.
const ndaProtocol = 12

// Family returns FamilyV4 or FamilyV6, from IP.
func (n Neighbour) Family() Family { return familyOf(n.IP) }

// String returns `Neighbour<192.168.1.1 -> aa:bb:cc:dd:ee:ff ifindex=2>`.
func (n Neighbour) String() string {
	mac := n.HardwareAddr.String()
	if mac == "" {
		mac = "(none)"
	}
	return fmt.Sprintf("Neighbour<%s -> %s ifindex=%d>", n.IP, mac, n.Index)
}

const sizeofNdmsg = 12

func ndmsg(family Family, index int, state NeighState, flags uint8) []byte {
	b := make([]byte, sizeofNdmsg)
	b[0] = uint8(family)
	binary.NativeEndian.PutUint32(b[4:], uint32(index))
	binary.NativeEndian.PutUint16(b[8:], uint16(state))
	b[10] = flags
	return b
}

// decodeNeighbour decodes an RTM_NEWNEIGH/RTM_DELNEIGH payload. It reports
// false for entries that are not IPv4 or IPv6 (bridge FDB entries).
func decodeNeighbour(b []byte) (Neighbour, bool, error) {
	if len(b) < sizeofNdmsg {
		return Neighbour{}, false, fmt.Errorf("ndmsg: %d bytes, want %d", len(b), sizeofNdmsg)
	}
	if b[0] != unix.AF_INET && b[0] != unix.AF_INET6 {
		return Neighbour{}, false, nil
	}
	n := Neighbour{
		Index: int(int32(binary.NativeEndian.Uint32(b[4:8]))),
		State: NeighState(binary.NativeEndian.Uint16(b[8:10])),
		Flags: b[10],
	}
	ad := newAttrDecoder(b[sizeofNdmsg:])
	for ad.Next() {
		switch ad.Type() {
		case unix.NDA_DST:
			n.IP = ad.Addr()
		case unix.NDA_LLADDR:
			n.HardwareAddr = ad.HardwareAddr()
		case ndaProtocol:
			n.Protocol = Protocol(ad.Uint8())
		}
	}
	if err := ad.Err(); err != nil {
		return Neighbour{}, false, fmt.Errorf("neighbour on ifindex %d: %w", n.Index, err)
	}
	if !n.IP.IsValid() {
		return Neighbour{}, false, fmt.Errorf("neighbour on ifindex %d: no NDA_DST", n.Index)
	}
	return n, true, nil
}

// Neighbours returns every ARP and NDP entry of every interface.
// On failure it returns an *Error (see Errors in the package
// documentation) and a nil list.
func (s *Socket) Neighbours() ([]Neighbour, error) {
	return s.listNeighbours("neighbour list", 0)
}

// NeighboursOf returns the ARP and NDP entries of the interface called
// name. An unknown name fails with ENODEV.
func (s *Socket) NeighboursOf(name string) ([]Neighbour, error) {
	idx, err := s.resolveLink("neighbour list", name)
	if err != nil {
		return nil, err
	}
	return s.listNeighbours("neighbour list", idx)
}

func (s *Socket) listNeighbours(op string, index int) ([]Neighbour, error) {
	var e encoder
	e.begin(unix.RTM_GETNEIGH, unix.NLM_F_DUMP)
	e.fixed(ndmsg(FamilyAll, 0, 0, 0))
	if index != 0 {
		e.u32(unix.NDA_IFINDEX, uint32(index))
	}
	e.end()
	var out []Neighbour
	err := s.dump(op, e.message(), func() { out = out[:0] }, func(h header, m []byte) error {
		if h.Type != unix.RTM_NEWNEIGH {
			return nil
		}
		n, ok, err := decodeNeighbour(m)
		if err != nil {
			return newError(op, unix.EBADMSG, "decoding: %v", err)
		}
		if ok && (index == 0 || n.Index == index) {
			out = append(out, n)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
