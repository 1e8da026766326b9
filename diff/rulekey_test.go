package diff

import (
	"net/netip"
	"strings"
	"testing"

	"pgregory.net/rapid"

	"github.com/linx-net/linx/rtnl"
)

// TestKeyOfRuleSelectors checks that rules differing only in a selector
// beyond address, mark, interface and TOS have different keys, so that
// the rule diff never takes one for the other, and that a rule with none
// keeps the text keys had before those selectors were modelled.
func TestKeyOfRuleSelectors(t *testing.T) {
	plain := rtnl.Rule{Priority: 330, Table: 13}
	variants := []rtnl.Rule{
		{Priority: 330, Table: 13, IPProto: 6},
		{Priority: 330, Table: 13, SPort: rtnl.PortRange{Start: 1000, End: 2000}},
		{Priority: 330, Table: 13, DPort: rtnl.PortRange{Start: 443, End: 443}},
		{Priority: 330, Table: 13, UIDRange: rtnl.UIDRange{Set: true}},
		{Priority: 330, Table: 13, UIDRange: rtnl.UIDRange{Start: 100, End: 200, Set: true}},
		{Priority: 330, Table: 13, SuppressPrefixLen: rtnl.Suppress{Set: true}},
		{Priority: 330, Table: 13, SuppressIfGroup: rtnl.Suppress{Set: true}},
		{Priority: 330, L3MDev: true},
		{Priority: 330, Action: rtnl.RuleGoto, Goto: 400},
		{Priority: 330, Table: 13, TunID: 7},
		{Priority: 330, Table: 13, Realms: 2},
		{Priority: 330, Table: 13, DSCP: rtnl.DSCP{Mask: rtnl.DSCPMaskFull, Set: true}},
		{Priority: 330, Table: 13, DSCP: rtnl.DSCP{Value: 10, Mask: rtnl.DSCPMaskFull, Set: true}},
		{Priority: 330, Table: 13, DSCP: rtnl.DSCP{Value: 8, Mask: 0x38, Set: true}},
		{Priority: 330, Table: 13, SPort: rtnl.PortRange{Start: 0x100, End: 0x100}, SPortMask: 0xff00},
		{Priority: 330, Table: 13, DPort: rtnl.PortRange{Start: 0x100, End: 0x100}, DPortMask: 0xff00},
		{Priority: 330, Table: 13, Unmodelled: "26:00012340"},
		{Priority: 330, Table: 13, Unmodelled: "26:00012350"},
		{Priority: 330, Table: 13, Unmodelled: "26:00012340,27:000ffff0"},
		{Priority: 330, Table: 13, IPProto: 6, Unmodelled: "26:00012340"},
	}
	keys := map[RuleKey]rtnl.Rule{KeyOfRule(plain): plain}
	for _, v := range variants {
		k := KeyOfRule(v)
		if o, dup := keys[k]; dup {
			t.Errorf("%v and %v share the key %v", v, o, k)
		}
		keys[k] = v
		if KeyOfRule(plain).Compare(k) == 0 {
			t.Errorf("Compare(%v, %v) = 0", KeyOfRule(plain), k)
		}
		var back RuleKey
		if err := back.UnmarshalText([]byte(k.String())); err != nil || back != k {
			t.Errorf("%q parsed as %v, %v; want %v", k.String(), back, err, k)
		}
	}
	legacy := "family=inet priority=330 from= to= fwmark=0x0 fwmask=0x0 iif= oif= tos=0 invert=false action=to_tbl table=13"
	if got := KeyOfRule(plain).String(); got != legacy {
		t.Errorf("plain rule key = %q, want %q", got, legacy)
	}
	if k := KeyOfRule(rtnl.Rule{Priority: 330, L3MDev: true}); k.Table != 0 || k.Action != rtnl.RuleToTable {
		t.Errorf("l3mdev key %v: want to_tbl with table 0, as the kernel reports it", k)
	}
	if k := KeyOfRule(rtnl.Rule{Priority: 1, Table: 1, UIDRange: rtnl.UIDRange{Start: 5}, SuppressPrefixLen: rtnl.Suppress{Value: 3}}); k != KeyOfRule(rtnl.Rule{Priority: 1, Table: 1}) {
		t.Errorf("unset uid range and suppressor kept their values: %v", k)
	}
	full := "family=inet6 priority=5 from= to= fwmark=0x0 fwmask=0x0 iif= oif= tos=0 invert=false action=to_tbl table=13" +
		" ipproto=17 sport=53 dport=1000-2000 uidrange=0-0 suppress_prefixlength=0 suppress_ifgroup= l3mdev=false goto=0 tun_id=9 realms=65538"
	var k RuleKey
	if err := k.UnmarshalText([]byte(full)); err != nil {
		t.Fatal(err)
	}
	want := RuleKey{Family: rtnl.FamilyV6, Priority: 5, Action: rtnl.RuleToTable, Table: 13, IPProto: 17,
		SPort: rtnl.PortRange{Start: 53, End: 53}, DPort: rtnl.PortRange{Start: 1000, End: 2000},
		UIDRange: rtnl.UIDRange{Set: true}, SuppressPrefixLen: rtnl.Suppress{Set: true}, TunID: 9, Realms: 1<<16 | 2}
	if k != want || k.String() != full {
		t.Errorf("parsed %v (%q), want %v", k, k.String(), want)
	}
	for _, bad := range []string{
		strings.Replace(full, "sport=53", "sport=0", 1),
		strings.Replace(full, "sport=53", "sport=70000", 1),
		strings.Replace(full, "uidrange=0-0", "uidrange=7", 1),
		strings.Replace(full, "suppress_prefixlength=0", "suppress_prefixlength=x", 1),
		strings.Replace(full, "l3mdev=false", "l3mdev=perhaps", 1),
		strings.Replace(full, " realms=65538", " realms=65538 realms=1", 1),
		strings.Replace(full, " realms=65538", " realm=65538", 1),
		strings.Replace(full, " realms=65538", " realms", 1),
		strings.Replace(full, " realms=65538", " table=13", 1),
		full + " dscp=64",
		full + " dscp=8/0x40",
		full + " dscp=x",
		full + " sport_mask=0xffff",
		full + " dport_mask=0x10000",
		full + " unmodelled=27:00,26:00",
		full + " unmodelled=26",
		strings.Replace(full, "family=inet6 priority=5", "priority=5 family=inet6", 1),
		strings.Replace(full, " table=13", "", 1),
	} {
		if err := k.UnmarshalText([]byte(bad)); err == nil || !strings.Contains(err.Error(), bad) {
			t.Errorf("UnmarshalText(%q) = %v, want an error quoting the input", bad, err)
		}
	}
}

