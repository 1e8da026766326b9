package rtnl

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Attributes of include/uapi/linux/nexthop.h that x/sys/unix does not name.
const (
	nhaFDB      = 0xb // flag: a nexthop of the bridge FDB
	nhaResGroup = 0xc // nested: resilient group parameters

	nhaResGroupBuckets         = 1 // u16
	nhaResGroupIdleTimer       = 2 // u32, clock_t
	nhaResGroupUnbalancedTimer = 3 // u32, clock_t
	nhaResGroupUnbalancedTime  = 4 // u64, clock_t, read only

	sizeofNhmsg      = 8
	sizeofNexthopGrp = 8
	clockTicksPerSec = 100 // USER_HZ: the unit of the kernel's clock_t in netlink
	maxNexthopWeight = 1 << 16
)

// NexthopGroupType says how a nexthop group spreads flows over its members.
type NexthopGroupType uint16

// Nexthop group types (NEXTHOP_GRP_TYPE_*).
const (
	// NexthopGroupMultipath hashes each flow onto a member in proportion
	// to the weights (hash-threshold); the zero value.
	NexthopGroupMultipath NexthopGroupType = 0
	// NexthopGroupResilient keeps a table of buckets, so that a change of
	// members moves only the flows of the buckets that must move (Linux
	// 5.13+).
	NexthopGroupResilient NexthopGroupType = 1
)

// String returns "mpath", "resilient", or the number, as iproute2 prints
// them.
func (t NexthopGroupType) String() string {
	switch t {
	case NexthopGroupMultipath:
		return "mpath"
	case NexthopGroupResilient:
		return "resilient"
	}
	return strconv.Itoa(int(t))
}

// NexthopMember is one member of a nexthop group.
type NexthopMember struct {
	// ID is the member nexthop's id; it must exist, and not be a group.
	ID uint32
	// Weight is the member's share of the flows, 1 to 65536; 0 means 1.
	// Kernels before 6.12 accept at most 256.
	Weight uint32
}

// Resilient holds the parameters of a resilient group.
type Resilient struct {
	// Buckets is the size of the bucket table; 0 lets the kernel choose
	// (128).
	Buckets uint16
	// IdleTimer is how long a bucket must be idle before it may move to
	// another member; the kernel keeps hundredths of a second. When
	// adding, 0 leaves the kernel's default (120 s).
	IdleTimer time.Duration
	// UnbalancedTimer is how long the group may stay unbalanced before
	// buckets move even if they are busy; 0 means never (the kernel's
	// default).
	UnbalancedTimer time.Duration
	// UnbalancedTime is how long the group has been unbalanced, as the
	// kernel reports it; it is never sent.
	UnbalancedTime time.Duration
}

// Nexthop is a nexthop object (RTM_NEWNEXTHOP, Linux 5.3+): a gateway
// and device, a device alone, a blackhole, or a group of other nexthops.
// Routes name it by ID (Route.NHID), so changing one nexthop object moves
// every route that uses it in one message.
//
// Exactly one of Gateway/OIF, Blackhole or Group describes it. The zero
// value is not a valid nexthop (its ID is 0).
type Nexthop struct {
	// ID is the nexthop's id, 1 to 2^32-1; routes refer to it.
	ID uint32
	// Family is FamilyV4 or FamilyV6 for a single nexthop and FamilyAll
	// for a group. When adding, FamilyAll takes the family of Gateway, or
	// FamilyV4 for a device or blackhole nexthop, as iproute2 does.
	Family Family
	// Protocol is the writer that installed the nexthop, as for routes.
	// When adding, 0 is sent as ProtocolStatic.
	Protocol Protocol
	// Scope is the kernel's scope of the nexthop (link for a gateway,
	// host for a device alone); it is never sent.
	Scope Scope
	// Flags are the RTNH_F_* flags: the kernel reports dead and linkdown;
	// only onlink (RTNH_F_ONLINK, the gateway is reachable on OIF without
	// a route to it) is sent.
	Flags uint32
	// Gateway is the next hop's address; unset for a device nexthop.
	Gateway netip.Addr
	// OIF is the index of the device packets leave through.
	OIF int
	// Blackhole makes a nexthop that drops packets.
	Blackhole bool
	// FDB marks a nexthop used by the bridge FDB (vxlan) rather than by
	// routes.
	FDB bool
	// Group lists the members of a group; nil for a single nexthop.
	Group []NexthopMember
	// GroupType is the group's type; it matters only for groups.
	GroupType NexthopGroupType
	// Resilient holds a resilient group's parameters; nil otherwise.
	Resilient *Resilient
	// EncapType is the lightweight tunnel encapsulation the kernel
	// reports (LWTUNNEL_ENCAP_*), 0 when none; encapsulations are not
	// decoded and never sent.
	EncapType uint16
}

