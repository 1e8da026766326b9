package rtnl

import (
	"errors"
	"fmt"
	"net"
	"os"

	"golang.org/x/sys/unix"
)

// Flags of the link, address, neighbour and rule verbs' requests.
const (
	flagsCreate  = unix.NLM_F_ACK | unix.NLM_F_CREATE | unix.NLM_F_EXCL
	flagsReplace = unix.NLM_F_ACK | unix.NLM_F_CREATE | unix.NLM_F_REPLACE
	flagsModify  = unix.NLM_F_ACK
)

// LinkAdd creates the link l describes and brings it up when l.Flags has
// net.FlagUp. It uses l.Name (required), the kind (l.Kind, or
// l.Data.LinkKind() when Data is set; they must agree when both are set),
// l.Data (Macvlan, IPVlan, VLAN, Vxlan or Veth settings), l.ParentIndex
// (the lower device of a macvlan, ipvlan or vlan; the device of a vxlan),
// l.MTU, l.HardwareAddr, l.MasterIndex and l.TxQueueLen, each only when it
// is not zero. A Veth's peer is created in Veth.PeerNamespace when that is
// not Host.
//
// A parent in another namespace: when l.ParentElsewhere is set, l.ParentIndex
// is an index of the namespace this one knows by the id l.ParentNamespaceID
// (IFLA_LINK_NETNSID), as Links and LinkByName decode a macvlan moved away
// from its parent, and the link is created here on that parent. Only the
// kinds whose parent is IFLA_LINK take one: macvlan, macvtap, ipvlan and
// vlan. Any other kind (a veth, whose peer goes elsewhere through
// Veth.PeerNamespace; a vxlan, whose socket and lower device live in the
// namespace it is created in), a ParentIndex of 0 or a negative ParentNamespaceID (no id) with
// ParentElsewhere fails with EINVAL before anything is sent, so that a
// foreign index is never read as a local one. ParentNamespaceID is ignored
// when ParentElsewhere is not set.
//
// It fails with an *Error: EINVAL, before anything is sent, for a missing
// or too long name, a missing kind, a malformed hardware address or a
// parent elsewhere it cannot name; EEXIST when the name is taken; ENODEV
// `no such parent interface index 7` (`… index 7 in namespace id 3` for a
// parent elsewhere) for a parent that does not exist; EINVAL with the
// kernel's text for a namespace id it does not know; EOPNOTSUPP `link kind
// "dummy" is not available in this kernel: …` for a kind the kernel lacks,
// and EOPNOTSUPP `link "v0" cannot be enslaved to interface index 4: …`
// for a master that takes no ports. The kernel's extended-ack text is
// always kept in Message.
func (s *Socket) LinkAdd(l Link) error {
	const op = "link add"
	var peerNS *os.File
	if v, ok := l.Data.(Veth); ok && !v.PeerNamespace.IsHost() {
		f, err := nsFile(op, v.PeerNamespace)
		if err != nil {
			return err
		}
		defer f.Close()
		peerNS = f
	}
	var e encoder
	kind, err := encodeLinkAdd(&e, op, l, peerNS)
	if err != nil {
		return err
	}
	return linkAddError(s.request(op, e.message(), nil), op, l, kind)
}

// linkAddError sharpens the kernel's answer to a link creation.
func linkAddError(err error, op string, l Link, kind string) error {
	var e *Error
	if err == nil || !errors.As(err, &e) {
		return err
	}
	switch {
	case e.Errno == unix.EOPNOTSUPP && e.Message == "" && l.MasterIndex != 0:
		// A missing kind comes with the kernel's "Unknown device type";
		// a master that takes no ports (a veth, say) with no text at all.
		return withContext(err, op, fmt.Sprintf("link %q cannot be enslaved to interface index %d: it takes no ports (a bridge or a bond does)", l.Name, l.MasterIndex))
	case e.Errno == unix.EOPNOTSUPP:
		return withContext(err, op, fmt.Sprintf("link kind %q is not available in this kernel", kind))
	case e.Errno == unix.ENODEV && l.ParentIndex != 0 && l.ParentElsewhere:
		return withContext(err, op, fmt.Sprintf("no such parent interface index %d in namespace id %d", l.ParentIndex, l.ParentNamespaceID))
	case e.Errno == unix.ENODEV && l.ParentIndex != 0:
		return withContext(err, op, fmt.Sprintf("no such parent interface index %d", l.ParentIndex))
	case e.Errno == unix.EEXIST:
		return withContext(err, op, fmt.Sprintf("interface %q already exists", l.Name))
	}
	return withContext(err, op, fmt.Sprintf("creating %s link %q", kind, l.Name))
}

