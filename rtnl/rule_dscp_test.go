package rtnl_test

import (
	"encoding/binary"
	"fmt"
	"slices"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/linx-net/linx/diff"
	"github.com/linx-net/linx/internal/nstest"
	"github.com/linx-net/linx/rtnl"
)

// These tests install rules with selectors iproute2 6.1 cannot set (dscp
// from Linux 6.12, the DSCP and port masks and the IPv6 flow label of
// later kernels) through rtnl.RuleAddRaw, a writer independent of Linx's
// encoder, as another program on the host would.

var (
	dscp10 = rtnl.RawAttr{Type: rtnl.FRADSCP, Payload: []byte{10}}
	// flowLabel selects IPv6 flow label 0x12340 under mask 0xffff0:
	// selectors Linx does not model.
	flowLabel = []rtnl.RawAttr{
		{Type: rtnl.FRAFlowLabel, Payload: binary.BigEndian.AppendUint32(nil, 0x12340)},
		{Type: rtnl.FRAFlowLabelMask, Payload: binary.BigEndian.AppendUint32(nil, 0xffff0)},
	}
)

// ipRuleCount returns how many rules of family ("-4" or "-6") `ip rule
// show` lists at priority pref: the independent check that a delete
// removed one rule, not two.
func ipRuleCount(t *testing.T, ns *nstest.NS, family string, pref uint32) int {
	t.Helper()
	typed, _ := ipRules(t, ns, family)
	n := 0
	for _, j := range typed {
		if j.Priority == pref {
			n++
		}
	}
	return n
}

// TestRuleDSCPDecode installs a dscp rule beside its plain twin and checks
// that the two decode, key and print differently, and that the decoded
// dscp rule can be deleted and added back by Linx's own encoder.
func TestRuleDSCPDecode(t *testing.T) {
	for _, fam := range []rtnl.Family{rtnl.FamilyV4, rtnl.FamilyV6} {
		t.Run(fam.String(), func(t *testing.T) {
			ns := nstest.New(t)
			s := ns.Open()
			flag := map[rtnl.Family]string{rtnl.FamilyV4: "-4", rtnl.FamilyV6: "-6"}[fam]
			ns.IP(flag, "rule", "add", "pref", "330", "lookup", "13")
			wMust(t, rtnl.RuleAddRaw(s, fam, 330, 13, dscp10))
			wMust(t, rtnl.RuleAddRaw(s, fam, 331, 13, dscp10, rtnl.RawAttr{Type: rtnl.FRADSCPMask, Payload: []byte{0x3a}}))
			plain := rtnl.Rule{Family: fam, Priority: 330, Table: 13, Action: rtnl.RuleToTable}
			want := plain
			want.DSCP = rtnl.DSCP{Value: 10, Mask: rtnl.DSCPMaskFull, Set: true}
			got := selectorRules(t, s, fam, 330)
			if len(got) != 2 || got[0] != plain || got[1] != want {
				t.Fatalf("decoded %v, want [%v %v]", got, plain, want)
			}
			if n := ipRuleCount(t, ns, flag, 330); n != 2 {
				t.Fatalf("ip rule show lists %d rules at 330, want 2", n)
			}
			if diff.KeyOfRule(got[0]) == diff.KeyOfRule(got[1]) {
				t.Fatalf("%v and %v share the key %v", got[0], got[1], diff.KeyOfRule(got[0]))
			}
			if s := got[1].String(); s != "Rule<priority=330 dscp=10 table=13>" {
				t.Errorf("String() = %s", s)
			}
			partial := selectorRules(t, s, fam, 331)
			wantPartial := rtnl.Rule{Family: fam, Priority: 331, Table: 13, Action: rtnl.RuleToTable, DSCP: rtnl.DSCP{Value: 10, Mask: 0x3a, Set: true}}
			if len(partial) != 1 || partial[0] != wantPartial {
				t.Fatalf("decoded %v, want [%v]", partial, wantPartial)
			}
			// Linx's encoder names each exactly, and installs it back.
			for _, r := range []rtnl.Rule{want, wantPartial} {
				wMust(t, s.RuleDelete(r))
				wMust(t, s.RuleAdd(r))
			}
			got = selectorRules(t, s, fam, 330)
			if len(got) != 2 || got[0] != plain || got[1] != want {
				t.Fatalf("after delete and add, decoded %v, want [%v %v]", got, plain, want)
			}
			if again := selectorRules(t, s, fam, 331); len(again) != 1 || again[0] != wantPartial {
				t.Fatalf("after delete and add, decoded %v, want [%v]", again, wantPartial)
			}
		})
	}
}

