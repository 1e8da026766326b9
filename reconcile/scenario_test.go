package reconcile_test

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/linx-net/linx/diff"
	"github.com/linx-net/linx/internal/nstest"
	"github.com/linx-net/linx/reconcile"
	"github.com/linx-net/linx/reconcile/fakekernel"
	"github.com/linx-net/linx/rtnl"
)

// world is a namespace a scenario runs in: the fake kernel, or a real
// one in a throwaway namespace.
type world struct {
	k           reconcile.Kernel
	disableIPv6 func(name string)
}

// apply applies the batch that build fills, with the indices of the
// links by name, failing the test on any error.
func (w world) apply(t *testing.T, build func(b *rtnl.Batch, index func(string) int)) {
	t.Helper()
	links, err := w.k.Links()
	if err != nil {
		t.Fatal(err)
	}
	index := func(name string) int {
		for _, l := range links {
			if l.Name == name {
				return l.Index
			}
		}
		t.Fatalf("setup: no link %q", name)
		return 0
	}
	var b rtnl.Batch
	build(&b, index)
	if err := w.k.ApplyWith(&b, rtnl.ApplyOptions{}); err != nil {
		t.Fatalf("setup: %v", err)
	}
}

// step is one pass of a scenario: the changes other writers make before
// it, the desired state, and lines its summary must hold.
type step struct {
	before  func(t *testing.T, w world)
	desired reconcile.Desired
	want    []string
	// absent are line prefixes no line of the summary may start with.
	absent []string
}

// scenario is a sequence of passes with one ledger, which may own keys
// at the start.
type scenario struct {
	name  string
	owned []diff.Op
	steps []step
	// opts are the options of every pass (FailFast, say).
	opts reconcile.Options
}

var (
	brUp  = reconcile.Link{Name: "br0", Kind: "bridge", State: reconcile.LinkStateUp}
	v4a   = netip.MustParsePrefix("10.0.0.1/24")
	gw    = netip.MustParseAddr("10.0.0.254")
	nbr   = netip.MustParseAddr("10.0.0.9")
	nbMAC = rtnl.MustParseMAC("02:aa:bb:cc:dd:ee")
)