// encodeLinkAdd appends the RTM_NEWLINK request that creates l and returns
// the link's kind. peerNS, when not nil, is the namespace file of a veth
// peer; it must stay open until the request is sent.
func encodeLinkAdd(e *encoder, op string, l Link, peerNS *os.File) (string, error) {
	if err := checkLinkName(op, l.Name); err != nil {
		return "", err
	}
	kind := l.Kind
	if l.Data != nil {
		dk := l.Data.LinkKind()
		if kind != "" && kind != dk {
			return "", invalid(op, "link %q: Kind %q disagrees with Data of kind %q", l.Name, kind, dk)
		}
		kind = dk
	}
	if kind == "" {
		return "", invalid(op, "link %q: no kind (set Link.Kind or Link.Data)", l.Name)
	}
	if err := checkLinkFields(op, l); err != nil {
		return "", err
	}
	if err := checkParentElsewhere(op, l, kind); err != nil {
		return "", err
	}
	var ifi ifinfomsg
	ifi.Family = unix.AF_UNSPEC
	if l.Flags&net.FlagUp != 0 {
		ifi.Flags, ifi.Change = unix.IFF_UP, unix.IFF_UP
	}
	e.begin(unix.RTM_NEWLINK, flagsCreate)
	e.fixed(ifi.bytes())
	e.str(unix.IFLA_IFNAME, l.Name)
	encodeLinkSettings(e, l)
	if l.MasterIndex > 0 {
		e.u32(unix.IFLA_MASTER, uint32(l.MasterIndex))
	}
	// A vxlan names its device inside its own data (IFLA_VXLAN_LINK).
	if _, isVxlan := l.Data.(Vxlan); l.ParentIndex > 0 && !isVxlan && kind != "vxlan" {
		e.u32(unix.IFLA_LINK, uint32(l.ParentIndex))
	}
	// The kernel looks IFLA_LINK up in the namespace IFLA_LINK_NETNSID
	// names (an s32 id of this namespace's table) instead of this one.
	if l.ParentElsewhere {
		e.u32(unix.IFLA_LINK_NETNSID, uint32(l.ParentNamespaceID))
	}
	e.nest(unix.IFLA_LINKINFO)
	e.str(unix.IFLA_INFO_KIND, kind)
	if err := encodeLinkData(e, op, l, peerNS); err != nil {
		return "", err
	}
	e.endNest()
	e.end()
	return kind, nil
}

// encodeLinkData appends IFLA_INFO_DATA for the kinds that have settings.
func encodeLinkData(e *encoder, op string, l Link, peerNS *os.File) error {
	switch d := l.Data.(type) {
	case nil:
	case Macvlan:
		e.nest(unix.IFLA_INFO_DATA)
		if d.Mode != 0 {
			if _, ok := macvlanModeNames[d.Mode]; !ok {
				return invalid(op, "link %q: unknown macvlan mode %d", l.Name, d.Mode)
			}
			e.u32(unix.IFLA_MACVLAN_MODE, uint32(d.Mode))
		}
		e.endNest()
	case IPVlan:
		if d.Mode > IPVlanL3S {
			return invalid(op, "link %q: unknown ipvlan mode %d", l.Name, d.Mode)
		}
		e.nest(unix.IFLA_INFO_DATA)
		e.u16(unix.IFLA_IPVLAN_MODE, uint16(d.Mode))
		e.endNest()
	case VLAN:
		if d.ID < 1 || d.ID > 4094 {
			return invalid(op, "link %q: vlan id %d out of range 1-4094", l.Name, d.ID)
		}
		e.nest(unix.IFLA_INFO_DATA)
		e.u16(unix.IFLA_VLAN_ID, d.ID)
		e.endNest()
	case Vxlan:
		if err := checkVxlan(op, l.Name, d); err != nil {
			return err
		}
		e.nest(unix.IFLA_INFO_DATA)
		e.u32(unix.IFLA_VXLAN_ID, d.VNI)
		if d.Port != 0 {
			e.beU16(unix.IFLA_VXLAN_PORT, d.Port)
		}
		if d.Local.IsValid() {
			e.addr(pick(d.Local.Is4(), unix.IFLA_VXLAN_LOCAL, unix.IFLA_VXLAN_LOCAL6), d.Local)
		}
		if r := d.Remote; r.IsValid() {
			e.addr(pick(r.Is4(), unix.IFLA_VXLAN_GROUP, unix.IFLA_VXLAN_GROUP6), r)
		}
		if g := d.Group; g.IsValid() {
			e.addr(pick(g.Is4(), unix.IFLA_VXLAN_GROUP, unix.IFLA_VXLAN_GROUP6), g)
		}
		if l.ParentIndex > 0 {
			e.u32(unix.IFLA_VXLAN_LINK, uint32(l.ParentIndex))
		}
		if d.NoLearning {
			e.u8(unix.IFLA_VXLAN_LEARNING, 0)
		}
		e.endNest()
	case Veth:
		if err := checkLinkName(op, d.Peer); err != nil {
			return invalid(op, "link %q: veth peer: %s", l.Name, messageOf(err))
		}
		e.nest(unix.IFLA_INFO_DATA)
		e.nest(vethInfoPeer)
		e.fixed(ifinfomsg{Family: unix.AF_UNSPEC}.bytes())
		e.str(unix.IFLA_IFNAME, d.Peer)
		if peerNS != nil {
			e.u32(unix.IFLA_NET_NS_FD, uint32(peerNS.Fd()))
		}
		e.endNest()
		e.endNest()
	default:
		return invalid(op, "link %q: unsupported link data %T", l.Name, l.Data)
	}
	return nil
}

