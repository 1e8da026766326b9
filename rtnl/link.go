package rtnl

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"strconv"

	"golang.org/x/sys/unix"
)

// Link is a network interface as the kernel reports it (RTM_NEWLINK), and
// the description of one to create.
//
// The zero value is not a usable link: a link has at least a Name (to
// create) or an Index (as decoded).
type Link struct {
	// Index is the kernel's interface index; 0 on a link not yet created.
	Index int
	// Name is the interface name, at most 15 bytes.
	Name string
	// Kind is the rtnetlink kind ("veth", "bridge", "macvlan", "vxlan", …);
	// "" for a device with no kind, such as loopback or a physical NIC.
	Kind string
	// MTU in bytes; 0 leaves the kernel's default when creating.
	MTU int
	// Flags are the interface flags (net.FlagUp, …) from ifi_flags.
	Flags net.Flags
	// OperState is the operational state (IFLA_OPERSTATE).
	OperState OperState
	// HardwareAddr is the link-layer address; nil when the link has none
	// (or, when creating, to let the kernel choose).
	HardwareAddr net.HardwareAddr
	// MasterIndex is the index of the bridge (or other master) the link is
	// enslaved to; 0 for none.
	MasterIndex int
	// ParentIndex is the lower device of a macvlan, ipvlan, vlan or vxlan,
	// or the peer of a veth (IFLA_LINK; a vxlan's IFLA_VXLAN_LINK); 0 for
	// none. When ParentElsewhere is
	// set the index is one of another namespace, as `ip -j link` prints
	// it in link_index, and may even equal Index.
	ParentIndex int
	// ParentElsewhere reports that the kernel marked the link's lower side
	// as living in another namespace (IFLA_LINK_NETNSID): a veth whose
	// peer was moved or created elsewhere, a macvlan moved away from its
	// parent, a vxlan moved out of the namespace that holds its socket and
	// lower device (ParentIndex is then that device's index there, or 0).
	// It is false for a link whose ParentIndex is local, and in the zero
	// Link.
	//
	// It is a separate field because every namespace id, 0 included, is
	// valid: ParentNamespaceID alone could not tell "same namespace" from
	// "namespace 0" in a Link built by the caller. LinkAdd creates a
	// macvlan, macvtap, ipvlan or vlan on the parent it names (and refuses
	// it for any other kind); LinkModify sends nothing about the parent;
	// the diff never compares it.
	ParentElsewhere bool
	// ParentNamespaceID is the id this namespace gives to the namespace of
	// the lower side (IFLA_LINK_NETNSID), as `ip -j link` prints it in
	// link_netnsid and `ip netns list-id` lists it. It means something only
	// when ParentElsewhere is set, and is then -1 when the kernel could not
	// assign an id (ip prints "link-netnsid unknown").
	ParentNamespaceID int32
	// TxQueueLen is the transmit queue length (txqueuelen).
	TxQueueLen int
	// Data holds the settings particular to Kind that Linx models (nil when
	// there are none): a Macvlan, IPVlan, VLAN, Vxlan or Veth value.
	Data LinkData
}

// Up reports whether the link is administratively up (IFF_UP), as
// `ip link` prints UP in its flags.
func (l Link) Up() bool { return l.Flags&net.FlagUp != 0 }

// String returns `Link<"lo" (1) UP MTU=65536>`, with DOWN for a link that
// is not administratively up.
func (l Link) String() string {
	state := "DOWN"
	if l.Up() {
		state = "UP"
	}
	return fmt.Sprintf("Link<%q (%d) %s MTU=%d>", l.Name, l.Index, state, l.MTU)
}

// LinkData is the kind-specific part of a Link (IFLA_INFO_DATA). The
// implementations are comparable values: Macvlan, IPVlan, VLAN, Vxlan,
// Veth.
type LinkData interface {
	// LinkKind returns the rtnetlink kind the settings belong to.
	LinkKind() string
}

