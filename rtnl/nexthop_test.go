package rtnl_test

import (
	"errors"
	"net/netip"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/linx-net/linx/internal/nstest"
	"github.com/linx-net/linx/rtnl"
)

// ipNexthopJSON is a nexthop as `ip -N -j nexthop` prints it.
type ipNexthopJSON struct {
	ID       uint32   `json:"id"`
	Gateway  string   `json:"gateway"`
	Dev      string   `json:"dev"`
	Scope    string   `json:"scope"`
	Protocol string   `json:"protocol"`
	FDB      bool     `json:"fdb"`
	Type     string   `json:"type"`
	Flags    []string `json:"flags"`
	Group    []struct {
		ID     uint32 `json:"id"`
		Weight uint32 `json:"weight"`
	} `json:"group"`
	Resilient *struct {
		Buckets         uint16 `json:"buckets"`
		IdleTimer       uint32 `json:"idle_timer"`
		UnbalancedTimer uint32 `json:"unbalanced_timer"`
	} `json:"resilient_args"`
}

// nexthopNS returns a namespace with a veth pair va/vb, both up, with
// 10.1.0.1/24 and fd00:1::1/64 on va.
func nexthopNS(t *testing.T) (*nstest.NS, *rtnl.Socket, int) {
	t.Helper()
	ns := nstest.New(t)
	ns.Batch(`link add va type veth peer name vb
link set va up
link set vb up
address add 10.1.0.1/24 dev va
address add fd00:1::1/64 dev va nodad`)
	s := ns.Open()
	l, err := s.LinkByName("va")
	if err != nil {
		t.Fatal(err)
	}
	return ns, s, l.Index
}

// checkNexthopsAgainstIP compares every nexthop Linx lists with `ip -N -j
// nexthop` on the same namespace.
func checkNexthopsAgainstIP(t *testing.T, ns *nstest.NS, got []rtnl.Nexthop, names map[int]string) {
	t.Helper()
	var want []ipNexthopJSON
	ns.JSON(&want, "-N", "nexthop", "show")
	if len(got) != len(want) {
		t.Fatalf("Linx lists %d nexthops, ip %d:\n%v\n%+v", len(got), len(want), got, want)
	}
	for i, n := range got {
		w := want[i]
		if n.ID != w.ID {
			t.Errorf("nexthop %d: id %d, ip says %d", i, n.ID, w.ID)
			continue
		}
		gw := ""
		if n.Gateway.IsValid() {
			gw = n.Gateway.String()
		}
		proto := ""
		if n.Protocol != 0 {
			proto = strconv.Itoa(int(n.Protocol))
		}
		if gw != w.Gateway || names[n.OIF] != w.Dev || proto != w.Protocol || n.Blackhole != blackholeKey(t, ns, n.ID) || n.FDB != w.FDB {
			t.Errorf("%v: ip says %+v", n, w)
		}
		if w.Scope != "" && strconv.Itoa(int(n.Scope)) != w.Scope {
			t.Errorf("%v: scope %s, ip says %s", n, n.Scope, w.Scope)
		}
		if onlink := slices.Contains(w.Flags, "onlink"); onlink != (n.Flags&unix.RTNH_F_ONLINK != 0) {
			t.Errorf("%v: flags %#x, ip says %v", n, n.Flags, w.Flags)
		}
		if len(n.Group) != len(w.Group) {
			t.Errorf("%v: %d members, ip says %d", n, len(n.Group), len(w.Group))
			continue
		}
		for j, m := range n.Group {
			weight := max(w.Group[j].Weight, 1) // ip omits a weight of 1
			if m.ID != w.Group[j].ID || m.Weight != weight {
				t.Errorf("%v: member %d is %+v, ip says id %d weight %d", n, j, m, w.Group[j].ID, weight)
			}
		}
		if n.IsGroup() && (n.GroupType.String() == "resilient") != (w.Type == "resilient") {
			t.Errorf("%v: type %s, ip says %q", n, n.GroupType, w.Type)
		}
		if (n.Resilient != nil) != (w.Resilient != nil) {
			t.Errorf("%v: resilient %+v, ip says %+v", n, n.Resilient, w.Resilient)
		} else if r := n.Resilient; r != nil {
			if r.Buckets != w.Resilient.Buckets || r.IdleTimer != time.Duration(w.Resilient.IdleTimer)*time.Second ||
				r.UnbalancedTimer != time.Duration(w.Resilient.UnbalancedTimer)*time.Second {
				t.Errorf("%v: resilient %+v, ip says %+v", n, *r, *w.Resilient)
			}
		}
	}
}

