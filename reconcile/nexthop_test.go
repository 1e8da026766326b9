package reconcile_test

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/linx-net/linx/diff"
	"github.com/linx-net/linx/internal/nstest"
	"github.com/linx-net/linx/reconcile"
	"github.com/linx-net/linx/rtnl"
)

// ipNexthop is a nexthop as `ip -N -j nexthop` prints it.
type ipNexthop struct {
	ID       uint32 `json:"id"`
	Gateway  string `json:"gateway"`
	Dev      string `json:"dev"`
	Protocol string `json:"protocol"`
	Group    []struct {
		ID     uint32 `json:"id"`
		Weight uint32 `json:"weight"`
	} `json:"group"`
}

// ipMultipath is a route as `ip -N -j route` prints it, with its paths
// and nexthop id.
type ipMultipath struct {
	Dst      string `json:"dst"`
	From     string `json:"from"`
	Gateway  string `json:"gateway"`
	Protocol string `json:"protocol"`
	NHID     uint32 `json:"nhid"`
	Nexthops []struct {
		Gateway string `json:"gateway"`
		Dev     string `json:"dev"`
		Weight  int    `json:"weight"`
	} `json:"nexthops"`
}

var (
	gw1 = netip.MustParseAddr("10.0.0.2")
	gw2 = netip.MustParseAddr("10.0.0.3")
	gw3 = netip.MustParseAddr("10.0.0.4")
)

// TestWeightedMultipathConverges checks that a route with two weighted
// next hops is created as one multipath route, which `ip -j route` reads
// back with its weights, and that a second pass applies nothing.
func TestWeightedMultipathConverges(t *testing.T) {
	ns, s := routesNS(t)
	d := reconcile.Desired{Routes: []reconcile.Route{{Dst: netip.MustParsePrefix("10.61.0.0/24"),
		NextHops: []reconcile.NextHop{{Via: gw1, Dev: "r0", Weight: 3}, {Via: gw2, Dev: "r0", Weight: 1}}}}}
	l := reconcile.NewLedger()
	r := mustPass(t, s, d, l)
	if !r.Converged || len(r.Applied) != 1 {
		t.Fatalf("first pass: converged=%v applied=%v conflicts=%v", r.Converged, r.Applied, r.Conflicts)
	}
	var out []ipMultipath
	ns.JSON(&out, "route", "show", "10.61.0.0/24")
	if len(out) != 1 || len(out[0].Nexthops) != 2 || out[0].Protocol != "76" {
		t.Fatalf("ip reports %+v; want one multipath route of protocol 76", out)
	}
	for i, want := range []struct {
		gw     string
		weight int
	}{{"10.0.0.2", 3}, {"10.0.0.3", 1}} {
		if nh := out[0].Nexthops[i]; nh.Gateway != want.gw || nh.Weight != want.weight || nh.Dev != "r0" {
			t.Errorf("path %d: ip reports %+v; want via %s dev r0 weight %d", i, nh, want.gw, want.weight)
		}
	}
	if r := mustPass(t, s, d, l); len(r.Applied) != 0 || !r.Converged {
		t.Fatalf("second pass applied %v (converged=%v); want nothing", r.Applied, r.Converged)
	}
	// A changed weight is one route replace.
	d.Routes[0].NextHops[1].Weight = 2
	if r := mustPass(t, s, d, l); len(r.Applied) != 1 || r.Applied[0].Action != diff.Update {
		t.Fatalf("weight change applied %v; want one route update", r.Applied)
	}
	ns.JSON(&out, "route", "show", "10.61.0.0/24")
	if len(out) != 1 || len(out[0].Nexthops) != 2 || out[0].Nexthops[1].Weight != 2 {
		t.Fatalf("after the weight change ip reports %+v", out)
	}
}

// groupState is three single nexthops on r0, group 10 of 1 and member,
// and n routes through the group.
func groupState(member uint32, n int) reconcile.Desired {
	d := reconcile.Desired{Nexthops: []reconcile.Nexthop{
		{ID: 1, Via: gw1, Dev: "r0"}, {ID: 2, Via: gw2, Dev: "r0"}, {ID: 3, Via: gw3, Dev: "r0"},
		{ID: 10, Group: []rtnl.NexthopMember{{ID: 1, Weight: 1}, {ID: member, Weight: 2}}},
	}}
	for i := range n {
		d.Routes = append(d.Routes, reconcile.Route{
			Dst: netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 80, byte(i), 0}), 24), Nexthop: 10})
	}
	return d
}

