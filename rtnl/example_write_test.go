package rtnl_test

import (
	"errors"
	"fmt"
	"log"
	"net"
	"net/netip"

	"github.com/linx-net/linx/rtnl"
)

// These examples change network state, so they are compiled but not run;
// they use a namespace made with `ip netns add demo`.

// Creating virtual interfaces: macvlan and ipvlan ride a parent, a veth
// pair is two ends wired back to back, a bridge enslaves links.
func ExampleSocket_CreateMacvlan() {
	s, err := rtnl.Open(rtnl.NamespaceAt("/var/run/netns/demo"))
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	steps := []error{
		s.CreateMacvlan("web0", "eth0", rtnl.MacvlanBridge),
		s.CreateVeth("v0a", "v0b"),
		s.CreateBridge("br0"),
		s.LinkSetMaster("v0a", "br0"),
		s.LinkSetMaster("v0b", "br0"),
		s.CreateVxlan("vx42", rtnl.Vxlan{VNI: 42, Port: 4789, Remote: netip.MustParseAddr("192.0.2.7")}, "eth0"),
	}
	if err := errors.Join(steps...); err != nil {
		log.Fatal(err)
	}
}

// A kind the kernel lacks, or a parent that does not exist, is named in
// the error.
func ExampleSocket_CreateVLAN() {
	s, err := rtnl.Open(rtnl.NamespaceAt("/var/run/netns/demo"))
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	err = s.CreateVLAN("eth9.42", "eth9", 42)
	fmt.Println(err)
	// netlink ENODEV (19): no such parent interface "eth9"
}

// Configuring an interface.
func ExampleSocket_LinkSetUp() {
	s, err := rtnl.Open(rtnl.NamespaceAt("/var/run/netns/demo"))
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	mac, _ := net.ParseMAC("02:aa:bb:cc:dd:ee")
	steps := []error{
		s.LinkSetUp("v0a"),
		s.LinkSetMTU("v0a", 1400),
		s.LinkSetHardwareAddr("v0a", mac),
		s.LinkSetDown("v0a"),
		s.LinkSetName("v0a", "uplink0"),
		s.LinkDelete("uplink0"),
	}
	if err := errors.Join(steps...); err != nil {
		log.Fatal(err)
	}
}

// Addresses: the family comes from the address.
func ExampleSocket_AddressAdd() {
	s, err := rtnl.Open(rtnl.NamespaceAt("/var/run/netns/demo"))
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	if err := s.AddressAdd("v0a", netip.MustParsePrefix("10.0.42.5/24")); err != nil {
		log.Fatal(err)
	}
	if err := s.AddressAdd("v0a", netip.MustParsePrefix("fc00::42:5/64")); err != nil {
		log.Fatal(err)
	}
	// Strict: a second add fails with EEXIST; replace is idempotent.
	err = s.AddressAdd("v0a", netip.MustParsePrefix("10.0.42.5/24"))
	fmt.Println(rtnl.IsExist(err), s.AddressReplace("v0a", netip.MustParsePrefix("10.0.42.5/24")))
}

// Routes: add is strict, replace is create-or-replace (a new gateway in
// place), and table, protocol and metric ride along.
func ExampleSocket_RouteReplace() {
	s, err := rtnl.Open(rtnl.NamespaceAt("/var/run/netns/demo"))
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	r := rtnl.Route{Dst: netip.MustParsePrefix("10.99.0.0/24"), Gateway: netip.MustParseAddr("10.0.42.1")}
	if err := s.RouteAdd(r); err != nil {
		log.Fatal(err)
	}
	r.Gateway = netip.MustParseAddr("10.0.42.9")
	if err := s.RouteReplace(r); err != nil {
		log.Fatal(err)
	}
	custom := rtnl.Route{
		Dst:      netip.MustParsePrefix("10.50.0.0/24"),
		Gateway:  netip.MustParseAddr("10.0.42.1"),
		Table:    1000,
		Protocol: rtnl.ProtocolStatic,
		Metric:   50,
	}
	if err := s.RouteAdd(custom); err != nil {
		log.Fatal(err)
	}
	if err := s.DefaultRouteAdd(netip.MustParseAddr("10.0.42.1")); err != nil {
		log.Fatal(err)
	}
	// A gateway of the other family is refused before anything is sent.
	err = s.RouteAdd(rtnl.Route{Dst: netip.MustParsePrefix("fd00::/64"), Gateway: netip.MustParseAddr("10.0.42.1")})
	fmt.Println(err)
}

