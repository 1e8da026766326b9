package rtnl_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/linx-net/linx/internal/nstest"
	"github.com/linx-net/linx/rtnl"
)

// Integration tests of the read verbs. Each builds its state with `ip` in a
// namespace it creates (never the host's) and cross-checks every decoded
// struct against `ip -N -j` run in the same namespace.

// populate fills ns with the objects issue 2 lists: a veth pair, a bridge
// with an enslaved port, a macvlan on a veth, IPv4 and IPv6 addresses
// (one point-to-point, one with a broadcast), routes in tables main, 100
// and 1000 with metrics and several protocols, IPv6 routes, static
// neighbours, and rules of both families with from, iif, fwmark and
// priority.
func populate(t *testing.T, ns *nstest.NS) {
	t.Helper()
	ns.Batch(`link add va type veth peer name vb
link add br0 type bridge
link set vb master br0
link add vc type veth peer name vd
link add mv0 link vc type macvlan mode bridge
link set va up
link set vb up
link set br0 up
link set vc up
link set vd up
link set mv0 up
addr add 10.0.1.1/24 dev va
addr add 10.0.2.1/24 brd + dev br0
addr add 10.0.3.5/24 dev mv0
addr add 10.9.0.1 peer 10.9.0.2/32 dev vd
addr add fd00:1::1/64 dev va nodad
addr add fd00:3::5/64 dev mv0 nodad
route add default via 10.0.1.254
route add 10.10.0.0/16 via 10.0.1.2 metric 50 proto static
route add 10.20.0.0/16 via 10.0.1.2 table 100 metric 7 proto 76
route add 10.30.0.0/16 dev br0 table 1000 metric 300 proto boot
route add 10.31.0.0/16 via 10.0.2.9 table 1000 proto 76
route add fd00:9::/48 via fd00:1::2 metric 20 proto static
route add fd00:8::/48 dev va table 1000 proto 76
neigh add 10.0.1.2 lladdr 02:00:00:00:01:02 dev va nud permanent
neigh add fd00:1::2 lladdr 02:00:00:00:01:03 dev va nud permanent
rule add from 10.0.0.0/24 table 100 priority 100
rule add iif va table 100 priority 150
rule add fwmark 0x10/0xff table 1000 priority 200
`)
	// Outside the batch: iproute2 6.1 gives this route the protocol of the
	// batch's previous `proto` line.
	ns.IP("route", "add", "blackhole", "10.99.0.0/24", "table", "100", "proto", "static")
	// `ip -batch` takes no family option per line.
	ns.IP("-6", "rule", "add", "from", "fd00::/16", "table", "1000", "priority", "300")
	ns.IP("-6", "rule", "add", "fwmark", "0x20", "table", "100", "priority", "400")
}