// blackholeKey reports whether ip's JSON for nexthop id has the key
// "blackhole" (whose value is null, which encoding/json cannot tell from
// an absent key).
func blackholeKey(t *testing.T, ns *nstest.NS, id uint32) bool {
	t.Helper()
	var raw []map[string]any
	ns.JSON(&raw, "nexthop", "show", "id", strconv.FormatUint(uint64(id), 10))
	if len(raw) != 1 {
		t.Fatalf("ip nexthop show id %d: %v", id, raw)
	}
	_, ok := raw[0]["blackhole"]
	return ok
}

func TestNexthopsAgainstIP(t *testing.T) {
	ns, s, va := nexthopNS(t)
	names := map[int]string{va: "va"}
	for _, n := range []rtnl.Nexthop{
		{ID: 1, Gateway: netip.MustParseAddr("10.1.0.2"), OIF: va, Protocol: 76},
		{ID: 2, Gateway: netip.MustParseAddr("10.1.0.3"), OIF: va},
		{ID: 3, Gateway: netip.MustParseAddr("fd00:1::2"), OIF: va, Protocol: 76},
		{ID: 4, OIF: va, Family: rtnl.FamilyV4},
		{ID: 5, Blackhole: true, Protocol: 76},
		{ID: 6, Gateway: netip.MustParseAddr("192.0.2.1"), OIF: va, Flags: unix.RTNH_F_ONLINK},
		{ID: 10, Group: []rtnl.NexthopMember{{ID: 1, Weight: 3}, {ID: 2}}, Protocol: 76},
		{ID: 11, Group: []rtnl.NexthopMember{{ID: 1}, {ID: 2, Weight: 200}}, GroupType: rtnl.NexthopGroupResilient,
			Resilient: &rtnl.Resilient{Buckets: 32, IdleTimer: 10 * time.Second, UnbalancedTimer: 20 * time.Second}},
	} {
		if err := s.NexthopAdd(n); err != nil {
			t.Fatalf("NexthopAdd(%v): %v", n, err)
		}
	}
	// More written by iproute2, read by Linx.
	ns.IP("nexthop", "add", "id", "7", "via", "10.1.0.9", "dev", "va", "proto", "77")
	ns.IP("nexthop", "add", "id", "8", "blackhole")

	got, err := s.Nexthops()
	if err != nil {
		t.Fatal(err)
	}
	checkNexthopsAgainstIP(t, ns, got, names)
	if n := got[0]; n.ID != 1 || n.Protocol != 76 || n.Family != rtnl.FamilyV4 || n.Scope != rtnl.ScopeLink {
		t.Errorf("first nexthop %+v: want id 1, proto 76, inet, scope link", n)
	}
	if n := got[1]; n.Protocol != rtnl.ProtocolStatic {
		t.Errorf("%v: protocol 0 must be sent as static", n)
	}

	one, err := s.Nexthop(11)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(one, got[len(got)-1]) {
		t.Errorf("Nexthop(11) = %+v, listed as %+v", one, got[len(got)-1])
	}
	if _, err := s.Nexthop(99); !rtnl.IsNotExist(err) {
		t.Errorf("Nexthop(99): %v, want ENOENT", err)
	}

	// Filters: by device (in the kernel), groups only, by protocol.
	for _, tc := range []struct {
		f    rtnl.NexthopFilter
		want []uint32
	}{
		{rtnl.NexthopFilter{OIF: va}, []uint32{1, 2, 3, 4, 6, 7}},
		{rtnl.NexthopFilter{GroupsOnly: true}, []uint32{10, 11}},
		{rtnl.NexthopFilter{Protocol: 76}, []uint32{1, 3, 5, 10}},
	} {
		ns, err := s.NexthopsFiltered(tc.f)
		if err != nil {
			t.Fatal(err)
		}
		var ids []uint32
		for _, n := range ns {
			ids = append(ids, n.ID)
		}
		if !slices.Equal(ids, tc.want) {
			t.Errorf("NexthopsFiltered(%+v) = %v, want %v", tc.f, ids, tc.want)
		}
	}
}