// Neighbours: static ARP and NDP entries.
func ExampleSocket_NeighbourAdd() {
	s, err := rtnl.Open(rtnl.NamespaceAt("/var/run/netns/demo"))
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	mac, _ := net.ParseMAC("02:aa:bb:cc:dd:ee")
	if err := s.NeighbourAdd("v0a", netip.MustParseAddr("10.0.42.10"), mac); err != nil {
		log.Fatal(err)
	}
	if err := s.NeighbourDelete("v0a", netip.MustParseAddr("10.0.42.10")); err != nil {
		log.Fatal(err)
	}
}

// Policy-routing rules: a table is required; the family comes from the
// address selectors, IPv4 when there are none.
func ExampleSocket_RuleAdd() {
	s, err := rtnl.Open(rtnl.NamespaceAt("/var/run/netns/demo"))
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	from := rtnl.Rule{From: netip.MustParsePrefix("10.0.0.0/24"), Table: 100}
	if err := s.RuleAdd(from); err != nil {
		log.Fatal(err)
	}
	if err := s.RuleAdd(rtnl.Rule{FwMark: 0x1, Table: 100, Priority: 200}); err != nil {
		log.Fatal(err)
	}
	if err := s.RuleDelete(from); err != nil {
		log.Fatal(err)
	}
}

// Moving a link into a container's namespace and configuring it there.
func ExampleSocket_LinkMoveTo() {
	host, err := rtnl.Open(rtnl.Host())
	if err != nil {
		log.Fatal(err)
	}
	defer host.Close()
	container := rtnl.NamespaceOfPID(4242)
	if err := host.CreateVethIn("veth-web", "web0", container); err != nil {
		log.Fatal(err)
	}
	// Or create it here and move it: host.LinkMoveTo("web0", container).

	ns, err := rtnl.Open(container)
	if err != nil {
		log.Fatal(err)
	}
	defer ns.Close()
	steps := []error{
		ns.LinkSetUp("lo"),
		ns.AddressAdd("web0", netip.MustParsePrefix("192.168.1.50/24")),
		ns.LinkSetUp("web0"),
		ns.DefaultRouteAdd(netip.MustParseAddr("192.168.1.1")),
	}
	if err := errors.Join(steps...); err != nil {
		log.Fatal(err)
	}
}

// A batch installs a routing table in a few system calls and reports the
// entries that failed by their number.
func ExampleSocket_Apply() {
	s, err := rtnl.Open(rtnl.NamespaceAt("/var/run/netns/demo"))
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	var b rtnl.Batch
	for i := range 1000 {
		b.RouteReplace(rtnl.Route{
			Dst:      netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 100, byte(i >> 8), byte(i)}), 32),
			Gateway:  netip.MustParseAddr("10.0.42.1"),
			Protocol: rtnl.DefaultProtocol,
		})
	}
	var be *rtnl.BatchError
	if err := s.Apply(&b); errors.As(err, &be) {
		for _, f := range be.Failures {
			fmt.Printf("entry %d (%s) failed: %v\n", f.Index, f.Op, f.Err)
		}
	}
}

// Nexthop objects: routes name a group by id, so replacing the group's
// members moves every route that uses it in one message, as routing
// daemons fail over.
func ExampleSocket_NexthopReplace() {
	s, err := rtnl.Open(rtnl.NamespaceAt("/var/run/netns/demo"))
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	eth0, err := s.LinkByName("eth0")
	if err != nil {
		log.Fatal(err)
	}

	var b rtnl.Batch
	b.NexthopAdd(rtnl.Nexthop{ID: 1, Gateway: netip.MustParseAddr("10.0.0.1"), OIF: eth0.Index, Protocol: 76})
	b.NexthopAdd(rtnl.Nexthop{ID: 2, Gateway: netip.MustParseAddr("10.0.0.2"), OIF: eth0.Index, Protocol: 76})
	b.NexthopAdd(rtnl.Nexthop{ID: 100, Protocol: 76,
		Group: []rtnl.NexthopMember{{ID: 1, Weight: 3}, {ID: 2, Weight: 1}}})
	for i := range 1000 {
		dst := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 50, byte(i >> 8), byte(i)}), 32)
		b.RouteAdd(rtnl.Route{Dst: dst, NHID: 100, Protocol: 76})
	}
	if err := s.Apply(&b); err != nil {
		log.Fatal(err)
	}

	// 10.0.0.1 is gone: every route moves to 10.0.0.2 at once.
	err = s.NexthopReplace(rtnl.Nexthop{ID: 100, Protocol: 76, Group: []rtnl.NexthopMember{{ID: 2}}})
	if err != nil {
		log.Fatal(err)
	}
}