func pick(c bool, a, b uint16) uint16 {
	if c {
		return a
	}
	return b
}

// checkVxlan refuses a VNI out of range, both a remote and a group, a
// unicast group and addresses of mixed families.
func checkVxlan(op, name string, v Vxlan) error {
	if v.VNI > 1<<24-1 {
		return invalid(op, "link %q: vxlan id %d out of range 0-16777215", name, v.VNI)
	}
	if v.Remote.IsValid() && v.Group.IsValid() {
		return invalid(op, "link %q: vxlan has both remote %s and group %s; set one", name, v.Remote, v.Group)
	}
	if v.Group.IsValid() && !v.Group.IsMulticast() {
		return invalid(op, "link %q: vxlan group %s is not a multicast address", name, v.Group)
	}
	if v.Remote.IsValid() && v.Remote.IsMulticast() {
		return invalid(op, "link %q: vxlan remote %s is a multicast address; use Group", name, v.Remote)
	}
	peer := v.Remote
	if !peer.IsValid() {
		peer = v.Group
	}
	if v.Local.IsValid() && peer.IsValid() && v.Local.Is4() != peer.Is4() {
		return invalid(op, "link %q: vxlan local %s and remote %s are of different families", name, v.Local, peer)
	}
	return nil
}

// checkLinkFields refuses values the kernel would misread.
func checkLinkFields(op string, l Link) error {
	if l.HardwareAddr != nil {
		if err := checkMAC(op, "hardware address", l.HardwareAddr); err != nil {
			return err
		}
	}
	if l.MTU < 0 {
		return invalid(op, "link %q: MTU %d is negative", l.Name, l.MTU)
	}
	if l.TxQueueLen < 0 {
		return invalid(op, "link %q: TxQueueLen %d is negative", l.Name, l.TxQueueLen)
	}
	return nil
}

// checkParentElsewhere refuses a parent in another namespace that
// IFLA_LINK_NETNSID cannot carry: one for a kind whose parent is not
// IFLA_LINK, one with no index, or one in a namespace without an id. Sent
// without the id, the foreign index would name whatever link has it here.
func checkParentElsewhere(op string, l Link, kind string) error {
	if !l.ParentElsewhere {
		return nil
	}
	switch kind {
	case "macvlan", "macvtap", "ipvlan", "vlan":
	default:
		return invalid(op, "link %q: a %s link cannot be created on a parent in another namespace (ParentElsewhere); only macvlan, macvtap, ipvlan and vlan can", l.Name, kind)
	}
	if l.ParentIndex <= 0 {
		return invalid(op, "link %q: ParentElsewhere is set but ParentIndex is %d", l.Name, l.ParentIndex)
	}
	if l.ParentNamespaceID < 0 {
		return invalid(op, "link %q: parent index %d is in a namespace with no id here (ParentNamespaceID %d); give it one (ip netns set)", l.Name, l.ParentIndex, l.ParentNamespaceID)
	}
	return nil
}

