package rtnl

import (
	"cmp"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net/netip"
	"slices"
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

// ParseRuleAction parses a rule action as String writes it ("to_tbl",
// "goto", "nop", "blackhole", "unreachable", "prohibit") or a number from
// 0 to 255. Anything else yields 0 and an error quoting s.
func ParseRuleAction(s string) (RuleAction, error) {
	for a := range 256 {
		if RuleAction(a).String() == s {
			return RuleAction(a), nil
		}
	}
	return 0, fmt.Errorf("rtnl: ParseRuleAction(%q): want to_tbl, goto, nop, blackhole, unreachable, prohibit or 0-255", s)
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
	// SPortMask and DPortMask, for a single port (Start == End), compare
	// only the port's bits in the mask (sport 0x100/0xff00; FRA_SPORT_MASK
	// and FRA_DPORT_MASK of recent kernels). 0 compares the whole port, as
	// does 0xffff, which such a kernel reports for a single port and which
	// decodes as 0.
	SPortMask, DPortMask uint16
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
	// DSCP selects by the Differentiated Services Code Point under a mask
	// (dscp in ip rule; FRA_DSCP from Linux 6.12, FRA_DSCP_MASK on later
	// kernels); the zero DSCP matches any.
	DSCP DSCP
	// Unmodelled holds, in a decoded rule, the selectors the kernel
	// reported that Linx does not model (say the flow label or port masks
	// of recent kernels), so that such a rule never decodes like one
	// without them. A rule holding any cannot be sent: RuleAdd and
	// RuleDelete refuse it.
	Unmodelled UnmodelledAttrs
}

// Rule attributes newer than golang.org/x/sys/unix names
// (include/uapi/linux/fib_rules.h, enum continuing after FRA_DPORT_RANGE
// = 24).
const (
	fraDSCP          = 25 // u8, the DSCP value (Linux 6.12)
	fraFlowLabel     = 26 // __be32, IPv6 flow label
	fraFlowLabelMask = 27 // __be32
	fraSPortMask     = 28 // u16, mask of FRA_SPORT_RANGE's single port (Linux 6.15)
	fraDPortMask     = 29 // u16
	fraDSCPMask      = 30 // u8, mask of FRA_DSCP
)

// DSCPMaskFull is the DSCP mask comparing all six bits of the field.
const DSCPMaskFull = 0x3f

// DSCP selects packets whose DSCP, under Mask, equals Value; it selects
// only when Set. Both are six-bit values: Value 46 is EF, and Mask
// DSCPMaskFull compares the whole field. The kernel refuses a Value with
// bits outside Mask, and keeps Mask DSCPMaskFull when it is not sent (a
// kernel older than FRA_DSCP_MASK knows no other).
type DSCP struct {
	Value, Mask uint8
	Set         bool
}

// String returns `46` for a full mask, `8/0x38` for another, and "" when
// not Set.
func (d DSCP) String() string {
	switch {
	case !d.Set:
		return ""
	case d.Mask == DSCPMaskFull:
		return strconv.Itoa(int(d.Value))
	}
	return fmt.Sprintf("%d/%#x", d.Value, d.Mask)
}

// UnmodelledAttrs records netlink attributes Linx does not model, in a
// canonical, comparable text: each attribute as its decimal type, a colon
// and its payload in hex (`26:00012340`), sorted by type, joined by
// commas; "" for none. Equal attributes give equal text, so two rules
// differing in one of them differ.
type UnmodelledAttrs string

// Types returns the attribute types a holds, in order, or nil when a is
// empty or malformed.
func (a UnmodelledAttrs) Types() []uint16 {
	attrs, err := parseUnmodelled(string(a))
	if err != nil {
		return nil
	}
	out := make([]uint16, len(attrs))
	for i, x := range attrs {
		out[i] = x.typ
	}
	return out
}

// ParseUnmodelledAttrs checks that s is UnmodelledAttrs' canonical form
// (types in order, payloads in lower-case hex) and returns it. On failure
// it returns "" and an error quoting s.
func ParseUnmodelledAttrs(s string) (UnmodelledAttrs, error) {
	attrs, err := parseUnmodelled(s)
	if err != nil {
		return "", fmt.Errorf("rtnl: parsing unmodelled attributes %q: %w", s, err)
	}
	if got := formatUnmodelled(attrs); got != UnmodelledAttrs(s) {
		return "", fmt.Errorf("rtnl: parsing unmodelled attributes %q: not canonical, want %q", s, got)
	}
	return UnmodelledAttrs(s), nil
}

// rawAttr is one attribute kept as it came.
type rawAttr struct {
	typ     uint16
	payload []byte
}

// formatUnmodelled returns attrs in UnmodelledAttrs' form, sorting them
// (stably, by type) in place.
func formatUnmodelled(attrs []rawAttr) UnmodelledAttrs {
	slices.SortStableFunc(attrs, func(a, b rawAttr) int { return cmp.Compare(a.typ, b.typ) })
	var b strings.Builder
	for i, a := range attrs {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatUint(uint64(a.typ), 10))
		b.WriteByte(':')
		b.WriteString(hex.EncodeToString(a.payload))
	}
	return UnmodelledAttrs(b.String())
}

