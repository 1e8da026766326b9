package rtnl

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// RuleAction is a policy rule's action (fib_rule_hdr.action).
type RuleAction uint8

// Rule actions (include/uapi/linux/fib_rules.h).
const (
	RuleToTable     RuleAction = unix.FR_ACT_TO_TBL
	RuleGoto        RuleAction = unix.FR_ACT_GOTO
	RuleNop         RuleAction = unix.FR_ACT_NOP
	RuleBlackhole   RuleAction = unix.FR_ACT_BLACKHOLE
	RuleUnreachable RuleAction = unix.FR_ACT_UNREACHABLE
	RuleProhibit    RuleAction = unix.FR_ACT_PROHIBIT
)

// String returns the action as iproute2 names it.
func (a RuleAction) String() string {
	switch a {
	case RuleToTable:
		return "to_tbl"
	case RuleGoto:
		return "goto"
	case RuleNop:
		return "nop"
	case RuleBlackhole:
		return "blackhole"
	case RuleUnreachable:
		return "unreachable"
	case RuleProhibit:
		return "prohibit"
	}
	return fmt.Sprintf("%d", uint8(a))
}

// Rule is a policy-routing rule (RTM_NEWRULE): selectors that choose which
// routing table to consult.
type Rule struct {
	// Family is FamilyV4 or FamilyV6. When adding, FamilyAll infers it from
	// From or To, and is IPv4 when neither is set.
	Family Family
	// Priority orders rules, lowest first. The kernel's rule at priority 0
	// (lookup local) carries none; when adding, 0 lets the kernel choose.
	Priority uint32
	// Table is the table to look up (any uint32).
	Table uint32
	// From and To select by source and destination prefix; invalid (the
	// zero Prefix) matches any.
	From, To netip.Prefix
	// FwMark and FwMask select by firewall mark; a zero FwMask with a
	// non-zero FwMark means an exact match (0xffffffff).
	FwMark, FwMask uint32
	// IIF and OIF select by input and output interface name; "" for any.
	IIF, OIF string
	// TOS selects by type of service (IPv4).
	TOS uint8
	// Action is what a match does; zero means RuleToTable when adding.
	Action RuleAction
	// Invert negates the selectors ("not" in ip rule).
	Invert bool
	// Protocol says who installed the rule (FRA_PROTOCOL).
	Protocol Protocol
	// IPProto selects by IP protocol number (6 TCP, 17 UDP, …; ipproto in
	// ip rule); 0 matches any.
	IPProto uint8
	// SPort and DPort select by source and destination port range (sport
	// and dport); the zero PortRange matches any port.
	SPort, DPort PortRange
	// UIDRange selects by the uid owning the socket (uidrange); the zero
	// UIDRange matches any uid.
	UIDRange UIDRange
	// SuppressPrefixLen, when set, makes the lookup ignore a route whose
	// prefix is that long or shorter (suppress_prefixlength; 0 ignores
	// default routes). The zero Suppress suppresses nothing.
	SuppressPrefixLen Suppress
	// SuppressIfGroup, when set, makes the lookup ignore a route whose
	// device is in that interface group (suppress_ifgroup).
	SuppressIfGroup Suppress
	// L3MDev looks up the table of the L3 master device (VRF) of the
	// packet's interface instead of Table, which must then be 0.
	L3MDev bool
	// Goto is the priority a RuleGoto rule jumps to (FRA_GOTO); 0 for
	// none. A goto rule needs one, greater than its own priority.
	Goto uint32
	// TunID selects by tunnel id (FRA_TUN_ID, of metadata tunnels); 0
	// matches any.
	TunID uint64
	// Realms selects by routing realms (FRA_FLOW, IPv4 only: the source
	// realm in the high 16 bits, the destination realm in the low); 0
	// matches any.
	Realms uint32
}

// PortRange is an inclusive range of TCP, UDP or SCTP ports. The zero
// PortRange matches any port; a single port has Start == End.
type PortRange struct {
	Start, End uint16
}

// IsSet reports whether p selects anything (Start or End non-zero).
func (p PortRange) IsSet() bool { return p != PortRange{} }

// String returns `443` for a single port, `1000-2000` for a range, and ""
// for the zero PortRange.
func (p PortRange) String() string {
	switch {
	case !p.IsSet():
		return ""
	case p.Start == p.End:
		return strconv.FormatUint(uint64(p.Start), 10)
	}
	return strconv.FormatUint(uint64(p.Start), 10) + "-" + strconv.FormatUint(uint64(p.End), 10)
}

