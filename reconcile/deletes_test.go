package reconcile_test

import (
	"net/netip"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/linx-net/linx/diff"
	"github.com/linx-net/linx/reconcile"
	"github.com/linx-net/linx/reconcile/fakekernel"
	"github.com/linx-net/linx/rtnl"
)

// Deletes do not stop at a failure either: the kernel refuses one
// address delete, and the rule, the other address and the link still go;
// the refused address stays owned, to be deleted by a later pass.
func TestFailedDeleteHoldsBackNothing(t *testing.T) {
	k := fakekernel.New(rtnl.Host(), rtnl.NamespaceID{Dev: 1, Inode: 1})
	l := reconcile.NewLedger()
	d := reconcile.Desired{
		Links: []reconcile.Link{{Name: "br0", Kind: "bridge"}, {Name: "br1", Kind: "bridge"}},
		Addresses: []reconcile.Address{{Link: "br0", Prefix: netip.MustParsePrefix("10.0.0.1/24")},
			{Link: "br1", Prefix: netip.MustParsePrefix("10.1.0.1/24")}},
		Rules: []reconcile.Rule{{Priority: 200, Table: 100}},
	}
	if r, err := reconcile.Pass(k, d, l, reconcile.Options{}); err != nil || !r.Converged {
		t.Fatalf("first pass: %v, %+v", err, r)
	}
	k.SetFault(func(op string, obj any) *rtnl.Error {
		if a, ok := obj.(rtnl.Address); ok && op == "address delete" && a.Prefix.Addr() == netip.MustParseAddr("10.0.0.1") {
			return fakekernel.Refuse(op, unix.EPERM, "injected")
		}
		return nil
	})
	keep := reconcile.Desired{Links: d.Links[:1]} // br0 stays, its address and the rest go
	r, _ := reconcile.Pass(k, keep, l, reconcile.Options{})
	if len(r.Failures) != 1 || r.Failures[0].Op.Kind != diff.KindAddress || len(r.Blocked) != 0 {
		t.Fatalf("failures %v, blocked %v; want the one address delete", r.Failures, r.Blocked)
	}
	var deleted []string
	for _, op := range r.Applied {
		deleted = append(deleted, op.Kind.String()+" "+op.Key())
	}
	if len(r.Applied) != 3 {
		t.Errorf("applied %v, want the rule, br1's address and br1 deleted", deleted)
	}
	if !l.Owned().Addresses.Has(diff.KeyOfAddress(rtnl.Address{Index: 2, Prefix: netip.MustParsePrefix("10.0.0.1/24")})) {
		t.Error("the address whose delete failed is no longer owned")
	}
	k.SetFault(nil)
	if r, err := reconcile.Pass(k, keep, l, reconcile.Options{}); err != nil || !r.Converged || len(r.Applied) != 1 {
		t.Errorf("the next pass: %v, applied %v", err, r.Applied)
	}
}
