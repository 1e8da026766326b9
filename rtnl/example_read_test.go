package rtnl_test

import (
	"errors"
	"fmt"
	"log"
	"net/netip"
	"time"

	"golang.org/x/sys/unix"

	"github.com/linx-net/linx/rtnl"
)

// The examples below walk "Reading the network": open a socket, then list
// links, addresses, routes, neighbours, rules and counters. Reading the host
// namespace needs no privileges; opening another namespace needs root. The
// examples that ask the kernel have no Output line, since their results
// depend on the machine; comments show typical output.

// Open a socket in the host namespace, list its links, close it.
func Example() {
	s, err := rtnl.Open(rtnl.Host())
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	links, err := s.Links()
	if err != nil {
		log.Fatal(err)
	}
	for _, l := range links {
		fmt.Println(l)
	}
	// Link<"lo" (1) UP MTU=65536>
	// Link<"eth0" (2) UP MTU=1500>
	// Link<"wlan0" (3) DOWN MTU=1500>
}

// A socket can live in the namespace of a process (a container's) or of
// any file that names one; every verb then acts there.
func ExampleOpen() {
	byPID, err := rtnl.Open(rtnl.NamespaceOfPID(4242))
	if err != nil {
		log.Fatal(err) // netlink ESRCH (3): no such process 4242
	}
	defer byPID.Close()

	byPath, err := rtnl.Open(rtnl.NamespaceAt("/var/run/netns/blue"), rtnl.WithTimeout(time.Second))
	if err != nil {
		log.Fatal(err)
	}
	defer byPath.Close()
}

func ExampleSocket_LinkByName() {
	s, err := rtnl.Open(rtnl.Host())
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	lo, err := s.LinkByName("lo")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(lo, lo.Up())
	// Link<"lo" (1) UP MTU=65536> true
}

// An unknown interface fails with an *rtnl.Error that unwraps to its errno.
func ExampleSocket_LinkByName_notFound() {
	s, err := rtnl.Open(rtnl.Host())
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	_, err = s.LinkByName("nope0")
	fmt.Println(err)
	fmt.Println(errors.Is(err, unix.ENODEV), rtnl.IsNotExist(err))
	var e *rtnl.Error
	if errors.As(err, &e) {
		fmt.Println(e.Name(), e.Code(), e.Message)
	}
	// netlink ENODEV (19): no such interface "nope0"
	// true true
	// ENODEV 19 no such interface "nope0"
}

func ExampleSocket_Addresses() {
	s, err := rtnl.Open(rtnl.Host())
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	addrs, err := s.Addresses()
	if err != nil {
		log.Fatal(err)
	}
	for _, a := range addrs {
		fmt.Println(a)
	}
	// Address<127.0.0.1/8 ifindex=1>
	// Address<::1/128 ifindex=1>
	// Address<192.168.1.42/24 ifindex=2>
}

// The addresses of one interface, as bare IPs.
func ExampleSocket_AddressesOf() {
	s, err := rtnl.Open(rtnl.Host())
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	addrs, err := s.AddressesOf("lo")
	if err != nil {
		log.Fatal(err)
	}
	var ips []netip.Addr
	for _, a := range addrs {
		ips = append(ips, a.Prefix.Addr())
	}
	fmt.Println(ips)
	// [127.0.0.1 ::1]
}

func ExampleSocket_Routes() {
	s, err := rtnl.Open(rtnl.Host())
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	routes, err := s.Routes()
	if err != nil {
		log.Fatal(err)
	}
	for _, r := range routes {
		fmt.Println(r)
	}
	// Route<default via 192.168.1.1 oif=2>
	// Route<192.168.1.0/24 oif=2>
	// Route<local 127.0.0.1/32 oif=1 table=255>
	// …
}

// Only the routes of table 1000 installed by Linx, filtered in the kernel.
func ExampleSocket_RoutesFiltered() {
	s, err := rtnl.Open(rtnl.Host())
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	routes, err := s.RoutesFiltered(rtnl.RouteFilter{Table: 1000, Protocol: rtnl.DefaultProtocol})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(routes), "routes")
}

// Which route would the kernel use to reach 1.1.1.1?
func ExampleSocket_RouteGet() {
	s, err := rtnl.Open(rtnl.Host())
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	r, err := s.RouteGet(netip.MustParseAddr("1.1.1.1"))
	if err != nil {
		log.Fatal(err) // netlink ENETUNREACH (101): no route to 1.1.1.1
	}
	fmt.Println(r)
	// Route<1.1.1.1/32 via 192.168.1.1 oif=2>
}

