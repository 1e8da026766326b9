package reconcile_test

import (
	"strings"
	"testing"

	"github.com/linx-net/linx/internal/nstest"
	"github.com/linx-net/linx/reconcile"
)

// TestRuleDeleteNeverHitsAShadowingRule checks an owned rule that another
// writer's rule, with more selectors at the same priority and installed
// before it, shadows: the kernel would delete that rule for ours. The
// scope's delete carries its protocol, which the kernel matches, so only
// another rule of that protocol can shadow it (another writer using the
// scope's number). The pass must leave both, report a conflict, and still
// delete the owned rules after it.
func TestRuleDeleteNeverHitsAShadowingRule(t *testing.T) {
	ns := nstest.New(t)
	s := ns.Open()
	l := reconcile.NewLedger()
	ns.IP("rule", "add", "pref", "330", "ipproto", "tcp", "lookup", "13", "protocol", "76") // another writer's, first
	mustPass(t, s, reconcile.Desired{Rules: []reconcile.Rule{{Priority: 330, Table: 13}, {Priority: 340, Table: 14}}}, l)

	r, err := reconcile.Pass(s, reconcile.Desired{}, l, reconcile.Options{})
	if err != nil || r.Converged || len(r.Conflicts) != 1 || !strings.Contains(r.Conflicts[0].Reason, "not deleted") {
		t.Fatalf("pass deleting the shadowed rule: err=%v converged=%v conflicts=%v; want one conflict", err, r.Converged, r.Conflicts)
	}
	if out := ns.IP("rule", "show", "pref", "340"); strings.Contains(out, "lookup 14") {
		t.Fatalf("the owned rule after the shadowed one was not deleted:\n%s", out)
	}
	out := ns.IP("rule", "show", "pref", "330")
	if !strings.Contains(out, "ipproto tcp") {
		t.Fatalf("the other writer's rule is gone:\n%s", out)
	}
	if n := strings.Count(out, "lookup 13"); n != 2 {
		t.Fatalf("%d rules at 330 left, want both:\n%s", n, out)
	}
}

// TestRuleDeleteCarriesTheProtocol checks the usual case of the above: the
// other writer's rule at the same priority carries another protocol, and
// the scope's delete, carrying its own, takes exactly its rule.
func TestRuleDeleteCarriesTheProtocol(t *testing.T) {
	ns := nstest.New(t)
	s := ns.Open()
	l := reconcile.NewLedger()
	ns.IP("rule", "add", "pref", "330", "ipproto", "tcp", "lookup", "13") // another writer's, first
	mustPass(t, s, reconcile.Desired{Rules: []reconcile.Rule{{Priority: 330, Table: 13}}}, l)
	before := ns.IP("-j", "rule", "show", "pref", "330")
	if n := strings.Count(before, `"table":"13"`); n != 2 {
		t.Fatalf("%d rules at 330, want 2:\n%s", n, before)
	}
	r, err := reconcile.Pass(s, reconcile.Desired{}, l, reconcile.Options{})
	if err != nil || !r.Converged || len(r.Conflicts) != 0 {
		t.Fatalf("pass deleting the rule: err=%v converged=%v conflicts=%v", err, r.Converged, r.Conflicts)
	}
	if out := ns.IP("rule", "show", "pref", "330"); strings.Count(out, "lookup 13") != 1 || !strings.Contains(out, "ipproto tcp") {
		t.Fatalf("want the other writer's rule alone at 330:\n%s", out)
	}
}
