package diff_test

import (
	"fmt"
	"net"
	"net/netip"

	"github.com/linx-net/linx/diff"
	"github.com/linx-net/linx/rtnl"
)

// A changed gateway is an update, applied in place with replace: not a
// delete and a create.
func ExampleRoutes_changedGateway() {
	observed := []rtnl.Route{{
		Dst:      netip.MustParsePrefix("10.50.0.0/24"),
		Gateway:  netip.MustParseAddr("10.0.0.1"),
		OIF:      2,
		Table:    rtnl.TableMain,
		Protocol: rtnl.ProtocolStatic,
		Type:     rtnl.RouteTypeUnicast,
	}}
	desired := []rtnl.Route{{
		Dst:     netip.MustParsePrefix("10.50.0.0/24"),
		Gateway: netip.MustParseAddr("10.0.0.2"),
	}}
	ops, conflicts := diff.Routes(desired, observed, rtnl.ProtocolStatic)
	for _, op := range ops {
		fmt.Println(op)
	}
	fmt.Println(len(conflicts), "conflicts")
	// Output:
	// update Route<10.50.0.0/24 via 10.0.0.2 proto=static>
	// 0 conflicts
}

// Routes of another protocol are invisible: the kernel's connected route
// and a route some other daemon installed are neither deleted nor
// reported. Only the owner's stale route goes.
func ExampleRoutes_foreignRouteInvisible() {
	observed := []rtnl.Route{
		{Dst: netip.MustParsePrefix("10.0.0.0/24"), OIF: 2, Protocol: rtnl.ProtocolKernel, Scope: rtnl.ScopeLink},
		{Dst: netip.MustParsePrefix("192.168.0.0/16"), Gateway: netip.MustParseAddr("10.0.0.1"), Protocol: rtnl.ProtocolStatic},
		{Dst: netip.MustParsePrefix("10.99.0.0/16"), Gateway: netip.MustParseAddr("10.0.0.1"), Protocol: rtnl.DefaultProtocol},
	}
	ops, _ := diff.Routes(nil, observed, rtnl.DefaultProtocol)
	for _, op := range ops {
		fmt.Println(op)
	}
	// Output:
	// delete Route<10.99.0.0/16 via 10.0.0.1 proto=76>
}

// A desired route whose key a foreign route holds is a conflict: replace
// would overwrite it, whatever its protocol.
func ExampleRoutes_conflict() {
	observed := []rtnl.Route{{
		Dst: netip.MustParsePrefix("0.0.0.0/0"), Gateway: netip.MustParseAddr("10.0.0.1"),
		Table: rtnl.TableMain, Protocol: rtnl.ProtocolDHCP,
	}}
	desired := []rtnl.Route{{Dst: netip.MustParsePrefix("0.0.0.0/0"), Gateway: netip.MustParseAddr("10.0.0.254")}}
	ops, conflicts := diff.Routes(desired, observed, rtnl.DefaultProtocol)
	fmt.Println(len(ops), "ops")
	for _, c := range conflicts {
		fmt.Println(c)
	}
	// Output:
	// 0 ops
	// route family=inet table=254 dst=0.0.0.0/0 tos=0 metric=0: a route of protocol dhcp holds the key; replacing it would overwrite that route, whatever its protocol
}

// A foreign address that merely appeared stays: it is not desired, but
// it was never ours either.
func ExampleAddresses_foreignStays() {
	observed := []rtnl.Address{{Index: 2, Prefix: netip.MustParsePrefix("10.0.0.9/24")}}
	owned := diff.NewSet[diff.AddressKey]() // nothing applied before
	ops, _ := diff.Addresses(nil, observed, owned, diff.Mark{})
	fmt.Println(len(ops), "ops")
	// Output:
	// 0 ops
}

// An owned address that is no longer desired is deleted; the desired one
// is created.
func ExampleAddresses_ownedDeleted() {
	old := rtnl.Address{Index: 2, Prefix: netip.MustParsePrefix("10.0.0.2/24")}
	observed := []rtnl.Address{old}
	owned := diff.NewSet(diff.KeyOfAddress(old))
	desired := []rtnl.Address{{Index: 2, Prefix: netip.MustParsePrefix("10.0.0.3/24")}}
	ops, _ := diff.Addresses(desired, observed, owned, diff.Mark{})
	for _, op := range ops {
		fmt.Println(op)
	}
	// Output:
	// create Address<10.0.0.3/24 ifindex=2>
	// delete Address<10.0.0.2/24 ifindex=2>
}

