package rtnl_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/linx-net/linx/internal/nstest"
	"github.com/linx-net/linx/rtnl"
)

// wIpLink is the part of `ip -N -j -d link show` the tests compare.
type wIpLink struct {
	Index    int      `json:"ifindex"`
	Name     string   `json:"ifname"`
	Flags    []string `json:"flags"`
	MTU      int      `json:"mtu"`
	Master   string   `json:"master"`
	Link     string   `json:"link"`
	Address  string   `json:"address"`
	TxQLen   int      `json:"txqlen"`
	LinkInfo struct {
		Kind string         `json:"info_kind"`
		Data map[string]any `json:"info_data"`
	} `json:"linkinfo"`
}

func (l wIpLink) up() bool { return slices.Contains(l.Flags, "UP") }

func wShowLink(t *testing.T, ns *nstest.NS, name string) wIpLink {
	t.Helper()
	var out []wIpLink
	ns.JSON(&out, "-d", "link", "show", "dev", name)
	if len(out) != 1 {
		t.Fatalf("ip link show %s: %d links", name, len(out))
	}
	return out[0]
}

func wLinkExists(ns *nstest.NS, name string) bool {
	_, err := ns.TryIP("link", "show", "dev", name)
	return err == nil
}

// wWantErr asserts that err is an *rtnl.Error with errno and a message
// containing each of parts.
func wWantErr(t *testing.T, err error, errno unix.Errno, parts ...string) {
	t.Helper()
	var e *rtnl.Error
	if !errors.As(err, &e) {
		t.Fatalf("error = %v (%T), want *rtnl.Error %s", err, err, unix.ErrnoName(errno))
	}
	if e.Errno != errno {
		t.Fatalf("errno = %s (%v), want %s", e.Name(), e, unix.ErrnoName(errno))
	}
	for _, p := range parts {
		if !strings.Contains(e.Message, p) {
			t.Errorf("message %q does not contain %q", e.Message, p)
		}
	}
}

