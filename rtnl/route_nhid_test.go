package rtnl_test

import (
	"net/netip"
	"reflect"
	"slices"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/linx-net/linx/internal/nstest"
	"github.com/linx-net/linx/rtnl"
)

// ipRouteJSON is a route as `ip -N -j route show` prints the fields these
// tests check.
type ipRouteJSON struct {
	Dst      string `json:"dst"`
	From     string `json:"from"`
	NHID     uint32 `json:"nhid"`
	Gateway  string `json:"gateway"`
	Dev      string `json:"dev"`
	Metric   uint32 `json:"metric"`
	NextHops []struct {
		Gateway string `json:"gateway"`
	} `json:"nexthops"`
}

// staticRoutes returns the decoded routes of protocol static.
func staticRoutes(t *testing.T, s *rtnl.Socket) []rtnl.Route {
	t.Helper()
	rs, err := s.RoutesFiltered(rtnl.RouteFilter{Protocol: rtnl.ProtocolStatic})
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

// checkAgainstIP checks that the decoded routes are those `ip -j route
// show proto static` lists (both families), in its order, with the same
// destination, source prefix, nexthop id, gateway and metric.
func checkAgainstIP(t *testing.T, ns *nstest.NS, rs []rtnl.Route) {
	t.Helper()
	var v4, v6 []ipRouteJSON
	ns.JSON(&v4, "-4", "route", "show", "proto", "static")
	ns.JSON(&v6, "-6", "route", "show", "proto", "static")
	ip := append(v4, v6...)
	if len(ip) != len(rs) {
		t.Fatalf("decoded %d routes %v, ip lists %d: %+v", len(rs), rs, len(ip), ip)
	}
	for i, r := range rs {
		j := ip[i]
		from := ""
		if r.SrcPrefix.IsValid() {
			from = r.SrcPrefix.String()
		}
		gw := ""
		if r.Gateway.IsValid() {
			gw = r.Gateway.String()
		}
		metric := r.Metric
		if j.Dst != r.Dst.String() || j.From != from || j.NHID != r.NHID || j.Gateway != gw ||
			j.Metric != metric || len(j.NextHops) != len(r.NextHops) {
			t.Errorf("route %d decoded as %v (from=%q nhid=%d), ip reports %+v", i, r, from, r.NHID, j)
		}
	}
}

// TestRouteNexthopObject installs routes through nexthop objects (a
// gateway, a device alone, an onlink gateway, a group, IPv6) beside a
// route to the same destination through the same gateway without one,
// and checks that the decoded routes carry their nexthop id, that
// deleting each decoded route deletes exactly it, and that adding the
// decoded routes back restores them.
func TestRouteNexthopObject(t *testing.T) {
	ns := nstest.New(t)
	s := ns.Open()
	ns.Batch(`link add d0 type veth peer name d0p
link set d0 up
link set d0p up
addr add 10.0.0.1/24 dev d0
addr add fd00::1/64 dev d0 nodad
nexthop add id 5 via 10.0.0.2 dev d0
nexthop add id 7 dev d0
nexthop add id 9 via 10.0.0.3 dev d0
nexthop add id 8 group 5/9
nexthop add id 10 via 10.9.9.9 dev d0 onlink
nexthop add id 6 via fd00::2 dev d0
route add 172.16.0.0/16 nhid 5 proto static
route add 172.16.0.0/16 via 10.0.0.2 dev d0 metric 5 proto static
route add 172.17.0.0/16 nhid 7 proto static
route add 172.18.0.0/16 nhid 8 proto static
route add 172.19.0.0/16 nhid 10 proto static
route add fd05::/64 nhid 6 proto static
route add fd05::/64 via fd00::2 dev d0 metric 5 proto static
`)
	d0, err := s.LinkByName("d0")
	if err != nil {
		t.Fatal(err)
	}
	rs := staticRoutes(t, s)
	checkAgainstIP(t, ns, rs)
	byDst := func(dst string, nhid uint32) rtnl.Route {
		t.Helper()
		i := slices.IndexFunc(rs, func(r rtnl.Route) bool { return r.Dst.String() == dst && r.NHID == nhid })
		if i < 0 {
			t.Fatalf("no decoded route to %s with nhid %d in %v", dst, nhid, rs)
		}
		return rs[i]
	}
	if r := byDst("172.16.0.0/16", 5); r.Gateway != netip.MustParseAddr("10.0.0.2") || r.OIF != d0.Index {
		t.Errorf("nhid 5 route decoded as %v: want the object's gateway and device reported too", r)
	}
	if r := byDst("172.18.0.0/16", 8); len(r.NextHops) != 2 {
		t.Errorf("group route decoded as %v: want its two paths", r)
	}

	// Delete each decoded route: exactly that one goes.
	for i, r := range rs {
		if err := s.RouteDelete(r); err != nil {
			t.Fatalf("RouteDelete(%v): %v", r, err)
		}
		left := staticRoutes(t, s)
		if want := rs[i+1:]; !reflect.DeepEqual(left, want) {
			t.Fatalf("after deleting %v:\n got %v\nwant %v", r, left, want)
		}
	}
	// Add them back, in order: the same routes come back.
	for _, r := range rs {
		if err := s.RouteAdd(r); err != nil {
			t.Fatalf("RouteAdd(%v): %v", r, err)
		}
	}
	if again := staticRoutes(t, s); !reflect.DeepEqual(again, rs) {
		t.Fatalf("after adding the decoded routes back:\n got %v\nwant %v", again, rs)
	}
	// Replace moves a route to another object in place.
	moved := byDst("172.17.0.0/16", 7)
	moved.NHID = 9
	moved.Gateway, moved.OIF = netip.Addr{}, 0
	if err := s.RouteReplace(moved); err != nil {
		t.Fatal(err)
	}
	var j []ipRouteJSON
	ns.JSON(&j, "route", "show", "172.17.0.0/16")
	if len(j) != 1 || j[0].NHID != 9 || j[0].Gateway != "10.0.0.3" {
		t.Fatalf("after RouteReplace to nhid 9: %+v", j)
	}
	// A delete through an object the route does not use matches nothing.
	other := byDst("172.16.0.0/16", 5)
	other.NHID = 9
	wWantErr(t, s.RouteDelete(other), unix.ESRCH)
}

// TestRouteSourcePrefix installs IPv6 routes to one destination from two
// source prefixes and from any, and checks that each decodes with its
// source prefix, that deleting each decoded route deletes exactly it, and
// that adding them back restores them.
func TestRouteSourcePrefix(t *testing.T) {
	ns := nstest.New(t)
	s := ns.Open()
	ns.Batch(`link add d0 type veth peer name d0p
link set d0 up
link set d0p up
addr add fd00::1/64 dev d0 nodad
`)
	if out, err := ns.TryIP("-6", "route", "add", "fd07::/64", "from", "fd00::/64", "via", "fd00::2", "proto", "static"); err != nil {
		t.Skipf("the kernel has no IPv6 source routing (CONFIG_IPV6_SUBTREES): %v %s", err, out)
	}
	ns.IP("-6", "route", "add", "fd07::/64", "from", "fd01::/48", "via", "fd00::4", "proto", "static")
	ns.IP("-6", "route", "add", "fd07::/64", "via", "fd00::3", "proto", "static")
	rs := staticRoutes(t, s)
	checkAgainstIP(t, ns, rs)
	var froms []string
	for _, r := range rs {
		froms = append(froms, r.SrcPrefix.String())
	}
	slices.Sort(froms)
	if want := []string{"fd00::/64", "fd01::/48", "invalid Prefix"}; !slices.Equal(froms, want) {
		t.Fatalf("source prefixes %v, want %v", froms, want)
	}
	for i, r := range rs {
		if err := s.RouteDelete(r); err != nil {
			t.Fatalf("RouteDelete(%v): %v", r, err)
		}
		if left, want := staticRoutes(t, s), rs[i+1:]; !reflect.DeepEqual(left, want) {
			t.Fatalf("after deleting %v:\n got %v\nwant %v", r, left, want)
		}
	}
	for _, r := range rs {
		if err := s.RouteAdd(r); err != nil {
			t.Fatalf("RouteAdd(%v): %v", r, err)
		}
	}
	if again := staticRoutes(t, s); !reflect.DeepEqual(again, rs) {
		t.Fatalf("after adding the decoded routes back:\n got %v\nwant %v", again, rs)
	}
	// Replace keys by destination and source: it changes only the route
	// from fd01::/48.
	r := rtnl.Route{Dst: netip.MustParsePrefix("fd07::/64"), SrcPrefix: netip.MustParsePrefix("fd01::/48"), Gateway: netip.MustParseAddr("fd00::5")}
	wMust(t, s.RouteReplace(r))
	var j []ipRouteJSON
	ns.JSON(&j, "-6", "route", "show", "proto", "static")
	gws := map[string]string{}
	for _, x := range j {
		gws[x.From] = x.Gateway
	}
	if want := map[string]string{"fd00::/64": "fd00::2", "fd01::/48": "fd00::5", "": "fd00::3"}; !reflect.DeepEqual(gws, want) {
		t.Fatalf("after RouteReplace from fd01::/48: gateways by source %v, want %v", gws, want)
	}

	wWantErr(t, s.RouteAdd(rtnl.Route{Dst: netip.MustParsePrefix("fd08::/64"), SrcPrefix: netip.MustParsePrefix("10.0.0.0/8")}), unix.EINVAL, "source prefix")
	wWantErr(t, s.RouteAdd(rtnl.Route{Dst: netip.MustParsePrefix("fd08::/64"), SrcPrefix: netip.PrefixFrom(netip.MustParseAddr("fd00::"), 129)}), unix.EINVAL, "prefix length out of range")
}

func TestRouteStringSourceAndNHID(t *testing.T) {
	r := rtnl.Route{Dst: netip.MustParsePrefix("fd07::/64"), SrcPrefix: netip.MustParsePrefix("fd00::/64"), NHID: 6, Gateway: netip.MustParseAddr("fd00::2")}
	if got, want := r.String(), "Route<fd07::/64 from fd00::/64 nhid=6 via fd00::2>"; got != want {
		t.Errorf("String() = %s, want %s", got, want)
	}
}