// checkMAC refuses a link-layer address of a length no link type uses:
// anything but 6 (Ethernet), 8 (EUI-64) or 20 (InfiniBand) bytes.
func checkMAC(op, what string, mac net.HardwareAddr) error {
	switch len(mac) {
	case 6, 8, 20:
		return nil
	}
	return invalid(op, "malformed %s %q: %d bytes, want 6, 8 or 20", what, mac.String(), len(mac))
}

// nsFile opens the file naming ns; the host namespace is the process's own.
func nsFile(op string, ns Namespace) (*os.File, error) {
	if ns.IsHost() {
		// thread-self, not self: a goroutine that ran Namespace.Run on the
		// main thread leaves that thread (whose namespace /proc/self shows)
		// parked in the other namespace; every other thread is in the host's.
		f, err := os.Open(hostNamespacePath)
		if err != nil {
			return nil, newError(op, unix.ENOENT, "opening the host namespace: %v", err)
		}
		return f, nil
	}
	return ns.open(op)
}

// CreateMacvlan creates a macvlan link called name on the interface called
// parent, in mode. A missing parent fails with ENODEV `no such parent
// interface "eth9"`; other failures are as LinkAdd's.
func (s *Socket) CreateMacvlan(name, parent string, mode MacvlanMode) error {
	return s.createOnParent(name, parent, Macvlan{Mode: mode})
}

// CreateMacvtap creates a macvtap link (a macvlan with a character device
// for a virtual machine) called name on parent, in mode. Failures are as
// CreateMacvlan's.
func (s *Socket) CreateMacvtap(name, parent string, mode MacvlanMode) error {
	return s.createOnParent(name, parent, Macvlan{Mode: mode, Tap: true})
}

// CreateIPVlan creates an ipvlan link called name on the interface called
// parent, in mode. Failures are as CreateMacvlan's; a kernel without
// ipvlan fails with EOPNOTSUPP naming the kind.
func (s *Socket) CreateIPVlan(name, parent string, mode IPVlanMode) error {
	return s.createOnParent(name, parent, IPVlan{Mode: mode})
}

// CreateVLAN creates an 802.1Q vlan link called name with the given id (1
// to 4094) on the interface called parent. Failures are as CreateMacvlan's;
// a kernel without 8021q fails with EOPNOTSUPP naming the kind.
func (s *Socket) CreateVLAN(name, parent string, id uint16) error {
	return s.createOnParent(name, parent, VLAN{ID: id})
}

// createOnParent resolves parent (sharpening a missing one) and creates the
// link.
func (s *Socket) createOnParent(name, parent string, data LinkData) error {
	const op = "link add"
	if err := checkLinkName(op, name); err != nil {
		return err
	}
	idx, err := s.resolveParent(op, parent)
	if err != nil {
		return err
	}
	return s.LinkAdd(Link{Name: name, ParentIndex: idx, Data: data})
}

func (s *Socket) resolveParent(op, parent string) (int, error) {
	if err := checkLinkName(op, parent); err != nil {
		return 0, invalid(op, "parent: %s", messageOf(err))
	}
	idx, err := s.resolveLink(op, parent)
	if IsNotExist(err) {
		return 0, newError(op, unix.ENODEV, "no such parent interface %q", parent)
	}
	return idx, err
}

// CreateVeth creates a veth pair: name and its peer, both in the socket's
// namespace. Failures are as LinkAdd's (EEXIST when either name is taken).
func (s *Socket) CreateVeth(name, peer string) error {
	return s.LinkAdd(Link{Name: name, Data: Veth{Peer: peer}})
}

// CreateVethIn creates a veth pair whose end name is in the socket's
// namespace and whose end peer is created directly in peerNS, so that it
// never appears here. An absent namespace fails with ESRCH (pid) or ENOENT
// (path); other failures are as LinkAdd's.
func (s *Socket) CreateVethIn(name, peer string, peerNS Namespace) error {
	if peerNS.IsHost() {
		// The zero Namespace in Veth means "here"; name the host explicitly.
		peerNS = NamespaceAt(hostNamespacePath)
	}
	return s.LinkAdd(Link{Name: name, Data: Veth{Peer: peer, PeerNamespace: peerNS}})
}

