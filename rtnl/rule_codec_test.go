package rtnl

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// testEncodeRuleSelectors appends the attributes of r's selectors beyond
// address, mark and interface, as the kernel sends them (a port range and
// a uid range in host order, the tunnel id in network order).
func testEncodeRuleSelectors(e *encoder, r Rule) {
	if r.IPProto != 0 {
		e.u8(unix.FRA_IP_PROTO, r.IPProto)
	}
	for typ, p := range map[uint16]PortRange{unix.FRA_SPORT_RANGE: r.SPort, unix.FRA_DPORT_RANGE: r.DPort} {
		if p.IsSet() {
			b := binary.NativeEndian.AppendUint16(nil, p.Start)
			e.attr(typ, binary.NativeEndian.AppendUint16(b, p.End))
		}
	}
	if r.UIDRange.Set {
		b := binary.NativeEndian.AppendUint32(nil, r.UIDRange.Start)
		e.attr(unix.FRA_UID_RANGE, binary.NativeEndian.AppendUint32(b, r.UIDRange.End))
	}
	// The kernel sends an unset suppress_prefixlength as -1.
	spl := ^uint32(0)
	if r.SuppressPrefixLen.Set {
		spl = r.SuppressPrefixLen.Value
	}
	e.u32(unix.FRA_SUPPRESS_PREFIXLEN, spl)
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
		e.attr(unix.FRA_TUN_ID, binary.BigEndian.AppendUint64(nil, r.TunID))
	}
	if r.Realms != 0 {
		e.u32(unix.FRA_FLOW, r.Realms)
	}
	for typ, m := range map[uint16]uint16{fraSPortMask: r.SPortMask, fraDPortMask: r.DPortMask} {
		if m != 0 {
			e.u16(typ, m)
		}
	}
	// Linux 6.18 sends the mask with every DSCP rule.
	if r.DSCP.Set {
		e.u8(fraDSCP, r.DSCP.Value)
		e.u8(fraDSCPMask, r.DSCP.Mask)
	}
	attrs, err := parseUnmodelled(string(r.Unmodelled))
	if err != nil {
		panic(err)
	}
	for _, a := range attrs {
		e.attr(a.typ, a.payload)
	}
}

var selectorRules = []Rule{
	{Family: FamilyV4, Priority: 331, Action: RuleToTable, Table: 13, IPProto: 6, DPort: PortRange{443, 443}},
	{Family: FamilyV6, Priority: 332, Action: RuleToTable, Table: 13, SPort: PortRange{1000, 2000}, DPort: PortRange{1, 65534}},
	{Family: FamilyV4, Priority: 333, Action: RuleToTable, Table: 15, UIDRange: UIDRange{Set: true}},
	{Family: FamilyV4, Priority: 334, Action: RuleToTable, Table: 15, UIDRange: UIDRange{Start: 100, End: 200, Set: true}},
	{Family: FamilyV4, Priority: 360, Action: RuleToTable, Table: 254, SuppressPrefixLen: Suppress{Set: true}},
	{Family: FamilyV6, Priority: 361, Action: RuleToTable, Table: 254, SuppressPrefixLen: Suppress{Value: 64, Set: true}, SuppressIfGroup: Suppress{Set: true}},
	{Family: FamilyV4, Priority: 380, Action: RuleToTable, L3MDev: true},
	{Family: FamilyV4, Priority: 390, Action: RuleGoto, Goto: 400},
	{Family: FamilyV4, Priority: 395, Action: RuleToTable, Table: 16, TunID: 0x0102030405060708},
	{Family: FamilyV4, Priority: 396, Action: RuleToTable, Table: 17, Realms: 1<<16 | 2, From: netip.MustParsePrefix("10.0.0.0/8")},
	{Family: FamilyV4, Priority: 391, Action: RuleToTable, Table: 13, SPort: PortRange{0x100, 0x100}, SPortMask: 0xff00, DPort: PortRange{0x20, 0x20}, DPortMask: 0xfff0},
	{Family: FamilyV4, Priority: 397, Action: RuleToTable, Table: 17, DSCP: DSCP{Value: 10, Mask: DSCPMaskFull, Set: true}},
	{Family: FamilyV6, Priority: 398, Action: RuleToTable, Table: 17, DSCP: DSCP{Value: 8, Mask: 0x38, Set: true}},
	{Family: FamilyV4, Priority: 399, Action: RuleToTable, Table: 17, DSCP: DSCP{Mask: DSCPMaskFull, Set: true}},
}