// UIDRange is an inclusive range of uids, selecting only when Set: the
// zero UIDRange matches any uid, and UIDRange{Set: true} matches uid 0.
// The kernel refuses Start > End and 4294967295 (no uid) at either end.
type UIDRange struct {
	Start, End uint32
	Set        bool
}

// String returns `100-200`, or "" when not Set.
func (u UIDRange) String() string {
	if !u.Set {
		return ""
	}
	return strconv.FormatUint(uint64(u.Start), 10) + "-" + strconv.FormatUint(uint64(u.End), 10)
}

// Suppress is an optional suppressor of a lookup rule, in force only when
// Set: the zero Suppress suppresses nothing, and Suppress{Set: true} has
// value 0. Value 4294967295 (the kernel's "none") is refused when sending.
type Suppress struct {
	Value uint32
	Set   bool
}

// String returns the value in decimal, or "" when not Set.
func (s Suppress) String() string {
	if !s.Set {
		return ""
	}
	return strconv.FormatUint(uint64(s.Value), 10)
}

// String returns `Rule<priority=32766 table=254>`, with each set selector
// added (`from=10.0.0.0/24`, `fwmark=0x1/0xffffffff`, …). A rule at
// priority 0 prints no priority: `Rule<table=255>`.
func (r Rule) String() string {
	var b strings.Builder
	b.WriteString("Rule<")
	sep := ""
	add := func(format string, args ...any) {
		b.WriteString(sep)
		fmt.Fprintf(&b, format, args...)
		sep = " "
	}
	if r.Priority != 0 {
		add("priority=%d", r.Priority)
	}
	if r.Invert {
		add("not")
	}
	if r.From.IsValid() {
		add("from=%s", r.From)
	}
	if r.To.IsValid() {
		add("to=%s", r.To)
	}
	if r.FwMark != 0 || r.FwMask != 0 {
		add("fwmark=%#x/%#x", r.FwMark, r.FwMask)
	}
	if r.IIF != "" {
		add("iif=%s", r.IIF)
	}
	if r.OIF != "" {
		add("oif=%s", r.OIF)
	}
	if r.TOS != 0 {
		add("tos=%#x", r.TOS)
	}
	if r.IPProto != 0 {
		add("ipproto=%d", r.IPProto)
	}
	if r.SPort.IsSet() {
		add("sport=%s", r.SPort)
	}
	if r.DPort.IsSet() {
		add("dport=%s", r.DPort)
	}
	if r.UIDRange.Set {
		add("uidrange=%s", r.UIDRange)
	}
	if r.TunID != 0 {
		add("tun_id=%d", r.TunID)
	}
	if r.Realms != 0 {
		add("realms=%d/%d", r.Realms>>16, r.Realms&0xffff)
	}
	switch {
	case r.Action == RuleGoto:
		add("goto=%d", r.Goto)
	case r.Action != RuleToTable && r.Action != 0:
		add("action=%s", r.Action)
	case r.L3MDev && r.Table == 0:
		add("l3mdev")
	default:
		if r.L3MDev {
			add("l3mdev")
		}
		add("table=%d", r.Table)
	}
	if r.SuppressPrefixLen.Set {
		add("suppress_prefixlength=%s", r.SuppressPrefixLen)
	}
	if r.SuppressIfGroup.Set {
		add("suppress_ifgroup=%s", r.SuppressIfGroup)
	}
	b.WriteByte('>')
	return b.String()
}

// fib_rule_hdr is laid out as rtmsg: family, dst_len, src_len, tos, table,
// res1, res2, action, flags.
const sizeofFibRuleHdr = 12

