package rtnl_test

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/linx-net/linx/internal/nstest"
	"github.com/linx-net/linx/rtnl"
)

// ruleSelectorCases are rules with the selectors beyond address, mark,
// interface and TOS: each as `ip rule add` installs it and as Rules must
// decode it. twin is whether a rule differing only by lacking the
// selector (the same priority, action and table) can be installed beside
// it.
var ruleSelectorCases = []struct {
	family string // "-4" or "-6"
	args   string
	want   rtnl.Rule
	twin   bool
}{
	{"-4", "pref 330 ipproto tcp lookup 13", rtnl.Rule{Priority: 330, IPProto: unix.IPPROTO_TCP, Table: 13}, true},
	{"-4", "pref 331 ipproto tcp dport 443 lookup 13", rtnl.Rule{Priority: 331, IPProto: unix.IPPROTO_TCP, DPort: rtnl.PortRange{Start: 443, End: 443}, Table: 13}, true},
	{"-4", "pref 332 sport 1000-2000 lookup 13", rtnl.Rule{Priority: 332, SPort: rtnl.PortRange{Start: 1000, End: 2000}, Table: 13}, true},
	{"-4", "pref 333 dport 53 lookup 13", rtnl.Rule{Priority: 333, DPort: rtnl.PortRange{Start: 53, End: 53}, Table: 13}, true},
	{"-4", "pref 360 suppress_prefixlength 0 lookup main", rtnl.Rule{Priority: 360, SuppressPrefixLen: rtnl.Suppress{Set: true}, Table: 254}, true},
	{"-4", "pref 361 suppress_ifgroup 5 lookup main", rtnl.Rule{Priority: 361, SuppressIfGroup: rtnl.Suppress{Value: 5, Set: true}, Table: 254}, true},
	{"-4", "pref 370 uidrange 100-200 lookup 15", rtnl.Rule{Priority: 370, UIDRange: rtnl.UIDRange{Start: 100, End: 200, Set: true}, Table: 15}, true},
	{"-4", "pref 371 uidrange 0-0 lookup 15", rtnl.Rule{Priority: 371, UIDRange: rtnl.UIDRange{Set: true}, Table: 15}, true},
	{"-4", "pref 380 l3mdev", rtnl.Rule{Priority: 380, L3MDev: true}, false},
	{"-4", "pref 390 goto 400", rtnl.Rule{Priority: 390, Action: rtnl.RuleGoto, Goto: 400}, false},
	{"-4", "pref 395 tun_id 7 lookup 16", rtnl.Rule{Priority: 395, TunID: 7, Table: 16}, true},
	{"-4", "pref 396 realms 1/2 lookup 17", rtnl.Rule{Priority: 396, Realms: 1<<16 | 2, Table: 17}, true},
	{"-6", "pref 330 ipproto udp sport 53 lookup 13", rtnl.Rule{Priority: 330, IPProto: unix.IPPROTO_UDP, SPort: rtnl.PortRange{Start: 53, End: 53}, Table: 13}, true},
	{"-6", "pref 380 l3mdev", rtnl.Rule{Priority: 380, L3MDev: true}, false},
	{"-6", "pref 385 uidrange 1000-1000 dport 22-23 lookup 18", rtnl.Rule{Priority: 385, UIDRange: rtnl.UIDRange{Start: 1000, End: 1000, Set: true}, DPort: rtnl.PortRange{Start: 22, End: 23}, Table: 18}, true},
}

// ipRuleJSON is a rule as `ip -N -j rule show` prints the selectors
// tested here.
type ipRuleJSON struct {
	Priority          uint32  `json:"priority"`
	Table             string  `json:"table"`
	IPProto           string  `json:"ipproto"`
	SPort             *uint16 `json:"sport"`
	SPortStart        *uint16 `json:"sport_start"`
	SPortEnd          *uint16 `json:"sport_end"`
	DPort             *uint16 `json:"dport"`
	DPortStart        *uint16 `json:"dport_start"`
	DPortEnd          *uint16 `json:"dport_end"`
	UIDStart          *uint32 `json:"uid_start"`
	UIDEnd            *uint32 `json:"uid_end"`
	SuppressPrefixLen *uint32 `json:"suppress_prefixlen"`
	SuppressIfGroup   string  `json:"suppress_ifgroup"`
	Goto              uint32  `json:"goto"`
	TunID             uint64  `json:"tun_id"`
	FlowFrom          string  `json:"flow_from"`
	FlowTo            string  `json:"flow_to"`
}

