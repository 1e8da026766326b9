package rtnl_test

import (
	"net"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/linx-net/linx/internal/nstest"
	"github.com/linx-net/linx/rtnl"
)

// ipLinkNS is what `ip -N -j link` prints about a link's lower side.
type ipLinkNS struct {
	Index     int    `json:"ifindex"`
	Name      string `json:"ifname"`
	LinkIndex int    `json:"link_index"`
	Link      string `json:"link"`
	NetNSID   *int32 `json:"link_netnsid"` // absent when the lower side is local
}

func ipLinkNSOf(t *testing.T, ns *nstest.NS, name string) ipLinkNS {
	t.Helper()
	var out []ipLinkNS
	ns.JSON(&out, "link", "show", "dev", name)
	if len(out) != 1 {
		t.Fatalf("ip link show dev %s in %s: %d links", name, ns.Name, len(out))
	}
	return out[0]
}

// checkParentNS compares the link named name, read by LinkByName and by
// the Links dump, with ip's link_index and link_netnsid.
func checkParentNS(t *testing.T, ns *nstest.NS, s *rtnl.Socket, name string) rtnl.Link {
	t.Helper()
	ip := ipLinkNSOf(t, ns, name)
	l, err := s.LinkByName(name)
	if err != nil {
		t.Fatal(err)
	}
	all, err := s.Links()
	if err != nil {
		t.Fatal(err)
	}
	var dumped rtnl.Link
	for _, d := range all {
		if d.Name == name {
			dumped = d
		}
	}
	for _, got := range []rtnl.Link{l, dumped} {
		if ip.NetNSID == nil {
			if got.ParentElsewhere || got.ParentNamespaceID != 0 {
				t.Errorf("%s: ParentElsewhere=%v ParentNamespaceID=%d; ip prints no link_netnsid",
					name, got.ParentElsewhere, got.ParentNamespaceID)
			}
			continue
		}
		if !got.ParentElsewhere || got.ParentNamespaceID != *ip.NetNSID || got.ParentIndex != ip.LinkIndex {
			t.Errorf("%s: ParentElsewhere=%v ParentNamespaceID=%d ParentIndex=%d; ip: link_netnsid %d link_index %d",
				name, got.ParentElsewhere, got.ParentNamespaceID, got.ParentIndex, *ip.NetNSID, ip.LinkIndex)
		}
	}
	return l
}

func TestLinkParentInOtherNamespace(t *testing.T) {
	a, b := nstest.New(t), nstest.New(t)
	sa, sb := a.Open(), b.Open()

	// Give each namespace a non-zero id in the other, so that a decoder
	// that left the id at zero would fail.
	a.IP("netns", "set", b.Name, "7")
	b.IP("netns", "set", a.Name, "3")

	// A local pair first: no namespace id on either end.
	if err := sa.CreateVeth("loc0", "loc1"); err != nil {
		t.Fatal(err)
	}
	if l := checkParentNS(t, a, sa, "loc0"); l.ParentElsewhere || l.ParentIndex == 0 {
		t.Errorf("local veth: %+v; want a local parent", l)
	}

	// A pair with one end moved away.
	if err := sa.CreateVeth("mv0", "mv1"); err != nil {
		t.Fatal(err)
	}
	if err := sa.LinkMoveTo("mv1", b.Namespace()); err != nil {
		t.Fatal(err)
	}
	peer, err := sb.LinkByName("mv1")
	if err != nil {
		t.Fatal(err)
	}
	l := checkParentNS(t, a, sa, "mv0")
	if !l.ParentElsewhere || l.ParentNamespaceID != 7 || l.ParentIndex != peer.Index {
		t.Errorf("mv0: %s parent %d elsewhere=%v nsid=%d; want mv1's index %d in nsid 7",
			l, l.ParentIndex, l.ParentElsewhere, l.ParentNamespaceID, peer.Index)
	}
	if r := checkParentNS(t, b, sb, "mv1"); !r.ParentElsewhere || r.ParentNamespaceID != 3 || r.ParentIndex != l.Index {
		t.Errorf("mv1: %s parent %d elsewhere=%v nsid=%d; want mv0's index %d in nsid 3",
			r, r.ParentIndex, r.ParentElsewhere, r.ParentNamespaceID, l.Index)
	}
}