// The scenarios: ordering, flushes, conflicts and the classification of
// each outcome (EEXIST as a conflict, EBUSY on a rule delete, a blocked
// recreate, unsent creates).
var scenarios = []scenario{{
	name: "nexthops are created before the routes through them, a group's new members are one replace, and they go after the routes",
	steps: []step{{
		desired: nexthopState(2, 1),
		want: []string{
			"applied 0 create link br0", "applied 1 create address", "applied 2 create nexthop id=1",
			"applied 3 create nexthop id=2", "applied 4 create nexthop id=10", "applied 5 create route", "applied 6 create route",
			"applied 7 create route", "converged",
		},
	}, {
		desired: nexthopState(2, 1),
		want:    []string{"applied none", "converged"},
	}, {
		// The group swaps member 2 for 3: nexthop 3 is created, the group
		// replaced in place, nexthop 2 deleted; no route changes.
		desired: nexthopState(3, 2),
		want: []string{"applied 0 create nexthop id=3", "applied 1 update nexthop id=10",
			"applied 2 delete nexthop id=2", "converged"},
		absent: []string{"applied 3"},
	}, {
		desired: reconcile.Desired{},
		want: []string{"applied 0 delete route", "applied 1 delete route", "applied 2 delete route",
			"applied 3 delete nexthop id=10", "applied 4 delete nexthop id=1", "applied 5 delete nexthop id=3",
			"applied 6 delete address", "applied 7 delete link br0", "converged"},
	}},
}, {
	name: "another writer's nexthop id is a conflict, and a nexthop another writer's route uses is not deleted",
	steps: []step{{
		desired: reconcile.Desired{
			Links:     []reconcile.Link{brUp},
			Addresses: []reconcile.Address{{Link: "br0", Prefix: v4a}},
			Nexthops:  []reconcile.Nexthop{{ID: 1, Via: gw, Dev: "br0"}},
		},
		want: []string{"applied 2 create nexthop id=1", "converged"},
	}, {
		before: func(t *testing.T, w world) {
			w.apply(t, func(b *rtnl.Batch, index func(string) int) {
				b.NexthopAdd(rtnl.Nexthop{ID: 7, Gateway: gw, OIF: index("br0"), Protocol: rtnl.ProtocolStatic})
				b.RouteAdd(rtnl.Route{Dst: netip.MustParsePrefix("10.70.0.0/24"), NHID: 1, Protocol: rtnl.ProtocolStatic})
			})
		},
		desired: reconcile.Desired{
			Links:     []reconcile.Link{brUp},
			Addresses: []reconcile.Address{{Link: "br0", Prefix: v4a}},
			Nexthops:  []reconcile.Nexthop{{ID: 7, Via: gw, Dev: "br0"}},
			Routes:    []reconcile.Route{{Dst: netip.MustParsePrefix("10.71.0.0/24"), Nexthop: 7}},
		},
		want: []string{"applied none", "conflict nexthop foreign", "conflict nexthop observed: not deleted",
			"conflict route foreign", "not converged"},
	}},
}, {
	name: "a nexthop on another writer's link is held back, with its group and the routes through them",
	steps: []step{{
		before: func(t *testing.T, w world) {
			w.apply(t, func(b *rtnl.Batch, _ func(string) int) { b.LinkAdd(rtnl.Link{Name: "br0", Kind: "bridge"}) })
		},
		desired: reconcile.Desired{
			Links: []reconcile.Link{brUp},
			Nexthops: []reconcile.Nexthop{{ID: 1, Via: gw, Dev: "br0"},
				{ID: 10, Group: []rtnl.NexthopMember{{ID: 1}}}},
			Routes: []reconcile.Route{{Dst: netip.MustParsePrefix("10.60.0.0/24"), Nexthop: 10}},
		},
		want: []string{"applied none", "conflict link foreign", "conflict nexthop foreign", "conflict route foreign", "not converged"},
	}},
}, {
	name: "IPv6 routes to one destination from two sources are two routes",
	steps: []step{{
		desired: sourceRoutes("fd00::fe", "fd00::fd"),
		want:    []string{"applied 2 create route", "applied 3 create route", "converged"},
	}, {
		desired: sourceRoutes("fd00::fe", "fd00::fd"),
		want:    []string{"applied none", "converged"},
	}, {
		desired: sourceRoutes("fd00::fe", "fd00::fc"),
		want:    []string{"applied 0 update route", "converged"},
		absent:  []string{"applied 1"},
	}},
}, {
	name: "creates in dependency order, then nothing, then deletes in reverse",
	steps: []step{{
		desired: reconcile.Desired{
			Links:      []reconcile.Link{brUp},
			Addresses:  []reconcile.Address{{Link: "br0", Prefix: v4a}},
			Routes:     []reconcile.Route{{Dst: netip.MustParsePrefix("10.50.0.0/24"), Via: gw}},
			Neighbours: []reconcile.Neighbour{{Link: "br0", IP: nbr, MAC: nbMAC}},
			Rules:      []reconcile.Rule{{Priority: 200, Table: 100, From: netip.MustParsePrefix("10.0.0.0/24")}},
		},
		want: []string{
			"applied 0 create link br0", "applied 1 create address index=2 prefix=10.0.0.1/24", "applied 2 create route",
			"applied 3 create neighbour", "applied 4 create rule", "converged",
		},
	}, {
		desired: reconcile.Desired{
			Links:      []reconcile.Link{brUp},
			Addresses:  []reconcile.Address{{Link: "br0", Prefix: v4a}},
			Routes:     []reconcile.Route{{Dst: netip.MustParsePrefix("10.50.0.0/24"), Via: gw}},
			Neighbours: []reconcile.Neighbour{{Link: "br0", IP: nbr, MAC: nbMAC}},
			Rules:      []reconcile.Rule{{Priority: 200, Table: 100, From: netip.MustParsePrefix("10.0.0.0/24")}},
		},
		want: []string{"applied none", "converged"},
	}, {
		desired: reconcile.Desired{},
		want: []string{
			"applied 0 delete rule", "applied 1 delete neighbour", "applied 2 delete route",
			"applied 3 delete address", "applied 4 delete link br0", "owned none", "converged",
		},
	}},
}, {
	name: "removing the last IPv4 address flushes a neighbour, which the pass puts back",
	steps: []step{{
		desired: reconcile.Desired{
			Links:      []reconcile.Link{brUp},
			Addresses:  []reconcile.Address{{Link: "br0", Prefix: v4a}},
			Neighbours: []reconcile.Neighbour{{Link: "br0", IP: nbr, MAC: nbMAC}},
		},
		want: []string{"converged"},
	}, {
		desired: reconcile.Desired{
			Links:      []reconcile.Link{brUp},
			Neighbours: []reconcile.Neighbour{{Link: "br0", IP: nbr, MAC: nbMAC}},
		},
		want: []string{"applied 0 delete address", "applied 1 create neighbour", "converged"},
	}},
}, {
	name: "a changed gateway is an update in place, for both families",
	steps: []step{{
		desired: reconcile.Desired{
			Links:     []reconcile.Link{brUp},
			Addresses: []reconcile.Address{{Link: "br0", Prefix: v4a}, {Link: "br0", Prefix: netip.MustParsePrefix("fd00::1/64")}},
			Routes: []reconcile.Route{
				{Dst: netip.MustParsePrefix("10.50.0.0/24"), Via: gw},
				{Dst: netip.MustParsePrefix("fd50::/64"), Via: netip.MustParseAddr("fd00::fe"), Dev: "br0"},
			},
		},
		want: []string{"converged"},
	}, {
		desired: reconcile.Desired{
			Links:     []reconcile.Link{brUp},
			Addresses: []reconcile.Address{{Link: "br0", Prefix: v4a}, {Link: "br0", Prefix: netip.MustParsePrefix("fd00::1/64")}},
			Routes: []reconcile.Route{
				{Dst: netip.MustParsePrefix("10.50.0.0/24"), Via: netip.MustParseAddr("10.0.0.253")},
				{Dst: netip.MustParsePrefix("fd50::/64"), Via: netip.MustParseAddr("fd00::fd"), Dev: "br0"},
			},
		},
		want: []string{"applied 0 update route family=inet ", "applied 1 update route family=inet6 ", "converged"},
	}},
}, {
	name: "an owned link's MTU changes in place, and a change of kind recreates it",
	steps: []step{{
		desired: reconcile.Desired{Links: []reconcile.Link{{Name: "x0", Kind: "bridge", MTU: 1400}}},
		want:    []string{"applied 0 create link x0", "converged"},
	}, {
		desired: reconcile.Desired{Links: []reconcile.Link{{Name: "x0", Kind: "bridge", MTU: 1300}}},
		want:    []string{"applied 0 update link x0", "converged"},
	}, {
		desired: reconcile.Desired{Links: []reconcile.Link{{Name: "x0", Kind: "ifb"}}},
		want:    []string{"applied 0 delete link x0", "applied 1 create link x0", "owned link x0", "converged"},
	}},
}, {
	name: "route operations go on past a refused one, which fails the pass",
	steps: []step{{
		before: func(t *testing.T, w world) {
			w.apply(t, func(b *rtnl.Batch, index func(string) int) {
				b.LinkAdd(rtnl.Link{Name: "br0", Kind: "bridge", Flags: net.FlagUp})
			})
			w.apply(t, func(b *rtnl.Batch, index func(string) int) {
				b.AddressAdd(rtnl.Address{Index: index("br0"), Prefix: v4a})
			})
		},
		desired: reconcile.Desired{
			Links: []reconcile.Link{{Name: "br0"}},
			Routes: []reconcile.Route{
				{Dst: netip.MustParsePrefix("10.50.0.0/24"), Via: gw},
				{Dst: netip.MustParsePrefix("10.60.0.0/24"), Via: netip.MustParseAddr("192.0.2.1")},
				{Dst: netip.MustParsePrefix("10.70.0.0/24"), Via: gw},
			},
		},
		want: []string{"applied 0 create route family=inet table=254 dst=10.50.0.0/24", "applied 1 create route family=inet table=254 dst=10.70.0.0/24",
			"failed create route family=inet table=254 dst=10.60.0.0/24 tos=0 metric=0: ENETUNREACH", "not converged"},
	}},
}, {
	name: "a rule with its family left out is the rule with it given (ledgers of either form stay valid)",
	steps: []step{{
		desired: reconcile.Desired{Rules: []reconcile.Rule{{Family: rtnl.FamilyV4, Priority: 200, Table: 100}, {Family: rtnl.FamilyV6, Priority: 201, Table: 100, From: netip.MustParsePrefix("fd00::/64")}}},
		want:    []string{"applied 0 create rule", "applied 1 create rule", "converged"},
	}, {
		desired: reconcile.Desired{Rules: []reconcile.Rule{{Priority: 200, Table: 100}, {Priority: 201, Table: 100, From: netip.MustParsePrefix("fd00::/64")}}},
		want:    []string{"applied none", "converged"},
	}},
}, {
	name: "a route create refused with EEXIST is a conflict, not a failure",
	steps: []step{{
		before: func(t *testing.T, w world) {
			w.apply(t, func(b *rtnl.Batch, index func(string) int) {
				b.LinkAdd(rtnl.Link{Name: "br0", Kind: "bridge", Flags: net.FlagUp})
			})
			w.apply(t, func(b *rtnl.Batch, index func(string) int) {
				b.RouteAdd(rtnl.Route{Dst: netip.MustParsePrefix("10.9.0.0/24"), OIF: index("br0"), Type: rtnl.RouteTypeUnicast, Protocol: rtnl.ProtocolStatic})
			})
		},
		desired: reconcile.Desired{
			Links:  []reconcile.Link{{Name: "br0"}},
			Routes: []reconcile.Route{{Dst: netip.MustParsePrefix("10.9.0.0/24"), Dev: "br0"}, {Dst: netip.MustParsePrefix("10.8.0.0/24"), Dev: "br0"}},
		},
		want: []string{"conflict route foreign", "applied 0 create route", "not converged"},
	}},
}, {
	name: "a key held by another writer's object is a conflict and never owned",
	steps: []step{{
		before: func(t *testing.T, w world) {
			w.apply(t, func(b *rtnl.Batch, index func(string) int) {
				b.LinkAdd(rtnl.Link{Name: "br0", Kind: "bridge"})
			})
			w.apply(t, func(b *rtnl.Batch, index func(string) int) {
				b.AddressAdd(rtnl.Address{Index: index("br0"), Prefix: v4a, Protocol: 9})
				b.RuleAdd(rtnl.Rule{Priority: 300, Table: 30, Protocol: 9})
			})
		},
		desired: reconcile.Desired{
			Links:     []reconcile.Link{brUp},
			Addresses: []reconcile.Address{{Link: "br0", Prefix: v4a}},
			Rules:     []reconcile.Rule{{Priority: 300, Table: 30}},
		},
		want: []string{"conflict link foreign", "conflict address foreign", "conflict rule foreign", "owned none", "not converged"},
	}, {
		desired: reconcile.Desired{},
		want:    []string{"applied none", "owned none", "converged"},
	}},
}, {
	name: "an owned rule another rule shadows is not deleted (EBUSY): a conflict, still owned",
	steps: []step{{
		before: func(t *testing.T, w world) {
			w.apply(t, func(b *rtnl.Batch, index func(string) int) {
				b.RuleAdd(rtnl.Rule{Priority: 330, Table: 13, IPProto: 6, Protocol: rtnl.DefaultProtocol})
			})
		},
		desired: reconcile.Desired{Rules: []reconcile.Rule{{Priority: 330, Table: 13}, {Priority: 340, Table: 14}}},
		want:    []string{"applied 0 create rule", "applied 1 create rule", "converged"},
	}, {
		desired: reconcile.Desired{},
		want:    []string{"conflict rule observed: not deleted", "applied 0 delete rule", "not converged"},
	}},
}, {
	name:  "a recreate whose delete is refused blocks its create and keeps ownership",
	owned: []diff.Op{{Action: diff.Create, Kind: diff.KindLink, Link: &rtnl.Link{Name: "lo"}}},
	steps: []step{{
		desired: reconcile.Desired{Links: []reconcile.Link{{Name: "lo", Kind: "bridge"}}},
		want:    []string{"failed delete link lo: EOPNOTSUPP", "applied none", "owned link lo"},
	}},
}, {
	name: "creates never sent after a refused one are not kept",
	opts: reconcile.Options{FailFast: true},
	steps: []step{{
		before: func(t *testing.T, w world) {
			w.apply(t, func(b *rtnl.Batch, index func(string) int) {
				b.LinkAdd(rtnl.Link{Name: "a0", Kind: "bridge"})
			})
			w.apply(t, func(b *rtnl.Batch, index func(string) int) {
				b.LinkAdd(rtnl.Link{Name: "b0", Kind: "bridge"})
			})
			w.disableIPv6("a0")
		},
		desired: func() reconcile.Desired {
			d := reconcile.Desired{
				Links:     []reconcile.Link{{Name: "a0"}, {Name: "b0"}},
				Addresses: []reconcile.Address{{Link: "a0", Prefix: netip.MustParsePrefix("fd00::1/64")}},
			}
			for i := range 100 {
				d.Addresses = append(d.Addresses, reconcile.Address{Link: "b0", Prefix: netip.MustParsePrefix(fmt.Sprintf("fd00:1::%x/128", i+1))})
			}
			return d
		}(),
		// The refused create goes first; the batch stops after the
		// datagram (64 requests) that carried it.
		want:   []string{"failed create address index=2 prefix=fd00::1/64: EACCES", "applied 62 create address index=3 prefix=fd00:1::3f/128", "owned address index=3 prefix=fd00:1::3f/128"},
		absent: []string{"applied 63 ", "owned address index=3 prefix=fd00:1::40/128", "owned address index=2"},
	}},
}, {
	name: "an impossible link holds back only what depends on it, and everything else converges in the same pass",
	steps: []step{{
		before: func(t *testing.T, w world) {
			// ifb links stand for existing links: the fake models no veth peer.
			w.apply(t, func(b *rtnl.Batch, _ func(string) int) {
				b.LinkAdd(rtnl.Link{Name: "v0", Kind: "ifb"})
				b.LinkAdd(rtnl.Link{Name: "v1", Kind: "ifb"})
			})
		},
		desired: impossibleLink(true),
		want: []string{
			"applied 0 create link br0", "applied 1 create address index=2 prefix=10.2.0.1/24",
			"applied 2 create address index=4 prefix=10.0.0.1/24", "applied 3 create route family=inet table=254 dst=10.50.0.0/24",
			"applied 4 create neighbour", "applied 5 create rule",
			"failed create link d0: EOPNOTSUPP",
			"blocked link v1 blocked by link d0",
			"blocked address link=d0 prefix=10.1.0.1/24 blocked by link d0",
			"blocked neighbour link=d0 ip=10.1.0.9 blocked by link d0",
			"blocked route family=inet table=254 dst=10.52.0.0/24 tos=0 metric=0 blocked by link d0",
			"blocked route family=inet table=254 dst=10.51.0.0/24 tos=0 metric=0 blocked by address link=d0 prefix=10.1.0.1/24",
			"not converged",
		},
		absent: []string{"applied 6"},
	}, {
		// The same again: the failure is tried again, nothing else changes.
		desired: impossibleLink(true),
		want:    []string{"applied none", "failed create link d0: EOPNOTSUPP", "blocked link v1 blocked by link d0", "not converged"},
	}, {
		desired: impossibleLink(false),
		want:    []string{"applied none", "converged"},
		absent:  []string{"failed", "blocked"},
	}},
}, {
	name: "a failed address blocks the routes only it reaches, not those another address reaches",
	steps: []step{{
		before: func(t *testing.T, w world) {
			w.apply(t, func(b *rtnl.Batch, _ func(string) int) {
				b.LinkAdd(rtnl.Link{Name: "a0", Kind: "bridge", Flags: net.FlagUp})
			})
			w.disableIPv6("a0")
		},
		desired: reconcile.Desired{
			Links: []reconcile.Link{brUp, {Name: "a0"}},
			Addresses: []reconcile.Address{{Link: "a0", Prefix: netip.MustParsePrefix("fd00::1/64")},
				{Link: "br0", Prefix: netip.MustParsePrefix("fd01::1/64")}},
			Routes: []reconcile.Route{
				{Dst: netip.MustParsePrefix("fd50::/64"), Via: netip.MustParseAddr("fd00::fe")},
				{Dst: netip.MustParsePrefix("fd51::/64"), Via: netip.MustParseAddr("fd01::fe")},
			},
		},
		want: []string{"applied 0 create link br0", "applied 1 create address index=3 prefix=fd01::1/64",
			"applied 2 create route family=inet6 table=254 dst=fd51::/64",
			"failed create address index=2 prefix=fd00::1/64: EACCES",
			"blocked route family=inet6 table=254 dst=fd50::/64 tos=0 metric=1024 blocked by address index=2 prefix=fd00::1/64",
			"not converged"},
		absent: []string{"applied 3"},
	}},
}, {
	name: "a failed nexthop blocks the groups listing it and the routes through them",
	steps: []step{{
		desired: reconcile.Desired{
			Links:     []reconcile.Link{brUp},
			Addresses: []reconcile.Address{{Link: "br0", Prefix: v4a}},
			Nexthops: []reconcile.Nexthop{{ID: 1, Via: netip.MustParseAddr("10.9.9.9"), Dev: "br0"},
				{ID: 2, Via: gw, Dev: "br0"}, {ID: 10, Group: []rtnl.NexthopMember{{ID: 1}, {ID: 2}}}},
			Routes: []reconcile.Route{{Dst: netip.MustParsePrefix("10.60.0.0/24"), Nexthop: 10},
				{Dst: netip.MustParsePrefix("10.61.0.0/24"), Nexthop: 2}},
		},
		want: []string{"applied 2 create nexthop id=2", "applied 3 create route family=inet table=254 dst=10.61.0.0/24",
			"failed create nexthop id=1: ",
			"blocked nexthop id=10 blocked by nexthop id=1",
			"blocked route family=inet table=254 dst=10.60.0.0/24 tos=0 metric=0 blocked by nexthop id=10",
			"not converged"},
		absent: []string{"applied 4"},
	}},
}, {
	name: "a failed link does not stop the deletes of what is no longer desired",
	steps: []step{{
		desired: reconcile.Desired{
			Links:     []reconcile.Link{brUp},
			Addresses: []reconcile.Address{{Link: "br0", Prefix: v4a}},
			Rules:     []reconcile.Rule{{Priority: 200, Table: 100}},
		},
		want: []string{"converged"},
	}, {
		desired: reconcile.Desired{Links: []reconcile.Link{brUp, {Name: "d0", Kind: "dummy"}}},
		want: []string{"applied 0 delete rule", "applied 1 delete address", "failed create link d0: EOPNOTSUPP",
			"owned link br0", "not converged"},
		absent: []string{"owned address", "owned rule", "owned link d0"},
	}},
}}