// TestRulesSelectorTwins checks that the rule diff tells a rule from its
// twin with one more selector: deleting the owned plain rule leaves the
// foreign ipproto rule alone, and a desired plain rule is created beside
// it.
func TestRulesSelectorTwins(t *testing.T) {
	tcp := rtnl.Rule{Family: rtnl.FamilyV4, Priority: 330, Table: 13, Action: rtnl.RuleToTable, IPProto: 6, DPort: rtnl.PortRange{Start: 443, End: 443}}
	plain := rtnl.Rule{Family: rtnl.FamilyV4, Priority: 330, Table: 13, Action: rtnl.RuleToTable}
	ops, cs := Rules(nil, []rtnl.Rule{tcp, plain}, NewSet(KeyOfRule(plain)), Mark{})
	if len(cs) != 0 || len(ops) != 1 || ops[0].Action != Delete || *ops[0].Rule != plain {
		t.Fatalf("ops %v, conflicts %v: want the delete of %v alone", ops, cs, plain)
	}
	ops, cs = Rules([]rtnl.Rule{{Priority: 330, Table: 13}}, []rtnl.Rule{tcp}, nil, Mark{})
	if len(cs) != 0 || len(ops) != 1 || ops[0].Action != Create || *ops[0].Rule != plain {
		t.Fatalf("ops %v, conflicts %v: want the creation of %v", ops, cs, plain)
	}
	l3 := rtnl.Rule{Priority: 380, L3MDev: true}
	ops, _ = Rules([]rtnl.Rule{l3}, nil, nil, Mark{})
	if len(ops) != 1 || ops[0].Rule.Table != 0 || !ops[0].Rule.L3MDev {
		t.Fatalf("ops %v: an l3mdev rule must be created with table 0", ops)
	}
	ops, _ = Rules([]rtnl.Rule{l3}, []rtnl.Rule{{Family: rtnl.FamilyV4, Priority: 380, L3MDev: true, Action: rtnl.RuleToTable}}, nil, Mark{})
	if len(ops) != 0 {
		t.Fatalf("ops %v: the l3mdev rule as the kernel reports it is the desired one", ops)
	}
}