// In two fresh namespaces a veth created with its peer in the other gets
// index 2 on both ends: the parent index equals the link's own and must
// not be read as "no parent".
func TestLinkParentElsewhereSameIndex(t *testing.T) {
	a, b := nstest.New(t), nstest.New(t)
	sa := a.Open()
	if err := sa.CreateVethIn("x0", "x1", b.Namespace()); err != nil {
		t.Fatal(err)
	}
	ip := ipLinkNSOf(t, b, "x1")
	if own := ipLinkNSOf(t, a, "x0"); own.Index != ip.Index {
		t.Fatalf("x0 has index %d, x1 %d: the kernel numbered fresh namespaces differently", own.Index, ip.Index)
	}
	l := checkParentNS(t, a, sa, "x0")
	if !l.ParentElsewhere || l.ParentIndex != ip.Index {
		t.Errorf("x0: parent %d elsewhere=%v; want x1's index %d elsewhere", l.ParentIndex, l.ParentElsewhere, ip.Index)
	}
}

// A macvlan moved away from its parent decodes with the parent's index in
// the other namespace. Given that Link back, LinkAdd must create the
// macvlan on that parent (IFLA_LINK_NETNSID), not on the local link that
// happens to have the same index, and LinkModify must leave the parent be.
func TestLinkAddParentElsewhere(t *testing.T) {
	a, b := nstest.New(t), nstest.New(t)
	sa, sb := a.Open(), b.Open()
	a.IP("netns", "set", b.Name, "7")

	wMust(t, sb.CreateVeth("p0", "p1"))
	wMust(t, sb.CreateMacvlan("mv0", "p0", rtnl.MacvlanBridge))
	parent, err := sb.LinkByName("p0")
	wMust(t, err)
	// Local links numbered like b's, so that the parent's index names a
	// link here too: sent as a local index it would silently attach there.
	wMust(t, sa.CreateVeth("l0", "l1"))
	local, err := sa.LinkByIndex(parent.Index)
	if err != nil {
		t.Fatalf("no local link with p0's index %d: %v", parent.Index, err)
	}

	wMust(t, sb.LinkMoveTo("mv0", a.Namespace()))
	mv := checkParentNS(t, a, sa, "mv0")
	if !mv.ParentElsewhere || mv.ParentNamespaceID != 7 || mv.ParentIndex != parent.Index {
		t.Fatalf("mv0: parent %d elsewhere=%v nsid=%d; want p0's index %d in nsid 7",
			mv.ParentIndex, mv.ParentElsewhere, mv.ParentNamespaceID, parent.Index)
	}

	// Recreate it from the decoded Link, under the same name and address.
	wMust(t, sa.LinkDelete("mv0"))
	wMust(t, sa.LinkAdd(mv))
	got := checkParentNS(t, a, sa, "mv0")
	if !got.ParentElsewhere || got.ParentNamespaceID != 7 || got.ParentIndex != parent.Index {
		t.Errorf("recreated mv0: parent %d elsewhere=%v nsid=%d; want p0's index %d in nsid 7 (not local %s)",
			got.ParentIndex, got.ParentElsewhere, got.ParentNamespaceID, parent.Index, local)
	}
	if ip := wShowLink(t, a, "mv0"); ip.LinkInfo.Kind != "macvlan" || ip.LinkInfo.Data["mode"] != "bridge" || ip.Address != mv.HardwareAddr.String() {
		t.Errorf("ip: recreated mv0 is %s mode %v address %s; want macvlan bridge %s",
			ip.LinkInfo.Kind, ip.LinkInfo.Data["mode"], ip.Address, mv.HardwareAddr)
	}

	// An in-place change of the decoded Link changes what it names and
	// keeps the foreign parent.
	got.MTU = 1400
	got.Flags |= net.FlagUp
	wMust(t, sa.LinkModify(got))
	after := checkParentNS(t, a, sa, "mv0")
	if ip := wShowLink(t, a, "mv0"); ip.MTU != 1400 || !ip.up() {
		t.Errorf("ip after LinkModify: mtu %d up=%v; want 1400 up", ip.MTU, ip.up())
	}
	if !after.ParentElsewhere || after.ParentNamespaceID != 7 || after.ParentIndex != parent.Index {
		t.Errorf("mv0 after LinkModify: parent %d elsewhere=%v nsid=%d; want p0's index %d in nsid 7",
			after.ParentIndex, after.ParentElsewhere, after.ParentNamespaceID, parent.Index)
	}

	// A macvtap takes a parent elsewhere the same way.
	tap := rtnl.Link{Name: "tap0", ParentIndex: parent.Index, ParentElsewhere: true, ParentNamespaceID: 7,
		Data: rtnl.Macvlan{Mode: rtnl.MacvlanBridge, Tap: true}}
	wMust(t, sa.LinkAdd(tap))
	if l := checkParentNS(t, a, sa, "tap0"); l.Kind != "macvtap" || !l.ParentElsewhere || l.ParentIndex != parent.Index {
		t.Errorf("tap0: %s kind %q parent %d elsewhere=%v; want macvtap on p0's index %d elsewhere",
			l, l.Kind, l.ParentIndex, l.ParentElsewhere, parent.Index)
	}

	// The kernel's refusals are sharpened: an index b does not have, an id
	// a does not know.
	err = sa.LinkAdd(rtnl.Link{Name: "bad0", ParentIndex: 999, ParentElsewhere: true, ParentNamespaceID: 7, Data: rtnl.Macvlan{}})
	wWantErr(t, err, unix.ENODEV, "no such parent interface index 999 in namespace id 7")
	err = sa.LinkAdd(rtnl.Link{Name: "bad1", ParentIndex: parent.Index, ParentElsewhere: true, ParentNamespaceID: 99, Data: rtnl.Macvlan{}})
	wWantErr(t, err, unix.EINVAL, `creating macvlan link "bad1"`)
	for _, n := range []string{"bad0", "bad1"} {
		if wLinkExists(a, n) {
			t.Errorf("%s was created after a refusal", n)
		}
	}
}