// MacvlanMode is the mode of a macvlan or macvtap link.
type MacvlanMode uint32

// Macvlan modes (include/uapi/linux/if_link.h).
const (
	MacvlanPrivate  MacvlanMode = 1
	MacvlanVEPA     MacvlanMode = 2
	MacvlanBridge   MacvlanMode = 4
	MacvlanPassthru MacvlanMode = 8
	MacvlanSource   MacvlanMode = 16
)

var macvlanModeNames = map[MacvlanMode]string{
	MacvlanPrivate: "private", MacvlanVEPA: "vepa", MacvlanBridge: "bridge",
	MacvlanPassthru: "passthru", MacvlanSource: "source",
}

// String returns the mode's iproute2 name.
func (m MacvlanMode) String() string {
	if n, ok := macvlanModeNames[m]; ok {
		return n
	}
	return strconv.Itoa(int(m))
}

// ParseMacvlanMode parses "private", "vepa", "bridge", "passthru" or
// "source". Anything else yields 0 and an error quoting s.
func ParseMacvlanMode(s string) (MacvlanMode, error) {
	for m, n := range macvlanModeNames {
		if n == s {
			return m, nil
		}
	}
	return 0, fmt.Errorf("rtnl: ParseMacvlanMode(%q): want private, vepa, bridge, passthru or source", s)
}

// Macvlan holds a macvlan link's settings. Its parent is Link.ParentIndex.
type Macvlan struct {
	Mode MacvlanMode
	// Tap makes the link a macvtap (kind "macvtap") rather than a macvlan.
	Tap bool
}

// LinkKind returns "macvlan", or "macvtap" when Tap is set.
func (m Macvlan) LinkKind() string {
	if m.Tap {
		return "macvtap"
	}
	return "macvlan"
}

// IPVlanMode is the mode of an ipvlan link.
type IPVlanMode uint16

// IPVlan modes.
const (
	IPVlanL2  IPVlanMode = 0
	IPVlanL3  IPVlanMode = 1
	IPVlanL3S IPVlanMode = 2
)

// String returns "l2", "l3" or "l3s".
func (m IPVlanMode) String() string {
	switch m {
	case IPVlanL2:
		return "l2"
	case IPVlanL3:
		return "l3"
	case IPVlanL3S:
		return "l3s"
	}
	return strconv.Itoa(int(m))
}

// ParseIPVlanMode parses "l2", "l3" or "l3s". Anything else yields 0 and an
// error quoting s.
func ParseIPVlanMode(s string) (IPVlanMode, error) {
	for _, m := range []IPVlanMode{IPVlanL2, IPVlanL3, IPVlanL3S} {
		if m.String() == s {
			return m, nil
		}
	}
	return 0, fmt.Errorf("rtnl: ParseIPVlanMode(%q): want l2, l3 or l3s", s)
}

// IPVlan holds an ipvlan link's settings. Its parent is Link.ParentIndex.
type IPVlan struct{ Mode IPVlanMode }

// LinkKind returns "ipvlan".
func (IPVlan) LinkKind() string { return "ipvlan" }

// VLAN holds an 802.1Q vlan link's settings. Its parent is
// Link.ParentIndex.
type VLAN struct {
	// ID is the VLAN id, 1 to 4094.
	ID uint16
}

// LinkKind returns "vlan".
func (VLAN) LinkKind() string { return "vlan" }

// Vxlan holds a vxlan link's settings. Its parent (the device the
// encapsulated traffic leaves by, optional) is Link.ParentIndex.
type Vxlan struct {
	// VNI is the VXLAN network identifier (0 to 16777215).
	VNI uint32
	// Port is the UDP destination port; 0 selects the kernel's default
	// (8472). IANA's is 4789.
	Port uint16
	// Local is the source address of encapsulated packets; optional.
	Local netip.Addr
	// Remote is the unicast peer; Group a multicast group. At most one is
	// set.
	Remote netip.Addr
	Group  netip.Addr
	// NoLearning turns off learning (IFLA_VXLAN_LEARNING): the link no
	// longer adds the source of received packets to its forwarding
	// database, as when the database is filled by a controller. The kernel
	// learns by default.
	NoLearning bool
}