// TestDecodeRuleSelectors decodes each selector as the kernel sends it.
func TestDecodeRuleSelectors(t *testing.T) {
	for _, want := range selectorRules {
		got, ok, err := DecodeRule(testEncodeRule(want))
		if err != nil || !ok || got != want {
			t.Errorf("DecodeRule = %+v, %v, %v\nwant %+v", got, ok, err, want)
		}
	}
}

// TestEncodeRuleSelectors checks that what RuleAdd and RuleDelete send
// decodes to the rule itself: nothing set is dropped, so a delete of a
// decoded rule names its selectors.
func TestEncodeRuleSelectors(t *testing.T) {
	for _, want := range selectorRules {
		for _, typ := range []uint16{unix.RTM_NEWRULE, unix.RTM_DELRULE} {
			var e encoder
			if err := encodeRule(&e, "test", typ, 0, want); err != nil {
				t.Fatalf("encodeRule(%v): %v", want, err)
			}
			got, ok, err := DecodeRule(e.message()[unix.NLMSG_HDRLEN:])
			if err != nil || !ok || got != want {
				t.Errorf("type %d: sent %+v, %v, %v\nwant %+v", typ, got, ok, err, want)
			}
		}
	}
}

// TestDecodeRuleDSCPWithoutMask decodes a DSCP rule as a kernel without
// FRA_DSCP_MASK (6.12 to 6.14) sends it: the mask is the whole field.
func TestDecodeRuleDSCPWithoutMask(t *testing.T) {
	var e encoder
	e.begin(unix.RTM_NEWRULE, 0)
	e.fixed([]byte{unix.AF_INET, 0, 0, 0, 13, 0, 0, unix.FR_ACT_TO_TBL, 0, 0, 0, 0})
	e.u32(unix.FRA_PRIORITY, 330)
	e.u8(fraDSCP, 46)
	e.end()
	got, ok, err := DecodeRule(e.message()[unix.NLMSG_HDRLEN:])
	want := Rule{Family: FamilyV4, Priority: 330, Table: 13, Action: RuleToTable, DSCP: DSCP{Value: 46, Mask: DSCPMaskFull, Set: true}}
	if err != nil || !ok || got != want {
		t.Fatalf("DecodeRule = %+v, %v, %v\nwant %+v", got, ok, err, want)
	}
}