// ruleFromIP builds the rtnl.Rule iproute2's JSON describes, for the
// fields the cases use.
func ruleFromIP(t *testing.T, family rtnl.Family, j ipRuleJSON, raw map[string]any) rtnl.Rule {
	t.Helper()
	r := rtnl.Rule{Family: family, Priority: j.Priority, Action: rtnl.RuleToTable}
	if j.Table != "" {
		n, err := strconv.ParseUint(j.Table, 0, 32)
		if err != nil {
			t.Fatalf("ip rule table %q: %v", j.Table, err)
		}
		r.Table = uint32(n)
	}
	if j.IPProto != "" {
		n, err := strconv.ParseUint(strings.TrimPrefix(j.IPProto, "ipproto-"), 10, 8)
		if err != nil {
			t.Fatalf("ip rule ipproto %q: %v", j.IPProto, err)
		}
		r.IPProto = uint8(n)
	}
	port := func(one, start, end *uint16) rtnl.PortRange {
		switch {
		case one != nil:
			return rtnl.PortRange{Start: *one, End: *one}
		case start != nil && end != nil:
			return rtnl.PortRange{Start: *start, End: *end}
		}
		return rtnl.PortRange{}
	}
	r.SPort = port(j.SPort, j.SPortStart, j.SPortEnd)
	r.DPort = port(j.DPort, j.DPortStart, j.DPortEnd)
	if j.UIDStart != nil && j.UIDEnd != nil {
		r.UIDRange = rtnl.UIDRange{Start: *j.UIDStart, End: *j.UIDEnd, Set: true}
	}
	if j.SuppressPrefixLen != nil {
		r.SuppressPrefixLen = rtnl.Suppress{Value: *j.SuppressPrefixLen, Set: true}
	}
	if j.SuppressIfGroup != "" {
		n, err := strconv.ParseUint(j.SuppressIfGroup, 0, 32)
		if err != nil {
			t.Fatalf("ip rule suppress_ifgroup %q: %v", j.SuppressIfGroup, err)
		}
		r.SuppressIfGroup = rtnl.Suppress{Value: uint32(n), Set: true}
	}
	if _, ok := raw["l3mdev"]; ok {
		r.L3MDev = true
	}
	if _, ok := raw["goto"]; ok {
		r.Action, r.Goto = rtnl.RuleGoto, j.Goto
	}
	r.TunID = j.TunID
	if j.FlowFrom != "" || j.FlowTo != "" {
		// The attribute holds the source realm in the high 16 bits.
		realm := func(v string) uint32 {
			if v == "" {
				return 0
			}
			n, err := strconv.ParseUint(v, 0, 16)
			if err != nil {
				t.Fatalf("ip rule realm %q: %v", v, err)
			}
			return uint32(n)
		}
		r.Realms = realm(j.FlowFrom)<<16 | realm(j.FlowTo)
	}
	return r
}

// ipRules returns the rules `ip -N -j rule show` lists for family, with
// the JSON of each.
func ipRules(t *testing.T, ns *nstest.NS, family string) ([]ipRuleJSON, []map[string]any) {
	t.Helper()
	var raw []map[string]any
	ns.JSON(&raw, family, "rule", "show")
	var typed []ipRuleJSON
	ns.JSON(&typed, family, "rule", "show")
	return typed, raw
}

func famOf(flag string) rtnl.Family {
	if flag == "-6" {
		return rtnl.FamilyV6
	}
	return rtnl.FamilyV4
}

// selectorRules returns the decoded rules of family at priority pref.
func selectorRules(t *testing.T, s *rtnl.Socket, fam rtnl.Family, pref uint32) []rtnl.Rule {
	t.Helper()
	rs, err := s.Rules()
	if err != nil {
		t.Fatal(err)
	}
	var out []rtnl.Rule
	for _, r := range rs {
		if r.Family == fam && r.Priority == pref {
			out = append(out, r)
		}
	}
	return out
}