// Replacing a group's members moves every route that uses the group, in
// one message.
func TestNexthopGroupReplaceMovesRoutes(t *testing.T) {
	ns, s, va := nexthopNS(t)
	var b rtnl.Batch
	b.NexthopAdd(rtnl.Nexthop{ID: 1, Gateway: netip.MustParseAddr("10.1.0.2"), OIF: va})
	b.NexthopAdd(rtnl.Nexthop{ID: 2, Gateway: netip.MustParseAddr("10.1.0.3"), OIF: va})
	b.NexthopAdd(rtnl.Nexthop{ID: 10, Group: []rtnl.NexthopMember{{ID: 1}}})
	for i := range 50 {
		b.RouteAdd(rtnl.Route{Dst: netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 9, byte(i), 0}), 24), NHID: 10, Protocol: 76})
	}
	if err := s.Apply(&b); err != nil {
		t.Fatal(err)
	}
	gateways := func() map[string]int {
		var routes []struct {
			Nexthops []struct {
				Gateway string `json:"gateway"`
			} `json:"nexthops"`
			Gateway string `json:"gateway"`
		}
		ns.JSON(&routes, "route", "show", "proto", "76")
		out := map[string]int{}
		for _, r := range routes {
			if r.Gateway != "" {
				out[r.Gateway]++
			}
			for _, nh := range r.Nexthops {
				out[nh.Gateway]++
			}
		}
		return out
	}
	if got := gateways(); got["10.1.0.2"] != 50 || len(got) != 1 {
		t.Fatalf("before: routes through %v, want 50 through 10.1.0.2", got)
	}
	if err := s.NexthopReplace(rtnl.Nexthop{ID: 10, Group: []rtnl.NexthopMember{{ID: 2}}}); err != nil {
		t.Fatal(err)
	}
	if got := gateways(); got["10.1.0.3"] != 50 || len(got) != 1 {
		t.Fatalf("after replacing the group: routes through %v, want 50 through 10.1.0.3", got)
	}
	routes, err := s.RoutesFiltered(rtnl.RouteFilter{Protocol: 76})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range routes {
		if r.NHID != 10 {
			t.Fatalf("%v: nhid %d, want 10", r, r.NHID)
		}
	}
}

