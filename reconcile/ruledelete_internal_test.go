package reconcile

import (
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/linx-net/linx/diff"
	"github.com/linx-net/linx/internal/nstest"
	"github.com/linx-net/linx/rtnl"
)

// TestDeleteRulesSkipsVanished checks a rule delete whose rule vanished
// after the pass listed it: the kernel would delete the first rule the
// request matches, here another writer's with more selectors, so nothing
// is sent; the vanished rule counts as gone and the next delete runs.
func TestDeleteRulesSkipsVanished(t *testing.T) {
	ns := nstest.New(t)
	s := ns.Open()
	ns.IP("rule", "add", "pref", "330", "ipproto", "tcp", "lookup", "13") // another writer's
	ns.IP("rule", "add", "pref", "340", "lookup", "14")                   // ours, still there
	gone := rtnl.Rule{Priority: 330, Table: 13, Family: rtnl.FamilyV4, Action: rtnl.RuleToTable}
	there := findRule(t, s, 340)

	p := &pass{s: s}
	done, failed, err := p.deleteRules([]diff.Op{
		{Action: diff.Delete, Kind: diff.KindRule, Rule: &gone},
		{Action: diff.Delete, Kind: diff.KindRule, Rule: &there},
	})
	if err != nil || done != 2 || len(failed) != 1 || failed[0] == nil || failed[0].Errno != unix.ENOENT {
		t.Fatalf("deleteRules = %d, %v, %v; want both handled, the vanished one ENOENT", done, failed, err)
	}
	out := ns.IP("rule", "show")
	if !strings.Contains(out, "ipproto tcp") {
		t.Fatalf("the other writer's rule was deleted for the vanished one:\n%s", out)
	}
	if strings.Contains(out, "lookup 14") {
		t.Fatalf("the rule after the vanished one was not deleted:\n%s", out)
	}
}

func findRule(t *testing.T, s *rtnl.Socket, prio uint32) rtnl.Rule {
	t.Helper()
	rules, err := s.Rules()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rules {
		if r.Priority == prio {
			return r
		}
	}
	t.Fatalf("no rule at priority %d", prio)
	return rtnl.Rule{}
}