// LinkKind returns "vxlan".
func (Vxlan) LinkKind() string { return "vxlan" }

// Veth describes the peer of a veth pair when creating one. The kernel does
// not report the peer's name, so a decoded veth has an empty Veth.
type Veth struct {
	// Peer is the name of the other end.
	Peer string
	// PeerNamespace is where the other end is created; the zero value
	// (Host()) means the socket's own namespace.
	PeerNamespace Namespace
}

// LinkKind returns "veth".
func (Veth) LinkKind() string { return "veth" }

// Attribute numbers of kinds' IFLA_INFO_DATA that x/sys/unix lacks.
const (
	vethInfoPeer = 1
)

// ifinfomsg is struct ifinfomsg.
type ifinfomsg struct {
	Family uint8
	Type   uint16
	Index  int32
	Flags  uint32
	Change uint32
}

const sizeofIfinfomsg = 16

func (m ifinfomsg) bytes() []byte {
	b := make([]byte, sizeofIfinfomsg)
	b[0] = m.Family
	binary.NativeEndian.PutUint16(b[2:], m.Type)
	binary.NativeEndian.PutUint32(b[4:], uint32(m.Index))
	binary.NativeEndian.PutUint32(b[8:], m.Flags)
	binary.NativeEndian.PutUint32(b[12:], m.Change)
	return b
}

// decodeLink decodes an RTM_NEWLINK payload; stats receives IFLA_STATS64
// when not nil.
func decodeLink(b []byte, stats *LinkStats64) (Link, error) {
	if len(b) < sizeofIfinfomsg {
		return Link{}, fmt.Errorf("ifinfomsg: %d bytes, want %d", len(b), sizeofIfinfomsg)
	}
	l := Link{
		Index: int(int32(binary.NativeEndian.Uint32(b[4:8]))),
		Flags: linkFlags(binary.NativeEndian.Uint32(b[8:12])),
	}
	vxlanLink := 0 // a vxlan's lower device (IFLA_VXLAN_LINK)
	ad := newAttrDecoder(b[sizeofIfinfomsg:])
	for ad.Next() {
		switch ad.Type() {
		case unix.IFLA_IFNAME:
			l.Name = ad.String()
		case unix.IFLA_MTU:
			l.MTU = int(ad.Uint32())
		case unix.IFLA_ADDRESS:
			l.HardwareAddr = ad.HardwareAddr()
		case unix.IFLA_LINK:
			l.ParentIndex = int(ad.Uint32())
		case unix.IFLA_LINK_NETNSID:
			l.ParentElsewhere = true
			l.ParentNamespaceID = int32(ad.Uint32())
		case unix.IFLA_MASTER:
			l.MasterIndex = int(ad.Uint32())
		case unix.IFLA_TXQLEN:
			l.TxQueueLen = int(ad.Uint32())
		case unix.IFLA_OPERSTATE:
			l.OperState = OperState(ad.Uint8())
		case unix.IFLA_LINKINFO:
			if err := decodeLinkInfo(&l, &vxlanLink, ad.Nested()); err != nil {
				return Link{}, fmt.Errorf("link %d: %w", l.Index, err)
			}
		case unix.IFLA_STATS64:
			if stats != nil {
				*stats = decodeStats64(ad.Bytes())
			}
		}
	}
	if err := ad.Err(); err != nil {
		return Link{}, fmt.Errorf("link %d: %w", l.Index, err)
	}
	// A device whose lower link is itself (IFLA_LINK == index) has none.
	// With IFLA_LINK_NETNSID the kernel sends IFLA_LINK even then, and the
	// index is one of the other namespace, where it may equal Index: a
	// veth created with its peer in a fresh namespace reports peer 2 from
	// index 2.
	if l.ParentIndex == l.Index && !l.ParentElsewhere {
		l.ParentIndex = 0
	}
	// A vxlan names its lower device in its own settings: IFLA_LINK is the
	// vxlan itself, which the kernel sends along with IFLA_LINK_NETNSID
	// once the vxlan has left the namespace of its socket and lower device.
	if l.Kind == "vxlan" {
		l.ParentIndex = vxlanLink
	}
	return l, nil
}