// IsGroup reports whether n is a group of other nexthops.
func (n Nexthop) IsGroup() bool { return n.Group != nil }

// String returns `Nexthop<id=1 via 10.1.0.2 oif=2>`, `Nexthop<id=3
// blackhole>` or `Nexthop<id=10 group 1,3/2>` (member/weight when the
// weight is not 1, as `ip nexthop` writes groups), with proto= when
// Protocol is set.
func (n Nexthop) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Nexthop<id=%d", n.ID)
	switch {
	case n.Group != nil:
		b.WriteString(" group ")
		for i, m := range n.Group {
			if i > 0 {
				b.WriteByte('/')
			}
			b.WriteString(strconv.FormatUint(uint64(m.ID), 10))
			if m.Weight > 1 {
				b.WriteString("," + strconv.FormatUint(uint64(m.Weight), 10))
			}
		}
		if n.GroupType != NexthopGroupMultipath {
			b.WriteString(" type " + n.GroupType.String())
		}
	case n.Blackhole:
		b.WriteString(" blackhole")
	default:
		if n.Gateway.IsValid() {
			b.WriteString(" via " + n.Gateway.String())
		}
		fmt.Fprintf(&b, " oif=%d", n.OIF)
	}
	if n.FDB {
		b.WriteString(" fdb")
	}
	if n.Protocol != 0 {
		b.WriteString(" proto=" + n.Protocol.String())
	}
	b.WriteByte('>')
	return b.String()
}

func nhmsg(family Family, protocol Protocol, flags uint32) []byte {
	b := make([]byte, sizeofNhmsg)
	b[0] = uint8(family)
	b[2] = uint8(protocol)
	binary.NativeEndian.PutUint32(b[4:], flags)
	return b
}

// ticks converts the kernel's clock_t to a duration.
func ticks(v uint64) time.Duration {
	return time.Duration(v) * (time.Second / clockTicksPerSec)
}

// decodeNexthop decodes an RTM_NEWNEXTHOP or RTM_DELNEXTHOP payload.
func decodeNexthop(b []byte) (Nexthop, error) {
	if len(b) < sizeofNhmsg {
		return Nexthop{}, fmt.Errorf("nhmsg: %d bytes, want %d", len(b), sizeofNhmsg)
	}
	n := Nexthop{
		Family:   Family(b[0]),
		Scope:    Scope(b[1]),
		Protocol: Protocol(b[2]),
		Flags:    binary.NativeEndian.Uint32(b[4:8]),
	}
	ad := newAttrDecoder(b[sizeofNhmsg:])
	for ad.Next() {
		switch ad.Type() {
		case unix.NHA_ID:
			n.ID = ad.Uint32()
		case unix.NHA_GROUP:
			g := ad.Bytes()
			if len(g)%sizeofNexthopGrp != 0 {
				return Nexthop{}, fmt.Errorf("nexthop %d: NHA_GROUP of %d bytes, not a multiple of %d", n.ID, len(g), sizeofNexthopGrp)
			}
			n.Group = make([]NexthopMember, 0, len(g)/sizeofNexthopGrp)
			for ; len(g) > 0; g = g[sizeofNexthopGrp:] {
				// struct nexthop_grp: id, weight-1 (low byte), its high
				// byte (Linux 6.12+; zero before), reserved.
				w := uint32(g[5])<<8 | uint32(g[4])
				n.Group = append(n.Group, NexthopMember{ID: binary.NativeEndian.Uint32(g[:4]), Weight: w + 1})
			}
		case unix.NHA_GROUP_TYPE:
			n.GroupType = NexthopGroupType(ad.Uint16())
		case unix.NHA_BLACKHOLE:
			n.Blackhole = true
		case unix.NHA_OIF:
			n.OIF = int(ad.Uint32())
		case unix.NHA_GATEWAY:
			n.Gateway = ad.Addr()
		case unix.NHA_ENCAP_TYPE:
			n.EncapType = ad.Uint16()
		case nhaFDB:
			n.FDB = true
		case nhaResGroup:
			r := &Resilient{}
			nd := ad.Nested()
			for nd.Next() {
				switch nd.Type() {
				case nhaResGroupBuckets:
					r.Buckets = nd.Uint16()
				case nhaResGroupIdleTimer:
					r.IdleTimer = ticks(uint64(nd.Uint32()))
				case nhaResGroupUnbalancedTimer:
					r.UnbalancedTimer = ticks(uint64(nd.Uint32()))
				case nhaResGroupUnbalancedTime:
					r.UnbalancedTime = ticks(nd.Uint64())
				}
			}
			if err := nd.Err(); err != nil {
				return Nexthop{}, fmt.Errorf("nexthop %d: resilient group: %w", n.ID, err)
			}
			n.Resilient = r
		}
	}
	if err := ad.Err(); err != nil {
		return Nexthop{}, fmt.Errorf("nexthop %d: %w", n.ID, err)
	}
	if n.ID == 0 {
		return Nexthop{}, fmt.Errorf("nexthop without NHA_ID")
	}
	return n, nil
}