// TestGroupMembersReplacedInOneOp checks that changing a group's members
// is one nexthop replace, whatever the number of routes through the group:
// the kernel then reports the new members, and every route still through
// the group.
func TestGroupMembersReplacedInOneOp(t *testing.T) {
	ns, s := routesNS(t)
	l := reconcile.NewLedger()
	const routes = 200
	r := mustPass(t, s, groupState(2, routes), l)
	if !r.Converged || len(r.Applied) != 4+routes {
		t.Fatalf("first pass: converged=%v, %d ops, conflicts=%v", r.Converged, len(r.Applied), r.Conflicts)
	}
	for i, op := range r.Applied[:4] {
		if op.Kind != diff.KindNexthop || op.Action != diff.Create {
			t.Fatalf("op %d is %v; want the nexthops created first", i, op)
		}
	}
	r = mustPass(t, s, groupState(3, routes), l)
	if len(r.Applied) != 1 || r.Applied[0].Kind != diff.KindNexthop || r.Applied[0].Action != diff.Update || r.Applied[0].Nexthop.ID != 10 {
		t.Fatalf("member change applied %v; want one update of nexthop 10", r.Applied)
	}
	var nh []ipNexthop
	ns.JSON(&nh, "nexthop", "show", "id", "10")
	if len(nh) != 1 || len(nh[0].Group) != 2 || nh[0].Group[1].ID != 3 || nh[0].Group[1].Weight != 2 || nh[0].Protocol != "76" {
		t.Fatalf("ip reports %+v; want group 1/3,2 of protocol 76", nh)
	}
	var rts []ipMultipath
	ns.JSON(&rts, "route", "show", "proto", "76")
	if len(rts) != routes {
		t.Fatalf("ip reports %d routes of protocol 76, want %d", len(rts), routes)
	}
	for _, rt := range rts {
		if rt.NHID != 10 {
			t.Fatalf("route %+v: not through nexthop 10", rt)
		}
	}
	if r := mustPass(t, s, groupState(3, routes), l); len(r.Applied) != 0 {
		t.Fatalf("third pass applied %v; want nothing", r.Applied)
	}
}

// TestForeignNexthopIDIsAConflict checks that a desired nexthop whose id
// another writer's nexthop holds is a conflict, and that the kernel's
// nexthops are then exactly as before, as `ip -j nexthop` prints them.
func TestForeignNexthopIDIsAConflict(t *testing.T) {
	ns, s := routesNS(t)
	ns.IP("nexthop", "add", "id", "7", "via", "10.0.0.2", "dev", "r0", "proto", "static")
	ns.IP("route", "add", "10.70.0.0/24", "nhid", "7", "proto", "static")
	before := ns.IP("-j", "nexthop", "show")
	beforeRoutes := ns.IP("-j", "route", "show")
	d := reconcile.Desired{
		Nexthops: []reconcile.Nexthop{{ID: 7, Via: gw2, Dev: "r0"}},
		Routes:   []reconcile.Route{{Dst: netip.MustParsePrefix("10.71.0.0/24"), Nexthop: 7}},
	}
	r, err := reconcile.Pass(s, d, reconcile.NewLedger(), reconcile.Options{})
	if err != nil || r.Converged || len(r.Applied) != 0 {
		t.Fatalf("pass: err=%v converged=%v applied=%v; want nothing applied and conflicts", err, r.Converged, r.Applied)
	}
	var kinds []string
	for _, c := range r.Conflicts {
		kinds = append(kinds, c.Kind.String())
		if !c.Foreign {
			t.Errorf("conflict %v is not marked foreign", c)
		}
	}
	if strings.Join(kinds, " ") != "nexthop route" {
		t.Fatalf("conflicts %v; want the nexthop's, then the route's through it", r.Conflicts)
	}
	if after := ns.IP("-j", "nexthop", "show"); after != before {
		t.Fatalf("the nexthops changed:\nbefore %s\nafter  %s", before, after)
	}
	if after := ns.IP("-j", "route", "show"); after != beforeRoutes {
		t.Fatalf("the routes changed:\nbefore %s\nafter  %s", beforeRoutes, after)
	}
}