// ipJSON runs `ip -N -j args…` inside the namespace named by path (through
// nsenter, so that namespaces named by pid work too) and decodes the output.
func ipJSON(t *testing.T, path string, v any, args ...string) {
	t.Helper()
	cmd := exec.Command("nsenter", append([]string{"--net=" + path, "ip", "-N", "-j"}, args...)...)
	out, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("ip -j %s: %v: %s", strings.Join(args, " "), err, stderr)
	}
	if strings.TrimSpace(string(out)) == "" {
		out = []byte("[]")
	}
	if err := json.Unmarshal(out, v); err != nil {
		t.Fatalf("decoding ip -j %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// eventually retries check for a short while: the kernel's state settles
// (IPv6 DAD, operstate, multicast neighbours) between our read and ip's.
func eventually(t *testing.T, what string, check func() error) {
	t.Helper()
	var err error
	for range 30 {
		if err = check(); err == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s: %v", what, err)
}

// sameLines compares two multisets of lines, in any order.
func sameLines(got, want []string) error {
	slices.Sort(got)
	slices.Sort(want)
	if slices.Equal(got, want) {
		return nil
	}
	var b strings.Builder
	for _, g := range got {
		if !slices.Contains(want, g) {
			fmt.Fprintf(&b, "\n  linx only: %s", g)
		}
	}
	for _, w := range want {
		if !slices.Contains(got, w) {
			fmt.Fprintf(&b, "\n  ip only:   %s", w)
		}
	}
	return fmt.Errorf("linx and ip differ (%d vs %d lines):%s", len(got), len(want), b.String())
}

// ipLink is the part of `ip -j -d link` Linx models.
type ipLink struct {
	Index     int      `json:"ifindex"`
	Name      string   `json:"ifname"`
	Flags     []string `json:"flags"`
	MTU       int      `json:"mtu"`
	OperState string   `json:"operstate"`
	TxQLen    int      `json:"txqlen"`
	Address   string   `json:"address"`
	Master    string   `json:"master"`
	Link      string   `json:"link"`
	LinkIndex int      `json:"link_index"` // set instead of link when the lower device is in another namespace
	LinkInfo  struct {
		Kind string `json:"info_kind"`
		Data struct {
			Mode string `json:"mode"`
		} `json:"info_data"`
	} `json:"linkinfo"`
}

func ipLinks(t *testing.T, path string) []ipLink {
	var links []ipLink
	ipJSON(t, path, &links, "-d", "link", "show")
	return links
}

// linkLine renders the fields both sides report, resolving names to
// indexes through byName.
func linkLine(l rtnl.Link) string {
	mode := ""
	if m, ok := l.Data.(rtnl.Macvlan); ok {
		mode = m.Mode.String()
	}
	return fmt.Sprintf("%d %s kind=%s mtu=%d up=%v oper=%s txqlen=%d mac=%s master=%d parent=%d mode=%s",
		l.Index, l.Name, l.Kind, l.MTU, l.Up(), l.OperState, l.TxQueueLen, l.HardwareAddr, l.MasterIndex, l.ParentIndex, mode)
}

// ipLinkLine renders ip's view of a link. For a lower device in another
// namespace (a veth peer) ip prints its index there as link_index, which is
// what Linx reports as ParentIndex.
func ipLinkLine(l ipLink, byName map[string]int) string {
	parent := byName[l.Link]
	if l.LinkIndex != 0 {
		parent = l.LinkIndex
	}
	return fmt.Sprintf("%d %s kind=%s mtu=%d up=%v oper=%s txqlen=%d mac=%s master=%d parent=%d mode=%s",
		l.Index, l.Name, l.LinkInfo.Kind, l.MTU, slices.Contains(l.Flags, "UP"), l.OperState, l.TxQLen, l.Address,
		byName[l.Master], parent, l.LinkInfo.Data.Mode)
}

func checkLinks(t *testing.T, s *rtnl.Socket, path string) []rtnl.Link {
	t.Helper()
	var links []rtnl.Link
	eventually(t, "Links vs ip -d link", func() error {
		var err error
		links, err = s.Links()
		if err != nil {
			return err
		}
		ip := ipLinks(t, path)
		byName := map[string]int{}
		for _, l := range ip {
			byName[l.Name] = l.Index
		}
		var got, want []string
		for _, l := range links {
			got = append(got, linkLine(l))
		}
		for _, l := range ip {
			want = append(want, ipLinkLine(l, byName))
		}
		return sameLines(got, want)
	})
	return links
}

func indexOf(t *testing.T, links []rtnl.Link, name string) int {
	t.Helper()
	for _, l := range links {
		if l.Name == name {
			return l.Index
		}
	}
	t.Fatalf("no link %q among %v", name, links)
	return 0
}

func TestReadLinks(t *testing.T) {
	ns := nstest.New(t)
	populate(t, ns)
	s := ns.Open()
	links := checkLinks(t, s, ns.Path())

	kinds := map[string]string{}
	for _, l := range links {
		kinds[l.Name] = l.Kind
	}
	want := map[string]string{"lo": "", "va": "veth", "vb": "veth", "vc": "veth", "vd": "veth", "br0": "bridge", "mv0": "macvlan"}
	if !maps(kinds, want) {
		t.Fatalf("kinds = %v, want %v", kinds, want)
	}
	mv, err := s.LinkByName("mv0")
	if err != nil {
		t.Fatal(err)
	}
	if mv.ParentIndex != indexOf(t, links, "vc") || mv.Data != (rtnl.Macvlan{Mode: rtnl.MacvlanBridge}) || !mv.Up() {
		t.Fatalf("mv0 = %#v", mv)
	}
	vb, err := s.LinkByName("vb")
	if err != nil {
		t.Fatal(err)
	}
	if vb.MasterIndex != indexOf(t, links, "br0") || vb.ParentIndex != indexOf(t, links, "va") {
		t.Fatalf("vb = %#v: want master br0 and peer va", vb)
	}

	// LinkByName and LinkByIndex return what the list returned.
	for _, l := range links {
		byName, err := s.LinkByName(l.Name)
		if err != nil {
			t.Fatalf("LinkByName(%q): %v", l.Name, err)
		}
		byIndex, err := s.LinkByIndex(l.Index)
		if err != nil {
			t.Fatalf("LinkByIndex(%d): %v", l.Index, err)
		}
		if linkLine(byName) != linkLine(l) || linkLine(byIndex) != linkLine(l) {
			t.Errorf("get differs from list:\n list    %s\n byName  %s\n byIndex %s", linkLine(l), linkLine(byName), linkLine(byIndex))
		}
	}
	lo, err := s.LinkByName("lo")
	if err != nil || !lo.Up() || lo.String() != `Link<"lo" (1) UP MTU=65536>` {
		t.Fatalf("lo = %v, %v", lo, err)
	}
	ns.IP("link", "set", "vd", "down")
	vd, err := s.LinkByName("vd")
	if err != nil || vd.Up() || !strings.Contains(vd.String(), " DOWN ") {
		t.Fatalf("vd after set down = %v, %v", vd, err)
	}
}

func maps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// ipAddr is one interface of `ip -j addr`.
type ipAddr struct {
	Index    int `json:"ifindex"`
	AddrInfo []struct {
		Family    string `json:"family"`
		Local     string `json:"local"`
		Address   string `json:"address"`
		PrefixLen int    `json:"prefixlen"`
		Broadcast string `json:"broadcast"`
		Scope     string `json:"scope"`
		Label     string `json:"label"`
	} `json:"addr_info"`
}

func addressLine(a rtnl.Address) string {
	peer, brd := "", ""
	if a.Peer.IsValid() {
		peer = a.Peer.String()
	}
	if a.Broadcast.IsValid() {
		brd = a.Broadcast.String()
	}
	return fmt.Sprintf("%d %s %s peer=%s brd=%s scope=%d label=%s", a.Index, a.Family(), a.Prefix, peer, brd, a.Scope, a.Label)
}

func ipAddressLines(t *testing.T, path string, args ...string) []string {
	var ifs []ipAddr
	ipJSON(t, path, &ifs, append([]string{"addr", "show"}, args...)...)
	var out []string
	for _, i := range ifs {
		for _, a := range i.AddrInfo {
			out = append(out, fmt.Sprintf("%d %s %s/%d peer=%s brd=%s scope=%s label=%s",
				i.Index, a.Family, a.Local, a.PrefixLen, a.Address, a.Broadcast, a.Scope, a.Label))
		}
	}
	return out
}

func checkAddresses(t *testing.T, s *rtnl.Socket, path string) []rtnl.Address {
	t.Helper()
	var addrs []rtnl.Address
	eventually(t, "Addresses vs ip addr", func() error {
		var err error
		if addrs, err = s.Addresses(); err != nil {
			return err
		}
		var got []string
		for _, a := range addrs {
			got = append(got, addressLine(a))
		}
		return sameLines(got, ipAddressLines(t, path))
	})
	return addrs
}

func TestReadAddresses(t *testing.T) {
	ns := nstest.New(t)
	populate(t, ns)
	s := ns.Open()
	addrs := checkAddresses(t, s, ns.Path())

	want := map[string]bool{"10.0.1.1/24": false, "10.0.2.1/24": false, "10.9.0.1/32": false, "fd00:1::1/64": false, "127.0.0.1/8": false, "::1/128": false}
	for _, a := range addrs {
		if _, ok := want[a.Prefix.String()]; ok {
			want[a.Prefix.String()] = true
		}
		if a.Prefix.String() == "10.9.0.1/32" && a.Peer != netip.MustParseAddr("10.9.0.2") {
			t.Errorf("point-to-point address: %+v", a)
		}
		if a.Prefix.String() == "10.0.2.1/24" && a.Broadcast != netip.MustParseAddr("10.0.2.255") {
			t.Errorf("address with broadcast: %+v", a)
		}
	}
	for p, seen := range want {
		if !seen {
			t.Errorf("address %s missing from %v", p, addrs)
		}
	}

	eventually(t, "AddressesOf(va) vs ip addr show dev va", func() error {
		of, err := s.AddressesOf("va")
		if err != nil {
			return err
		}
		var got []string
		for _, a := range of {
			got = append(got, addressLine(a))
		}
		return sameLines(got, ipAddressLines(t, ns.Path(), "dev", "va"))
	})
	lo, err := s.AddressesOf("lo")
	if err != nil {
		t.Fatal(err)
	}
	var ips []string
	for _, a := range lo {
		ips = append(ips, a.Prefix.Addr().String())
	}
	if !slices.Equal(ips, []string{"127.0.0.1", "::1"}) {
		t.Fatalf("AddressesOf(lo) = %v", lo)
	}
}

// ipRoute is one route of `ip -N -j route`.
type ipRoute struct {
	Type     string  `json:"type"`
	Dst      string  `json:"dst"`
	Gateway  string  `json:"gateway"`
	Dev      string  `json:"dev"`
	Table    string  `json:"table"`
	Protocol string  `json:"protocol"`
	Scope    string  `json:"scope"`
	Metric   *uint32 `json:"metric"`
	PrefSrc  string  `json:"prefsrc"`
}

func routeLine(r rtnl.Route) string {
	gw, src := "", ""
	if r.Gateway.IsValid() {
		gw = r.Gateway.String()
	}
	if r.Src.IsValid() {
		src = r.Src.String()
	}
	return fmt.Sprintf("type=%d %s via=%s oif=%d table=%d proto=%d scope=%d metric=%d src=%s",
		r.Type, r.Dst, gw, r.OIF, r.Table, r.Protocol, r.Scope, r.Metric, src)
}

// ipRouteLines lists routes of both families with ip, filling in the
// fields ip leaves out when they hold its defaults (table main, protocol
// boot, unicast, scope global) or when they were asked for (table, proto).
func ipRouteLines(t *testing.T, path string, byName map[string]int, table, proto string, args ...string) []string {
	var out []string
	for _, fam := range []string{"-4", "-6"} {
		var rs []ipRoute
		ipJSON(t, path, &rs, append([]string{fam, "route", "show"}, args...)...)
		for _, r := range rs {
			dst := r.Dst
			switch {
			case dst == "default" && fam == "-4":
				dst = "0.0.0.0/0"
			case dst == "default":
				dst = "::/0"
			case !strings.Contains(dst, "/"):
				dst += map[string]string{"-4": "/32", "-6": "/128"}[fam]
			}
			num := func(s string, def int) int {
				if s == "" {
					return def
				}
				n, err := strconv.Atoi(s)
				if err != nil {
					t.Fatalf("ip printed %q where a number was expected (is -N honoured?)", s)
				}
				return n
			}
			var metric uint32
			if r.Metric != nil {
				metric = *r.Metric
			}
			out = append(out, fmt.Sprintf("type=%d %s via=%s oif=%d table=%d proto=%d scope=%d metric=%d src=%s",
				num(r.Type, unix.RTN_UNICAST), dst, r.Gateway, byName[r.Dev], num(r.Table, num(table, unix.RT_TABLE_MAIN)),
				num(r.Protocol, num(proto, unix.RTPROT_BOOT)), num(r.Scope, unix.RT_SCOPE_UNIVERSE), metric, r.PrefSrc))
		}
	}
	return out
}

func linkIndexes(t *testing.T, path string) map[string]int {
	byName := map[string]int{}
	for _, l := range ipLinks(t, path) {
		byName[l.Name] = l.Index
	}
	return byName
}

func TestReadRoutes(t *testing.T) {
	ns := nstest.New(t)
	populate(t, ns)
	s := ns.Open()
	byName := linkIndexes(t, ns.Path())

	var all []rtnl.Route
	eventually(t, "Routes vs ip route show table all", func() error {
		var err error
		if all, err = s.Routes(); err != nil {
			return err
		}
		var got []string
		for _, r := range all {
			got = append(got, routeLine(r))
		}
		return sameLines(got, ipRouteLines(t, ns.Path(), byName, "", "", "table", "all"))
	})
	tables := map[uint32]bool{}
	families := map[rtnl.Family]bool{}
	for _, r := range all {
		tables[r.Table] = true
		families[r.Family()] = true
	}
	for _, want := range []uint32{rtnl.TableMain, rtnl.TableLocal, 100, 1000} {
		if !tables[want] {
			t.Errorf("no route of table %d in %v", want, all)
		}
	}
	if !families[rtnl.FamilyV4] || !families[rtnl.FamilyV6] {
		t.Errorf("families %v: want both", families)
	}

	for _, tc := range []struct {
		name   string
		f      rtnl.RouteFilter
		table  string
		proto  string
		ipArgs []string // nil: ip refuses the table, and Linx lists nothing
		count  int
	}{
		{"table 1000", rtnl.RouteFilter{Table: 1000}, "1000", "", []string{"table", "1000"}, 3},
		{"table 100 IPv4", rtnl.RouteFilter{Table: 100, Family: rtnl.FamilyV4}, "100", "", []string{"table", "100"}, 2},
		{"protocol 76", rtnl.RouteFilter{Protocol: 76}, "", "76", []string{"table", "all", "proto", "76"}, 3},
		{"protocol static", rtnl.RouteFilter{Protocol: rtnl.ProtocolStatic}, "", "4", []string{"table", "all", "proto", "static"}, 3},
		{"table 1000 protocol boot", rtnl.RouteFilter{Table: 1000, Protocol: rtnl.ProtocolBoot}, "1000", "3", []string{"table", "1000", "proto", "boot"}, 1},
		{"unused table", rtnl.RouteFilter{Table: 4242}, "", "", nil, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rs, err := s.RoutesFiltered(tc.f)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range rs {
				got = append(got, routeLine(r))
			}
			var want []string
			if tc.ipArgs != nil {
				want = ipRouteLines(t, ns.Path(), byName, tc.table, tc.proto, tc.ipArgs...)
			}
			if tc.f.Family == rtnl.FamilyV4 {
				want = slices.DeleteFunc(want, func(l string) bool { return strings.Contains(l, ":") })
			}
			if err := sameLines(got, want); err != nil {
				t.Fatal(err)
			}
			if len(rs) != tc.count {
				t.Fatalf("%d routes, want %d: %v", len(rs), tc.count, rs)
			}
		})
	}

	// The routes populate added, as the guide prints them.
	var lines []string
	for _, r := range all {
		lines = append(lines, r.String())
	}
	for _, want := range []string{
		"Route<default via 10.0.1.254 oif=" + strconv.Itoa(byName["va"]) + ">",
		"Route<10.20.0.0/16 via 10.0.1.2 oif=" + strconv.Itoa(byName["va"]) + " table=100 metric=7 proto=76>",
		"Route<blackhole 10.99.0.0/24 table=100 proto=static>",
	} {
		if !slices.Contains(lines, want) {
			t.Errorf("no %s among\n%s", want, strings.Join(lines, "\n"))
		}
	}
}

func TestRouteGet(t *testing.T) {
	ns := nstest.New(t)
	populate(t, ns)
	s := ns.Open()
	byName := linkIndexes(t, ns.Path())
	for _, dst := range []string{"10.10.1.1", "1.1.1.1", "10.0.2.7", "fd00:9::1", "fd00:1::42"} {
		r, err := s.RouteGet(netip.MustParseAddr(dst))
		if err != nil {
			t.Fatalf("RouteGet(%s): %v", dst, err)
		}
		var ip []ipRoute
		ipJSON(t, ns.Path(), &ip, "route", "get", dst)
		if len(ip) != 1 {
			t.Fatalf("ip route get %s: %v", dst, ip)
		}
		gw := ""
		if r.Gateway.IsValid() {
			gw = r.Gateway.String()
		}
		if r.Dst != netip.PrefixFrom(netip.MustParseAddr(dst), netip.MustParseAddr(dst).BitLen()) ||
			gw != ip[0].Gateway || r.OIF != byName[ip[0].Dev] || r.Src.String() != ip[0].PrefSrc {
			t.Errorf("RouteGet(%s) = %s src=%s; ip route get says %+v", dst, r, r.Src, ip[0])
		}
	}
	r, err := s.RouteGet(netip.MustParseAddr("1.1.1.1"))
	if err != nil || r.String() != fmt.Sprintf("Route<1.1.1.1/32 via 10.0.1.254 oif=%d>", byName["va"]) {
		t.Fatalf("RouteGet(1.1.1.1) = %s, %v", r, err)
	}
}

// ipNeigh is one entry of `ip -j neigh`.
type ipNeigh struct {
	Dst    string   `json:"dst"`
	Dev    string   `json:"dev"`
	LLAddr string   `json:"lladdr"`
	State  []string `json:"state"`
}

func neighLine(n rtnl.Neighbour) string {
	return fmt.Sprintf("%s dev=%d lladdr=%s state=%s", n.IP, n.Index, n.HardwareAddr, n.State)
}

// ipNeighLines lists neighbours with ip; dev is the interface index to
// assume when ip leaves it out (it does when asked for one device).
func ipNeighLines(t *testing.T, path string, byName map[string]int, dev int, args ...string) []string {
	var ns []ipNeigh
	ipJSON(t, path, &ns, append([]string{"neigh", "show", "nud", "all"}, args...)...)
	var out []string
	for _, n := range ns {
		state := strings.Join(n.State, "|")
		if state == "" {
			state = "NONE"
		}
		idx := dev
		if n.Dev != "" {
			idx = byName[n.Dev]
		}
		out = append(out, fmt.Sprintf("%s dev=%d lladdr=%s state=%s", n.Dst, idx, n.LLAddr, state))
	}
	return out
}

func TestReadNeighbours(t *testing.T) {
	ns := nstest.New(t)
	populate(t, ns)
	s := ns.Open()
	byName := linkIndexes(t, ns.Path())
	var all []rtnl.Neighbour
	eventually(t, "Neighbours vs ip neigh show nud all", func() error {
		var err error
		if all, err = s.Neighbours(); err != nil {
			return err
		}
		var got []string
		for _, n := range all {
			got = append(got, neighLine(n))
		}
		return sameLines(got, ipNeighLines(t, ns.Path(), byName, 0))
	})
	va := byName["va"]
	for _, want := range []string{
		fmt.Sprintf("Neighbour<10.0.1.2 -> 02:00:00:00:01:02 ifindex=%d>", va),
		fmt.Sprintf("Neighbour<fd00:1::2 -> 02:00:00:00:01:03 ifindex=%d>", va),
	} {
		if !slices.ContainsFunc(all, func(n rtnl.Neighbour) bool { return n.String() == want && n.State == rtnl.NeighPermanent }) {
			t.Errorf("no permanent %s among %v", want, all)
		}
	}
	eventually(t, "NeighboursOf(va) vs ip neigh show dev va", func() error {
		of, err := s.NeighboursOf("va")
		if err != nil {
			return err
		}
		var got []string
		for _, n := range of {
			if n.Index != va {
				return fmt.Errorf("NeighboursOf(va) returned %s", n)
			}
			got = append(got, neighLine(n))
		}
		return sameLines(got, ipNeighLines(t, ns.Path(), byName, va, "dev", "va"))
	})
}

// ipRule is one rule of `ip -N -j rule`.
type ipRule struct {
	Priority uint32 `json:"priority"`
	Src      string `json:"src"`
	SrcLen   *int   `json:"srclen"`
	Dst      string `json:"dst"`
	DstLen   *int   `json:"dstlen"`
	FwMark   string `json:"fwmark"`
	FwMask   string `json:"fwmask"`
	IIF      string `json:"iif"`
	OIF      string `json:"oif"`
	Table    string `json:"table"`
}

func ruleLine(r rtnl.Rule) string {
	from, to := "all", "all"
	if r.From.IsValid() {
		from = r.From.String()
	}
	if r.To.IsValid() {
		to = r.To.String()
	}
	return fmt.Sprintf("%s prio=%d from=%s to=%s fwmark=%#x/%#x iif=%s oif=%s table=%d",
		r.Family, r.Priority, from, to, r.FwMark, r.FwMask, r.IIF, r.OIF, r.Table)
}

func ipRuleLines(t *testing.T, path string) []string {
	var out []string
	for _, fam := range []string{"inet", "inet6"} {
		var rs []ipRule
		ipJSON(t, path, &rs, "-f", fam, "rule", "show")
		for _, r := range rs {
			prefix := func(a string, l *int) string {
				switch {
				case a == "" || a == "all":
					return "all"
				case l == nil:
					return a + map[string]string{"inet": "/32", "inet6": "/128"}[fam]
				}
				return a + "/" + strconv.Itoa(*l)
			}
			mark, mask := uint64(0), uint64(0)
			if r.FwMark != "" {
				mark, _ = strconv.ParseUint(r.FwMark, 0, 32)
				mask = 0xffffffff // ip omits the mask when it is exact
			}
			if r.FwMask != "" {
				mask, _ = strconv.ParseUint(r.FwMask, 0, 32)
			}
			table, err := strconv.Atoi(r.Table)
			if err != nil {
				t.Fatalf("rule table %q", r.Table)
			}
			out = append(out, fmt.Sprintf("%s prio=%d from=%s to=%s fwmark=%#x/%#x iif=%s oif=%s table=%d",
				fam, r.Priority, prefix(r.Src, r.SrcLen), prefix(r.Dst, r.DstLen), mark, mask, r.IIF, r.OIF, table))
		}
	}
	return out
}

func TestReadRules(t *testing.T) {
	ns := nstest.New(t)
	populate(t, ns)
	s := ns.Open()
	rules, err := s.Rules()
	if err != nil {
		t.Fatal(err)
	}
	var got, strs []string
	for _, r := range rules {
		got = append(got, ruleLine(r))
		strs = append(strs, r.String())
	}
	if err := sameLines(got, ipRuleLines(t, ns.Path())); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"Rule<table=255>", "Rule<priority=32766 table=254>", "Rule<priority=32767 table=253>",
		"Rule<priority=100 from=10.0.0.0/24 table=100>", "Rule<priority=150 iif=va table=100>",
		"Rule<priority=200 fwmark=0x10/0xff table=1000>", "Rule<priority=300 from=fd00::/16 table=1000>",
		"Rule<priority=400 fwmark=0x20/0xffffffff table=100>",
	} {
		if !slices.Contains(strs, want) {
			t.Errorf("no %s among %v", want, strs)
		}
	}
}

// ipStats is `ip -s -s -j link`'s counters.
type ipStats struct {
	Index   int    `json:"ifindex"`
	Name    string `json:"ifname"`
	Stats64 struct {
		RX map[string]uint64 `json:"rx"`
		TX map[string]uint64 `json:"tx"`
	} `json:"stats64"`
}

// statsFields maps ip's names onto Linx's counters.
func statsFields(s *rtnl.LinkStats64) map[string]uint64 {
	return map[string]uint64{
		"rx.bytes":             s.RxBytes,
		"rx.packets":           s.RxPackets,
		"rx.errors":            s.RxErrors,
		"rx.dropped":           s.RxDropped,
		"rx.over_errors":       s.RxOverErrors,
		"rx.multicast":         s.Multicast,
		"rx.length_errors":     s.RxLengthErrors,
		"rx.crc_errors":        s.RxCRCErrors,
		"rx.frame_errors":      s.RxFrameErrors,
		"rx.fifo_errors":       s.RxFIFOErrors,
		"rx.missed_errors":     s.RxMissedErrors,
		"rx.nohandler":         s.RxNoHandler,
		"rx.otherhost_dropped": s.RxOtherhostDropped,
		"rx.compressed":        s.RxCompressed,
		"tx.bytes":             s.TxBytes,
		"tx.packets":           s.TxPackets,
		"tx.errors":            s.TxErrors,
		"tx.dropped":           s.TxDropped,
		"tx.carrier_errors":    s.TxCarrierErrors,
		"tx.collisions":        s.Collisions,
		"tx.aborted_errors":    s.TxAbortedErrors,
		"tx.fifo_errors":       s.TxFIFOErrors,
		"tx.window_errors":     s.TxWindowErrors,
		"tx.heartbeat_errors":  s.TxHeartbeatErrors,
		"tx.compressed":        s.TxCompressed,
	}
}

func ipStatsByIndex(t *testing.T, path string) map[int]ipStats {
	var ss []ipStats
	ipJSON(t, path, &ss, "-s", "-s", "link", "show")
	out := map[int]ipStats{}
	for _, s := range ss {
		out[s.Index] = s
	}
	return out
}

// checkStatsBetween asserts that every counter ip prints lies between its
// value before and after Linx's read (counters only grow).
func checkStatsBetween(t *testing.T, st rtnl.Stats, before, after ipStats) {
	t.Helper()
	if st.Name != before.Name {
		t.Errorf("stats of %d: name %q, ip says %q", st.Index, st.Name, before.Name)
	}
	ours := statsFields(&st.Link)
	n := 0
	for dir, m := range map[string][2]map[string]uint64{"rx": {before.Stats64.RX, after.Stats64.RX}, "tx": {before.Stats64.TX, after.Stats64.TX}} {
		for k, lo := range m[0] {
			v, ok := ours[dir+"."+k]
			if !ok {
				continue // carrier_changes is not part of rtnl_link_stats64
			}
			n++
			if hi := m[1][k]; v < lo || v > hi {
				t.Errorf("%s %s.%s = %d, ip says %d before and %d after", st.Name, dir, k, v, lo, hi)
			}
		}
	}
	if n < 20 {
		t.Errorf("%s: only %d counters compared", st.Name, n)
	}
}

func TestReadStats(t *testing.T) {
	ns := nstest.New(t)
	populate(t, ns)
	s := ns.Open()

	// Send a few datagrams out of va so that its counters are not zero.
	err := ns.Namespace().Run(func() error {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM, 0)
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		for range 5 {
			if err := unix.Sendto(fd, make([]byte, 100), 0, &unix.SockaddrInet4{Port: 9, Addr: [4]byte{10, 0, 1, 2}}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	before := ipStatsByIndex(t, ns.Path())
	va, err := s.Stats("va")
	if err != nil {
		t.Fatal(err)
	}
	all, err := s.AllStats()
	if err != nil {
		t.Fatal(err)
	}
	after := ipStatsByIndex(t, ns.Path())

	if va.Link.TxPackets < 5 || va.Link.TxBytes < 5*128 {
		t.Errorf("va after 5 datagrams: %s", va)
	}
	if !strings.HasPrefix(va.String(), fmt.Sprintf("Stats<ifindex=%d rx=", va.Index)) {
		t.Errorf("String() = %s", va)
	}
	checkStatsBetween(t, va, before[va.Index], after[va.Index])
	if len(all) != len(before) {
		t.Fatalf("AllStats: %d links, ip shows %d", len(all), len(before))
	}
	for _, st := range all {
		checkStatsBetween(t, st, before[st.Index], after[st.Index])
	}
}

// TestNamespaceByPID reads a namespace named by a process id: a process
// started in its own namespace, given a veth end from a named namespace.
func TestNamespaceByPID(t *testing.T) {
	pid := nstest.Process(t)
	path := fmt.Sprintf("/proc/%d/ns/net", pid)
	ns := nstest.New(t)
	ns.IP("link", "add", "outer0", "type", "veth", "peer", "name", "inner0")
	ns.IP("link", "set", "inner0", "netns", strconv.Itoa(pid))
	for _, args := range [][]string{
		{"link", "set", "lo", "up"}, {"link", "set", "inner0", "up"},
		{"addr", "add", "192.0.2.10/24", "dev", "inner0"}, {"addr", "add", "2001:db8::10/64", "dev", "inner0", "nodad"},
	} {
		if out, err := exec.Command("nsenter", append([]string{"--net=" + path, "ip"}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("ip %v in pid %d: %v: %s", args, pid, err, out)
		}
	}

	s, err := rtnl.Open(rtnl.NamespaceOfPID(pid))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Namespace().String() != "pid:"+strconv.Itoa(pid) {
		t.Errorf("Namespace() = %s", s.Namespace())
	}
	links := checkLinks(t, s, path)
	if len(links) != 2 || links[1].Name != "inner0" || links[1].Kind != "veth" {
		t.Fatalf("links in pid %d: %v", pid, links)
	}
	checkAddresses(t, s, path)
	byName := linkIndexes(t, path)
	eventually(t, "Routes in pid namespace", func() error {
		rs, err := s.Routes()
		if err != nil {
			return err
		}
		var got []string
		for _, r := range rs {
			got = append(got, routeLine(r))
		}
		return sameLines(got, ipRouteLines(t, path, byName, "", "", "table", "all"))
	})
	r, err := s.RouteGet(netip.MustParseAddr("192.0.2.99"))
	if err != nil || r.OIF != byName["inner0"] {
		t.Fatalf("RouteGet(192.0.2.99) = %v, %v", r, err)
	}

	// With no default route, an off-link destination is unreachable.
	_, err = s.RouteGet(netip.MustParseAddr("1.1.1.1"))
	assertError(t, err, unix.ENETUNREACH, "netlink ENETUNREACH (101): no route to 1.1.1.1")
	_, err = s.RouteGet(netip.MustParseAddr("2001:db9::1"))
	if !errors.Is(err, unix.ENETUNREACH) {
		t.Fatalf("RouteGet(2001:db9::1) = %v; want ENETUNREACH", err)
	}

	// The named namespace kept its own end only.
	outer := ns.Open()
	if _, err := outer.LinkByName("inner0"); !errors.Is(err, unix.ENODEV) {
		t.Fatalf("inner0 still visible in %s: %v", ns.Name, err)
	}
}

func assertError(t *testing.T, err error, errno unix.Errno, text string) {
	t.Helper()
	var e *rtnl.Error
	switch {
	case err == nil:
		t.Fatalf("no error; want %s", text)
	case !errors.As(err, &e):
		t.Fatalf("error %v (%T) is not an *rtnl.Error", err, err)
	case !errors.Is(err, errno) || e.Errno != errno || e.Code() != int(errno):
		t.Fatalf("error %v: errno %d, want %d", err, e.Errno, errno)
	case err.Error() != text:
		t.Fatalf("error text\n got %s\nwant %s", err, text)
	}
}

func TestReadErrors(t *testing.T) {
	ns := nstest.New(t)
	s := ns.Open()

	_, err := s.LinkByName("nope0")
	assertError(t, err, unix.ENODEV, `netlink ENODEV (19): no such interface "nope0"`)
	if !rtnl.IsNotExist(err) {
		t.Errorf("IsNotExist(%v) = false", err)
	}
	_, err = s.LinkByIndex(4242)
	assertError(t, err, unix.ENODEV, `netlink ENODEV (19): no such interface index 4242`)
	_, err = s.AddressesOf("nope0")
	assertError(t, err, unix.ENODEV, `netlink ENODEV (19): no such interface "nope0"`)
	_, err = s.NeighboursOf("nope0")
	assertError(t, err, unix.ENODEV, `netlink ENODEV (19): no such interface "nope0"`)
	_, err = s.Stats("nope0")
	assertError(t, err, unix.ENODEV, `netlink ENODEV (19): no such interface "nope0"`)
	_, err = s.LinkByName("averyveryverylongname0")
	assertError(t, err, unix.EINVAL, `netlink EINVAL (22): interface name "averyveryverylongname0": 22 bytes, the kernel allows at most 15`)
	_, err = s.LinkByName("")
	assertError(t, err, unix.EINVAL, `netlink EINVAL (22): interface name "": empty`)
	_, err = s.RouteGet(netip.MustParseAddr("1.1.1.1"))
	assertError(t, err, unix.ENETUNREACH, "netlink ENETUNREACH (101): no route to 1.1.1.1")

	_, err = rtnl.Open(rtnl.NamespaceAt("/var/run/netns/linx-no-such-namespace"))
	assertError(t, err, unix.ENOENT, `netlink ENOENT (2): no such network namespace path "/var/run/netns/linx-no-such-namespace"`)
	// pid_max+1 can never be a process.
	b, err := os.ReadFile("/proc/sys/kernel/pid_max")
	if err != nil {
		t.Fatal(err)
	}
	max, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	_, err = rtnl.Open(rtnl.NamespaceOfPID(max + 1))
	assertError(t, err, unix.ESRCH, fmt.Sprintf("netlink ESRCH (3): no such process %d", max+1))
	// A file that is not a namespace.
	_, err = rtnl.Open(rtnl.NamespaceAt("/proc/self/status"))
	if !errors.Is(err, unix.EINVAL) || !strings.Contains(err.Error(), "/proc/self/status") {
		t.Fatalf("Open(/proc/self/status) = %v; want EINVAL naming the path", err)
	}
}

// TestConcurrentUse shares one socket between goroutines (run with -race):
// every goroutine must see the same, complete results.
func TestConcurrentUse(t *testing.T) {
	ns := nstest.New(t)
	populate(t, ns)
	s := ns.Open()
	links, err := s.Links()
	if err != nil {
		t.Fatal(err)
	}
	routes, err := s.RoutesFiltered(rtnl.RouteFilter{Table: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := range 16 {
		wg.Go(func() {
			for i := range 25 {
				switch (g + i) % 4 {
				case 0:
					if l, err := s.Links(); err != nil || len(l) != len(links) {
						errs <- fmt.Errorf("Links: %d, %v", len(l), err)
					}
				case 1:
					if r, err := s.RoutesFiltered(rtnl.RouteFilter{Table: 1000}); err != nil || len(r) != len(routes) {
						errs <- fmt.Errorf("RoutesFiltered: %d, %v", len(r), err)
					}
				case 2:
					if l, err := s.LinkByName("mv0"); err != nil || l.Name != "mv0" {
						errs <- fmt.Errorf("LinkByName: %v, %v", l, err)
					}
				case 3:
					if _, err := s.LinkByName("nope0"); !errors.Is(err, unix.ENODEV) {
						errs <- fmt.Errorf("LinkByName(nope0): %v", err)
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestClose(t *testing.T) {
	ns := nstest.New(t)
	s, err := rtnl.Open(ns.Namespace())
	if err != nil {
		t.Fatal(err)
	}
	// Readers racing Close either finish or fail with EBADF; none hangs.
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			for {
				_, err := s.Links()
				if err != nil {
					if !errors.Is(err, unix.EBADF) {
						errs <- err
					}
					return
				}
			}
		})
	}
	time.Sleep(20 * time.Millisecond)
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("request racing Close: %v; want EBADF", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	_, err = s.LinkByName("lo")
	assertError(t, err, unix.EBADF, `netlink EBADF (9): interface "lo": socket closed`)
	_, err = s.Routes()
	if !errors.Is(err, unix.EBADF) {
		t.Fatalf("Routes after Close: %v", err)
	}
}

// TestReadHost opens a socket in the calling process's own namespace (the
// host's, here) and checks, reading only, that its links are what
// iproute2 reports there.
func TestReadHost(t *testing.T) {
	nstest.RequireRoot(t)
	s, err := rtnl.Open(rtnl.Host())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// Not /proc/PID/ns/net: that follows the main thread, which another
	// test's Namespace.Run may have left parked in its namespace. nsenter
	// resolves /proc/thread-self in its own process, which is in the
	// namespace of the thread that started it: the host's.
	if links := checkLinks(t, s, "/proc/thread-self/ns/net"); len(links) == 0 {
		t.Fatal("no links in the host namespace")
	}
}
