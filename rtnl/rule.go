package rtnl

import (
	"encoding/binary"
	"fmt"
	"net/netip"
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
	if r.Action != RuleToTable && r.Action != 0 {
		add("action=%s", r.Action)
	} else {
		add("table=%d", r.Table)
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