// impossibleLink is a scope as a new user writes it on a kernel without
// dummy: an impossible link d0 with an address, a port, a neighbour and
// routes that depend on it, beside a bridge with an address, an existing
// veth's address, a route through the bridge, a neighbour and a rule.
// Without withD0, only what does not depend on d0.
func impossibleLink(withD0 bool) reconcile.Desired {
	d := reconcile.Desired{
		Links: []reconcile.Link{brUp, {Name: "v0"}},
		Addresses: []reconcile.Address{{Link: "br0", Prefix: v4a},
			{Link: "v0", Prefix: netip.MustParsePrefix("10.2.0.1/24")}},
		Routes:     []reconcile.Route{{Dst: netip.MustParsePrefix("10.50.0.0/24"), Via: gw}},
		Neighbours: []reconcile.Neighbour{{Link: "br0", IP: nbr, MAC: nbMAC}},
		Rules:      []reconcile.Rule{{Priority: 200, Table: 100}},
	}
	if withD0 {
		d.Links = append([]reconcile.Link{{Name: "d0", Kind: "dummy", State: reconcile.LinkStateUp}}, d.Links...)
		d.Links = append(d.Links, reconcile.Link{Name: "v1", Master: "d0"})
		d.Addresses = append(d.Addresses, reconcile.Address{Link: "d0", Prefix: netip.MustParsePrefix("10.1.0.1/24")})
		d.Neighbours = append(d.Neighbours, reconcile.Neighbour{Link: "d0", IP: netip.MustParseAddr("10.1.0.9"), MAC: nbMAC})
		d.Routes = append(d.Routes,
			reconcile.Route{Dst: netip.MustParsePrefix("10.51.0.0/24"), Via: netip.MustParseAddr("10.1.0.254")},
			reconcile.Route{Dst: netip.MustParsePrefix("10.52.0.0/24"), Dev: "d0"})
	}
	return d
}