// A parent elsewhere that IFLA_LINK_NETNSID cannot carry is refused before
// anything is sent, never sent as a local index.
func TestLinkAddParentElsewhereRefused(t *testing.T) {
	a := nstest.New(t)
	sa := a.Open()
	wMust(t, sa.CreateVeth("l0", "l1"))
	l0, err := sa.LinkByName("l0")
	wMust(t, err)
	elsewhere := func(l rtnl.Link) rtnl.Link {
		l.ParentIndex, l.ParentElsewhere, l.ParentNamespaceID = l0.Index, true, 0
		return l
	}
	for _, c := range []struct {
		l    rtnl.Link
		want string
	}{
		{elsewhere(rtnl.Link{Name: "br9", Kind: "bridge"}), `a bridge link cannot be created on a parent in another namespace`},
		{elsewhere(rtnl.Link{Name: "ve9", Data: rtnl.Veth{Peer: "ve10"}}), `a veth link cannot be created on a parent in another namespace`},
		{elsewhere(rtnl.Link{Name: "vx9", Data: rtnl.Vxlan{VNI: 9}}), `a vxlan link cannot be created on a parent in another namespace`},
		{rtnl.Link{Name: "mv9", ParentElsewhere: true, Data: rtnl.Macvlan{}}, `ParentElsewhere is set but ParentIndex is 0`},
		{rtnl.Link{Name: "mv9", ParentIndex: l0.Index, ParentElsewhere: true, ParentNamespaceID: -1, Kind: "macvlan"}, `namespace with no id here (ParentNamespaceID -1)`},
	} {
		err := sa.LinkAdd(c.l)
		wWantErr(t, err, unix.EINVAL, c.want)
		var b rtnl.Batch
		b.LinkAdd(c.l)
		if err := sa.Apply(&b); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("batch LinkAdd(%s): %v; want a refusal saying %q", c.l.Name, err, c.want)
		}
		if wLinkExists(a, c.l.Name) {
			t.Errorf("%s was created after a refusal", c.l.Name)
		}
	}
}