// parseUnmodelled splits UnmodelledAttrs' form into its attributes.
func parseUnmodelled(s string) ([]rawAttr, error) {
	if s == "" {
		return nil, nil
	}
	var out []rawAttr
	for _, part := range strings.Split(s, ",") {
		t, p, ok := strings.Cut(part, ":")
		if !ok {
			return nil, fmt.Errorf("attribute %q: want type:hex", part)
		}
		n, err := strconv.ParseUint(t, 10, 16)
		if err != nil {
			return nil, fmt.Errorf("attribute %q: type: %w", part, err)
		}
		payload, err := hex.DecodeString(p)
		if err != nil {
			return nil, fmt.Errorf("attribute %q: payload: %w", part, err)
		}
		out = append(out, rawAttr{typ: uint16(n), payload: payload})
	}
	return out, nil
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
// added (`from=10.0.0.0/24`, `fwmark=0x1/0xffffffff`, `dscp=46`, …) and
// the selectors Linx does not model as `unmodelled=26:00012340`. A rule at
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
		add("sport=%s", portText(r.SPort, r.SPortMask))
	}
	if r.DPort.IsSet() {
		add("dport=%s", portText(r.DPort, r.DPortMask))
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
	if r.DSCP.Set {
		add("dscp=%s", r.DSCP)
	}
	if r.Unmodelled != "" {
		add("unmodelled=%s", r.Unmodelled)
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

// portText is p, with the mask when it is set and not the whole port.
func portText(p PortRange, mask uint16) string {
	if mask == 0 || mask == 0xffff {
		return p.String()
	}
	return fmt.Sprintf("%s/%#x", p, mask)
}

// fib_rule_hdr is laid out as rtmsg: family, dst_len, src_len, tos, table,
// res1, res2, action, flags.
const sizeofFibRuleHdr = 12

// decodeRule decodes an RTM_NEWRULE/RTM_DELRULE payload. An attribute it
// does not model (other than padding) is kept in Unmodelled, so that two
// different kernel rules never decode alike.
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
	var unknown []rawAttr
	dscpMask, hasDSCPMask := uint8(DSCPMaskFull), false
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
		case fraDSCP:
			r.DSCP = DSCP{Value: ad.Uint8(), Set: true}
		case fraDSCPMask:
			dscpMask, hasDSCPMask = ad.Uint8(), true
		case fraSPortMask:
			r.SPortMask = decodePortMask(ad.Uint16())
		case fraDPortMask:
			r.DPortMask = decodePortMask(ad.Uint16())
		case unix.FRA_PAD:
			// Alignment for a 64-bit attribute; it selects nothing.
		default:
			unknown = append(unknown, rawAttr{typ: ad.Type(), payload: ad.Bytes()})
		}
	}
	if err := ad.Err(); err != nil {
		return Rule{}, false, fmt.Errorf("rule: %w", err)
	}
	switch {
	case r.DSCP.Set:
		// A kernel that sends no mask compares the whole field.
		r.DSCP.Mask = dscpMask
	case hasDSCPMask:
		// A mask without a value is no selector the kernel makes; keep
		// it, so that the rule is not taken for one without.
		unknown = append(unknown, rawAttr{typ: fraDSCPMask, payload: []byte{dscpMask}})
	}
	r.Unmodelled = formatUnmodelled(unknown)
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

// decodePortMask reads a port mask: the kernel reports 0xffff, the whole
// port, for every single-port selector; that is the mask 0 means.
func decodePortMask(v uint16) uint16 {
	if v == 0xffff {
		return 0
	}
	return v
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