// missingKinds refuses, in the fake kernel, the link kinds this
// machine's kernel lacks, as it does: EOPNOTSUPP ("Unknown device type").
func missingKinds(op string, obj any) *rtnl.Error {
	if l, ok := obj.(rtnl.Link); ok && op == "link add" && slices.Contains([]string{"dummy", "vlan", "bond", "vrf"}, l.Kind) {
		return fakekernel.Refuse(op, unix.EOPNOTSUPP, "Unknown device type")
	}
	return nil
}

// summary renders a pass as lines comparable between kernels: its applied
// operations by key, conflicts, failure, convergence and the keys the
// ledger owns.
func summary(r reconcile.Report, err error, l *reconcile.Ledger) []string {
	var out []string
	if len(r.Applied) == 0 {
		out = append(out, "applied none")
	}
	for i, op := range r.Applied {
		out = append(out, fmt.Sprintf("applied %d %s %s %s", i, op.Action, op.Kind, op.Key()))
	}
	for _, c := range r.Conflicts {
		// The reason's first clause: the rest is each kernel's own text.
		reason, _, _ := strings.Cut(c.Reason, ":")
		who := "observed: " + reason
		if c.Foreign {
			who = "foreign"
		}
		out = append(out, fmt.Sprintf("conflict %s %s", c.Kind, who))
	}
	var f *reconcile.Failure
	switch {
	case errors.As(err, &f):
		for _, f := range r.Failures {
			var e *rtnl.Error
			name := "?"
			if errors.As(f.Err, &e) {
				name = e.Name()
			}
			out = append(out, fmt.Sprintf("failed %s %s %s: %s", f.Op.Action, f.Op.Kind, f.Op.Key(), name))
		}
	case err != nil:
		out = append(out, "error "+err.Error())
	}
	for _, b := range r.Blocked {
		out = append(out, "blocked "+b.String())
	}
	if r.Converged {
		out = append(out, "converged")
	} else {
		out = append(out, "not converged")
	}
	o := l.Owned()
	var owned []string
	for k := range o.Links.All() {
		owned = append(owned, "owned link "+k.String())
	}
	for k := range o.Addresses.All() {
		owned = append(owned, "owned address "+k.String())
	}
	for k := range o.Neighbours.All() {
		owned = append(owned, "owned neighbour "+k.String())
	}
	for k := range o.Rules.All() {
		owned = append(owned, "owned rule "+k.String())
	}
	slices.Sort(owned)
	if len(owned) == 0 {
		owned = []string{"owned none"}
	}
	return append(out, owned...)
}