func ExampleSocket_Neighbours() {
	s, err := rtnl.Open(rtnl.Host())
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	neighbours, err := s.Neighbours()
	if err != nil {
		log.Fatal(err)
	}
	for _, n := range neighbours {
		fmt.Println(n, n.State)
	}
	// Neighbour<192.168.1.1 -> aa:bb:cc:dd:ee:ff ifindex=2> REACHABLE
}

func ExampleSocket_Stats() {
	s, err := rtnl.Open(rtnl.Host())
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	st, err := s.Stats("eth0")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(st)
	fmt.Println(st.Link.RxPackets, st.Link.TxDropped, st.Link.RxNoHandler)
	// Stats<ifindex=2 rx=128431p/189204771B tx=85912p/12504331B>
	// 128431 0 0
}

// The counters of every interface.
func ExampleSocket_AllStats() {
	s, err := rtnl.Open(rtnl.Host())
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	all, err := s.AllStats()
	if err != nil {
		log.Fatal(err)
	}
	for _, st := range all {
		fmt.Printf("%s: %d bytes in, %d out\n", st.Name, st.Link.RxBytes, st.Link.TxBytes)
	}
}

func ExampleSocket_Rules() {
	s, err := rtnl.Open(rtnl.Host())
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	rules, err := s.Rules()
	if err != nil {
		log.Fatal(err)
	}
	for _, r := range rules {
		fmt.Println(r)
	}
	// Rule<table=255>
	// Rule<priority=32766 table=254>
	// Rule<priority=32767 table=253>
}

// Values: netip for addresses and prefixes (a prefix keeps its host bits,
// as an interface address does), MustParseMAC for MAC literals.
func Example_values() {
	ip := netip.MustParseAddr("10.0.0.5")
	subnet := netip.MustParsePrefix("10.0.0.0/24")
	ifaddr := netip.MustParsePrefix("10.0.42.5/24")
	mac := rtnl.MustParseMAC("02:aa:bb:cc:dd:ee")
	fmt.Println(ip, subnet, ifaddr, mac)
	// Output: 10.0.0.5 10.0.0.0/24 10.0.42.5/24 02:aa:bb:cc:dd:ee
}

func ExampleParseMAC() {
	mac, err := rtnl.ParseMAC("02-AA-BB-CC-DD-EE")
	fmt.Println(mac, err)
	_, err = rtnl.ParseMAC("02:00:5e:10:00:00:00:01") // EUI-64 is refused
	fmt.Println(err)
	// Output:
	// 02:aa:bb:cc:dd:ee <nil>
	// rtnl: ParseMAC("02:00:5e:10:00:00:00:01"): 8 bytes, want a 6-byte EUI-48 address
}

func ExampleContains() {
	fmt.Println(rtnl.Contains(netip.MustParsePrefix("10.0.0.0/8"), netip.MustParseAddr("10.99.0.5")))
	fmt.Println(rtnl.Contains(netip.MustParsePrefix("10.0.0.0/8"), netip.MustParseAddr("192.168.0.1")))
	fmt.Println(rtnl.Contains(netip.MustParsePrefix("fd00::/64"), netip.MustParseAddr("fd00::42")))
	// Output:
	// true
	// false
	// true
}

func ExampleNetwork() {
	fmt.Println(rtnl.Network(netip.MustParsePrefix("10.0.42.5/24")))
	fmt.Println(rtnl.Network(netip.MustParsePrefix("fd00:1:2:3::9/48")))
	// Output:
	// 10.0.42.0
	// fd00:1:2::
}

// IPv6 has no broadcast address: Broadcast gives the prefix's last address.
func ExampleBroadcast() {
	fmt.Println(rtnl.Broadcast(netip.MustParsePrefix("10.0.42.5/24")))
	fmt.Println(rtnl.Broadcast(netip.MustParsePrefix("10.0.42.5/31")))
	fmt.Println(rtnl.Broadcast(netip.MustParsePrefix("fd00::1/64")))
	// Output:
	// 10.0.42.255
	// 10.0.42.5
	// fd00::ffff:ffff:ffff:ffff
}

func ExampleParseNamespace() {
	for _, s := range []string{"host", "pid:4242", "path:/var/run/netns/blue", "netns:blue"} {
		ns, err := rtnl.ParseNamespace(s)
		fmt.Println(ns, err)
	}
	// Output:
	// host <nil>
	// pid:4242 <nil>
	// path:/var/run/netns/blue <nil>
	// host rtnl: ParseNamespace("netns:blue"): want host, pid:N or path:P
}

// The error every verb returns reads like the guide's, and matches errno
// values with errors.Is.
func ExampleError() {
	var err error = &rtnl.Error{Op: "link get", Errno: unix.ENODEV, Message: `no such interface "nope0"`}
	fmt.Println(err)
	fmt.Println(errors.Is(err, unix.ENODEV))
	// Output:
	// netlink ENODEV (19): no such interface "nope0"
	// true
}
