package rtnl

import (
	"reflect"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// IFLA_LINK_NETNSID: a link whose lower side is in another namespace.

func TestDecodeLinkNetNSID(t *testing.T) {
	for _, tc := range []struct {
		name string
		l    Link
	}{
		{"local veth", Link{Index: 3, Name: "ve0", Kind: "veth", MTU: 1500, ParentIndex: 4, Data: Veth{}}},
		{"peer in nsid 0", Link{Index: 3, Name: "ve0", Kind: "veth", MTU: 1500, ParentIndex: 2,
			ParentElsewhere: true, ParentNamespaceID: 0, Data: Veth{}}},
		{"peer in nsid 7", Link{Index: 3, Name: "ve0", Kind: "veth", MTU: 1500, ParentIndex: 9,
			ParentElsewhere: true, ParentNamespaceID: 7, Data: Veth{}}},
		// The other namespace's index may equal this link's own.
		{"peer index equals own", Link{Index: 2, Name: "ve0", Kind: "veth", MTU: 1500, ParentIndex: 2,
			ParentElsewhere: true, ParentNamespaceID: 1, Data: Veth{}}},
		{"id not assigned", Link{Index: 5, Name: "mv0", Kind: "macvlan", MTU: 1500, ParentIndex: 2,
			ParentElsewhere: true, ParentNamespaceID: -1, Data: Macvlan{Mode: MacvlanBridge}}},
	} {
		got, err := DecodeLink(testEncodeLink(tc.l, nil))
		if err != nil || !reflect.DeepEqual(got, tc.l) {
			t.Errorf("%s: DecodeLink = %#v, %v; want %#v", tc.name, got, err, tc.l)
		}
	}

	// The attribute alone, with the kernel's bytes for -1.
	var e encoder
	e.begin(unix.RTM_NEWLINK, 0)
	e.fixed(ifinfomsg{Family: unix.AF_UNSPEC, Index: 4}.bytes())
	e.str(unix.IFLA_IFNAME, "vx0")
	e.attr(unix.IFLA_LINK_NETNSID, []byte{0xff, 0xff, 0xff, 0xff})
	got, err := DecodeLink(payload(&e))
	if err != nil || !got.ParentElsewhere || got.ParentNamespaceID != -1 || got.ParentIndex != 0 {
		t.Errorf("IFLA_LINK_NETNSID 0xffffffff: got elsewhere=%v nsid=%d parent=%d, %v; want true -1 0",
			got.ParentElsewhere, got.ParentNamespaceID, got.ParentIndex, err)
	}

	// Without the attribute a link equal to its own IFLA_LINK still has no
	// parent, and the zero Link is "same namespace".
	self, err := DecodeLink(testEncodeLink(Link{Index: 2, Name: "eth0", ParentIndex: 2}, nil))
	if err != nil || self.ParentIndex != 0 || self.ParentElsewhere || self.ParentNamespaceID != 0 {
		t.Errorf("IFLA_LINK == index, no nsid: got parent=%d elsewhere=%v nsid=%d, %v; want 0 false 0",
			self.ParentIndex, self.ParentElsewhere, self.ParentNamespaceID, err)
	}

	// A short attribute is an error naming the link, not a guessed id.
	var s encoder
	s.begin(unix.RTM_NEWLINK, 0)
	s.fixed(ifinfomsg{Family: unix.AF_UNSPEC, Index: 6}.bytes())
	s.u16(unix.IFLA_LINK_NETNSID, 3)
	if _, err := DecodeLink(payload(&s)); err == nil || !strings.Contains(err.Error(), "link 6: attribute 37: want 4 bytes, got 2 bytes") {
		t.Errorf("2-byte IFLA_LINK_NETNSID: err = %v", err)
	}
}
