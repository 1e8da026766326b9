package rtnl

import (
	"encoding/binary"
	"net/netip"

	"golang.org/x/sys/unix"
)

// RuleAdd installs the policy rule r. It is strict: an identical rule fails
// with EEXIST.
//
// The fields mean, when sending: From and To select by source and
// destination prefix; FwMark with FwMask (0 means an exact match,
// 0xffffffff); IIF and OIF by interface name; TOS; Priority (0 lets the
// kernel choose, just above the last rule's); Invert negates the
// selectors; Protocol tags the rule (0 sends none, the kernel then records
// unspec). Action 0 is RuleToTable, which requires a Table (any uint32).
// The family is r.Family, or when that is FamilyAll the family of From or
// To, and IPv4 when neither is set; pass FamilyV6 for an IPv6 rule with no
// address selector.
//
// It fails with an *Error, before anything is sent, EINVAL: `rule needs a
// table` without one; From and To of different families, or disagreeing
// with r.Family; an interface name longer than 15 bytes.
func (s *Socket) RuleAdd(r Rule) error {
	return s.ruleVerb("rule add", unix.RTM_NEWRULE, flagsCreate, r)
}

// RuleDelete removes the rule matching r's selectors, table and priority
// (each only when set). A rule that does not exist (already deleted
// included) fails with ENOENT: callers that converge state treat IsNotExist
// as success. Input is checked as by RuleAdd; a table is required.
func (s *Socket) RuleDelete(r Rule) error {
	return s.ruleVerb("rule delete", unix.RTM_DELRULE, flagsModify, r)
}

func (s *Socket) ruleVerb(op string, typ, flags uint16, r Rule) error {
	var e encoder
	if err := encodeRule(&e, op, typ, flags, r); err != nil {
		return err
	}
	return withContext(s.request(op, e.message(), nil), op, r.String())
}

// ruleFamily infers a rule's family from its address selectors.
func ruleFamily(op string, r Rule) (Family, error) {
	fam := r.Family
	for _, p := range []netip.Prefix{r.From, r.To} {
		if !p.IsValid() {
			continue
		}
		pf := familyOf(p.Addr().Unmap())
		switch {
		case fam == FamilyAll:
			fam = pf
		case fam != pf:
			return 0, invalid(op, "rule selectors from=%s to=%s and family %s disagree", r.From, r.To, r.Family)
		}
	}
	switch fam {
	case FamilyAll:
		return FamilyV4, nil
	case FamilyV4, FamilyV6:
		return fam, nil
	}
	return 0, invalid(op, "rule family %s: want inet or inet6", fam)
}

// encodeRule appends an RTM_NEWRULE or RTM_DELRULE request for r.
func encodeRule(e *encoder, op string, typ, flags uint16, r Rule) error {
	for _, x := range []struct {
		what string
		p    netip.Prefix
	}{{"rule source (from)", r.From}, {"rule destination (to)", r.To}} {
		if x.p != (netip.Prefix{}) {
			if err := checkPrefix(op, x.what, x.p); err != nil {
				return err
			}
		}
	}
	fam, err := ruleFamily(op, r)
	if err != nil {
		return err
	}
	action := r.Action
	if action == 0 {
		action = RuleToTable
	}
	if action == RuleToTable && r.Table == 0 {
		return invalid(op, "rule needs a table")
	}
	for _, n := range []string{r.IIF, r.OIF} {
		if n != "" {
			if err := checkLinkName(op, n); err != nil {
				return err
			}
		}
	}
	hdrTable := uint8(unix.RT_TABLE_UNSPEC)
	if r.Table < 256 {
		hdrTable = uint8(r.Table)
	}
	var hflags uint32
	if r.Invert {
		hflags = unix.FIB_RULE_INVERT
	}
	var dstLen, srcLen uint8
	if r.To.IsValid() {
		dstLen = uint8(r.To.Bits())
	}
	if r.From.IsValid() {
		srcLen = uint8(r.From.Bits())
	}
	e.begin(typ, flags)
	e.b = append(e.b, uint8(fam), dstLen, srcLen, r.TOS, hdrTable, 0, 0, uint8(action))
	e.b = binary.NativeEndian.AppendUint32(e.b, hflags)
	if r.Table != 0 {
		e.u32(unix.FRA_TABLE, r.Table)
	}
	if r.Priority != 0 {
		e.u32(unix.FRA_PRIORITY, r.Priority)
	}
	if r.From.IsValid() {
		e.addr(unix.FRA_SRC, r.From.Addr().Unmap())
	}
	if r.To.IsValid() {
		e.addr(unix.FRA_DST, r.To.Addr().Unmap())
	}
	if r.FwMark != 0 || r.FwMask != 0 {
		mask := r.FwMask
		if mask == 0 {
			mask = 0xffffffff
		}
		e.u32(unix.FRA_FWMARK, r.FwMark)
		e.u32(unix.FRA_FWMASK, mask)
	}
	if r.IIF != "" {
		e.str(unix.FRA_IIFNAME, r.IIF)
	}
	if r.OIF != "" {
		e.str(unix.FRA_OIFNAME, r.OIF)
	}
	if r.Protocol != 0 {
		e.u8(unix.FRA_PROTOCOL, uint8(r.Protocol))
	}
	e.end()
	return nil
}
