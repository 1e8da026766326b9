package rtnl

import (
	"encoding/binary"
	"net/netip"
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

func FuzzDecodeRuleSelectors(f *testing.F) {
	for _, r := range selectorRules {
		f.Add(testEncodeRule(r))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, ok, err := DecodeRule(b)
		if err != nil || !ok {
			return
		}
		again, ok, err := DecodeRule(testEncodeRule(r))
		if err != nil || !ok || again != r {
			t.Fatalf("round trip:\n got %#v, %v, %v\nwant %#v", again, ok, err, r)
		}
		_ = r.String()
	})
}