// TestPropertyRuleKeySelectorsRoundTrip checks the text round trip of
// keys with the selectors set at random.
func TestPropertyRuleKeySelectorsRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		port := rapid.Custom(func(t *rapid.T) rtnl.PortRange {
			if rapid.Bool().Draw(t, "any") {
				return rtnl.PortRange{}
			}
			return rtnl.PortRange{Start: rapid.Uint16().Draw(t, "start"), End: rapid.Uint16Min(1).Draw(t, "end")}
		})
		sup := rapid.Custom(func(t *rapid.T) rtnl.Suppress {
			if rapid.Bool().Draw(t, "none") {
				return rtnl.Suppress{}
			}
			return rtnl.Suppress{Value: rapid.Uint32().Draw(t, "v"), Set: true}
		})
		var uid rtnl.UIDRange
		if rapid.Bool().Draw(t, "uid") {
			uid = rtnl.UIDRange{Start: rapid.Uint32().Draw(t, "us"), End: rapid.Uint32().Draw(t, "ue"), Set: true}
		}
		k := KeyOfRule(rtnl.Rule{
			Family: rapid.SampledFrom([]rtnl.Family{rtnl.FamilyV4, rtnl.FamilyV6}).Draw(t, "family"), Priority: rapid.Uint32().Draw(t, "prio"),
			Table: rapid.Uint32().Draw(t, "table"), Action: rtnl.RuleAction(rapid.Uint8().Draw(t, "action")),
			From: netip.MustParsePrefix("10.0.0.0/8"), IPProto: rapid.Uint8().Draw(t, "ipproto"),
			SPort: port.Draw(t, "sport"), DPort: port.Draw(t, "dport"), UIDRange: uid,
			SuppressPrefixLen: sup.Draw(t, "spl"), SuppressIfGroup: sup.Draw(t, "sig"),
			L3MDev: rapid.Bool().Draw(t, "l3mdev"), Goto: rapid.Uint32().Draw(t, "goto"),
			TunID: rapid.Uint64().Draw(t, "tunid"), Realms: rapid.Uint32().Draw(t, "realms"),
			SPortMask: rapid.Uint16().Draw(t, "spmask"), DPortMask: rapid.Uint16().Draw(t, "dpmask"),
			DSCP:       rtnl.DSCP{Value: rapid.Uint8Max(63).Draw(t, "dscp"), Mask: rapid.Uint8Max(63).Draw(t, "dscpmask"), Set: rapid.Bool().Draw(t, "dscpset")},
			Unmodelled: rapid.SampledFrom([]rtnl.UnmodelledAttrs{"", "26:00012340", "26:,27:000ffff0,40:01"}).Draw(t, "unmodelled"),
		})
		roundTrip(t, k, RuleKey.Compare)
	})
}

