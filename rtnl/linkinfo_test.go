package rtnl

import (
	"errors"
	"os"
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

// A non-positive pid or an empty path never falls back to the host.
func TestNamespaceNeverDefaultsToHost(t *testing.T) {
	for _, ns := range []Namespace{NamespaceOfPID(0), NamespaceOfPID(-3), NamespaceAt("")} {
		if ns.IsHost() {
			t.Errorf("%v is the host", ns)
		}
		if _, err := Open(ns); err == nil || !errors.Is(err, unix.EINVAL) {
			t.Errorf("Open(%v) = %v, want EINVAL", ns, err)
		}
	}
	if got := NamespaceOfPID(0).String(); got != "pid:0" {
		t.Errorf("String = %q", got)
	}
}

// A panic inside Run comes back as an error instead of ending the process.
func TestRunRecoversPanic(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("SKIPPED: entering a namespace needs root")
	}
	err := NamespaceAt(hostNamespacePath).Run(func() error { panic("boom") })
	if err == nil || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("Run = %v, want the panic as an error", err)
	}
}
