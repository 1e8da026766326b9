package reconcile_test

import (
	"fmt"
	"net/netip"
	"time"

	"golang.org/x/sys/unix"

	"github.com/linx-net/linx/reconcile"
	"github.com/linx-net/linx/reconcile/fakekernel"
	"github.com/linx-net/linx/rtnl"
)

// A link the kernel cannot create holds back only what depends on it: the
// bridge, its address and the route through it converge in the same pass,
// and Report.Objects names the rest. With a Retries kept across passes,
// the next pass skips the link until its backoff has passed.
func ExampleReport_Objects() {
	k := fakekernel.New(rtnl.Host(), rtnl.NamespaceID{Dev: 1, Inode: 1})
	k.SetFault(func(op string, obj any) *rtnl.Error { // a kernel without dummy
		if l, ok := obj.(rtnl.Link); ok && op == "link add" && l.Kind == "dummy" {
			return fakekernel.Refuse(op, unix.EOPNOTSUPP, "Unknown device type")
		}
		return nil
	})
	d := reconcile.Desired{
		Links: []reconcile.Link{{Name: "br0", Kind: "bridge", State: reconcile.LinkStateUp}, {Name: "d0", Kind: "dummy"}},
		Addresses: []reconcile.Address{{Link: "br0", Prefix: netip.MustParsePrefix("10.0.0.1/24")},
			{Link: "d0", Prefix: netip.MustParsePrefix("10.1.0.1/24")}},
		Routes: []reconcile.Route{{Dst: netip.MustParsePrefix("10.50.0.0/24"), Via: netip.MustParseAddr("10.0.0.254")},
			{Dst: netip.MustParsePrefix("10.51.0.0/24"), Via: netip.MustParseAddr("10.1.0.254")}},
	}
	l := reconcile.NewLedger()
	retries := reconcile.NewRetries(time.Second, 30*time.Second)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

	r, _ := reconcile.Pass(k, d, l, reconcile.Options{Retries: retries, Now: now})
	fmt.Println("applied", len(r.Applied))
	for _, o := range r.Objects() {
		fmt.Println(o)
	}
	r, _ = reconcile.Pass(k, d, l, reconcile.Options{Retries: retries, Now: now.Add(100 * time.Millisecond)})
	fmt.Println("skipped:", r.Failed.Skipped, "retry in", r.Failed.RetryAt.Sub(now))
	// Output:
	// applied 3
	// link d0 failed: netlink EOPNOTSUPP (95): Unknown device type
	// address link=d0 prefix=10.1.0.1/24 blocked by link d0
	// route family=inet table=254 dst=10.51.0.0/24 tos=0 metric=0 blocked by address link=d0 prefix=10.1.0.1/24
	// skipped: true retry in 1s
}
