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
// unspec). Action 0 is RuleToTable, which requires a Table (any uint32)
// unless L3MDev is set, which requires none. RuleGoto requires Goto, a
// priority above r's. IPProto, SPort, DPort, their masks, UIDRange,
// SuppressPrefixLen, SuppressIfGroup, TunID, Realms and DSCP are sent when
// set (a port mask when neither 0 nor 0xffff), so that a
// rule decoded from Rules is installed (and deleted) as it was; the DSCP
// mask is sent only when not DSCPMaskFull, which a kernel without
// FRA_DSCP_MASK assumes. A rule with Unmodelled selectors cannot be sent.
// The family is r.Family, or when that is FamilyAll the family of From or
// To, and IPv4 when neither is set; pass FamilyV6 for an IPv6 rule with no
// address selector.
//
// It fails with an *Error, before anything is sent, EINVAL: `rule needs a
// table` without one; a table with L3MDev; a goto rule without Goto, or
// Goto on another action; a Suppress value of 4294967295; From and To of
// different families, or disagreeing with r.Family; an interface name
// longer than 15 bytes; a port mask with a port range or no port, or with
// port bits outside it; a DSCP value or mask above 63, a value with bits
// outside its mask, or a DSCP with TOS; any Unmodelled selector (`rule has
// selectors Linx does not model`: sending the rule without them would
// name another rule). The kernel refuses with EINVAL a bad port or uid
// range and a goto target at or below r's priority. A kernel that predates
// a selector (DSCP before 6.12, the DSCP and port masks later still) may
// ignore it rather than refuse it, and install a broader rule: on such a
// kernel, read the rule back with Rules.
func (s *Socket) RuleAdd(r Rule) error {
	return s.ruleVerb("rule add", unix.RTM_NEWRULE, flagsCreate, r)
}

// RuleDelete removes exactly rule r: the installed rule with r's selectors,
// table, priority and action, and none other (a Priority or Protocol of 0
// matches any, as RuleAdd lets the kernel choose them). Input is checked
// as by RuleAdd; a table is required.
//
// The kernel deletes the first rule, in its order, that the request
// matches, and it matches a selector the request leaves unset as a
// wildcard: sent as is, a request for `lookup 13` would delete `ipproto
// tcp lookup 13` too. RuleDelete therefore lists the rules first. When r
// is not installed (already deleted included) it sends nothing and fails
// with ENOENT, naming the rule the kernel would have deleted if there is
// one; callers that converge state treat IsNotExist as success. When r is
// installed but an earlier rule at the same priority also matches (one
// with more selectors, or with Unmodelled ones), it deletes nothing and
// fails with EBUSY naming that rule; delete it first. Batch.RuleDelete
// checks nothing.
func (s *Socket) RuleDelete(r Rule) error {
	const op = "rule delete"
	var e encoder
	if err := encodeRule(&e, op, unix.RTM_DELRULE, flagsModify, r); err != nil {
		return err
	}
	if err := s.checkRuleShadow(op, r); err != nil {
		return err
	}
	return withContext(s.request(op, e.message(), nil), op, r.String())
}

// checkRuleShadow fails with EBUSY when r, as the kernel stores it, is
// installed but an earlier rule also matches the delete request for r,
// and with ENOENT when r is not installed.
func (s *Socket) checkRuleShadow(op string, r Rule) error {
	req, err := wireRule(op, r)
	if err != nil {
		return err
	}
	rules, err := s.Rules()
	if err != nil {
		return withContext(err, op, "listing rules to find "+r.String())
	}
	first := -1
	for i, k := range rules {
		if k.Family != req.Family {
			continue
		}
		if first < 0 && ruleFindMatches(req, k) {
			first = i
		}
		if ruleSame(req, k) {
			if first == i {
				return nil
			}
			return newError(op, unix.EBUSY,
				"%s is shadowed by the earlier %s: the kernel matches the selectors a delete leaves unset as wildcards, and would delete that rule", r, rules[first])
		}
	}
	if first >= 0 {
		return newError(op, unix.ENOENT, "%s is not installed; not sent, as the kernel would delete %s", r, rules[first])
	}
	return newError(op, unix.ENOENT, "%s is not installed", r)
}