// decodeRule decodes an RTM_NEWRULE/RTM_DELRULE payload.
func decodeRule(b []byte) (Rule, bool, error) {
	if len(b) < sizeofFibRuleHdr {
		return Rule{}, false, fmt.Errorf("fib_rule_hdr: %d bytes, want %d", len(b), sizeofFibRuleHdr)
	}
	family := b[0]
	if family != unix.AF_INET && family != unix.AF_INET6 {
		return Rule{}, false, nil
	}
	dstLen, srcLen := int(b[1]), int(b[2])
	r := Rule{
		Family: Family(family),
		TOS:    b[3],
		Table:  uint32(b[4]),
		Action: RuleAction(b[7]),
		Invert: binary.NativeEndian.Uint32(b[8:12])&unix.FIB_RULE_INVERT != 0,
	}
	var from, to netip.Addr
	ad := newAttrDecoder(b[sizeofFibRuleHdr:])
	for ad.Next() {
		switch ad.Type() {
		case unix.FRA_PRIORITY:
			r.Priority = ad.Uint32()
		case unix.FRA_TABLE:
			r.Table = ad.Uint32()
		case unix.FRA_SRC:
			from = ad.Addr()
		case unix.FRA_DST:
			to = ad.Addr()
		case unix.FRA_FWMARK:
			r.FwMark = ad.Uint32()
		case unix.FRA_FWMASK:
			r.FwMask = ad.Uint32()
		case unix.FRA_IIFNAME:
			r.IIF = ad.String()
		case unix.FRA_OIFNAME:
			r.OIF = ad.String()
		case unix.FRA_PROTOCOL:
			r.Protocol = Protocol(ad.Uint8())
		case unix.FRA_IP_PROTO:
			r.IPProto = ad.Uint8()
		case unix.FRA_SPORT_RANGE:
			r.SPort = decodePortRange(&ad)
		case unix.FRA_DPORT_RANGE:
			r.DPort = decodePortRange(&ad)
		case unix.FRA_UID_RANGE:
			// struct fib_rule_uid_range; the kernel sends it only
			// when set.
			if b := ad.Bytes(); len(b) >= 8 {
				r.UIDRange = UIDRange{
					Start: binary.NativeEndian.Uint32(b[0:4]),
					End:   binary.NativeEndian.Uint32(b[4:8]),
					Set:   true,
				}
			} else {
				ad.fail("8 bytes")
			}
		case unix.FRA_SUPPRESS_PREFIXLEN:
			r.SuppressPrefixLen = decodeSuppress(ad.Uint32())
		case unix.FRA_SUPPRESS_IFGROUP:
			r.SuppressIfGroup = decodeSuppress(ad.Uint32())
		case unix.FRA_L3MDEV:
			r.L3MDev = ad.Uint8() != 0
		case unix.FRA_GOTO:
			r.Goto = ad.Uint32()
		case unix.FRA_TUN_ID:
			// __be64, in network order.
			if b := ad.Bytes(); len(b) >= 8 {
				r.TunID = binary.BigEndian.Uint64(b)
			} else {
				ad.fail("8 bytes")
			}
		case unix.FRA_FLOW:
			r.Realms = ad.Uint32()
		}
	}
	if err := ad.Err(); err != nil {
		return Rule{}, false, fmt.Errorf("rule: %w", err)
	}
	if from.IsValid() {
		if srcLen > from.BitLen() {
			return Rule{}, false, fmt.Errorf("rule: source prefix length %d for %s", srcLen, from)
		}
		r.From = netip.PrefixFrom(from, srcLen)
	}
	if to.IsValid() {
		if dstLen > to.BitLen() {
			return Rule{}, false, fmt.Errorf("rule: destination prefix length %d for %s", dstLen, to)
		}
		r.To = netip.PrefixFrom(to, dstLen)
	}
	return r, true, nil
}

// decodeSuppress reads a suppressor: the kernel sends a lookup rule's
// suppress_prefixlength even when unset, as 4294967295 (-1, none).
func decodeSuppress(v uint32) Suppress {
	if v == ^uint32(0) {
		return Suppress{}
	}
	return Suppress{Value: v, Set: true}
}

// decodePortRange reads struct fib_rule_port_range: start and end in host
// order.
func decodePortRange(ad *attrDecoder) PortRange {
	b := ad.Bytes()
	if len(b) < 4 {
		ad.fail("4 bytes")
		return PortRange{}
	}
	return PortRange{Start: binary.NativeEndian.Uint16(b[0:2]), End: binary.NativeEndian.Uint16(b[2:4])}
}

// Rules returns every policy rule, IPv4 and IPv6, in the kernel's order
// (IPv4 by priority, then IPv6 by priority). On failure it returns an *Error (see Errors in the package
// documentation) and a nil list.
func (s *Socket) Rules() ([]Rule, error) {
	const op = "rule list"
	var e encoder
	e.begin(unix.RTM_GETRULE, unix.NLM_F_DUMP)
	e.fixed(make([]byte, sizeofFibRuleHdr))
	e.end()
	var out []Rule
	err := s.dump(op, e.message(), func() { out = out[:0] }, func(h header, m []byte) error {
		if h.Type != unix.RTM_NEWRULE {
			return nil
		}
		r, ok, err := decodeRule(m)
		if err != nil {
			return newError(op, unix.EBADMSG, "decoding: %v", err)
		}
		if ok {
			out = append(out, r)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