// TestRuleKeyNamedFields checks the text of the fields added after realms:
// written by name only when set, parsed by name in any order, a missing
// one meaning unset; and that every text an earlier String wrote still
// parses to its key.
func TestRuleKeyNamedFields(t *testing.T) {
	legacy := "family=inet priority=330 from= to= fwmark=0x0 fwmask=0x0 iif= oif= tos=0 invert=false action=to_tbl table=13"
	selectors := " ipproto=6 sport= dport=443 uidrange= suppress_prefixlength= suppress_ifgroup= l3mdev=false goto=0 tun_id=0 realms=0"
	base := RuleKey{Family: rtnl.FamilyV4, Priority: 330, Action: rtnl.RuleToTable, Table: 13}
	tcp := base
	tcp.IPProto, tcp.DPort = 6, rtnl.PortRange{Start: 443, End: 443}
	dscp := base
	dscp.DSCP = rtnl.DSCP{Value: 10, Mask: rtnl.DSCPMaskFull, Set: true}
	masked := tcp
	masked.DPort, masked.DPortMask = rtnl.PortRange{Start: 0x100, End: 0x100}, 0xff00
	masked.DSCP = rtnl.DSCP{Value: 8, Mask: 0x38, Set: true}
	masked.Unmodelled = "26:00012340,27:000ffff0"
	maskedText := strings.Replace(legacy+selectors, "dport=443", "dport=256", 1) + " dport_mask=0xff00 dscp=8/0x38 unmodelled=26:00012340,27:000ffff0"
	for _, c := range []struct {
		text      string
		want      RuleKey
		canonical bool // String writes text itself
	}{
		{legacy, base, true},
		{legacy + selectors, tcp, true},
		{legacy + " dscp=10", dscp, true},
		{legacy + " dscp=10/0x3f", dscp, false},
		{legacy + " ipproto=6 dport=443", tcp, false},
		{legacy + " dport=443 ipproto=6 realms=0", tcp, false},
		{maskedText, masked, true},
		{legacy + " unmodelled=26:00012340,27:000ffff0 dscp=8/0x38 dport_mask=0xff00 dport=256 ipproto=6", masked, false},
	} {
		var k RuleKey
		if err := k.UnmarshalText([]byte(c.text)); err != nil || k != c.want {
			t.Errorf("UnmarshalText(%q) = %v, %v; want %v", c.text, k, err, c.want)
			continue
		}
		if c.canonical && k.String() != c.text {
			t.Errorf("String() = %q, want %q", k.String(), c.text)
		}
		b, err := k.MarshalText()
		var back RuleKey
		if err != nil || back.UnmarshalText(b) != nil || back != k {
			t.Errorf("round trip of %v: %q, %v, back %v", k, b, err, back)
		}
	}
	// A key with an unmodelled selector is never the key of the rule
	// without it, nor ordered equal to it.
	plain := KeyOfRule(rtnl.Rule{Priority: 330, Table: 13})
	odd := KeyOfRule(rtnl.Rule{Priority: 330, Table: 13, Unmodelled: "26:00012340"})
	if plain == odd || plain.Compare(odd) == 0 || odd.Compare(plain) != -plain.Compare(odd) {
		t.Errorf("%v and %v: equal or unordered", plain, odd)
	}
	if _, err := (RuleKey{Unmodelled: "26:0"}).MarshalText(); err == nil {
		t.Errorf("MarshalText of a malformed Unmodelled succeeded")
	}
	if k := KeyOfRule(rtnl.Rule{Priority: 330, Table: 13, DSCP: rtnl.DSCP{Value: 3, Mask: 3}, DPort: rtnl.PortRange{Start: 1, End: 1}, DPortMask: 0xffff}); k.DSCP.Set || k.DSCP.Value != 0 || k.DPortMask != 0 {
		t.Errorf("unset DSCP or whole-port mask kept: %v", k)
	}
}

// TestRulesUnmodelledTwin checks that the rule diff tells an owned rule
// from a foreign one differing only in a selector Linx does not model (or
// in DSCP): only the owned one is deleted, and a desired rule is created
// beside such a twin.
func TestRulesUnmodelledTwin(t *testing.T) {
	plain := rtnl.Rule{Family: rtnl.FamilyV4, Priority: 330, Table: 13, Action: rtnl.RuleToTable}
	for _, twin := range []rtnl.Rule{
		{Family: rtnl.FamilyV4, Priority: 330, Table: 13, Action: rtnl.RuleToTable, DSCP: rtnl.DSCP{Value: 10, Mask: rtnl.DSCPMaskFull, Set: true}},
		{Family: rtnl.FamilyV4, Priority: 330, Table: 13, Action: rtnl.RuleToTable, Unmodelled: "26:00012340"},
	} {
		for _, observed := range [][]rtnl.Rule{{plain, twin}, {twin, plain}} {
			ops, cs := Rules(nil, observed, NewSet(KeyOfRule(plain)), Mark{})
			if len(cs) != 0 || len(ops) != 1 || ops[0].Action != Delete || *ops[0].Rule != plain {
				t.Errorf("observed %v: ops %v, conflicts %v; want the delete of %v alone", observed, ops, cs, plain)
			}
		}
		ops, cs := Rules([]rtnl.Rule{{Priority: 330, Table: 13}}, []rtnl.Rule{twin}, nil, Mark{})
		if len(cs) != 0 || len(ops) != 1 || ops[0].Action != Create || *ops[0].Rule != plain {
			t.Errorf("beside %v: ops %v, conflicts %v; want the creation of %v", twin, ops, cs, plain)
		}
	}
}