func TestNexthopErrors(t *testing.T) {
	ns, s, va := nexthopNS(t)
	gw := netip.MustParseAddr("10.1.0.2")
	for _, tc := range []struct {
		n    rtnl.Nexthop
		want string
	}{
		{rtnl.Nexthop{Gateway: gw, OIF: va}, "nexthop id 0"},
		{rtnl.Nexthop{ID: 1}, "exactly one of"},
		{rtnl.Nexthop{ID: 1, Blackhole: true, Gateway: gw}, "exactly one of"},
		{rtnl.Nexthop{ID: 1, Gateway: gw, OIF: va, Family: rtnl.FamilyV6}, "is not inet6"},
		{rtnl.Nexthop{ID: 1, Group: []rtnl.NexthopMember{}}, "at least one member"},
		{rtnl.Nexthop{ID: 1, Group: []rtnl.NexthopMember{{ID: 2}, {ID: 2}}}, "listed twice"},
		{rtnl.Nexthop{ID: 1, Group: []rtnl.NexthopMember{{ID: 1}}}, "another nexthop's id"},
		{rtnl.Nexthop{ID: 1, Group: []rtnl.NexthopMember{{ID: 2, Weight: 70000}}}, "weight 70000"},
	} {
		err := s.NexthopAdd(tc.n)
		if !errors.Is(err, unix.EINVAL) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("NexthopAdd(%+v): %v, want EINVAL naming %q", tc.n, err, tc.want)
		}
	}
	if out := ns.IP("nexthop", "show"); out != "" {
		t.Fatalf("refused nexthops reached the kernel:\n%s", out)
	}

	// The kernel's own refusals, with its explanation.
	if err := s.NexthopAdd(rtnl.Nexthop{ID: 10, Group: []rtnl.NexthopMember{{ID: 42}}}); !errors.Is(err, unix.EINVAL) ||
		!strings.Contains(err.Error(), "nexthop id 10") {
		t.Errorf("group of a missing member: %v, want EINVAL naming the group", err)
	}
	if err := s.NexthopAdd(rtnl.Nexthop{ID: 1, Gateway: gw, OIF: va}); err != nil {
		t.Fatal(err)
	}
	if err := s.NexthopAdd(rtnl.Nexthop{ID: 1, Gateway: gw, OIF: va}); !rtnl.IsExist(err) {
		t.Errorf("second NexthopAdd: %v, want EEXIST", err)
	}
	if err := s.NexthopAdd(rtnl.Nexthop{ID: 2, Gateway: gw, OIF: 999}); !errors.Is(err, unix.EINVAL) ||
		!strings.Contains(err.Error(), "nexthop id 2: Invalid device index") {
		t.Errorf("nexthop on a missing device: %v, want the kernel's EINVAL", err)
	}
	if err := s.NexthopDelete(1); err != nil {
		t.Fatal(err)
	}
	if err := s.NexthopDelete(1); !rtnl.IsNotExist(err) {
		t.Errorf("deleting a deleted nexthop: %v, want ENOENT", err)
	}
}

// A nexthop that a route still uses can be deleted only with its routes:
// the kernel deletes them too. A batch reports a failing entry by index.
func TestNexthopBatchFailures(t *testing.T) {
	_, s, va := nexthopNS(t)
	var b rtnl.Batch
	b.NexthopAdd(rtnl.Nexthop{ID: 1, Gateway: netip.MustParseAddr("10.1.0.2"), OIF: va})
	b.NexthopAdd(rtnl.Nexthop{ID: 0, Blackhole: true})                       // refused before sending
	b.NexthopAdd(rtnl.Nexthop{ID: 3, Group: []rtnl.NexthopMember{{ID: 77}}}) // refused by the kernel
	b.RouteAdd(rtnl.Route{Dst: netip.MustParsePrefix("10.9.0.0/24"), NHID: 1, Protocol: 76})
	err := s.Apply(&b)
	var be *rtnl.BatchError
	if !errors.As(err, &be) || len(be.Failures) != 2 || be.Failures[0].Index != 1 || be.Failures[1].Index != 2 ||
		be.Failures[1].Op != "nexthop add" {
		t.Fatalf("Apply: %v, want failures of entries 1 and 2", err)
	}
	var del rtnl.Batch
	del.NexthopDelete(1)
	if err := s.Apply(&del); err != nil {
		t.Fatal(err)
	}
	routes, err := s.RoutesFiltered(rtnl.RouteFilter{Protocol: 76})
	if err != nil || len(routes) != 0 {
		t.Fatalf("after deleting its nexthop: %v, %v; want the route gone", routes, err)
	}
}