// TestDecodeRuleUnmodelled checks that attributes Linx does not model are
// kept, canonically ordered, so that rules differing only in them decode
// differently, and that padding is not among them.
func TestDecodeRuleUnmodelled(t *testing.T) {
	rule := func(attrs ...rawAttr) Rule {
		var e encoder
		e.begin(unix.RTM_NEWRULE, 0)
		e.fixed([]byte{unix.AF_INET6, 0, 0, 0, 13, 0, 0, unix.FR_ACT_TO_TBL, 0, 0, 0, 0})
		e.u32(unix.FRA_PRIORITY, 330)
		for _, a := range attrs {
			e.attr(a.typ, a.payload)
		}
		e.end()
		r, ok, err := DecodeRule(e.message()[unix.NLMSG_HDRLEN:])
		if err != nil || !ok {
			t.Fatalf("DecodeRule: %v, %v", ok, err)
		}
		return r
	}
	be32 := func(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }
	plain := rule(rawAttr{unix.FRA_PAD, nil})
	if plain.Unmodelled != "" {
		t.Errorf("padding kept as %q", plain.Unmodelled)
	}
	a := rule(rawAttr{fraFlowLabelMask, be32(0xffff0)}, rawAttr{fraFlowLabel, be32(0x12340)})
	b := rule(rawAttr{fraFlowLabel, be32(0x12350)}, rawAttr{fraFlowLabelMask, be32(0xffff0)})
	if want := UnmodelledAttrs("26:00012340,27:000ffff0"); a.Unmodelled != want {
		t.Errorf("Unmodelled = %q, want %q", a.Unmodelled, want)
	}
	if a == plain || a == b || b == plain {
		t.Errorf("rules differing in unmodelled selectors decode alike: %v %v %v", plain, a, b)
	}
	if got := a.Unmodelled.Types(); len(got) != 2 || got[0] != fraFlowLabel || got[1] != fraFlowLabelMask {
		t.Errorf("Types() = %v", got)
	}
	if got, want := a.String(), "Rule<priority=330 unmodelled=26:00012340,27:000ffff0 table=13>"; got != want {
		t.Errorf("String() = %s, want %s", got, want)
	}
	// A mask without its DSCP is no rule the kernel makes; it must still
	// not vanish.
	if m := rule(rawAttr{fraDSCPMask, []byte{0x38}}); m.Unmodelled != "30:38" || m.DSCP.Set {
		t.Errorf("lone DSCP mask decoded as %+v", m)
	}
	for _, s := range []string{"", "26:00012340,27:000ffff0", "7:"} {
		if got, err := ParseUnmodelledAttrs(s); err != nil || string(got) != s {
			t.Errorf("ParseUnmodelledAttrs(%q) = %q, %v", s, got, err)
		}
	}
	for _, s := range []string{"27:00,26:00", "26:0", "26:AB", "x:00", "26", "26:00,", "70000:00", "26:00 27:00"} {
		if _, err := ParseUnmodelledAttrs(s); err == nil {
			t.Errorf("ParseUnmodelledAttrs(%q) succeeded", s)
		}
	}
}

// TestEncodeRuleRefusesUnmodelled checks that a rule with selectors Linx
// cannot send, or a malformed DSCP, is refused before anything is sent.
func TestEncodeRuleRefusesUnmodelled(t *testing.T) {
	for _, c := range []struct {
		r    Rule
		want string
	}{
		{Rule{Priority: 5, Table: 5, Unmodelled: "26:00012340"}, "does not model"},
		{Rule{Priority: 5, Table: 5, SPortMask: 0xff00}, "needs a single port"},
		{Rule{Priority: 5, Table: 5, DPort: PortRange{1000, 2000}, DPortMask: 0xff00}, "needs a single port"},
		{Rule{Priority: 5, Table: 5, DPort: PortRange{0x101, 0x101}, DPortMask: 0xff00}, "outside the mask"},
		{Rule{Priority: 5, Table: 5, DSCP: DSCP{Value: 64, Mask: DSCPMaskFull, Set: true}}, "six bits"},
		{Rule{Priority: 5, Table: 5, DSCP: DSCP{Value: 10, Mask: 0x38, Set: true}}, "outside the mask"},
		{Rule{Priority: 5, Table: 5, DSCP: DSCP{Value: 10, Set: true}}, "outside the mask"},
		{Rule{Priority: 5, Table: 5, TOS: 0x10, DSCP: DSCP{Value: 10, Mask: DSCPMaskFull, Set: true}}, "one or the other"},
	} {
		for _, typ := range []uint16{unix.RTM_NEWRULE, unix.RTM_DELRULE} {
			var e encoder
			err := encodeRule(&e, "test", typ, 0, c.r)
			var re *Error
			if !errors.As(err, &re) || re.Errno != unix.EINVAL || !strings.Contains(err.Error(), c.want) {
				t.Errorf("encodeRule(%v) = %v, want EINVAL %q", c.r, err, c.want)
			}
		}
	}
}
