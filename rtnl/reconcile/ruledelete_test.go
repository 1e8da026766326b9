package reconcile_test

import (
	"errors"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/linx-net/linx/internal/nstest"
	"github.com/linx-net/linx/rtnl/reconcile"
)

// TestRuleDeleteNeverHitsAShadowingRule checks an owned rule that another
// writer's rule, with more selectors at the same priority and installed
// before it, shadows: the kernel would delete that rule for ours. The pass
// must refuse (EBUSY) and leave both, not delete the other writer's.
func TestRuleDeleteNeverHitsAShadowingRule(t *testing.T) {
	ns := nstest.New(t)
	s := ns.Open()
	l := reconcile.NewLedger()
	ns.IP("rule", "add", "pref", "330", "ipproto", "tcp", "lookup", "13") // another writer's, first
	mustPass(t, s, reconcile.Desired{Rules: []reconcile.Rule{{Priority: 330, Table: 13}}}, l)

	_, err := reconcile.Pass(s, reconcile.Desired{}, l, reconcile.Options{})
	if !errors.Is(err, unix.EBUSY) {
		t.Fatalf("pass deleting the shadowed rule: %v; want EBUSY", err)
	}
	out := ns.IP("rule", "show", "pref", "330")
	if !strings.Contains(out, "ipproto tcp") {
		t.Fatalf("the other writer's rule is gone:\n%s", out)
	}
	if n := strings.Count(out, "lookup 13"); n != 2 {
		t.Fatalf("%d rules at 330 left, want both:\n%s", n, out)
	}
}
