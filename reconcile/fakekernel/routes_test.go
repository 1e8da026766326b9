package fakekernel_test

import (
	"net/netip"
	"slices"
	"testing"

	"github.com/linx-net/linx/diff"
	"github.com/linx-net/linx/reconcile"
	"github.com/linx-net/linx/reconcile/fakekernel"
	"github.com/linx-net/linx/rtnl"
)

// EachRoute streams the routes RoutesFiltered lists, for every filter,
// and the listing keeps the order routes were added in; a Copy holds the
// same routes as its source.
func TestEachRouteMatchesRoutesFiltered(t *testing.T) {
	k := fakekernel.New(rtnl.Host(), rtnl.NamespaceID{Dev: 1, Inode: 1})
	d := reconcile.Desired{
		Links:     []reconcile.Link{{Name: "br0", Kind: "bridge", State: reconcile.LinkStateUp}},
		Addresses: []reconcile.Address{{Link: "br0", Prefix: netip.MustParsePrefix("10.0.42.1/24")}},
	}
	for i := range 50 {
		d.Routes = append(d.Routes, reconcile.Route{
			Dst: netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 60, byte(49 - i), 0}), 24), Via: netip.MustParseAddr("10.0.42.254"),
			Table: uint32(100 + i%3)})
	}
	rep, err := reconcile.Pass(k, d, reconcile.NewLedger(), reconcile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var created []string
	for _, op := range rep.Applied {
		if op.Kind == diff.KindRoute {
			created = append(created, op.Route.Dst.String())
		}
	}
	c, err := fakekernel.Copy(k, fakekernel.CopyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	key := func(r rtnl.Route) string { return r.String() + " " + r.Protocol.String() }
	for _, f := range []rtnl.RouteFilter{{}, {Protocol: rtnl.DefaultProtocol}, {Table: 101}, {Protocol: rtnl.ProtocolKernel}, {Table: 7}} {
		listed, err := k.RoutesFiltered(f)
		if err != nil {
			t.Fatal(err)
		}
		var streamed []string
		if err := k.EachRoute(f, func(r *rtnl.Route) error { streamed = append(streamed, key(*r)); return nil }); err != nil {
			t.Fatal(err)
		}
		var want []string
		for _, r := range listed {
			want = append(want, key(r))
		}
		copied, _ := c.RoutesFiltered(f)
		var fromCopy []string
		for _, r := range copied {
			fromCopy = append(fromCopy, key(r))
		}
		slices.Sort(streamed)
		slices.Sort(fromCopy)
		sorted := slices.Sorted(slices.Values(want))
		if !slices.Equal(streamed, sorted) || !slices.Equal(fromCopy, sorted) {
			t.Errorf("filter %+v: listed %v\nstreamed %v\ncopied %v", f, sorted, streamed, fromCopy)
		}
		if f == (rtnl.RouteFilter{Protocol: rtnl.DefaultProtocol}) {
			var order []string
			for _, r := range listed {
				order = append(order, r.Dst.String())
			}
			if len(created) != 50 || !slices.Equal(order, created) {
				t.Errorf("the listing does not keep the order routes were added in:\n%v\nadded:\n%v", order, created)
			}
		}
	}
}
