package rtnl_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/linx-net/linx/internal/nstest"
	"github.com/linx-net/linx/rtnl"
)

// TestRoutesFilteredRepeated lists the same filtered routes again and again
// on one socket while the table grows past what the previous listing sized
// for, shrinks, and alternates with other filters, and cross-checks every
// listing with ip: a listing sized from the previous one must never lose,
// keep or mix up a route.
func TestRoutesFilteredRepeated(t *testing.T) {
	nstest.RequireRoot(t)
	ns := nstest.New(t)
	ns.IP("link", "add", "r0", "type", "veth", "peer", "name", "r1")
	ns.IP("link", "set", "r0", "up")
	ns.IP("link", "set", "r1", "up")
	ns.IP("addr", "add", "10.0.0.1/24", "dev", "r0")
	ns.IP("-6", "addr", "add", "2001:db8::1/64", "dev", "r0", "nodad")
	byName := linkIndexes(t, ns.Path())
	s := ns.Open()

	// add or del routes [from, to) of protocol 76 (IPv4 through a gateway,
	// IPv6 out of r0, a multipath route every 50th), and as many of
	// protocol static in table 100. Protocols are numbers: ip -batch
	// mixes up protocol names and numbers across lines.
	batch := func(verb string, from, to int) {
		var b strings.Builder
		for i := from; i < to; i++ {
			switch {
			case i%50 == 7:
				fmt.Fprintf(&b, "route %s 10.%d.%d.0/24 proto 76 nexthop via 10.0.0.2 weight 2 nexthop via 10.0.0.3\n", verb, 1+i>>8, i&0xff)
			case i%3 == 0:
				fmt.Fprintf(&b, "route %s 2001:db8:%x::/48 dev r0 proto 76 metric %d\n", verb, 1+i, i%5)
			default:
				fmt.Fprintf(&b, "route %s 10.%d.%d.0/24 via 10.0.0.2 proto 76\n", verb, 1+i>>8, i&0xff)
			}
			fmt.Fprintf(&b, "route %s blackhole 11.%d.%d.0/24 table 100 proto 4\n", verb, i>>8, i&0xff)
		}
		ns.Batch(b.String())
	}
	check := func(step string, f rtnl.RouteFilter, proto string, want int) {
		t.Helper()
		rs, err := s.RoutesFiltered(f)
		if err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		if len(rs) != want {
			t.Fatalf("%s: %d routes, want %d: %v … %v", step, len(rs), want, rs[:3], rs[len(rs)-3:])
		}
		var got []string
		multipath := 0
		for _, r := range rs {
			got = append(got, routeLine(r))
			if len(r.NextHops) > 0 {
				multipath++
				if len(r.NextHops) != 2 || r.NextHops[0].Weight != 2 || r.NextHops[1].Weight != 1 || r.Gateway.IsValid() {
					t.Fatalf("%s: multipath route decoded as %v", step, r)
				}
			} else if f.Protocol == 76 && r.Family() == rtnl.FamilyV4 && r.Gateway.String() != "10.0.0.2" {
				t.Fatalf("%s: route %v lost its gateway", step, r)
			}
		}
		if err := sameLines(got, ipRouteLines(t, ns.Path(), byName, "", proto, "table", "all", "proto", proto)); err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		if f.Protocol == 76 && multipath == 0 && want > 10 {
			t.Fatalf("%s: no multipath route listed", step)
		}
	}
	own := rtnl.RouteFilter{Protocol: 76}
	static := rtnl.RouteFilter{Protocol: rtnl.ProtocolStatic}

	batch("add", 0, 300)
	check("first listing", own, "76", 300)
	check("again", own, "76", 300)
	batch("add", 300, 1000) // far past the previous listing's slack
	check("grown", own, "76", 1000)
	check("other filter", static, "4", 1000)
	batch("del", 100, 1000)
	check("shrunk", own, "76", 100)
	check("other filter shrunk", static, "4", 100)
	check("shrunk again", own, "76", 100)
	batch("del", 0, 100)
	check("empty", own, "76", 0)
}