// Compute orders a whole plan: creates and updates by dependency (links,
// addresses, routes, …), then deletes in the reverse order. Owned.Record
// keeps the ledger as the ops are applied.
func ExampleCompute() {
	observed := diff.State{
		Links: []rtnl.Link{
			{Index: 1, Name: "lo", MTU: 65536, Flags: net.FlagUp | net.FlagLoopback},
			{Index: 5, Name: "old0", Kind: "bridge", MTU: 1500},
		},
		Addresses: []rtnl.Address{{Index: 5, Prefix: netip.MustParsePrefix("192.168.9.1/24")}},
	}
	owned := diff.Owned{
		Links:     diff.NewSet(diff.LinkKey{Name: "old0"}),
		Addresses: diff.NewSet(diff.AddressKey{Index: 5, Prefix: netip.MustParsePrefix("192.168.9.1/24")}),
	}
	desired := diff.State{
		Links:     []rtnl.Link{{Name: "br0", Kind: "bridge", MTU: 9000}},
		Addresses: []rtnl.Address{{Index: 1, Prefix: netip.MustParsePrefix("10.255.0.1/32")}},
		Routes:    []rtnl.Route{{Dst: netip.MustParsePrefix("10.50.0.0/24"), OIF: 1}},
	}
	plan := diff.Compute(desired, observed, owned, rtnl.DefaultProtocol)
	for _, op := range plan.Ops {
		fmt.Println(op)
		owned.Record(op)
	}
	fmt.Println("owned links:", owned.Links.Len())
	// Output:
	// create Link<"br0" (0) DOWN MTU=9000>
	// create Address<10.255.0.1/32 ifindex=1>
	// create Route<10.50.0.0/24 oif=1 proto=76>
	// delete Address<192.168.9.1/24 ifindex=5>
	// delete Link<"old0" (5) DOWN MTU=1500>
	// owned links: 1
}

// Keys persist as text and round-trip.
func ExampleRouteKey_MarshalText() {
	k := diff.KeyOfRoute(rtnl.Route{Dst: netip.MustParsePrefix("2001:db8::/64"), Table: 100})
	text, _ := k.MarshalText()
	fmt.Println(string(text))
	var back diff.RouteKey
	if err := back.UnmarshalText(text); err != nil {
		fmt.Println(err)
	}
	fmt.Println(back == k)
	// Output:
	// family=inet6 table=100 dst=2001:db8::/64 tos=0 metric=1024
	// true
}

// A link's administrative state is tri-state: up with net.FlagUp in the
// desired Flags, down with its key in the down set, left alone otherwise.
// Here eth1 is taken down, eth2 (wanted neither) stays up, and neither is
// owned.
func ExampleLinks_down() {
	observed := []rtnl.Link{
		{Index: 2, Name: "eth1", MTU: 1500, Flags: net.FlagUp},
		{Index: 3, Name: "eth2", MTU: 1500, Flags: net.FlagUp},
	}
	desired := []rtnl.Link{{Name: "eth1"}, {Name: "eth2"}}
	down := diff.NewSet(diff.LinkKey{Name: "eth1"})
	ops, _ := diff.Links(desired, observed, nil, down, nil)
	for _, op := range ops {
		fmt.Println(op)
	}
	// Output:
	// update Link<"eth1" (2) DOWN MTU=1500>
}

// Where the kernel keeps the writer's protocol, a key in the ledger is not
// enough: the neighbour that now holds it was added by another writer
// (protocol 0), after the owner's entry went, so it is neither deleted
// nor overwritten, and wanting the key back is a conflict.
func ExampleMark() {
	foreign := rtnl.Neighbour{Index: 2, IP: netip.MustParseAddr("10.1.0.9"),
		HardwareAddr: rtnl.MustParseMAC("02:00:00:00:00:99"), State: rtnl.NeighPermanent}
	owned := diff.NewSet(diff.KeyOfNeighbour(foreign)) // a stale key
	mark := diff.Mark{Protocol: rtnl.DefaultProtocol, Kept: true}

	ops, _ := diff.Neighbours(nil, []rtnl.Neighbour{foreign}, owned, mark)
	fmt.Println(len(ops), "ops when not desired")

	desired := []rtnl.Neighbour{{Index: 2, IP: netip.MustParseAddr("10.1.0.9"), HardwareAddr: rtnl.MustParseMAC("02:00:00:00:00:01")}}
	ops, conflicts := diff.Neighbours(desired, []rtnl.Neighbour{foreign}, nil, mark)
	fmt.Println(len(ops), "ops when desired;", conflicts[0].Reason)

	ops, _ = diff.Neighbours(desired, nil, nil, mark)
	fmt.Println(ops[0], "carrying protocol", ops[0].Neighbour.Protocol)
	// Output:
	// 0 ops when not desired
	// 0 ops when desired; the key is held by another writer's neighbour (protocol 0); left untouched
	// create Neighbour<10.1.0.9 -> 02:00:00:00:00:01 ifindex=2> carrying protocol 76
}

// Observed routes go into an ObservedRoutes one at a time, as a dump
// (rtnl.Socket.EachRoute) hands them out in one reused value; the diff
// then reads them from their compact records.
func ExampleRoutesObserved() {
	var obs diff.ObservedRoutes
	obs.Reset(rtnl.DefaultProtocol)
	var r rtnl.Route // reused for every route, as EachRoute does
	for i := range 3 {
		r = rtnl.Route{
			Dst:      netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 60, byte(i), 0}), 24),
			Gateway:  netip.MustParseAddr("10.0.0.1"),
			OIF:      2,
			Table:    rtnl.TableMain,
			Protocol: rtnl.DefaultProtocol,
			Type:     rtnl.RouteTypeUnicast,
		}
		obs.Add(&r)
	}
	desired := []rtnl.Route{
		{Dst: netip.MustParsePrefix("10.60.0.0/24"), Gateway: netip.MustParseAddr("10.0.0.1")},
		{Dst: netip.MustParsePrefix("10.60.1.0/24"), Gateway: netip.MustParseAddr("10.0.0.1")},
	}
	ops, _ := diff.RoutesObserved(desired, &obs)
	for _, op := range ops {
		fmt.Println(op)
	}
	// Output:
	// delete Route<10.60.2.0/24 via 10.0.0.1 oif=2 proto=76>
}