// TestRuleDiffSpareForeignTwin reproduces the review's case: Linx owns
// `pref 330 lookup 13`, another program adds the same rule with one more
// selector (dscp, which Linx models, or a flow label, which it does not).
// The diff of the owned plain rule against both observed rules must
// delete the plain one alone, and applying it must leave the foreign one.
func TestRuleDiffSpareForeignTwin(t *testing.T) {
	for _, c := range []struct {
		name  string
		fam   rtnl.Family
		attrs []rtnl.RawAttr
	}{
		{"dscp", rtnl.FamilyV4, []rtnl.RawAttr{dscp10}},
		{"dscp6", rtnl.FamilyV6, []rtnl.RawAttr{dscp10}},
		{"flowlabel", rtnl.FamilyV6, flowLabel},
	} {
		t.Run(c.name, func(t *testing.T) {
			ns := nstest.New(t)
			s := ns.Open()
			flag := map[rtnl.Family]string{rtnl.FamilyV4: "-4", rtnl.FamilyV6: "-6"}[c.fam]
			wMust(t, s.RuleAdd(rtnl.Rule{Family: c.fam, Priority: 330, Table: 13}))
			wMust(t, rtnl.RuleAddRaw(s, c.fam, 330, 13, c.attrs...))
			observed, err := s.Rules()
			wMust(t, err)
			plain := rtnl.Rule{Family: c.fam, Priority: 330, Table: 13, Action: rtnl.RuleToTable}
			ops, conflicts := diff.Rules(nil, observed, diff.NewSet(diff.KeyOfRule(plain)), diff.Mark{})
			if len(conflicts) != 0 || len(ops) != 1 || ops[0].Action != diff.Delete || *ops[0].Rule != plain {
				t.Fatalf("ops %v, conflicts %v: want the delete of %v alone", ops, conflicts, plain)
			}
			wMust(t, s.RuleDelete(*ops[0].Rule))
			left := selectorRules(t, s, c.fam, 330)
			if len(left) != 1 || left[0] == plain || (!left[0].DSCP.Set && left[0].Unmodelled == "") {
				t.Fatalf("after the delete, %v left; want the foreign rule alone", left)
			}
			if n := ipRuleCount(t, ns, flag, 330); n != 1 {
				t.Fatalf("ip rule show lists %d rules at 330, want 1", n)
			}
			// The diff leaves it alone from then on.
			if ops, _ := diff.Rules(nil, left, diff.NewSet(diff.KeyOfRule(plain)), diff.Mark{}); len(ops) != 0 {
				t.Fatalf("ops %v against the foreign rule alone", ops)
			}
		})
	}
}