// run runs sc in w and returns the summary of every pass.
func (sc scenario) run(t *testing.T, w world) [][]string {
	l := reconcile.NewLedger()
	if err := l.Record(sc.owned...); err != nil {
		t.Fatal(err)
	}
	var out [][]string
	for i, st := range sc.steps {
		if st.before != nil {
			st.before(t, w)
		}
		r, err := reconcile.Pass(w.k, st.desired, l, sc.opts)
		got := summary(r, err, l)
		out = append(out, got)
		for _, want := range st.want {
			if !slices.ContainsFunc(got, func(line string) bool { return strings.HasPrefix(line, want) }) {
				t.Errorf("pass %d: no line starts with %q in\n%s", i, want, strings.Join(got, "\n"))
			}
		}
		for _, bad := range st.absent {
			if slices.ContainsFunc(got, func(line string) bool { return strings.HasPrefix(line, bad) }) {
				t.Errorf("pass %d: a line starts with %q in\n%s", i, bad, strings.Join(got, "\n"))
			}
		}
	}
	return out
}

// nexthopState is br0 with 10.0.0.1/24, single nexthops 1 and member
// (through 10.0.0.254 and .253), a group 10 of 1 and member with weight
// weight, two routes through the group and a weighted multipath route.
func nexthopState(member uint32, weight uint32) reconcile.Desired {
	return reconcile.Desired{
		Links:     []reconcile.Link{brUp},
		Addresses: []reconcile.Address{{Link: "br0", Prefix: v4a}},
		Nexthops: []reconcile.Nexthop{
			{ID: 1, Via: gw, Dev: "br0"},
			{ID: member, Via: netip.MustParseAddr("10.0.0.253"), Dev: "br0"},
			{ID: 10, Group: []rtnl.NexthopMember{{ID: 1, Weight: 1}, {ID: member, Weight: weight}}},
		},
		Routes: []reconcile.Route{
			{Dst: netip.MustParsePrefix("10.60.0.0/24"), Nexthop: 10},
			{Dst: netip.MustParsePrefix("10.60.1.0/24"), Nexthop: 10},
			{Dst: netip.MustParsePrefix("10.61.0.0/24"), NextHops: []reconcile.NextHop{
				{Via: gw, Dev: "br0", Weight: 3}, {Via: netip.MustParseAddr("10.0.0.253"), Weight: 1}}},
		},
	}
}