// TestRuleSelectorsDecode installs a rule of each selector with `ip rule
// add`, checks that Rules decodes it as iproute2 reports it, and that
// deleting the decoded rule and adding it back with RuleAdd restores it
// exactly (a goto rule included, whose target must be sent).
func TestRuleSelectorsDecode(t *testing.T) {
	ns := nstest.New(t)
	s := ns.Open()
	ns.IP("rule", "add", "pref", "400", "nop") // the goto target
	for _, c := range ruleSelectorCases {
		ns.IP(append([]string{c.family, "rule", "add"}, strings.Fields(c.args)...)...)
	}
	for _, c := range ruleSelectorCases {
		t.Run(c.family+" "+c.args, func(t *testing.T) {
			fam := famOf(c.family)
			want := c.want
			want.Family = fam
			if want.Action == 0 {
				want.Action = rtnl.RuleToTable
			}
			got := selectorRules(t, s, fam, c.want.Priority)
			if len(got) != 1 || got[0] != want {
				t.Fatalf("decoded %+v, want [%+v]", got, want)
			}
			typed, raw := ipRules(t, ns, c.family)
			i := slices.IndexFunc(typed, func(j ipRuleJSON) bool { return j.Priority == c.want.Priority })
			if i < 0 {
				t.Fatalf("ip rule show lists no rule at %d", c.want.Priority)
			}
			if ip := ruleFromIP(t, fam, typed[i], raw[i]); ip != got[0] {
				t.Errorf("decoded %+v\nip reports %+v", got[0], ip)
			}
			if err := s.RuleDelete(got[0]); err != nil {
				t.Fatalf("RuleDelete(%v): %v", got[0], err)
			}
			if n := len(selectorRules(t, s, fam, c.want.Priority)); n != 0 {
				t.Fatalf("after RuleDelete, %d rules at %d", n, c.want.Priority)
			}
			if err := s.RuleAdd(got[0]); err != nil {
				t.Fatalf("RuleAdd(%v) of the decoded rule: %v", got[0], err)
			}
			if again := selectorRules(t, s, fam, c.want.Priority); len(again) != 1 || again[0] != want {
				t.Fatalf("after RuleAdd, decoded %+v, want [%+v]", again, want)
			}
		})
	}
}

// TestRuleDeleteSelectorTwin installs each selector rule beside a twin
// that lacks the selector and checks that deleting either decoded rule
// deletes exactly it. With the twin installed after the selector rule,
// the kernel would match the twin's delete request to the selector rule
// (it treats unset selectors as wildcards): RuleDelete must then refuse
// with EBUSY and delete nothing.
func TestRuleDeleteSelectorTwin(t *testing.T) {
	for _, c := range ruleSelectorCases {
		if !c.twin {
			continue
		}
		for _, twinFirst := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s %s twin-first=%v", c.family, c.args, twinFirst), func(t *testing.T) {
				familyCompared := c.want.Realms != 0
				ns := nstest.New(t)
				s := ns.Open()
				fam := famOf(c.family)
				want := c.want
				want.Family, want.Action = fam, rtnl.RuleToTable
				twin := rtnl.Rule{Family: fam, Priority: want.Priority, Table: want.Table, Action: rtnl.RuleToTable}
				addSel := func() { ns.IP(append([]string{c.family, "rule", "add"}, strings.Fields(c.args)...)...) }
				twinArgs := []string{c.family, "rule", "add", "pref", strconv.Itoa(int(want.Priority)), "lookup", strconv.Itoa(int(want.Table))}
				if twinFirst {
					ns.IP(twinArgs...)
					addSel()
				} else {
					addSel()
					out, err := ns.TryIP(twinArgs...)
					if familyCompared {
						// The kernel matches the twin to the rule
						// already there: no shadowing order exists.
						if err == nil || !strings.Contains(out+err.Error(), "File exists") {
							t.Fatalf("adding the twin after %s: %v %s, want File exists", c.args, err, out)
						}
						return
					}
					if err != nil {
						t.Fatalf("adding the twin: %v %s", err, out)
					}
				}
				got := selectorRules(t, s, fam, want.Priority)
				if len(got) != 2 || !slices.Contains(got, want) || !slices.Contains(got, twin) {
					t.Fatalf("decoded %+v, want %+v and %+v", got, want, twin)
				}

				if !twinFirst {
					err := s.RuleDelete(twin)
					wWantErr(t, err, unix.EBUSY, "shadowed")
					if n := len(selectorRules(t, s, fam, want.Priority)); n != 2 {
						t.Fatalf("a refused RuleDelete left %d rules, want 2", n)
					}
				}
				// The selector rule's own delete names it alone.
				wMust(t, s.RuleDelete(want))
				if left := selectorRules(t, s, fam, want.Priority); len(left) != 1 || left[0] != twin {
					t.Fatalf("deleting %v left %+v, want only %+v", want, left, twin)
				}
				if !twinFirst {
					return
				}
				// Put it back (after the twin) and delete the twin.
				wMust(t, s.RuleAdd(want))
				wMust(t, s.RuleDelete(twin))
				if left := selectorRules(t, s, fam, want.Priority); len(left) != 1 || left[0] != want {
					t.Fatalf("deleting %v left %+v, want only %+v", twin, left, want)
				}
			})
		}
	}
}