// wireRule returns r with the defaults encodeRule sends made explicit:
// the family, the action and the firewall-mark mask.
func wireRule(op string, r Rule) (Rule, error) {
	fam, err := ruleFamily(op, r)
	if err != nil {
		return Rule{}, err
	}
	r.Family = fam
	if r.Action == 0 {
		r.Action = RuleToTable
	}
	if r.FwMark != 0 && r.FwMask == 0 {
		r.FwMask = 0xffffffff
	}
	r.SPortMask, r.DPortMask = decodePortMask(r.SPortMask), decodePortMask(r.DPortMask)
	return r, nil
}

// ruleSame reports whether installed rule k is req (as wireRule returns
// it); a req Protocol of 0 matches any, and so does a Priority of 0, which
// RuleAdd leaves to the kernel.
func ruleSame(req, k Rule) bool {
	if req.Protocol == 0 {
		k.Protocol = 0
	}
	if req.Priority == 0 {
		k.Priority = 0
	}
	return req == k
}

// ruleFindMatches reports whether a delete request for req matches
// installed rule k as the kernel's rule_find (net/core/fib_rules.c) and
// the family's compare function match it: each selector set in the request
// must be equal, an unset one matches anything (k's Unmodelled selectors
// included, which a request never carries); the invert flag and the goto
// target are not compared.
func ruleFindMatches(req, k Rule) bool {
	prefix := func(q, p netip.Prefix) bool {
		return !q.IsValid() || q.Bits() == 0 || q == p
	}
	switch {
	case req.Action != 0 && k.Action != req.Action,
		req.Table != 0 && k.Table != req.Table,
		req.Priority != 0 && k.Priority != req.Priority,
		req.IIF != "" && k.IIF != req.IIF,
		req.OIF != "" && k.OIF != req.OIF,
		req.FwMark != 0 && k.FwMark != req.FwMark,
		req.FwMask != 0 && k.FwMask != req.FwMask,
		req.SuppressIfGroup.Set && k.SuppressIfGroup != req.SuppressIfGroup,
		req.SuppressPrefixLen.Set && k.SuppressPrefixLen != req.SuppressPrefixLen,
		req.TunID != 0 && k.TunID != req.TunID,
		req.L3MDev && !k.L3MDev,
		req.UIDRange.Set && k.UIDRange != req.UIDRange,
		req.IPProto != 0 && k.IPProto != req.IPProto,
		req.Protocol != 0 && k.Protocol != req.Protocol,
		req.SPort.IsSet() && k.SPort != req.SPort,
		req.DPort.IsSet() && k.DPort != req.DPort,
		// The kernel gives a single port of the request the mask
		// 0xffff, which it then compares (decoded as 0 on both sides).
		req.SPort.IsSet() && req.SPort.Start == req.SPort.End && k.SPortMask != req.SPortMask,
		req.DPort.IsSet() && req.DPort.Start == req.DPort.End && k.DPortMask != req.DPortMask,
		req.TOS != 0 && k.TOS != req.TOS,
		req.Realms != 0 && k.Realms != req.Realms,
		req.DSCP.Set && (!k.DSCP.Set || k.DSCP.Value != req.DSCP.Value),
		// encodeRule sends the mask only when it is not full.
		req.DSCP.Set && req.DSCP.Mask != DSCPMaskFull && k.DSCP.Mask != req.DSCP.Mask,
		!prefix(req.From, k.From),
		!prefix(req.To, k.To):
		return false
	}
	return true
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
	if r.Unmodelled != "" {
		return invalid(op, "rule has selectors Linx does not model (attributes %v of %s) and cannot send them: without them the request would name another rule", r.Unmodelled.Types(), r)
	}
	for _, x := range []struct {
		what string
		p    PortRange
		mask uint16
	}{{"sport", r.SPort, r.SPortMask}, {"dport", r.DPort, r.DPortMask}} {
		if x.mask == 0 || x.mask == 0xffff {
			continue
		}
		switch {
		case !x.p.IsSet() || x.p.Start != x.p.End:
			return invalid(op, "rule %s mask %#x: a port mask needs a single port, not %q", x.what, x.mask, x.p.String())
		case x.p.Start&^x.mask != 0:
			return invalid(op, "rule %s %d/%#x: the port has bits outside the mask", x.what, x.p.Start, x.mask)
		}
	}
	if r.DSCP.Set {
		switch {
		case r.DSCP.Value > DSCPMaskFull || r.DSCP.Mask > DSCPMaskFull:
			return invalid(op, "rule dscp %d/%#x: a DSCP and its mask have six bits (at most 63)", r.DSCP.Value, r.DSCP.Mask)
		case r.DSCP.Value&^r.DSCP.Mask != 0:
			return invalid(op, "rule dscp %d/%#x: the value has bits outside the mask", r.DSCP.Value, r.DSCP.Mask)
		case r.TOS != 0:
			return invalid(op, "rule with tos %#x and dscp %s: the kernel takes one or the other", r.TOS, r.DSCP)
		}
	}
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
	switch {
	case action == RuleToTable && r.Table == 0 && !r.L3MDev:
		return invalid(op, "rule needs a table")
	case action == RuleToTable && r.Table != 0 && r.L3MDev:
		return invalid(op, "rule with l3mdev takes its table from the device: table %d must be 0", r.Table)
	case action == RuleGoto && r.Goto == 0 && typ == unix.RTM_NEWRULE:
		return invalid(op, "goto rule needs a target priority (Goto)")
	case action != RuleGoto && r.Goto != 0:
		return invalid(op, "rule with goto target %d has action %s, want goto", r.Goto, action)
	}
	for _, x := range []struct {
		what string
		s    Suppress
	}{{"suppress_prefixlength", r.SuppressPrefixLen}, {"suppress_ifgroup", r.SuppressIfGroup}} {
		if x.s.Set && x.s.Value == ^uint32(0) {
			return invalid(op, "rule %s %d: the kernel reads it as none", x.what, x.s.Value)
		}
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
	// The selectors below are sent whenever set, deletes included: the
	// kernel matches a delete request's absent selectors as wildcards, so
	// a rule sent without them would match its twin that has them.
	if r.IPProto != 0 {
		e.u8(unix.FRA_IP_PROTO, r.IPProto)
	}
	for _, x := range []struct {
		typ uint16
		p   PortRange
	}{{unix.FRA_SPORT_RANGE, r.SPort}, {unix.FRA_DPORT_RANGE, r.DPort}} {
		if x.p.IsSet() {
			var b [4]byte
			binary.NativeEndian.PutUint16(b[0:], x.p.Start)
			binary.NativeEndian.PutUint16(b[2:], x.p.End)
			e.attr(x.typ, b[:])
		}
	}
	for _, x := range []struct {
		typ  uint16
		mask uint16
	}{{fraSPortMask, r.SPortMask}, {fraDPortMask, r.DPortMask}} {
		if x.mask != 0 && x.mask != 0xffff {
			e.u16(x.typ, x.mask)
		}
	}
	if r.UIDRange.Set {
		var b [8]byte
		binary.NativeEndian.PutUint32(b[0:], r.UIDRange.Start)
		binary.NativeEndian.PutUint32(b[4:], r.UIDRange.End)
		e.attr(unix.FRA_UID_RANGE, b[:])
	}
	if r.SuppressPrefixLen.Set {
		e.u32(unix.FRA_SUPPRESS_PREFIXLEN, r.SuppressPrefixLen.Value)
	}
	if r.SuppressIfGroup.Set {
		e.u32(unix.FRA_SUPPRESS_IFGROUP, r.SuppressIfGroup.Value)
	}
	if r.L3MDev {
		e.u8(unix.FRA_L3MDEV, 1)
	}
	if r.Goto != 0 {
		e.u32(unix.FRA_GOTO, r.Goto)
	}
	if r.TunID != 0 {
		var b [8]byte
		binary.BigEndian.PutUint64(b[:], r.TunID)
		e.attr(unix.FRA_TUN_ID, b[:])
	}
	if r.Realms != 0 {
		e.u32(unix.FRA_FLOW, r.Realms)
	}
	if r.DSCP.Set {
		e.u8(fraDSCP, r.DSCP.Value)
		if r.DSCP.Mask != DSCPMaskFull {
			e.u8(fraDSCPMask, r.DSCP.Mask)
		}
	}
	e.end()
	return nil
}