func wMust(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestLinkSetters(t *testing.T) {
	ns := nstest.New(t)
	s := ns.Open()

	wMust(t, s.CreateVeth("v0a", "v0b"))
	if k := wShowLink(t, ns, "v0a").LinkInfo.Kind; k != "veth" {
		t.Fatalf("v0a kind = %q", k)
	}
	if !wLinkExists(ns, "v0b") {
		t.Fatal("peer v0b missing")
	}
	wMust(t, s.CreateBridge("br0"))
	if k := wShowLink(t, ns, "br0").LinkInfo.Kind; k != "bridge" {
		t.Fatalf("br0 kind = %q", k)
	}

	wMust(t, s.LinkSetMaster("v0a", "br0"))
	if m := wShowLink(t, ns, "v0a").Master; m != "br0" {
		t.Fatalf("master = %q, want br0", m)
	}
	wMust(t, s.LinkSetNoMaster("v0a"))
	if m := wShowLink(t, ns, "v0a").Master; m != "" {
		t.Fatalf("master = %q after nomaster", m)
	}

	wMust(t, s.LinkSetUp("v0a"))
	if !wShowLink(t, ns, "v0a").up() {
		t.Fatal("v0a not UP")
	}
	wMust(t, s.LinkSetDown("v0a"))
	if wShowLink(t, ns, "v0a").up() {
		t.Fatal("v0a still UP")
	}

	wMust(t, s.LinkSetMTU("v0a", 1400))
	if m := wShowLink(t, ns, "v0a").MTU; m != 1400 {
		t.Fatalf("mtu = %d", m)
	}
	wWantErr(t, s.LinkSetMTU("v0a", 10), unix.EINVAL)

	mac := net.HardwareAddr{0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee}
	wMust(t, s.LinkSetHardwareAddr("v0a", mac))
	if a := wShowLink(t, ns, "v0a").Address; a != mac.String() {
		t.Fatalf("address = %q", a)
	}

	wMust(t, s.LinkSetName("v0a", "v0renamed"))
	if wLinkExists(ns, "v0a") || !wLinkExists(ns, "v0renamed") {
		t.Fatal("rename did not happen")
	}
	wWantErr(t, s.LinkSetName("v0renamed", "v0b"), unix.EEXIST)

	wMust(t, s.LinkDelete("v0renamed"))
	if wLinkExists(ns, "v0renamed") || wLinkExists(ns, "v0b") {
		t.Fatal("veth pair not deleted")
	}
	err := s.LinkDelete("v0renamed")
	wWantErr(t, err, unix.ENODEV, `no such interface "v0renamed"`)
	if !rtnl.IsNotExist(err) {
		t.Fatal("IsNotExist false for a deleted link")
	}
}

func TestLinkAddAndModify(t *testing.T) {
	ns := nstest.New(t)
	s := ns.Open()
	wMust(t, s.CreateBridge("br0"))
	br, err := s.LinkByName("br0")
	wMust(t, err)

	mac := net.HardwareAddr{0x02, 0, 0, 0, 0, 0x11}
	wMust(t, s.LinkAdd(rtnl.Link{
		Name: "v1a", Data: rtnl.Veth{Peer: "v1b"}, MTU: 1300, HardwareAddr: mac,
		TxQueueLen: 321, MasterIndex: br.Index, Flags: net.FlagUp,
	}))
	got := wShowLink(t, ns, "v1a")
	if got.MTU != 1300 || got.Address != mac.String() || got.TxQLen != 321 || got.Master != "br0" || !got.up() {
		t.Fatalf("v1a = %+v", got)
	}

	// Kind and Data wMust agree; a kind is required.
	wWantErr(t, s.LinkAdd(rtnl.Link{Name: "x0", Kind: "bridge", Data: rtnl.Veth{Peer: "x1"}}), unix.EINVAL, "disagrees")
	wWantErr(t, s.LinkAdd(rtnl.Link{Name: "x0"}), unix.EINVAL, "no kind")
	wWantErr(t, s.CreateBridge("br0"), unix.EEXIST, `"br0"`)

	// LinkModify applies MTU, address, txqueuelen, master (0 = none), up/down.
	l, err := s.LinkByName("v1a")
	wMust(t, err)
	mac2 := net.HardwareAddr{0x02, 0, 0, 0, 0, 0x22}
	wMust(t, s.LinkModify(rtnl.Link{Index: l.Index, MTU: 1280, HardwareAddr: mac2, TxQueueLen: 77}))
	got = wShowLink(t, ns, "v1a")
	if got.MTU != 1280 || got.Address != mac2.String() || got.TxQLen != 77 || got.Master != "" || got.up() {
		t.Fatalf("after modify: %+v", got)
	}
	wMust(t, s.LinkModify(rtnl.Link{Index: l.Index, MasterIndex: br.Index, Flags: net.FlagUp}))
	got = wShowLink(t, ns, "v1a")
	if got.Master != "br0" || !got.up() || got.MTU != 1280 {
		t.Fatalf("after second modify: %+v", got)
	}
	wWantErr(t, s.LinkModify(rtnl.Link{Index: 9999, Flags: net.FlagUp}), unix.ENODEV)
	wWantErr(t, s.LinkModify(rtnl.Link{}), unix.EINVAL, "index")
}

func TestMacvlanModes(t *testing.T) {
	ns := nstest.New(t)
	s := ns.Open()
	wMust(t, s.CreateVeth("p0", "p1"))
	for _, mode := range []rtnl.MacvlanMode{rtnl.MacvlanPrivate, rtnl.MacvlanVEPA, rtnl.MacvlanBridge, rtnl.MacvlanPassthru, rtnl.MacvlanSource} {
		for _, tap := range []bool{false, true} {
			kind := "macvlan"
			create := s.CreateMacvlan
			if tap {
				kind, create = "macvtap", s.CreateMacvtap
			}
			wMust(t, create("mv0", "p0", mode))
			got := wShowLink(t, ns, "mv0")
			if got.LinkInfo.Kind != kind || got.Link != "p0" || got.LinkInfo.Data["mode"] != mode.String() {
				t.Errorf("%s %s: ip shows kind=%q link=%q mode=%v", kind, mode, got.LinkInfo.Kind, got.Link, got.LinkInfo.Data["mode"])
			}
			l, err := s.LinkByName("mv0")
			wMust(t, err)
			if d, ok := l.Data.(rtnl.Macvlan); !ok || d.Mode != mode || d.Tap != tap {
				t.Errorf("decoded data %#v", l.Data)
			}
			wMust(t, s.LinkDelete("mv0"))
		}
	}
	wWantErr(t, s.CreateMacvlan("mv1", "eth9", rtnl.MacvlanBridge), unix.ENODEV, `no such parent interface "eth9"`)
	wWantErr(t, s.CreateMacvlan("mv1", "p0", rtnl.MacvlanMode(3)), unix.EINVAL, "macvlan mode")
	// A parent given by index that does not exist.
	wWantErr(t, s.LinkAdd(rtnl.Link{Name: "mv1", ParentIndex: 4242, Data: rtnl.Macvlan{Mode: rtnl.MacvlanBridge}}),
		unix.ENODEV, "no such parent interface index 4242")
}

// TestKindsThisKernelMayLack creates dummy, vlan and ipvlan links where the
// kernel has the kind, and otherwise asserts the clear EOPNOTSUPP.
func TestKindsThisKernelMayLack(t *testing.T) {
	ns := nstest.New(t)
	s := ns.Open()
	wMust(t, s.CreateVeth("p0", "p1"))
	cases := []struct {
		kind   string
		create func() error
		check  func(wIpLink) bool
	}{
		{"dummy", func() error { return s.CreateDummy("k0") }, func(l wIpLink) bool { return true }},
		{"vlan", func() error { return s.CreateVLAN("k0", "p0", 42) }, func(l wIpLink) bool {
			return l.Link == "p0" && l.LinkInfo.Data["id"] == float64(42)
		}},
		{"ipvlan", func() error { return s.CreateIPVlan("k0", "p0", rtnl.IPVlanL3) }, func(l wIpLink) bool {
			return l.Link == "p0" && l.LinkInfo.Data["mode"] == "l3"
		}},
	}
	for _, c := range cases {
		t.Run(c.kind, func(t *testing.T) {
			err := c.create()
			var e *rtnl.Error
			if errors.As(err, &e) && e.Errno == unix.EOPNOTSUPP {
				wWantErr(t, err, unix.EOPNOTSUPP, `link kind "`+c.kind+`" is not available in this kernel`, "Unknown device type")
				if wLinkExists(ns, "k0") {
					t.Fatal("k0 exists after EOPNOTSUPP")
				}
				t.Skipf("SKIPPED creating %s: this kernel lacks the kind (%v)", c.kind, err)
			}
			wMust(t, err)
			got := wShowLink(t, ns, "k0")
			if got.LinkInfo.Kind != c.kind || !c.check(got) {
				t.Fatalf("ip shows %+v", got)
			}
			wMust(t, s.LinkDelete("k0"))
		})
	}
	// A missing parent is named before the kind matters.
	wWantErr(t, s.CreateVLAN("k1", "eth9", 42), unix.ENODEV, `no such parent interface "eth9"`)
	wWantErr(t, s.CreateIPVlan("k1", "eth9", rtnl.IPVlanL2), unix.ENODEV, `no such parent interface "eth9"`)
	wWantErr(t, s.CreateVLAN("k1", "p0", 4095), unix.EINVAL, "vlan id 4095")
}

func TestVxlan(t *testing.T) {
	ns := nstest.New(t)
	s := ns.Open()
	wMust(t, s.CreateVeth("p0", "p1"))

	wMust(t, s.CreateVxlan("vx0", rtnl.Vxlan{VNI: 42, Port: 4789,
		Local: netip.MustParseAddr("10.1.1.1"), Remote: netip.MustParseAddr("10.1.1.2")}, "p0"))
	d := wShowLink(t, ns, "vx0").LinkInfo.Data
	if d["id"] != float64(42) || d["port"] != float64(4789) || d["local"] != "10.1.1.1" ||
		d["remote"] != "10.1.1.2" || d["link"] != "p0" {
		t.Fatalf("vx0 info_data = %v", d)
	}
	l, err := s.LinkByName("vx0")
	wMust(t, err)
	if v, ok := l.Data.(rtnl.Vxlan); !ok || v.VNI != 42 || v.Port != 4789 || v.Remote != netip.MustParseAddr("10.1.1.2") || v.NoLearning {
		t.Fatalf("decoded %#v", l.Data)
	}
	if p0 := wShowLink(t, ns, "p0"); l.ParentIndex != p0.Index || p0.Index == 0 {
		t.Fatalf("decoded vx0 parent index %d; want p0's, %d", l.ParentIndex, p0.Index)
	}
	if d["learning"] != true {
		t.Fatalf("vx0 learning = %v; want the kernel's default, on", d["learning"])
	}

	// Learning off, as for a forwarding database a controller fills.
	wMust(t, s.CreateVxlan("vx3", rtnl.Vxlan{VNI: 3, NoLearning: true}, "p0"))
	if d := wShowLink(t, ns, "vx3").LinkInfo.Data; d["learning"] != false {
		t.Fatalf("vx3 learning = %v; want false", d["learning"])
	}
	l, err = s.LinkByName("vx3")
	wMust(t, err)
	if v, ok := l.Data.(rtnl.Vxlan); !ok || v != (rtnl.Vxlan{VNI: 3, Port: 8472, NoLearning: true}) {
		t.Fatalf("decoded vx3 %#v", l.Data)
	}

	wMust(t, s.CreateVxlan("vx1", rtnl.Vxlan{VNI: 7, Group: netip.MustParseAddr("239.1.1.1")}, "p0"))
	d = wShowLink(t, ns, "vx1").LinkInfo.Data
	if d["id"] != float64(7) || d["group"] != "239.1.1.1" || d["link"] != "p0" {
		t.Fatalf("vx1 info_data = %v", d)
	}

	wMust(t, s.CreateVxlan("vx6", rtnl.Vxlan{VNI: 8, Port: 4790, Local: netip.MustParseAddr("fd00::1"), Remote: netip.MustParseAddr("fd00::2")}, ""))
	d = wShowLink(t, ns, "vx6").LinkInfo.Data
	if d["id"] != float64(8) || d["local6"] != "fd00::1" || d["remote6"] != "fd00::2" {
		t.Fatalf("vx6 info_data = %v", d)
	}

	// Moved out of the namespace of its socket and lower device, a vxlan
	// reports that device there, not itself.
	other := nstest.New(t)
	p0 := wShowLink(t, ns, "p0").Index
	wMust(t, s.LinkMoveTo("vx0", other.Namespace()))
	l, err = other.Open().LinkByName("vx0")
	wMust(t, err)
	if !l.ParentElsewhere || l.ParentIndex != p0 || l.ParentIndex == l.Index {
		t.Fatalf("vx0 moved away: parent %d elsewhere=%v (own index %d); want p0's index %d elsewhere", l.ParentIndex, l.ParentElsewhere, l.Index, p0)
	}

	wWantErr(t, s.CreateVxlan("vx2", rtnl.Vxlan{VNI: 1, Remote: netip.MustParseAddr("10.0.0.1"), Group: netip.MustParseAddr("239.0.0.1")}, ""), unix.EINVAL, "both remote")
	wWantErr(t, s.CreateVxlan("vx2", rtnl.Vxlan{VNI: 1, Local: netip.MustParseAddr("10.0.0.1"), Remote: netip.MustParseAddr("fd00::1")}, ""), unix.EINVAL, "different families")
	wWantErr(t, s.CreateVxlan("vx2", rtnl.Vxlan{VNI: 1 << 24}, ""), unix.EINVAL, "vxlan id")
	wWantErr(t, s.CreateVxlan("vx2", rtnl.Vxlan{VNI: 1}, "eth9"), unix.ENODEV, `no such parent interface "eth9"`)
}

// wNsenterLinks lists the links of process pid's namespace with iproute2.
func wNsenterLinks(t *testing.T, pid int) []wIpLink {
	t.Helper()
	out, err := exec.Command("nsenter", "-t", wItoa(pid), "-n", "ip", "-N", "-j", "link", "show").Output()
	if err != nil {
		t.Fatalf("nsenter ip link: %v", err)
	}
	var links []wIpLink
	wMust(t, wJsonUnmarshal(out, &links))
	return links
}

func wHasLink(links []wIpLink, name string) bool {
	return slices.ContainsFunc(links, func(l wIpLink) bool { return l.Name == name })
}

func TestLinkMoveTo(t *testing.T) {
	ns := nstest.New(t)
	s := ns.Open()
	wMust(t, s.CreateVeth("m0", "m1"))
	wMust(t, s.CreateVeth("m2", "m3"))

	// By the pid of a process in its own namespace.
	pid := nstest.Process(t)
	wMust(t, s.LinkMoveTo("m0", rtnl.NamespaceOfPID(pid)))
	if wLinkExists(ns, "m0") {
		t.Fatal("m0 still here after the move")
	}
	if !wHasLink(wNsenterLinks(t, pid), "m0") {
		t.Fatal("m0 not in the process's namespace")
	}
	other, err := rtnl.Open(rtnl.NamespaceOfPID(pid))
	wMust(t, err)
	defer other.Close()
	if _, err := other.LinkByName("m0"); err != nil {
		t.Fatal(err)
	}

	// By path.
	ns2 := nstest.New(t)
	wMust(t, s.LinkMoveTo("m2", ns2.Namespace()))
	if wLinkExists(ns, "m2") || !wLinkExists(ns2, "m2") {
		t.Fatal("m2 not moved to the second namespace")
	}

	wWantErr(t, s.LinkMoveTo("m3", rtnl.NamespaceAt("/var/run/netns/linx-no-such-ns")), unix.ENOENT, "linx-no-such-ns")
	wWantErr(t, s.LinkMoveTo("m3", rtnl.NamespaceOfPID(1<<22+17)), unix.ESRCH)
	wWantErr(t, s.LinkMoveTo("nope0", ns2.Namespace()), unix.ENODEV, `"nope0"`)
}

func TestCreateVethIn(t *testing.T) {
	ns := nstest.New(t)
	ns2 := nstest.New(t)
	s := ns.Open()
	wMust(t, s.CreateVethIn("c0", "c1", ns2.Namespace()))
	if !wLinkExists(ns, "c0") || wLinkExists(ns, "c1") || !wLinkExists(ns2, "c1") {
		t.Fatal("veth ends not where asked")
	}
	pid := nstest.Process(t)
	wMust(t, s.CreateVethIn("c2", "c3", rtnl.NamespaceOfPID(pid)))
	if !wLinkExists(ns, "c2") || !wHasLink(wNsenterLinks(t, pid), "c3") {
		t.Fatal("veth peer not created in the process's namespace")
	}
	wWantErr(t, s.CreateVethIn("c4", "c5", rtnl.NamespaceAt("/var/run/netns/linx-no-such-ns")), unix.ENOENT)
}

type wIpAddrInfo struct {
	Family    string `json:"family"`
	Local     string `json:"local"`
	PrefixLen int    `json:"prefixlen"`
}

func wAddrsOf(t *testing.T, ns *nstest.NS, dev string) []string {
	t.Helper()
	var out []struct {
		AddrInfo []wIpAddrInfo `json:"addr_info"`
	}
	ns.JSON(&out, "addr", "show", "dev", dev)
	var got []string
	for _, l := range out {
		for _, a := range l.AddrInfo {
			got = append(got, a.Local+"/"+wItoa(a.PrefixLen))
		}
	}
	return got
}

func TestAddresses(t *testing.T) {
	ns := nstest.New(t)
	s := ns.Open()
	wMust(t, s.CreateVeth("a0", "a1"))
	v4 := netip.MustParsePrefix("10.0.42.5/24")
	v6 := netip.MustParsePrefix("fc00::42:5/64")

	wMust(t, s.AddressAdd("a0", v4))
	wMust(t, s.AddressAdd("a0", v6))
	got := wAddrsOf(t, ns, "a0")
	if !slices.Contains(got, "10.0.42.5/24") || !slices.Contains(got, "fc00::42:5/64") {
		t.Fatalf("addresses = %v", got)
	}
	wWantErr(t, s.AddressAdd("a0", v4), unix.EEXIST, "10.0.42.5/24")
	wMust(t, s.AddressReplace("a0", v4))
	wMust(t, s.AddressReplace("a0", netip.MustParsePrefix("10.0.43.5/24")))
	if got := wAddrsOf(t, ns, "a0"); !slices.Contains(got, "10.0.43.5/24") {
		t.Fatalf("replace did not create: %v", got)
	}

	wMust(t, s.AddressDelete("a0", v4))
	wMust(t, s.AddressDelete("a0", v6))
	got = wAddrsOf(t, ns, "a0")
	if slices.Contains(got, "10.0.42.5/24") || slices.Contains(got, "fc00::42:5/64") {
		t.Fatalf("addresses after delete = %v", got)
	}
	err := s.AddressDelete("a0", v4)
	wWantErr(t, err, unix.EADDRNOTAVAIL)
	if !rtnl.IsNotExist(err) {
		t.Fatal("IsNotExist false for a deleted address")
	}

	wWantErr(t, s.AddressAdd("nope0", v4), unix.ENODEV, `no such interface "nope0"`)
	wWantErr(t, s.AddressAdd("a0", netip.PrefixFrom(netip.MustParseAddr("10.0.0.1"), 33)), unix.EINVAL, "prefix length out of range 0-32")
	wWantErr(t, s.AddressAdd("a0", netip.PrefixFrom(netip.MustParseAddr("fc00::1"), 129)), unix.EINVAL, "prefix length out of range 0-128")
	wWantErr(t, s.AddressAdd("a0", netip.Prefix{}), unix.EINVAL, "address is not set")
}

type wIpRoute struct {
	Dst      string   `json:"dst"`
	Gateway  string   `json:"gateway"`
	Dev      string   `json:"dev"`
	Protocol string   `json:"protocol"`
	Metric   int      `json:"metric"`
	Scope    string   `json:"scope"`
	Type     string   `json:"type"`
	Table    string   `json:"table"`
	Flags    []string `json:"flags"`
	NextHops []struct {
		Gateway string `json:"gateway"`
		Dev     string `json:"dev"`
		Weight  int    `json:"weight"`
	} `json:"nexthops"`
}

func wRoutes(t *testing.T, ns *nstest.NS, args ...string) []wIpRoute {
	t.Helper()
	var out []wIpRoute
	cmd := []string{"route", "show"}
	if len(args) > 0 && args[0] == "-6" {
		cmd, args = []string{"-6", "route", "show"}, args[1:]
	}
	ns.JSON(&out, append(cmd, args...)...)
	return out
}

func wFindRoute(rs []wIpRoute, dst string) (wIpRoute, bool) {
	for _, r := range rs {
		if r.Dst == dst {
			return r, true
		}
	}
	return wIpRoute{}, false
}

// wRoutedNS returns a namespace with a veth pair r0/r1 up, 10.0.0.1/24 and
// fd00::1/64 on r0 (gateways 10.0.0.2 and fd00::2 are on-link).
func wRoutedNS(t *testing.T) (*nstest.NS, *rtnl.Socket, int) {
	ns := nstest.New(t)
	s := ns.Open()
	wMust(t, s.CreateVeth("r0", "r1"))
	wMust(t, s.LinkSetUp("r0"))
	wMust(t, s.LinkSetUp("r1"))
	wMust(t, s.AddressAdd("r0", netip.MustParsePrefix("10.0.0.1/24")))
	ns.IP("addr", "add", "fd00::1/64", "dev", "r0", "nodad")
	l, err := s.LinkByName("r0")
	wMust(t, err)
	return ns, s, l.Index
}

func TestRoutes(t *testing.T) {
	ns, s, oif := wRoutedNS(t)
	dst := netip.MustParsePrefix("10.99.0.0/24")
	r := rtnl.Route{Dst: dst, Gateway: netip.MustParseAddr("10.0.0.2")}

	wMust(t, s.RouteAdd(r))
	got, ok := wFindRoute(wRoutes(t, ns), "10.99.0.0/24")
	if !ok || got.Gateway != "10.0.0.2" || got.Dev != "r0" || got.Protocol != "4" {
		t.Fatalf("route = %+v (protocol 0 wMust install as static, 4)", got)
	}
	wWantErr(t, s.RouteAdd(r), unix.EEXIST, "10.99.0.0/24")

	// Replace changes the gateway in place, and is idempotent.
	r2 := r
	r2.Gateway = netip.MustParseAddr("10.0.0.9")
	wMust(t, s.RouteReplace(r2))
	wMust(t, s.RouteReplace(r2))
	rs := wRoutes(t, ns)
	got, _ = wFindRoute(rs, "10.99.0.0/24")
	if got.Gateway != "10.0.0.9" || len(slices.DeleteFunc(rs, func(x wIpRoute) bool { return x.Dst != "10.99.0.0/24" })) != 1 {
		t.Fatalf("after replace: %+v", got)
	}
	wMust(t, s.RouteDelete(rtnl.Route{Dst: dst}))
	if _, ok := wFindRoute(wRoutes(t, ns), "10.99.0.0/24"); ok {
		t.Fatal("route still present after delete")
	}
	err := s.RouteDelete(rtnl.Route{Dst: dst})
	wWantErr(t, err, unix.ESRCH)
	if !rtnl.IsNotExist(err) {
		t.Fatal("IsNotExist false for a deleted route")
	}

	// Table above 255, protocol and metric round-trip.
	opt := rtnl.Route{Dst: netip.MustParsePrefix("10.50.0.0/24"), Gateway: netip.MustParseAddr("10.0.0.2"),
		Table: 1000, Protocol: 200, Metric: 50}
	wMust(t, s.RouteAdd(opt))
	got, ok = wFindRoute(wRoutes(t, ns, "table", "1000"), "10.50.0.0/24")
	if !ok || got.Protocol != "200" || got.Metric != 50 {
		t.Fatalf("table 1000 route = %+v", got)
	}
	listed, err := s.RoutesFiltered(rtnl.RouteFilter{Table: 1000})
	wMust(t, err)
	if len(listed) != 1 || listed[0].Table != 1000 || listed[0].Protocol != 200 || listed[0].Metric != 50 {
		t.Fatalf("decoded table 1000 wRoutes = %v", listed)
	}
	// A second route with the same destination at another metric coexists.
	opt2 := opt
	opt2.Metric = 60
	wMust(t, s.RouteAdd(opt2))
	if n := len(wRoutes(t, ns, "table", "1000")); n != 2 {
		t.Fatalf("table 1000 has %d wRoutes, want 2", n)
	}
	wMust(t, s.RouteDelete(opt))
	rs = wRoutes(t, ns, "table", "1000")
	if len(rs) != 1 || rs[0].Metric != 60 {
		t.Fatalf("after deleting metric 50: %+v", rs)
	}
	// Deleting with a protocol narrows the match.
	wWantErr(t, s.RouteDelete(rtnl.Route{Dst: opt.Dst, Table: 1000, Protocol: 99}), unix.ESRCH)

	// Default route.
	gw := netip.MustParseAddr("10.0.0.2")
	wMust(t, s.DefaultRouteAdd(gw))
	got, ok = wFindRoute(wRoutes(t, ns), "default")
	if !ok || got.Gateway != "10.0.0.2" {
		t.Fatalf("default route = %+v", got)
	}
	wWantErr(t, s.DefaultRouteAdd(gw), unix.EEXIST)
	wMust(t, s.DefaultRouteDelete(gw))
	if _, ok := wFindRoute(wRoutes(t, ns), "default"); ok {
		t.Fatal("default route still present")
	}
	wWantErr(t, s.DefaultRouteDelete(gw), unix.ESRCH)

	// A connected route through an interface gets link scope.
	wMust(t, s.RouteAdd(rtnl.Route{Dst: netip.MustParsePrefix("10.77.0.0/16"), OIF: oif}))
	got, _ = wFindRoute(wRoutes(t, ns), "10.77.0.0/16")
	if got.Scope != "253" && got.Scope != "link" {
		t.Fatalf("connected route scope = %q, want link (253)", got.Scope)
	}
	// Blackhole and unreachable wRoutes need no interface.
	wMust(t, s.RouteAdd(rtnl.Route{Dst: netip.MustParsePrefix("10.66.0.0/16"), Type: rtnl.RouteTypeBlackhole}))
	wMust(t, s.RouteAdd(rtnl.Route{Dst: netip.MustParsePrefix("fd66::/48"), Type: rtnl.RouteTypeUnreachable}))
	got, _ = wFindRoute(wRoutes(t, ns), "10.66.0.0/16")
	if got.Type != "blackhole" && got.Type != "6" {
		t.Fatalf("blackhole route = %+v", got)
	}
	got, _ = wFindRoute(wRoutes(t, ns, "-6"), "fd66::/48")
	if got.Type != "unreachable" && got.Type != "7" {
		t.Fatalf("unreachable route = %+v", got)
	}

	// Bad input, refused before sending.
	wWantErr(t, s.RouteAdd(rtnl.Route{Dst: dst, Gateway: netip.MustParseAddr("fd00::2")}), unix.EINVAL, "gateway fd00::2 is of another family")
	wWantErr(t, s.RouteAdd(rtnl.Route{Dst: netip.MustParsePrefix("fd01::/64"), Gateway: netip.MustParseAddr("10.0.0.2")}), unix.EINVAL, "gateway 10.0.0.2 is of another family")
	wWantErr(t, s.RouteAdd(rtnl.Route{Dst: netip.PrefixFrom(netip.MustParseAddr("10.0.0.0"), 40)}), unix.EINVAL, "prefix length out of range")
	wWantErr(t, s.RouteAdd(rtnl.Route{}), unix.EINVAL, "route destination is not set")
	// The kernel's own refusal comes with its extended-ack text.
	err = s.RouteAdd(rtnl.Route{Dst: netip.MustParsePrefix("10.98.0.0/24"), Gateway: netip.MustParseAddr("192.0.2.1")})
	var e *rtnl.Error
	if !errors.As(err, &e) || e.Errno != unix.ENETUNREACH || !strings.Contains(e.Message, "10.98.0.0/24") {
		t.Fatalf("unreachable gateway: %v", err)
	}
	if !strings.Contains(e.Message, ": ") {
		t.Errorf("no kernel text after the route in %q", e.Message)
	}
}

func TestRoutesIPv6(t *testing.T) {
	ns, s, oif := wRoutedNS(t)
	r := rtnl.Route{Dst: netip.MustParsePrefix("fd01::/64"), Gateway: netip.MustParseAddr("fd00::2"), Metric: 300, Table: 1000, Protocol: rtnl.DefaultProtocol}
	wMust(t, s.RouteAdd(r))
	got, ok := wFindRoute(wRoutes(t, ns, "-6", "table", "1000"), "fd01::/64")
	if !ok || got.Gateway != "fd00::2" || got.Metric != 300 || got.Protocol != "76" || got.Dev != "r0" {
		t.Fatalf("ipv6 route = %+v", got)
	}
	wWantErr(t, s.RouteAdd(r), unix.EEXIST)
	r.Gateway = netip.MustParseAddr("fd00::3")
	wMust(t, s.RouteReplace(r))
	got, _ = wFindRoute(wRoutes(t, ns, "-6", "table", "1000"), "fd01::/64")
	if got.Gateway != "fd00::3" {
		t.Fatalf("ipv6 replace: %+v", got)
	}
	wMust(t, s.RouteDelete(r))
	if _, ok := wFindRoute(wRoutes(t, ns, "-6", "table", "1000"), "fd01::/64"); ok {
		t.Fatal("ipv6 route still present")
	}
	wMust(t, s.DefaultRouteAdd(netip.MustParseAddr("fd00::2")))
	if got, ok := wFindRoute(wRoutes(t, ns, "-6"), "default"); !ok || got.Gateway != "fd00::2" {
		t.Fatalf("ipv6 default = %+v", got)
	}
	wMust(t, s.DefaultRouteDelete(netip.MustParseAddr("fd00::2")))

	// Multipath, both families.
	wMust(t, s.RouteAdd(rtnl.Route{Dst: netip.MustParsePrefix("10.88.0.0/16"), NextHops: []rtnl.NextHop{
		{Gateway: netip.MustParseAddr("10.0.0.2"), OIF: oif, Weight: 1},
		{Gateway: netip.MustParseAddr("10.0.0.3"), OIF: oif, Weight: 3},
	}}))
	got, _ = wFindRoute(wRoutes(t, ns), "10.88.0.0/16")
	if len(got.NextHops) != 2 || got.NextHops[0].Gateway != "10.0.0.2" || got.NextHops[1].Gateway != "10.0.0.3" || got.NextHops[1].Weight != 3 {
		t.Fatalf("multipath route = %+v", got)
	}
}

type wIpNeigh struct {
	Dst    string   `json:"dst"`
	LLAddr string   `json:"lladdr"`
	State  []string `json:"state"`
}

func wNeighs(t *testing.T, ns *nstest.NS, dev string) map[string]wIpNeigh {
	t.Helper()
	var out []wIpNeigh
	ns.JSON(&out, "neigh", "show", "dev", dev)
	m := map[string]wIpNeigh{}
	for _, n := range out {
		m[n.Dst] = n
	}
	return m
}

func TestNeighbours(t *testing.T) {
	ns, s, oif := wRoutedNS(t)
	mac := net.HardwareAddr{0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee}
	v4, v6 := netip.MustParseAddr("10.0.0.10"), netip.MustParseAddr("fd00::10")
	wMust(t, s.NeighbourAdd("r0", v4, mac))
	wMust(t, s.NeighbourAdd("r0", v6, mac))
	got := wNeighs(t, ns, "r0")
	for _, ip := range []string{"10.0.0.10", "fd00::10"} {
		if n := got[ip]; n.LLAddr != mac.String() || !slices.Equal(n.State, []string{"PERMANENT"}) {
			t.Fatalf("neighbour %s = %+v", ip, n)
		}
	}
	wWantErr(t, s.NeighbourAdd("r0", v4, mac), unix.EEXIST, "10.0.0.10")

	mac2 := net.HardwareAddr{0x02, 0, 0, 0, 0, 0x02}
	wMust(t, s.NeighbourSet(rtnl.Neighbour{Index: oif, IP: v4, HardwareAddr: mac2, State: rtnl.NeighStale}))
	if n := wNeighs(t, ns, "r0")["10.0.0.10"]; n.LLAddr != mac2.String() || !slices.Equal(n.State, []string{"STALE"}) {
		t.Fatalf("after set: %+v", n)
	}
	// State 0 is permanent, with the MAC.
	wMust(t, s.NeighbourSet(rtnl.Neighbour{Index: oif, IP: netip.MustParseAddr("10.0.0.11"), HardwareAddr: mac}))
	if n := wNeighs(t, ns, "r0")["10.0.0.11"]; n.LLAddr != mac.String() || !slices.Equal(n.State, []string{"PERMANENT"}) {
		t.Fatalf("state 0: %+v", n)
	}

	wMust(t, s.NeighbourDelete("r0", v4))
	wMust(t, s.NeighbourDelete("r0", v6))
	got = wNeighs(t, ns, "r0")
	if _, ok := got["10.0.0.10"]; ok {
		t.Fatal("v4 neighbour still present")
	}
	if _, ok := got["fd00::10"]; ok {
		t.Fatal("v6 neighbour still present")
	}
	err := s.NeighbourDelete("r0", v4)
	wWantErr(t, err, unix.ENOENT)
	if !rtnl.IsNotExist(err) {
		t.Fatal("IsNotExist false for a deleted neighbour")
	}
	wWantErr(t, s.NeighbourAdd("r0", v4, net.HardwareAddr{1, 2, 3}), unix.EINVAL, "malformed neighbour MAC")
	wWantErr(t, s.NeighbourAdd("nope0", v4, mac), unix.ENODEV, `no such interface "nope0"`)
	wWantErr(t, s.NeighbourAdd("r0", netip.Addr{}, mac), unix.EINVAL, "address is not set")
}

type wIpRule struct {
	Priority int    `json:"priority"`
	Src      string `json:"src"`
	SrcLen   int    `json:"srclen"`
	Dst      string `json:"dst"`
	DstLen   int    `json:"dstlen"`
	FwMark   string `json:"fwmark"`
	FwMask   string `json:"fwmask"`
	IIF      string `json:"iif"`
	OIF      string `json:"oif"`
	Table    string `json:"table"`
}

func wRules(t *testing.T, ns *nstest.NS, family string) []wIpRule {
	t.Helper()
	var out []wIpRule
	ns.JSON(&out, family, "rule", "show")
	return out
}

func TestRules(t *testing.T) {
	ns := nstest.New(t)
	s := ns.Open()
	from := rtnl.Rule{From: netip.MustParsePrefix("10.0.0.0/24"), Table: 100}
	wMust(t, s.RuleAdd(from))
	mark := rtnl.Rule{FwMark: 0x1, FwMask: 0xff, Table: 100, Priority: 200}
	wMust(t, s.RuleAdd(mark))
	ifs := rtnl.Rule{IIF: "lo", To: netip.MustParsePrefix("10.9.0.0/16"), Table: 2000, Priority: 300}
	wMust(t, s.RuleAdd(ifs))
	oif := rtnl.Rule{OIF: "lo", Table: 101, Priority: 301}
	wMust(t, s.RuleAdd(oif))
	v6 := rtnl.Rule{Family: rtnl.FamilyV6, FwMark: 0x2, Table: 102, Priority: 400}
	wMust(t, s.RuleAdd(v6))
	v6from := rtnl.Rule{From: netip.MustParsePrefix("fd00::/64"), Table: 103, Priority: 401}
	wMust(t, s.RuleAdd(v6from))

	has := func(rs []wIpRule, f func(wIpRule) bool) bool { return slices.ContainsFunc(rs, f) }
	r4 := wRules(t, ns, "-4")
	if !has(r4, func(r wIpRule) bool { return r.Src == "10.0.0.0" && r.SrcLen == 24 && r.Table == "100" }) {
		t.Errorf("from rule missing: %+v", r4)
	}
	if !has(r4, func(r wIpRule) bool {
		return r.Priority == 200 && r.FwMark == "0x1" && r.FwMask == "0xff" && r.Table == "100"
	}) {
		t.Errorf("fwmark rule missing: %+v", r4)
	}
	if !has(r4, func(r wIpRule) bool {
		return r.Priority == 300 && r.IIF == "lo" && r.Dst == "10.9.0.0" && r.DstLen == 16 && r.Table == "2000"
	}) {
		t.Errorf("iif rule missing: %+v", r4)
	}
	if !has(r4, func(r wIpRule) bool { return r.Priority == 301 && r.OIF == "lo" && r.Table == "101" }) {
		t.Errorf("oif rule missing: %+v", r4)
	}
	r6 := wRules(t, ns, "-6")
	if !has(r6, func(r wIpRule) bool { return r.Priority == 400 && r.FwMark == "0x2" && r.Table == "102" }) {
		t.Errorf("ipv6 fwmark rule missing: %+v", r6)
	}
	if !has(r6, func(r wIpRule) bool { return r.Priority == 401 && r.Src == "fd00::" && r.SrcLen == 64 }) {
		t.Errorf("ipv6 from rule missing: %+v", r6)
	}
	if has(r4, func(r wIpRule) bool { return r.Priority == 400 }) {
		t.Error("ipv6 rule installed as ipv4")
	}
	wWantErr(t, s.RuleAdd(mark), unix.EEXIST)

	for _, r := range []rtnl.Rule{from, mark, ifs, oif, v6, v6from} {
		wMust(t, s.RuleDelete(r))
	}
	if n4, n6 := len(wRules(t, ns, "-4")), len(wRules(t, ns, "-6")); n4 != 3 || n6 != 2 {
		t.Fatalf("after delete: %d IPv4 and %d IPv6 wRules, want the kernel's 3 and 2", n4, n6)
	}
	err := s.RuleDelete(from)
	wWantErr(t, err, unix.ENOENT)
	if !rtnl.IsNotExist(err) {
		t.Fatal("IsNotExist false for a deleted rule")
	}

	wWantErr(t, s.RuleAdd(rtnl.Rule{From: netip.MustParsePrefix("10.0.0.0/24")}), unix.EINVAL, "rule needs a table")
	wWantErr(t, s.RuleAdd(rtnl.Rule{From: netip.MustParsePrefix("10.0.0.0/24"), To: netip.MustParsePrefix("fd00::/64"), Table: 1}), unix.EINVAL, "disagree")
	wWantErr(t, s.RuleAdd(rtnl.Rule{Family: rtnl.FamilyV6, From: netip.MustParsePrefix("10.0.0.0/24"), Table: 1}), unix.EINVAL, "disagree")
	wWantErr(t, s.RuleAdd(rtnl.Rule{IIF: "abcdefghijklmnopq", Table: 1}), unix.EINVAL, "at most 15")
	wWantErr(t, s.RuleAdd(rtnl.Rule{From: netip.PrefixFrom(netip.MustParseAddr("10.0.0.0"), 33), Table: 1}), unix.EINVAL, "prefix length out of range")
}

// TestBadInput checks that malformed arguments are refused with EINVAL (or
// the kernel's ENODEV) naming the argument.
func TestBadInput(t *testing.T) {
	ns := nstest.New(t)
	s := ns.Open()
	wMust(t, s.CreateVeth("b0", "b1"))

	wWantErr(t, s.LinkSetUp("nope0"), unix.ENODEV, `no such interface "nope0"`)
	wWantErr(t, s.LinkSetMTU("nope0", 1400), unix.ENODEV, `no such interface "nope0"`)
	wWantErr(t, s.LinkSetMaster("b0", "nope0"), unix.ENODEV, `no such interface "nope0"`)
	wWantErr(t, s.LinkSetHardwareAddr("b0", net.HardwareAddr{1, 2, 3}), unix.EINVAL, "malformed hardware address", "3 bytes")
	wWantErr(t, s.LinkSetHardwareAddr("b0", nil), unix.EINVAL, "malformed hardware address")
	wWantErr(t, s.LinkAdd(rtnl.Link{Name: "b2", Kind: "bridge", HardwareAddr: net.HardwareAddr{1}}), unix.EINVAL, "malformed hardware address")
	long := "abcdefghijklmnop" // 16 bytes
	wWantErr(t, s.CreateBridge(long), unix.EINVAL, long, "at most 15")
	wWantErr(t, s.CreateVeth("b2", long), unix.EINVAL, long, "at most 15")
	wWantErr(t, s.LinkSetName("b0", long), unix.EINVAL, long)
	wWantErr(t, s.CreateMacvlan(long, "b0", rtnl.MacvlanBridge), unix.EINVAL, long)
	wWantErr(t, s.LinkSetMTU("b0", 0), unix.EINVAL, "MTU 0")
	if wLinkExists(ns, long[:15]) {
		t.Fatal("a truncated link was created")
	}
}

func TestErrorsCarryKernelText(t *testing.T) {
	ns := nstest.New(t)
	s := ns.Open()
	wMust(t, s.CreateVeth("e0", "e1"))
	// The kernel explains an MTU below the device's minimum in ext-ack.
	err := s.LinkSetMTU("e0", 10)
	var e *rtnl.Error
	if !errors.As(err, &e) || e.Errno != unix.EINVAL {
		t.Fatalf("LinkSetMTU 10: %v", err)
	}
	if !strings.Contains(e.Message, `"e0"`) || !strings.Contains(strings.ToLower(e.Message), "mtu") {
		t.Fatalf("message %q lacks the interface or the kernel's text", e.Message)
	}
}

func wItoa(n int) string { return strconv.Itoa(n) }

func wJsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

// A master that takes no ports is named as the reason, not the link's
// kind, which the kernel has.
func TestLinkAddMasterTakesNoPorts(t *testing.T) {
	ns := nstest.New(t)
	s := ns.Open()
	wMust(t, s.CreateVeth("a0", "a1"))
	a0, err := s.LinkByName("a0")
	wMust(t, err)
	err = s.LinkAdd(rtnl.Link{Name: "b0", MasterIndex: a0.Index, Data: rtnl.Veth{Peer: "b1"}})
	wWantErr(t, err, unix.EOPNOTSUPP, fmt.Sprintf(`link "b0" cannot be enslaved to interface index %d: it takes no ports`, a0.Index), "")
	if wLinkExists(ns, "b0") {
		t.Fatal("b0 exists after the failed create")
	}
}