// sourceRoutes is br0 with fd00::1/64 and two routes to fd50::/64, from
// fd01::/64 through a and from fd02::/64 through b.
func sourceRoutes(a, b string) reconcile.Desired {
	return reconcile.Desired{
		Links:     []reconcile.Link{brUp},
		Addresses: []reconcile.Address{{Link: "br0", Prefix: netip.MustParsePrefix("fd00::1/64")}},
		Routes: []reconcile.Route{
			{Dst: netip.MustParsePrefix("fd50::/64"), From: netip.MustParsePrefix("fd01::/64"), Via: netip.MustParseAddr(a), Dev: "br0"},
			{Dst: netip.MustParsePrefix("fd50::/64"), From: netip.MustParsePrefix("fd02::/64"), Via: netip.MustParseAddr(b), Dev: "br0"},
		},
	}
}

// TestScenarios runs every scenario against the fake kernel and, as root,
// against the real one in a throwaway namespace: each must pass its
// checks, and the two kernels must give the same summaries, line for line.
func TestScenarios(t *testing.T) {
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			fk := fakekernel.New(rtnl.Host(), rtnl.NamespaceID{Dev: 1, Inode: 1})
			fk.SetFault(missingKinds)
			fake := sc.run(t, world{k: fk, disableIPv6: func(name string) {
				if err := fk.DisableIPv6(name); err != nil {
					t.Fatal(err)
				}
			}})
			if os.Geteuid() != 0 {
				return // the real kernel needs root; the fake ran
			}
			ns := nstest.New(t)
			real := sc.run(t, world{k: ns.Open(), disableIPv6: func(name string) {
				ns.Exec("sysctl", "-q", "-w", "net.ipv6.conf."+name+".disable_ipv6=1")
			}})
			for i := range fake {
				if !slices.Equal(fake[i], real[i]) {
					t.Errorf("pass %d: the fake and the real kernel disagree\nfake:\n%s\nkernel:\n%s",
						i, strings.Join(fake[i], "\n"), strings.Join(real[i], "\n"))
				}
			}
		})
	}
}
