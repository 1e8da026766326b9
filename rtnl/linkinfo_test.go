package rtnl

import (
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// A malformed kind settings block fails the decode instead of yielding a
// link with partial settings.
func TestDecodeLinkMalformedKindData(t *testing.T) {
	var e encoder
	e.begin(unix.RTM_NEWLINK, 0)
	e.fixed(ifinfomsg{Index: 7}.bytes())
	e.str(unix.IFLA_IFNAME, "vx0")
	e.nest(unix.IFLA_LINKINFO)
	e.str(unix.IFLA_INFO_KIND, "vxlan")
	e.nest(unix.IFLA_INFO_DATA)
	e.u16(unix.IFLA_VXLAN_ID, 42) // the kernel sends 4 bytes
	e.endNest()
	e.endNest()
	e.end()
	_, err := DecodeLink(e.message()[unix.NLMSG_HDRLEN:])
	if err == nil || !strings.Contains(err.Error(), "vxlan settings") {
		t.Fatalf("DecodeLink = %v, want a vxlan settings error", err)
	}
}