// TestNexthopUsedByForeignRouteIsKept checks what a pass does with a
// nexthop of its own that is no longer desired but that another writer's
// route goes through: the kernel would delete that route with the
// nexthop, so the pass does not delete it. It reports a conflict naming
// the route, and both stay; once the route is gone, the next pass
// deletes the nexthop.
func TestNexthopUsedByForeignRouteIsKept(t *testing.T) {
	ns, s := routesNS(t)
	l := reconcile.NewLedger()
	mustPass(t, s, reconcile.Desired{Nexthops: []reconcile.Nexthop{{ID: 5, Via: gw1, Dev: "r0"}}}, l)
	ns.IP("route", "add", "10.72.0.0/24", "nhid", "5", "proto", "static")
	before := ns.IP("-j", "route", "show")

	r := mustPass(t, s, reconcile.Desired{}, l)
	if r.Converged || len(r.Applied) != 0 || len(r.Conflicts) != 1 {
		t.Fatalf("pass: converged=%v applied=%v conflicts=%v; want one conflict and nothing applied", r.Converged, r.Applied, r.Conflicts)
	}
	c := r.Conflicts[0]
	if c.Kind != diff.KindNexthop || c.Key != "id=5" || !strings.Contains(c.Reason, "not deleted") ||
		!strings.Contains(c.Reason, "10.72.0.0/24") || !strings.Contains(c.Reason, "static") {
		t.Fatalf("conflict %v; want nexthop id=5 not deleted, naming the static route through it", c)
	}
	if after := ns.IP("-j", "route", "show"); after != before {
		t.Fatalf("the routes changed:\nbefore %s\nafter  %s", before, after)
	}
	var nh []ipNexthop
	ns.JSON(&nh, "nexthop", "show", "id", "5")
	if len(nh) != 1 {
		t.Fatalf("nexthop 5: ip reports %+v; want it kept", nh)
	}
	ns.IP("route", "del", "10.72.0.0/24")
	r = mustPass(t, s, reconcile.Desired{}, l)
	if !r.Converged || len(r.Applied) != 1 || r.Applied[0].Kind != diff.KindNexthop || r.Applied[0].Action != diff.Delete {
		t.Fatalf("pass after the route went: applied %v conflicts %v; want nexthop 5 deleted", r.Applied, r.Conflicts)
	}
	if out := ns.IP("nexthop", "show"); strings.TrimSpace(out) != "" {
		t.Fatalf("ip nexthop still shows %q", out)
	}
}

// TestSourceRoutesCoexist checks that two IPv6 routes to one destination
// from two source prefixes are both installed and both kept.
func TestSourceRoutesCoexist(t *testing.T) {
	ns := nstest.New(t)
	s := ns.Open()
	l := reconcile.NewLedger()
	d := sourceRoutes("fd00::fe", "fd00::fd")
	mustPass(t, s, d, l)
	var out []ipMultipath
	ns.JSON(&out, "-6", "route", "show", "fd50::/64")
	got := map[string]string{}
	for _, r := range out {
		got[r.From] = r.Gateway
	}
	if len(out) != 2 || got["fd01::/64"] != "fd00::fe" || got["fd02::/64"] != "fd00::fd" {
		t.Fatalf("ip reports %+v; want fd50::/64 from fd01::/64 via fd00::fe and from fd02::/64 via fd00::fd", out)
	}
	if r := mustPass(t, s, d, l); len(r.Applied) != 0 || !r.Converged {
		t.Fatalf("second pass applied %v; want nothing", r.Applied)
	}
}

// TestClaimCountsNexthops checks that a fresh scope is refused a protocol
// that already marks a nexthop object it did not create, as it is one
// that marks routes: the pass would delete the nexthop.
func TestClaimCountsNexthops(t *testing.T) {
	ns, s := routesNS(t)
	ns.IP("nexthop", "add", "id", "9", "via", "10.0.0.2", "dev", "r0", "proto", "76")
	_, err := reconcile.Pass(s, reconcile.Desired{}, reconcile.NewLedger(), reconcile.Options{})
	var ce *reconcile.ClaimError
	if !errors.As(err, &ce) || ce.NexthopCount != 1 || !strings.Contains(err.Error(), "id=9") {
		t.Fatalf("pass = %v; want a *ClaimError naming nexthop 9", err)
	}
	if out := ns.IP("nexthop", "show", "id", "9"); !strings.Contains(out, "id 9") {
		t.Fatalf("nexthop 9 is gone: %q", out)
	}
	r, err := reconcile.Pass(s, reconcile.Desired{}, reconcile.NewLedger(), reconcile.Options{AdoptProtocol: true})
	if err != nil || len(r.Applied) != 1 || r.Applied[0].Kind != diff.KindNexthop {
		t.Fatalf("adopting pass: err=%v applied=%v; want nexthop 9 deleted", err, r.Applied)
	}
}