// CreateBridge creates a bridge called name. Failures are as LinkAdd's.
func (s *Socket) CreateBridge(name string) error {
	return s.LinkAdd(Link{Name: name, Kind: "bridge"})
}

// CreateDummy creates a dummy link called name. A kernel without the dummy
// driver fails with EOPNOTSUPP `link kind "dummy" is not available in this
// kernel: …`; other failures are as LinkAdd's.
func (s *Socket) CreateDummy(name string) error {
	return s.LinkAdd(Link{Name: name, Kind: "dummy"})
}

// CreateVxlan creates a vxlan link called name with settings v; parent,
// when not "", is the interface encapsulated packets leave by (required by
// the kernel for a multicast group). A missing parent fails with ENODEV
// `no such parent interface "eth9"`; inconsistent settings (both Remote and
// Group, mixed families, a VNI above 16777215) fail with EINVAL before
// anything is sent.
func (s *Socket) CreateVxlan(name string, v Vxlan, parent string) error {
	const op = "link add"
	l := Link{Name: name, Data: v}
	if parent != "" {
		idx, err := s.resolveParent(op, parent)
		if err != nil {
			return err
		}
		l.ParentIndex = idx
	}
	return s.LinkAdd(l)
}

// setLink sends an RTM_NEWLINK that modifies the link called name: ifi
// flags/change and the attributes attrs appends.
func (s *Socket) setLink(op, name string, flags, change uint32, attrs func(e *encoder)) error {
	idx, err := s.resolveLink(op, name)
	if err != nil {
		return err
	}
	var e encoder
	e.begin(unix.RTM_NEWLINK, flagsModify)
	e.fixed(ifinfomsg{Family: unix.AF_UNSPEC, Index: int32(idx), Flags: flags, Change: change}.bytes())
	if attrs != nil {
		attrs(&e)
	}
	e.end()
	return withContext(s.request(op, e.message(), nil), op, fmt.Sprintf("interface %q", name))
}

// LinkSetUp brings the link called name administratively up. An unknown
// name fails with ENODEV `no such interface "nope0"`.
func (s *Socket) LinkSetUp(name string) error {
	return s.setLink("link set up", name, unix.IFF_UP, unix.IFF_UP, nil)
}

// LinkSetDown brings the link called name administratively down. An
// unknown name fails with ENODEV.
func (s *Socket) LinkSetDown(name string) error {
	return s.setLink("link set down", name, 0, unix.IFF_UP, nil)
}

// LinkSetMTU sets the MTU of the link called name. A non-positive mtu
// fails with EINVAL before anything is sent; one outside the device's range
// fails with the kernel's EINVAL and its text.
func (s *Socket) LinkSetMTU(name string, mtu int) error {
	const op = "link set mtu"
	if mtu <= 0 || mtu > 1<<31-1 {
		return invalid(op, "MTU %d out of range", mtu)
	}
	return s.setLink(op, name, 0, 0, func(e *encoder) { e.u32(unix.IFLA_MTU, uint32(mtu)) })
}

// LinkSetHardwareAddr sets the link-layer address of the link called name.
// A malformed address (not 6, 8 or 20 bytes) fails with EINVAL before
// anything is sent.
func (s *Socket) LinkSetHardwareAddr(name string, mac net.HardwareAddr) error {
	const op = "link set address"
	if err := checkMAC(op, "hardware address", mac); err != nil {
		return err
	}
	return s.setLink(op, name, 0, 0, func(e *encoder) { e.attr(unix.IFLA_ADDRESS, mac) })
}

// LinkSetName renames the link called name to newName. Kernels before 6.2
// refuse (EBUSY) to rename most links that are up; a taken newName fails
// with EEXIST; a newName longer than 15 bytes fails with EINVAL before
// anything is sent.
func (s *Socket) LinkSetName(name, newName string) error {
	const op = "link set name"
	if err := checkLinkName(op, newName); err != nil {
		return err
	}
	return s.setLink(op, name, 0, 0, func(e *encoder) { e.str(unix.IFLA_IFNAME, newName) })
}

// LinkSetMaster enslaves the link called name to the bridge (or other
// master) called master. Either name unknown fails with ENODEV.
func (s *Socket) LinkSetMaster(name, master string) error {
	const op = "link set master"
	if err := checkLinkName(op, master); err != nil {
		return err
	}
	midx, err := s.resolveLink(op, master)
	if err != nil {
		return err
	}
	return s.setLink(op, name, 0, 0, func(e *encoder) { e.u32(unix.IFLA_MASTER, uint32(midx)) })
}

