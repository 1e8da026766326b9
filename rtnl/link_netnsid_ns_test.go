package rtnl_test

import (
	"testing"

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
