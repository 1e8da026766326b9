package reconcile_test

import (
	"testing"

	"golang.org/x/sys/unix"

	"github.com/linx-net/linx/diff"
	"github.com/linx-net/linx/reconcile"
	"github.com/linx-net/linx/rtnl"
)

// TestClassify covers each outcome of an operation, without a kernel.
func TestClassify(t *testing.T) {
	kerr := func(errno unix.Errno) *rtnl.Error { return &rtnl.Error{Op: "x", Errno: errno} }
	create := func(k diff.Kind) *diff.Op { return &diff.Op{Action: diff.Create, Kind: k} }
	del := func(k diff.Kind) *diff.Op { return &diff.Op{Action: diff.Delete, Kind: k} }
	for _, c := range []struct {
		name    string
		op      *diff.Op
		sent    bool
		err     *rtnl.Error
		blocked bool
		want    reconcile.Outcome
	}{
		{"took effect", create(diff.KindAddress), true, nil, false, reconcile.OutcomeApplied},
		{"took effect, though its delete's fate was asked", create(diff.KindLink), true, nil, true, reconcile.OutcomeApplied},
		{"delete of a link already gone", del(diff.KindLink), true, kerr(unix.ENODEV), false, reconcile.OutcomeGone},
		{"delete of an address already gone", del(diff.KindAddress), true, kerr(unix.EADDRNOTAVAIL), false, reconcile.OutcomeGone},
		{"delete of a route already gone", del(diff.KindRoute), true, kerr(unix.ESRCH), false, reconcile.OutcomeGone},
		{"recreate's create after a refused delete", create(diff.KindLink), true, kerr(unix.EEXIST), true, reconcile.OutcomeBlocked},
		{"recreate's create never sent after a refused delete", create(diff.KindLink), false, nil, true, reconcile.OutcomeBlocked},
		{"shadowed rule delete", del(diff.KindRule), true, kerr(unix.EBUSY), false, reconcile.OutcomeShadowed},
		{"EBUSY on another kind is a refusal", del(diff.KindLink), true, kerr(unix.EBUSY), false, reconcile.OutcomeRefused},
		{"create of a key another writer holds", create(diff.KindRoute), true, kerr(unix.EEXIST), false, reconcile.OutcomeHeld},
		{"EEXIST on a delete is a refusal", del(diff.KindNeighbour), true, kerr(unix.EEXIST), false, reconcile.OutcomeRefused},
		{"ENOENT on a create is a refusal", create(diff.KindNeighbour), true, kerr(unix.ENOENT), false, reconcile.OutcomeRefused},
		{"create refused", create(diff.KindAddress), true, kerr(unix.EACCES), false, reconcile.OutcomeRefused},
		{"never sent", create(diff.KindAddress), false, nil, false, reconcile.OutcomeUnsent},
	} {
		if got := reconcile.Classify(c.op, c.sent, c.err, c.blocked); got != c.want {
			t.Errorf("%s: Classify = %v, want %v", c.name, got, c.want)
		}
	}
	if s := reconcile.Outcome(200).String(); s != "Outcome(200)" {
		t.Errorf("Outcome(200).String() = %q", s)
	}
}
