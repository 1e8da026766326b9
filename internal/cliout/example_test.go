package cliout_test

import (
	"net"
	"net/netip"
	"os"

	"github.com/linx-net/linx/internal/cliout"
	"github.com/linx-net/linx/rtnl"
)

// Print a routing table the way `linx-node show routes` does, with
// interface names resolved from the links of the same namespace.
func ExampleWrite() {
	links := []rtnl.Link{{Index: 1, Name: "lo"}, {Index: 2, Name: "eth0"}}
	routes := []rtnl.Route{
		{Dst: netip.MustParsePrefix("0.0.0.0/0"), Gateway: netip.MustParseAddr("192.168.1.1"), OIF: 2,
			Table: rtnl.TableMain, Protocol: rtnl.ProtocolDHCP, Metric: 100, Type: rtnl.RouteTypeUnicast},
		{Dst: netip.MustParsePrefix("192.168.1.0/24"), OIF: 2, Table: rtnl.TableMain,
			Protocol: rtnl.ProtocolKernel, Type: rtnl.RouteTypeUnicast, Scope: rtnl.ScopeLink},
	}
	_ = cliout.Write(os.Stdout, cliout.FormatTable, cliout.Routes(routes, cliout.NamesOf(links)))
	// Output:
	// DST             GATEWAY      DEV   TABLE  PROTO   METRIC  TYPE     SCOPE
	// default         192.168.1.1  eth0  main   dhcp    100     unicast  global
	// 192.168.1.0/24  -            eth0  main   kernel  0       unicast  link
}

// The same values as JSON: absent gateways are left out and a default
// route's destination is a prefix, so scripts need no special case.
func ExampleWrite_json() {
	neighs := []rtnl.Neighbour{{Index: 2, IP: netip.MustParseAddr("192.168.1.1"),
		HardwareAddr: net.HardwareAddr{0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff}, State: rtnl.NeighReachable}}
	_ = cliout.Write(os.Stdout, cliout.FormatJSON, cliout.Neighbours(neighs, cliout.Names{2: "eth0"}))
	// Output:
	// [
	//   {
	//     "ifindex": 2,
	//     "ifname": "eth0",
	//     "ip": "192.168.1.1",
	//     "mac": "aa:bb:cc:dd:ee:ff",
	//     "state": "REACHABLE",
	//     "family": "inet",
	//     "flags": 0,
	//     "protocol": 0
	//   }
	// ]
}

// Stream rows as a dump delivers them: each one is written and dropped,
// and Close ends the JSON array. A route of BIRD prints its protocol by
// name, as ip does.
func ExampleStream() {
	names := cliout.Names{2: "eth0"}
	s := cliout.NewStream[cliout.RouteView](os.Stdout, cliout.FormatJSON)
	for i := range 2 {
		r := rtnl.Route{Dst: netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(i), 0, 0}), 16),
			Gateway: netip.MustParseAddr("192.168.1.1"), OIF: 2, Table: rtnl.TableMain, Protocol: 12,
			Type: rtnl.RouteTypeUnicast}
		if err := s.Write(cliout.RouteOf(&r, names)); err != nil {
			return // the reader went away
		}
	}
	_ = s.Close()
	// Output:
	// [
	// {"dst":"10.0.0.0/16","gateway":"192.168.1.1","oif":2,"dev":"eth0","table":254,"protocol":12,"protocol_name":"bird","metric":0,"family":"inet","type":"unicast","scope":"global"},
	// {"dst":"10.1.0.0/16","gateway":"192.168.1.1","oif":2,"dev":"eth0","table":254,"protocol":12,"protocol_name":"bird","metric":0,"family":"inet","type":"unicast","scope":"global"}
	// ]
}