// TestRuleSelectorsRefused checks the input RuleAdd refuses before
// sending, and the kernel's refusals of bad ranges.
func TestRuleSelectorsRefused(t *testing.T) {
	ns := nstest.New(t)
	s := ns.Open()
	wWantErr(t, s.RuleAdd(rtnl.Rule{Priority: 5, Action: rtnl.RuleGoto}), unix.EINVAL, "goto rule needs a target")
	wWantErr(t, s.RuleAdd(rtnl.Rule{Priority: 5, Table: 5, Goto: 9}), unix.EINVAL, "want goto")
	wWantErr(t, s.RuleAdd(rtnl.Rule{Priority: 5, Table: 5, L3MDev: true}), unix.EINVAL, "l3mdev")
	wWantErr(t, s.RuleAdd(rtnl.Rule{Priority: 5, Table: 5, SuppressPrefixLen: rtnl.Suppress{Value: ^uint32(0), Set: true}}), unix.EINVAL, "suppress_prefixlength")
	wWantErr(t, s.RuleAdd(rtnl.Rule{Priority: 5, Table: 5, SPort: rtnl.PortRange{Start: 20, End: 10}}), unix.EINVAL)
	wWantErr(t, s.RuleAdd(rtnl.Rule{Priority: 5, Table: 5, UIDRange: rtnl.UIDRange{Start: 20, End: 10, Set: true}}), unix.EINVAL)
	wWantErr(t, s.RuleAdd(rtnl.Rule{Priority: 5, Action: rtnl.RuleGoto, Goto: 4}), unix.EINVAL)
	if rs := selectorRules(t, s, rtnl.FamilyV4, 5); len(rs) != 0 {
		t.Fatalf("refused adds installed %+v", rs)
	}
}

func TestRuleSelectorsString(t *testing.T) {
	for _, c := range []struct {
		r    rtnl.Rule
		want string
	}{
		{rtnl.Rule{Priority: 331, IPProto: 6, DPort: rtnl.PortRange{Start: 443, End: 443}, Table: 13}, "Rule<priority=331 ipproto=6 dport=443 table=13>"},
		{rtnl.Rule{Priority: 332, SPort: rtnl.PortRange{Start: 1000, End: 2000}, UIDRange: rtnl.UIDRange{Set: true}, Table: 13}, "Rule<priority=332 sport=1000-2000 uidrange=0-0 table=13>"},
		{rtnl.Rule{Priority: 360, Table: 254, SuppressPrefixLen: rtnl.Suppress{Set: true}, SuppressIfGroup: rtnl.Suppress{Value: 5, Set: true}}, "Rule<priority=360 table=254 suppress_prefixlength=0 suppress_ifgroup=5>"},
		{rtnl.Rule{Priority: 380, L3MDev: true}, "Rule<priority=380 l3mdev>"},
		{rtnl.Rule{Priority: 390, Action: rtnl.RuleGoto, Goto: 400}, "Rule<priority=390 goto=400>"},
		{rtnl.Rule{Priority: 395, TunID: 7, Realms: 1<<16 | 2, Table: 16, TOS: 0x10}, "Rule<priority=395 tos=0x10 tun_id=7 realms=1/2 table=16>"},
	} {
		if got := c.r.String(); got != c.want {
			t.Errorf("String() = %s, want %s", got, c.want)
		}
	}
}

// TestRuleDeleteNotInstalled checks that deleting a rule that is not
// installed sends nothing, even when the kernel would delete another rule
// for it (one with more selectors at the same priority): ENOENT, naming
// that rule, and it stays.
func TestRuleDeleteNotInstalled(t *testing.T) {
	ns := nstest.New(t)
	s := ns.Open()
	ns.IP("rule", "add", "pref", "330", "ipproto", "tcp", "lookup", "13")
	err := s.RuleDelete(rtnl.Rule{Priority: 330, Table: 13})
	if !errors.Is(err, unix.ENOENT) || !rtnl.IsNotExist(err) || !strings.Contains(err.Error(), "ipproto") {
		t.Fatalf("RuleDelete of a rule not installed = %v; want ENOENT naming the ipproto rule", err)
	}
	if out := ns.IP("rule", "show", "pref", "330"); !strings.Contains(out, "ipproto tcp") {
		t.Fatalf("the ipproto rule was deleted:\n%s", out)
	}
}
