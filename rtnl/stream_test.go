package rtnl_test

import (
	"errors"
	"fmt"
	"log"
	"net/netip"
	"os"
	"reflect"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/linx-net/linx/internal/nstest"
	"github.com/linx-net/linx/rtnl"
)

// Stream every route of the host's main table to standard output, one at
// a time, in the memory of one datagram.
func ExampleSocket_EachRoute() {
	s, err := rtnl.Open(rtnl.Host())
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	err = s.EachRoute(rtnl.RouteFilter{Table: rtnl.TableMain, Family: rtnl.FamilyV4}, func(r *rtnl.Route) error {
		_, err := fmt.Fprintln(os.Stdout, r) // r is reused: copy what must outlive the call
		return err
	})
	if err != nil {
		log.Fatal(err)
	}
}

func TestRouteFilterMatchesDst(t *testing.T) {
	p := netip.MustParsePrefix
	for _, tc := range []struct {
		f    rtnl.RouteFilter
		dst  string
		want bool
	}{
		{rtnl.RouteFilter{}, "10.0.0.0/8", true},
		{rtnl.RouteFilter{Root: p("10.0.0.0/8")}, "10.1.0.0/16", true},
		{rtnl.RouteFilter{Root: p("10.0.0.0/8")}, "10.0.0.0/8", true},
		{rtnl.RouteFilter{Root: p("10.0.0.0/8")}, "0.0.0.0/0", false},
		{rtnl.RouteFilter{Root: p("10.0.0.0/8")}, "11.0.0.0/16", false},
		{rtnl.RouteFilter{Root: p("10.0.0.0/8")}, "a00::/16", false},
		{rtnl.RouteFilter{Match: p("10.1.2.3/32")}, "10.1.0.0/16", true},
		{rtnl.RouteFilter{Match: p("10.1.2.3/32")}, "0.0.0.0/0", true},
		{rtnl.RouteFilter{Match: p("10.1.2.3/32")}, "10.1.3.0/24", false},
		{rtnl.RouteFilter{Match: p("10.1.0.0/16")}, "10.1.2.0/24", false},
		{rtnl.RouteFilter{Match: p("fd00::1/128")}, "fd00::/64", true},
		{rtnl.RouteFilter{Match: p("fd00::1/128")}, "0.0.0.0/0", false},
		{rtnl.RouteFilter{Root: p("10.1.0.0/16"), Match: p("10.1.0.0/16")}, "10.1.0.0/16", true},
		{rtnl.RouteFilter{Root: p("10.1.0.0/16"), Match: p("10.1.0.0/16")}, "10.1.0.0/24", false},
		{rtnl.RouteFilter{Root: p("10.1.0.0/16"), Match: p("10.1.0.0/16")}, "10.0.0.0/8", false},
	} {
		if got := tc.f.MatchesDst(p(tc.dst)); got != tc.want {
			t.Errorf("%+v.MatchesDst(%s) = %v, want %v", tc.f, tc.dst, got, tc.want)
		}
	}
}