// linkFlags maps kernel IFF_* bits onto net.Flags.
func linkFlags(raw uint32) net.Flags {
	var f net.Flags
	if raw&unix.IFF_UP != 0 {
		f |= net.FlagUp
	}
	if raw&unix.IFF_BROADCAST != 0 {
		f |= net.FlagBroadcast
	}
	if raw&unix.IFF_LOOPBACK != 0 {
		f |= net.FlagLoopback
	}
	if raw&unix.IFF_POINTOPOINT != 0 {
		f |= net.FlagPointToPoint
	}
	if raw&unix.IFF_MULTICAST != 0 {
		f |= net.FlagMulticast
	}
	if raw&unix.IFF_RUNNING != 0 {
		f |= net.FlagRunning
	}
	return f
}

// decodeLinkInfo decodes IFLA_LINKINFO: the kind and the kind's settings
// Linx models, and a vxlan's lower device into *vxlanLink. A malformed
// settings block is an error, not a partial Data.
func decodeLinkInfo(l *Link, vxlanLink *int, ad attrDecoder) error {
	var data []byte
	for ad.Next() {
		switch ad.Type() {
		case unix.IFLA_INFO_KIND:
			l.Kind = ad.String()
		case unix.IFLA_INFO_DATA:
			data = ad.Bytes()
		}
	}
	d := newAttrDecoder(data)
	switch l.Kind {
	case "macvlan", "macvtap":
		m := Macvlan{Tap: l.Kind == "macvtap"}
		for d.Next() {
			if d.Type() == unix.IFLA_MACVLAN_MODE {
				m.Mode = MacvlanMode(d.Uint32())
			}
		}
		l.Data = m
	case "ipvlan":
		var m IPVlan
		for d.Next() {
			if d.Type() == unix.IFLA_IPVLAN_MODE {
				m.Mode = IPVlanMode(d.Uint16())
			}
		}
		l.Data = m
	case "vlan":
		var v VLAN
		for d.Next() {
			if d.Type() == unix.IFLA_VLAN_ID {
				v.ID = d.Uint16()
			}
		}
		l.Data = v
	case "vxlan":
		var v Vxlan
		for d.Next() {
			switch d.Type() {
			case unix.IFLA_VXLAN_ID:
				v.VNI = d.Uint32()
			case unix.IFLA_VXLAN_PORT:
				v.Port = d.BEUint16()
			case unix.IFLA_VXLAN_LOCAL, unix.IFLA_VXLAN_LOCAL6:
				v.Local = d.Addr()
			case unix.IFLA_VXLAN_GROUP, unix.IFLA_VXLAN_GROUP6:
				if a := d.Addr(); a.IsMulticast() {
					v.Group = a
				} else {
					v.Remote = a
				}
			case unix.IFLA_VXLAN_LEARNING:
				v.NoLearning = d.Uint8() == 0
			case unix.IFLA_VXLAN_LINK:
				*vxlanLink = int(d.Uint32())
			}
		}
		l.Data = v
	case "veth":
		l.Data = Veth{}
	}
	if err := ad.Err(); err != nil {
		return fmt.Errorf("link info: %w", err)
	}
	if err := d.Err(); err != nil {
		return fmt.Errorf("%s settings: %w", l.Kind, err)
	}
	return nil
}