// TestRuleDeleteShadowedByForeignTwin installs the foreign rule with one
// more selector first and the plain one after it (without NLM_F_EXCL: the
// kernel refuses that add with EEXIST otherwise, as it matches the request
// to the foreign rule): the kernel would match a delete of the plain rule
// to the foreign one too, so RuleDelete must refuse with EBUSY and delete
// nothing. A rule with selectors Linx does not model cannot be sent:
// RuleDelete and RuleAdd refuse it with EINVAL.
func TestRuleDeleteShadowedByForeignTwin(t *testing.T) {
	for _, c := range []struct {
		name       string
		fam        rtnl.Family
		attrs      []rtnl.RawAttr
		unmodelled bool
	}{
		{"dscp", rtnl.FamilyV4, []rtnl.RawAttr{dscp10}, false},
		{"dscp6", rtnl.FamilyV6, []rtnl.RawAttr{dscp10}, false},
		{"flowlabel", rtnl.FamilyV6, flowLabel, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			ns := nstest.New(t)
			s := ns.Open()
			flag := map[rtnl.Family]string{rtnl.FamilyV4: "-4", rtnl.FamilyV6: "-6"}[c.fam]
			wMust(t, rtnl.RuleAddRaw(s, c.fam, 330, 13, c.attrs...))
			plain := rtnl.Rule{Family: c.fam, Priority: 330, Table: 13, Action: rtnl.RuleToTable}
			wWantErr(t, s.RuleAdd(plain), unix.EEXIST)
			wMust(t, rtnl.RuleAppendRaw(s, c.fam, 330, 13))
			got := selectorRules(t, s, c.fam, 330)
			if len(got) != 2 || got[1] != plain || got[0] == plain {
				t.Fatalf("decoded %v, want the foreign rule, then %v", got, plain)
			}
			foreign := got[0]
			if c.unmodelled != (foreign.Unmodelled != "") {
				t.Fatalf("decoded %v: Unmodelled %q", foreign, foreign.Unmodelled)
			}
			wWantErr(t, s.RuleDelete(plain), unix.EBUSY, "shadowed", foreign.String())
			if n := ipRuleCount(t, ns, flag, 330); n != 2 {
				t.Fatalf("a refused RuleDelete left %d rules, want 2", n)
			}
			if c.unmodelled {
				wWantErr(t, s.RuleDelete(foreign), unix.EINVAL, "does not model")
				wWantErr(t, s.RuleAdd(foreign), unix.EINVAL, "does not model")
				if n := ipRuleCount(t, ns, flag, 330); n != 2 {
					t.Fatalf("refused writes left %d rules, want 2", n)
				}
				return
			}
			wMust(t, s.RuleDelete(foreign))
			if left := selectorRules(t, s, c.fam, 330); len(left) != 1 || left[0] != plain {
				t.Fatalf("deleting %v left %v, want only %v", foreign, left, plain)
			}
		})
	}
}

// TestRulePortMask installs a single-port rule with a port mask and the
// same port without one (which the kernel reports with mask 0xffff): they
// decode apart, and each is deleted exactly, whichever comes first, since
// the kernel compares a single port's mask.
func TestRulePortMask(t *testing.T) {
	for _, maskedFirst := range []bool{true, false} {
		t.Run(fmt.Sprintf("masked-first=%v", maskedFirst), func(t *testing.T) {
			ns := nstest.New(t)
			s := ns.Open()
			port := binary.NativeEndian.AppendUint16(binary.NativeEndian.AppendUint16(nil, 0x100), 0x100)
			addMasked := func() {
				wMust(t, rtnl.RuleAddRaw(s, rtnl.FamilyV4, 330, 13,
					rtnl.RawAttr{Type: unix.FRA_DPORT_RANGE, Payload: port},
					rtnl.RawAttr{Type: rtnl.FRADPortMask, Payload: binary.NativeEndian.AppendUint16(nil, 0xff00)}))
			}
			addWhole := func() { ns.IP("rule", "add", "pref", "330", "dport", "256", "lookup", "13") }
			if maskedFirst {
				addMasked()
				addWhole()
			} else {
				addWhole()
				addMasked()
			}
			whole := rtnl.Rule{Family: rtnl.FamilyV4, Priority: 330, Table: 13, Action: rtnl.RuleToTable, DPort: rtnl.PortRange{Start: 256, End: 256}}
			masked := whole
			masked.DPortMask = 0xff00
			got := selectorRules(t, s, rtnl.FamilyV4, 330)
			if len(got) != 2 || !slices.Contains(got, whole) || !slices.Contains(got, masked) {
				t.Fatalf("decoded %v, want %v and %v", got, whole, masked)
			}
			if got := masked.String(); got != "Rule<priority=330 dport=256/0xff00 table=13>" {
				t.Errorf("String() = %s", got)
			}
			wMust(t, s.RuleDelete(whole))
			if left := selectorRules(t, s, rtnl.FamilyV4, 330); len(left) != 1 || left[0] != masked {
				t.Fatalf("deleting %v left %v, want only %v", whole, left, masked)
			}
			wMust(t, s.RuleAdd(whole))
			wMust(t, s.RuleDelete(masked))
			if left := selectorRules(t, s, rtnl.FamilyV4, 330); len(left) != 1 || left[0] != whole {
				t.Fatalf("deleting %v left %v, want only %v", masked, left, whole)
			}
			wMust(t, s.RuleAdd(masked))
			if n := ipRuleCount(t, ns, "-4", 330); n != 2 {
				t.Fatalf("ip rule show lists %d rules at 330, want 2", n)
			}
		})
	}
}
