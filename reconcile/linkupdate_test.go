package reconcile_test

import (
	"strings"
	"testing"

	"github.com/linx-net/linx/internal/nstest"
	"github.com/linx-net/linx/reconcile"
)

// TestLinkUpdateSendsOnlyChanges checks that bringing a bridge up sends
// only that: a bridge given its own MTU or address (even the values it
// has) stops following its ports', which the kernel records as set by
// the user. After the update, a port with a lower address and a smaller
// MTU joins, and the bridge must take both, as with `ip link set up`.
func TestLinkUpdateSendsOnlyChanges(t *testing.T) {
	ns := nstest.New(t)
	s := ns.Open()
	l := reconcile.NewLedger()
	bridge := func(state reconcile.LinkState) reconcile.Desired {
		return reconcile.Desired{Links: []reconcile.Link{{Name: "br0", Kind: "bridge", State: state}}}
	}
	mustPass(t, s, bridge(reconcile.LinkStateDown), l)
	r := mustPass(t, s, bridge(reconcile.LinkStateUp), l)
	if len(r.Applied) != 1 {
		t.Fatalf("applied %v; want one link update", r.Applied)
	}
	if got := strings.TrimSpace(ns.Exec("cat", "/sys/class/net/br0/addr_assign_type")); got == "3" {
		t.Fatal("br0's address is marked set by the user (addr_assign_type 3) after an update that only brought it up")
	}

	ns.IP("link", "add", "p0", "address", "02:00:00:00:00:01", "mtu", "1400", "type", "veth", "peer", "name", "p1")
	ns.IP("link", "set", "p0", "master", "br0")
	var out []struct {
		Address string `json:"address"`
		MTU     int    `json:"mtu"`
	}
	ns.JSON(&out, "link", "show", "br0")
	if len(out) != 1 || out[0].Address != "02:00:00:00:00:01" || out[0].MTU != 1400 {
		t.Fatalf("br0 after a port joined: %+v; want the port's address 02:00:00:00:00:01 and MTU 1400", out)
	}
}