// Links returns every link in the socket's namespace, ordered by index.
// On failure it returns an *Error (see Errors in the package
// documentation) and a nil list.
func (s *Socket) Links() ([]Link, error) {
	var links []Link
	err := s.dumpLinks("link list", false, func(l Link, _ *LinkStats64) { links = append(links, l) }, func() { links = links[:0] })
	if err != nil {
		return nil, err
	}
	return links, nil
}

// rtextFilterSkipStats is RTEXT_FILTER_SKIP_STATS (include/uapi/linux/
// rtnetlink.h), which x/sys/unix lacks: the kernel leaves the counters out.
const rtextFilterSkipStats = 1 << 3

// dumpLinks dumps every link; with stats false the kernel is asked to leave
// the counters out and fn gets zero statistics.
func (s *Socket) dumpLinks(op string, stats bool, fn func(Link, *LinkStats64), reset func()) error {
	var e encoder
	e.begin(unix.RTM_GETLINK, unix.NLM_F_DUMP)
	e.fixed(ifinfomsg{Family: unix.AF_UNSPEC}.bytes())
	if !stats {
		e.u32(unix.IFLA_EXT_MASK, rtextFilterSkipStats)
	}
	e.end()
	return s.dump(op, e.message(), reset, func(h header, m []byte) error {
		if h.Type != unix.RTM_NEWLINK {
			return nil
		}
		var st LinkStats64
		l, err := decodeLink(m, &st)
		if err != nil {
			return newError(op, unix.EBADMSG, "decoding: %v", err)
		}
		fn(l, &st)
		return nil
	})
}

// LinkByName returns the link called name. An unknown name fails with
// ENODEV: `no such interface "nope0"`.
func (s *Socket) LinkByName(name string) (Link, error) {
	l, _, err := s.getLink("link get", 0, name)
	return l, err
}

// LinkByIndex returns the link with the given index. An unknown index fails
// with ENODEV: `no such interface index 42`.
func (s *Socket) LinkByIndex(index int) (Link, error) {
	l, _, err := s.getLink("link get", index, "")
	return l, err
}

// getLink fetches one link by index or, when index is 0, by name.
func (s *Socket) getLink(op string, index int, name string) (Link, LinkStats64, error) {
	what := fmt.Sprintf("interface %q", name)
	if index != 0 {
		what = fmt.Sprintf("interface index %d", index)
	} else if err := checkLinkName(op, name); err != nil {
		return Link{}, LinkStats64{}, err
	}
	var e encoder
	e.begin(unix.RTM_GETLINK, 0)
	e.fixed(ifinfomsg{Family: unix.AF_UNSPEC, Index: int32(index)}.bytes())
	if index == 0 {
		e.str(unix.IFLA_IFNAME, name)
	}
	e.end()
	var (
		l  Link
		st LinkStats64
		ok bool
	)
	err := s.request(op, e.message(), func(h header, m []byte) error {
		if h.Type != unix.RTM_NEWLINK {
			return nil
		}
		var err error
		l, err = decodeLink(m, &st)
		ok = err == nil
		return err
	})
	switch {
	case err != nil && IsNotExist(err):
		return Link{}, st, withContext(err, op, "no such "+what)
	case err != nil:
		return Link{}, st, withContext(err, op, what)
	case !ok:
		return Link{}, st, newError(op, unix.ENODEV, "no such %s", what)
	}
	return l, st, nil
}

// checkLinkName refuses names the kernel cannot hold (CheckLinkName),
// before any request.
func checkLinkName(op, name string) error {
	if err := CheckLinkName(name); err != nil {
		return invalid(op, "%v", err)
	}
	return nil
}

// resolveLink returns the index of the link called name.
func (s *Socket) resolveLink(op, name string) (int, error) {
	l, _, err := s.getLink(op, 0, name)
	if err != nil {
		return 0, err
	}
	return l.Index, nil
}