// Each verb hands out what its list verb returns, filtered as asked, and
// stops at the callback's error.
func TestEachEqualsList(t *testing.T) {
	nstest.RequireRoot(t)
	ns := nstest.New(t)
	ns.Batch(`link add e0 type veth peer name e1
link set e0 up
link set e1 up
address add 10.0.0.1/24 dev e0
address add 10.0.1.1/24 dev e1
address add fd00::1/64 dev e0 nodad
route add 10.1.0.0/16 via 10.0.0.2 proto static
route add 10.1.2.0/24 via 10.0.0.2 table 100 proto 76
route add blackhole 10.3.0.0/16 table 100
route add fd01::/64 via fd00::2 table 100 proto 76
neigh add 10.0.0.9 lladdr 02:00:00:00:00:09 dev e0
neigh add 10.0.1.9 lladdr 02:00:00:00:00:19 dev e1
rule add from 10.0.0.0/24 table 100 priority 100
`)
	s := ns.Open()
	links, err := s.Links()
	if err != nil {
		t.Fatal(err)
	}
	e0 := links[0].Index
	for _, l := range links {
		if l.Name == "e0" {
			e0 = l.Index
		}
	}

	collectRoutes := func(f rtnl.RouteFilter) []rtnl.Route {
		var out []rtnl.Route
		if err := s.EachRoute(f, func(r *rtnl.Route) error {
			c := *r
			c.NextHops = append([]rtnl.NextHop(nil), r.NextHops...)
			if len(c.NextHops) == 0 {
				c.NextHops = nil
			}
			out = append(out, c)
			return nil
		}); err != nil {
			t.Fatalf("EachRoute(%+v): %v", f, err)
		}
		return out
	}
	for _, f := range []rtnl.RouteFilter{
		{},
		{Table: 100},
		{Table: 100, Protocol: 76},
		{Family: rtnl.FamilyV6},
		{Type: rtnl.RouteTypeBlackhole},
		{OIF: e0},
		{Root: netip.MustParsePrefix("10.1.0.0/16")},
		{Match: netip.MustParsePrefix("10.1.2.3/32"), Table: 100},
		{Table: 4242}, // no such table: nothing, no error
	} {
		got := collectRoutes(f)
		want, err := s.RoutesFiltered(f)
		if err != nil {
			t.Fatal(err)
		}
		if len(want) == 0 {
			want = nil
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("EachRoute(%+v) = %v\nRoutesFiltered = %v", f, got, want)
		}
		if f.Table == 4242 && len(got) != 0 {
			t.Errorf("table 4242 lists %v", got)
		}
		for _, r := range got {
			if f.Type != 0 && r.Type != f.Type || f.OIF != 0 && r.OIF != f.OIF || f.Family != 0 && r.Family() != f.Family {
				t.Errorf("EachRoute(%+v) lists %v", f, r)
			}
		}
	}

	var addrs []rtnl.Address
	if err := s.EachAddress(rtnl.AddressFilter{Index: e0, Family: rtnl.FamilyV4}, func(a *rtnl.Address) error {
		addrs = append(addrs, *a)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(addrs) != 1 || addrs[0].Prefix != netip.MustParsePrefix("10.0.0.1/24") {
		t.Errorf("EachAddress(e0, v4) = %v", addrs)
	}

	var neighs []rtnl.Neighbour
	if err := s.EachNeighbour(rtnl.NeighbourFilter{Index: e0, Family: rtnl.FamilyV4}, func(n *rtnl.Neighbour) error {
		neighs = append(neighs, *n)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(neighs) != 1 || neighs[0].IP != netip.MustParseAddr("10.0.0.9") {
		t.Errorf("EachNeighbour(e0, v4) = %v", neighs)
	}

	rules, err := s.Rules()
	if err != nil {
		t.Fatal(err)
	}
	var v4, all []rtnl.Rule
	_ = s.EachRule(rtnl.FamilyAll, func(r *rtnl.Rule) error { all = append(all, *r); return nil })
	_ = s.EachRule(rtnl.FamilyV4, func(r *rtnl.Rule) error { v4 = append(v4, *r); return nil })
	if !reflect.DeepEqual(all, rules) || len(v4) == 0 || len(v4) >= len(all) {
		t.Errorf("EachRule: %d of all (Rules: %d), %d IPv4", len(all), len(rules), len(v4))
	}

	var names []string
	if err := s.EachLink(false, func(l *rtnl.Link, _ *rtnl.LinkStats64) error {
		names = append(names, l.Name)
		return nil
	}); err != nil || len(names) != len(links) {
		t.Errorf("EachLink: %v, %v; Links has %d", names, err, len(links))
	}

	// The callback's error stops the listing and is returned; the socket
	// serves the next request.
	stop := errors.New("enough")
	n := 0
	if err := s.EachRoute(rtnl.RouteFilter{}, func(*rtnl.Route) error { n++; return stop }); !errors.Is(err, stop) || n != 1 {
		t.Errorf("EachRoute stopped: %v after %d routes", err, n)
	}
	if got := collectRoutes(rtnl.RouteFilter{Table: 100}); len(got) != 3 {
		t.Errorf("after a stopped listing: %d routes in table 100, want 3", len(got))
	}
}

// An Each verb cannot restart a dump the kernel marks interrupted: it
// hands out every entry it received and then fails with EINTR.
func TestEachInterruptedFailsWithEINTR(t *testing.T) {
	nstest.RequireRoot(t)
	ns, s, index := diSetup(t)
	other := ns.Open()
	n, changed := 0, false
	// Unfiltered: the kernel tracks the consistency of a whole-table
	// address dump only.
	err := s.EachAddress(rtnl.AddressFilter{}, func(a *rtnl.Address) error {
		if a.Index == index {
			n++
		}
		if !changed {
			changed = true
			// A change while the dump runs interrupts it.
			if err := other.AddressAdd("di0", diChurn); err != nil {
				t.Error(err)
			}
		}
		return nil
	})
	if !errors.Is(err, unix.EINTR) || !strings.Contains(err.Error(), "inconsistent") {
		t.Fatalf("EachAddress with a change during the dump: %v, want EINTR", err)
	}
	// It went on to the end (an interrupted dump may miss or repeat an
	// entry or two, which is what the error says).
	if n < diStable-10 {
		t.Errorf("%d addresses handed out before the error, want about %d", n, diStable)
	}
	// The socket serves the next request.
	n = 0
	if err := s.EachAddress(rtnl.AddressFilter{Index: index}, func(*rtnl.Address) error { n++; return nil }); err != nil || n != diStable+1 {
		t.Errorf("next listing: %d addresses, %v; want %d", n, err, diStable+1)
	}
}
