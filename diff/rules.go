package diff

import (
	"github.com/linx-net/linx/rtnl"
)

// Rules diffs desired policy rules against observed ones, three-way with
// owned, the keys of the rules this owner created, and the mark m
// (FRA_PROTOCOL): an observed rule is the owner's when its key is owned
// and, where m is Kept, it carries m.Protocol (see Mark). A rule's key is
// all of it but its Protocol (see RuleKey), so a rule is either present
// or missing: missing desired rules are created, carrying m.Protocol (a
// desired rule's own Protocol is replaced); the owner's rules no longer
// desired are deleted (one delete per observed copy: the kernel allows
// identical rules); a desired rule whose key another writer's rule holds
// is a Conflict; and foreign rules, such as the kernel's own at
// priorities 0, 32766 and 32767, are never deleted.
//
// A desired rule must carry a Priority: one added without is given a
// priority by the kernel, would never match its desired key, and would be
// added again on every pass. A desired rule with Priority 0 is therefore a
// Conflict, as is a key desired twice.
func Rules(desired, observed []rtnl.Rule, owned Set[RuleKey], m Mark) ([]Op, []Conflict) {
	r := ruleSpec.run(desired, observed, owned, m)
	return r.ops(RuleKey.Compare), sortConflicts(r.conflicts, RuleKey.Compare)
}

var ruleSpec = &threeWay[rtnl.Rule, RuleKey]{
	kind:    KindRule,
	key:     KeyOfRule,
	prepare: prepareRule,
	compare: func(d, o rtnl.Rule) (verdict, rtnl.Rule, string) { return same, o, "" },
	wrap:    func(a Action, r rtnl.Rule) Op { return Op{Action: a, Kind: KindRule, Rule: &r} },
	proto:   func(r rtnl.Rule) rtnl.Protocol { return r.Protocol },
	mark: func(r rtnl.Rule, p rtnl.Protocol) rtnl.Rule {
		r.Protocol = p
		return r
	},
}

// prepareRule makes the defaults KeyOfRule assumes explicit, so that the
// rule created has the key computed.
func prepareRule(r rtnl.Rule) (rtnl.Rule, string) {
	if r.Priority == 0 {
		return r, "the desired rule has no priority; the kernel would choose one, and the rule would never match its key"
	}
	if r.Unmodelled != "" {
		return r, "the desired rule has selectors Linx does not model (" + string(r.Unmodelled) + "); they cannot be sent"
	}
	k := KeyOfRule(r)
	r.Family, r.Action, r.Table, r.FwMask = k.Family, k.Action, k.Table, k.FwMask
	// A /0 selector matches everything: the kernel keeps none, and the
	// rule is sent without it, as the key has it.
	r.From, r.To = k.From, k.To
	return r, ""
}
