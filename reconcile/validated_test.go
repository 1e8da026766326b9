package reconcile_test

import (
	"errors"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/linx-net/linx/reconcile"
	"github.com/linx-net/linx/reconcile/fakekernel"
	"github.com/linx-net/linx/rtnl"
)

// validatedDesired is a bridge with n routes through a gateway on it.
func validatedDesired(n int) reconcile.Desired {
	d := reconcile.Desired{
		Links:     []reconcile.Link{{Name: "br0", Kind: "bridge", State: reconcile.LinkStateUp}},
		Addresses: []reconcile.Address{{Link: "br0", Prefix: netip.MustParsePrefix("10.0.42.1/24")}},
	}
	for i := range n {
		d.Routes = append(d.Routes, reconcile.Route{
			Dst: netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(100 + i>>16), byte(i >> 8), byte(i)}), 32),
			Via: netip.MustParseAddr("10.0.42.254"),
		})
	}
	return d
}

// Validated refuses an invalid desired state with Validate's error, and a
// pass of a Validated applies what Pass applies for the same state.
func TestPassValidatedMatchesPass(t *testing.T) {
	bad := reconcile.Desired{Links: []reconcile.Link{{Name: "x0", Kind: "nosuchkind"}}}
	var inv *reconcile.InvalidError
	if _, err := bad.Validated(); !errors.As(err, &inv) {
		t.Fatalf("Validated of an invalid state = %v, want an *InvalidError", err)
	}
	d := validatedDesired(20)
	v, err := d.Validated()
	if err != nil {
		t.Fatal(err)
	}
	id := rtnl.NamespaceID{Dev: 1, Inode: 1}
	k1, k2 := fakekernel.New(rtnl.Host(), id), fakekernel.New(rtnl.Host(), id)
	l1, l2 := reconcile.NewLedger(), reconcile.NewLedger()
	for round := range 2 {
		r1, err1 := reconcile.Pass(k1, d, l1, reconcile.Options{})
		r2, err2 := reconcile.PassValidated(k2, v, l2, reconcile.Options{})
		if err1 != nil || err2 != nil {
			t.Fatalf("round %d: Pass %v, PassValidated %v", round, err1, err2)
		}
		if fmt.Sprint(r1.Applied) != fmt.Sprint(r2.Applied) || r1.Converged != r2.Converged {
			t.Fatalf("round %d: Pass applied %v (converged %v), PassValidated %v (converged %v)",
				round, r1.Applied, r1.Converged, r2.Applied, r2.Converged)
		}
		if round == 1 && len(r2.Applied) != 0 {
			t.Fatalf("second PassValidated applied %v", r2.Applied)
		}
	}
	// The cheap guards stay: a scope that manages no routes refuses one.
	if _, err := reconcile.PassValidated(k2, v, l2, reconcile.Options{NoRoutes: true}); !errors.As(err, &inv) {
		t.Fatalf("PassValidated with NoRoutes and routes = %v, want an *InvalidError", err)
	}
}

// BenchmarkIdlePassValidated measures a converged pass over 10,000 routes
// on the fake kernel (no root) with Pass, which validates the desired
// state every pass, and with PassValidated, which does not; it prints the
// best of twenty of each and their ratio.
func BenchmarkIdlePassValidated(b *testing.B) {
	d := validatedDesired(10000)
	v, err := d.Validated()
	if err != nil {
		b.Fatal(err)
	}
	k := fakekernel.New(rtnl.Host(), rtnl.NamespaceID{Dev: 1, Inode: 1})
	l := reconcile.NewLedger()
	if _, err := reconcile.Pass(k, d, l, reconcile.Options{}); err != nil {
		b.Fatal(err)
	}
	for range b.N {
		full, checked := time.Duration(1<<62), time.Duration(1<<62)
		for range 20 {
			start := time.Now()
			if r, err := reconcile.Pass(k, d, l, reconcile.Options{}); err != nil || len(r.Applied) != 0 {
				b.Fatalf("idle Pass: %v, applied %v", err, r.Applied)
			}
			full = min(full, time.Since(start))
			start = time.Now()
			if r, err := reconcile.PassValidated(k, v, l, reconcile.Options{}); err != nil || len(r.Applied) != 0 {
				b.Fatalf("idle PassValidated: %v, applied %v", err, r.Applied)
			}
			checked = min(checked, time.Since(start))
		}
		fmt.Printf("idle_pass_10k_routes_fake: pass=%.2fms pass_validated=%.2fms ratio=%.2f\n",
			float64(full)/1e6, float64(checked)/1e6, float64(checked)/float64(full))
	}
}