// NexthopFilter selects nexthops; only the fields that are set filter.
// OIF and GroupsOnly are applied by the kernel, Protocol as the dump
// arrives.
type NexthopFilter struct {
	// OIF restricts to nexthops through one interface index; 0 lists all.
	OIF int
	// GroupsOnly lists groups alone.
	GroupsOnly bool
	// Protocol restricts to nexthops of one protocol; 0 lists all.
	Protocol Protocol
}

// Nexthops returns every nexthop object, groups included. On failure it
// returns an *Error (see Errors in the package documentation) and a nil
// list; a kernel without nexthop objects (before 5.3) fails with
// EOPNOTSUPP or EINVAL.
func (s *Socket) Nexthops() ([]Nexthop, error) {
	return s.NexthopsFiltered(NexthopFilter{})
}

// NexthopsFiltered returns the nexthops that match f. Failures are as
// Nexthops's.
func (s *Socket) NexthopsFiltered(f NexthopFilter) ([]Nexthop, error) {
	var out []Nexthop
	err := s.eachNexthop(f, func() { out = out[:0] }, func(n Nexthop) error {
		out = append(out, n)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// eachNexthop dumps the nexthops matching f into fn; reset starts over
// when the kernel restarts an interrupted dump.
func (s *Socket) eachNexthop(f NexthopFilter, reset func(), fn func(Nexthop) error) error {
	const op = "nexthop list"
	return s.dump(op, nexthopDump(f), reset, func(h header, m []byte) error {
		if h.Type != unix.RTM_NEWNEXTHOP {
			return nil
		}
		n, err := decodeNexthop(m)
		if err != nil {
			return newError(op, unix.EBADMSG, "decoding: %v", err)
		}
		if f.Protocol != 0 && n.Protocol != f.Protocol {
			return nil
		}
		return fn(n)
	})
}

// nexthopDump returns the RTM_GETNEXTHOP dump request for f, with the
// filters the kernel applies (OIF, GroupsOnly).
func nexthopDump(f NexthopFilter) []byte {
	var e encoder
	e.begin(unix.RTM_GETNEXTHOP, unix.NLM_F_DUMP)
	e.fixed(nhmsg(FamilyAll, 0, 0))
	if f.OIF != 0 {
		e.u32(unix.NHA_OIF, uint32(f.OIF))
	}
	if f.GroupsOnly {
		e.attr(unix.NHA_GROUPS, nil)
	}
	e.end()
	return e.message()
}

// Nexthop returns the nexthop with the given id. One that does not exist
// fails with ENOENT; other failures are as Nexthops's.
func (s *Socket) Nexthop(id uint32) (Nexthop, error) {
	const op = "nexthop get"
	var e encoder
	e.begin(unix.RTM_GETNEXTHOP, 0)
	e.fixed(nhmsg(FamilyAll, 0, 0))
	e.u32(unix.NHA_ID, id)
	e.end()
	var out Nexthop
	var found bool
	err := s.request(op, e.message(), func(h header, m []byte) error {
		if h.Type != unix.RTM_NEWNEXTHOP {
			return nil
		}
		n, err := decodeNexthop(m)
		if err != nil {
			return newError(op, unix.EBADMSG, "decoding: %v", err)
		}
		out, found = n, true
		return nil
	})
	if err != nil {
		return Nexthop{}, withContext(err, op, fmt.Sprintf("nexthop id %d", id))
	}
	if !found {
		return Nexthop{}, newError(op, unix.ENOENT, "nexthop id %d: no reply", id)
	}
	return out, nil
}

// NexthopAdd creates n. It is strict: a nexthop with n.ID that exists
// fails with EEXIST (use NexthopReplace to change it).
//
// It fails with an *Error: EINVAL before anything is sent for an id of 0,
// a nexthop that is none or several of gateway/device, blackhole and
// group, a gateway of another family than Family, a weight above 65536 or
// a group member listed twice; the kernel's own refusal otherwise, with
// its explanation (a member that does not exist, a device that is down,
// a group inside a group).
func (s *Socket) NexthopAdd(n Nexthop) error {
	return s.nexthopVerb("nexthop add", unix.RTM_NEWNEXTHOP, flagsCreate, n)
}

// NexthopReplace creates n, or changes the nexthop with n.ID to n in
// place: every route that uses it follows at once. A single nexthop
// cannot become a group or the reverse (EINVAL from the kernel). Failures
// are as NexthopAdd's, without EEXIST.
func (s *Socket) NexthopReplace(n Nexthop) error {
	return s.nexthopVerb("nexthop replace", unix.RTM_NEWNEXTHOP, flagsReplace, n)
}

// NexthopDelete deletes the nexthop with the given id; the kernel removes
// it from the groups that hold it and deletes the routes that use it
// directly. One that does not exist (already deleted included) fails with
// ENOENT: callers that converge state treat IsNotExist as success.
func (s *Socket) NexthopDelete(id uint32) error {
	return s.nexthopVerb("nexthop delete", unix.RTM_DELNEXTHOP, flagsModify, Nexthop{ID: id})
}

func (s *Socket) nexthopVerb(op string, typ, flags uint16, n Nexthop) error {
	var e encoder
	if err := encodeNexthop(&e, op, typ, flags, n); err != nil {
		return err
	}
	return withContext(s.request(op, e.message(), nil), op, fmt.Sprintf("nexthop id %d", n.ID))
}

// encodeNexthop appends an RTM_NEWNEXTHOP or RTM_DELNEXTHOP request for n.
func encodeNexthop(e *encoder, op string, typ, flags uint16, n Nexthop) error {
	if n.ID == 0 {
		return invalid(op, "nexthop id 0: want an id from 1 to %d, which routes name", uint32(1<<32-1))
	}
	if typ == unix.RTM_DELNEXTHOP {
		e.begin(typ, flags)
		e.fixed(nhmsg(FamilyAll, 0, 0))
		e.u32(unix.NHA_ID, n.ID)
		e.end()
		return nil
	}
	kinds := 0
	if n.Group != nil {
		kinds++
	}
	if n.Blackhole {
		kinds++
	}
	if n.Gateway.IsValid() || n.OIF != 0 {
		kinds++
	}
	if kinds != 1 {
		return invalid(op, "nexthop %d: want exactly one of a gateway or device, blackhole, or a group", n.ID)
	}
	if n.Group == nil && (n.GroupType != NexthopGroupMultipath || n.Resilient != nil) {
		return invalid(op, "nexthop %d: a group type or resilient parameters without a group", n.ID)
	}
	family := n.Family
	proto := n.Protocol
	if proto == 0 {
		proto = ProtocolStatic
	}
	switch {
	case n.Group != nil:
		if len(n.Group) == 0 {
			return invalid(op, "nexthop %d: a group needs at least one member", n.ID)
		}
		if family != FamilyAll {
			return invalid(op, "nexthop %d: a group has no family, got %s", n.ID, family)
		}
		if n.GroupType != NexthopGroupResilient && n.Resilient != nil {
			return invalid(op, "nexthop %d: resilient parameters on a group of type %s", n.ID, n.GroupType)
		}
		seen := make(map[uint32]bool, len(n.Group))
		for _, m := range n.Group {
			if m.ID == 0 || m.ID == n.ID {
				return invalid(op, "nexthop %d: member id %d: want another nexthop's id", n.ID, m.ID)
			}
			if seen[m.ID] {
				return invalid(op, "nexthop %d: member %d listed twice", n.ID, m.ID)
			}
			seen[m.ID] = true
			if m.Weight > maxNexthopWeight {
				return invalid(op, "nexthop %d: member %d: weight %d above %d", n.ID, m.ID, m.Weight, maxNexthopWeight)
			}
		}
	case n.Gateway.IsValid():
		gw := familyOf(n.Gateway.Unmap())
		if family == FamilyAll {
			family = gw
		} else if family != gw {
			return invalid(op, "nexthop %d: gateway %s is not %s", n.ID, n.Gateway, family)
		}
	case n.Blackhole:
		if n.OIF != 0 {
			return invalid(op, "nexthop %d: a blackhole has no device", n.ID)
		}
	}
	if family == FamilyAll && n.Group == nil {
		// The kernel wants a family for every single nexthop ("Invalid
		// address family"); iproute2 sends AF_INET when nothing says.
		family = FamilyV4
	}
	e.begin(typ, flags)
	e.fixed(nhmsg(family, proto, n.Flags&unix.RTNH_F_ONLINK))
	e.u32(unix.NHA_ID, n.ID)
	switch {
	case n.Group != nil:
		g := make([]byte, 0, len(n.Group)*sizeofNexthopGrp)
		for _, m := range n.Group {
			w := max(m.Weight, 1) - 1
			var rec [sizeofNexthopGrp]byte
			binary.NativeEndian.PutUint32(rec[:4], m.ID)
			rec[4], rec[5] = uint8(w), uint8(w>>8)
			g = append(g, rec[:]...)
		}
		e.attr(unix.NHA_GROUP, g)
		e.u16(unix.NHA_GROUP_TYPE, uint16(n.GroupType))
		if n.GroupType == NexthopGroupResilient && n.Resilient != nil {
			e.nest(nhaResGroup)
			if n.Resilient.Buckets != 0 {
				e.u16(nhaResGroupBuckets, n.Resilient.Buckets)
			}
			if t := n.Resilient.IdleTimer; t != 0 {
				e.u32(nhaResGroupIdleTimer, uint32(t/(time.Second/clockTicksPerSec)))
			}
			if t := n.Resilient.UnbalancedTimer; t != 0 {
				e.u32(nhaResGroupUnbalancedTimer, uint32(t/(time.Second/clockTicksPerSec)))
			}
			e.endNest()
		}
	case n.Blackhole:
		e.attr(unix.NHA_BLACKHOLE, nil)
	default:
		if n.OIF != 0 {
			e.u32(unix.NHA_OIF, uint32(n.OIF))
		}
		if n.Gateway.IsValid() {
			e.addr(unix.NHA_GATEWAY, n.Gateway.Unmap())
		}
	}
	if n.FDB {
		e.attr(nhaFDB, nil)
	}
	e.end()
	return nil
}

// NexthopAdd appends the strict creation of n, as Socket.NexthopAdd.
func (b *Batch) NexthopAdd(n Nexthop) {
	b.nexthop("nexthop add", unix.RTM_NEWNEXTHOP, flagsCreate, n)
}

// NexthopReplace appends the create-or-replace of n, as
// Socket.NexthopReplace.
func (b *Batch) NexthopReplace(n Nexthop) {
	b.nexthop("nexthop replace", unix.RTM_NEWNEXTHOP, flagsReplace, n)
}

// NexthopDelete appends the deletion of the nexthop with the given id.
func (b *Batch) NexthopDelete(id uint32) {
	b.nexthop("nexthop delete", unix.RTM_DELNEXTHOP, flagsModify, Nexthop{ID: id})
}

func (b *Batch) nexthop(op string, typ, flags uint16, n Nexthop) {
	start := b.start()
	b.finish(start, encodeNexthop(&b.e, op, typ, flags, n))
}