// LinkSetNoMaster releases the link called name from its master; a link
// with no master is left as it is. An unknown name fails with ENODEV.
func (s *Socket) LinkSetNoMaster(name string) error {
	return s.setLink("link set nomaster", name, 0, 0, func(e *encoder) { e.u32(unix.IFLA_MASTER, 0) })
}

// LinkDelete deletes the link called name (both ends, for a veth). An
// unknown name, including one already deleted, fails with ENODEV: callers
// that converge state treat IsNotExist as success.
func (s *Socket) LinkDelete(name string) error {
	const op = "link delete"
	idx, err := s.resolveLink(op, name)
	if err != nil {
		return err
	}
	var e encoder
	encodeLinkDelete(&e, idx)
	return withContext(s.request(op, e.message(), nil), op, fmt.Sprintf("interface %q", name))
}

func encodeLinkDelete(e *encoder, index int) {
	e.begin(unix.RTM_DELLINK, flagsModify)
	e.fixed(ifinfomsg{Family: unix.AF_UNSPEC, Index: int32(index)}.bytes())
	e.end()
}

// LinkMoveTo moves the link called name into namespace ns (by pid or by
// path; Host is the process's own namespace). The link keeps its settings
// but loses its addresses and routes, and is down in ns. A namespace that
// does not exist fails with ESRCH (pid) or ENOENT (path); a name already
// taken in ns fails with EEXIST.
func (s *Socket) LinkMoveTo(name string, ns Namespace) error {
	const op = "link move"
	f, err := nsFile(op, ns)
	if err != nil {
		return err
	}
	defer f.Close()
	return s.setLink(op, name, 0, 0, func(e *encoder) { e.u32(unix.IFLA_NET_NS_FD, uint32(f.Fd())) })
}

// LinkModify changes, in place, the link whose index is l.Index. It
// applies exactly these fields:
//
//   - MTU, when not 0;
//   - HardwareAddr, when not nil;
//   - TxQueueLen, when not 0;
//   - MasterIndex, always: 0 releases the link from its master;
//   - up or down, always, from l.Flags&net.FlagUp.
//
// Name, Kind, Data, OperState and the parent (ParentIndex, ParentElsewhere,
// ParentNamespaceID) are ignored: nothing about the parent is sent, so a
// decoded link whose parent is in another namespace can be passed back
// unchanged and keeps its parent. An index that does not exist fails with
// ENODEV; a malformed HardwareAddr with EINVAL before anything is sent.
func (s *Socket) LinkModify(l Link) error {
	const op = "link modify"
	var e encoder
	if err := encodeLinkModify(&e, op, l); err != nil {
		return err
	}
	return withContext(s.request(op, e.message(), nil), op, fmt.Sprintf("interface index %d", l.Index))
}

// encodeLinkSettings appends the settings a link creation and an in-place
// change both carry: l.MTU, l.HardwareAddr and l.TxQueueLen, each only when
// set. checkLinkFields has refused malformed values.
func encodeLinkSettings(e *encoder, l Link) {
	if l.MTU > 0 {
		e.u32(unix.IFLA_MTU, uint32(l.MTU))
	}
	if l.HardwareAddr != nil {
		e.attr(unix.IFLA_ADDRESS, l.HardwareAddr)
	}
	if l.TxQueueLen > 0 {
		e.u32(unix.IFLA_TXQLEN, uint32(l.TxQueueLen))
	}
}

// encodeLinkModify appends the RTM_NEWLINK request that changes the link
// l.Index in place, as Socket.LinkModify documents.
func encodeLinkModify(e *encoder, op string, l Link) error {
	if l.Index <= 0 {
		return invalid(op, "link index %d: want a positive index", l.Index)
	}
	if err := checkLinkFields(op, l); err != nil {
		return err
	}
	var flags uint32
	if l.Flags&net.FlagUp != 0 {
		flags = unix.IFF_UP
	}
	e.begin(unix.RTM_NEWLINK, flagsModify)
	e.fixed(ifinfomsg{Family: unix.AF_UNSPEC, Index: int32(l.Index), Flags: flags, Change: unix.IFF_UP}.bytes())
	encodeLinkSettings(e, l)
	e.u32(unix.IFLA_MASTER, uint32(l.MasterIndex))
	e.end()
	return nil
}
