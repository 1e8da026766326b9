package reconcile_test

import (
	"slices"
	"testing"

	"github.com/linx-net/linx/diff"
	"github.com/linx-net/linx/internal/nstest"
	"github.com/linx-net/linx/reconcile"
	"github.com/linx-net/linx/rtnl"
)

// ipUp reports whether `ip -j link show NAME` lists UP among the link's
// flags.
func ipUp(t *testing.T, ns *nstest.NS, name string) bool {
	t.Helper()
	var out []struct {
		Flags []string `json:"flags"`
	}
	ns.JSON(&out, "link", "show", "dev", name)
	if len(out) != 1 {
		t.Fatalf("ip -j link show %s: %d links", name, len(out))
	}
	return slices.Contains(out[0].Flags, "UP")
}

// TestLinkStateDown checks that a desired LinkStateDown takes an up link
// down in one pass, on a foreign link and on an owned one alike, that the
// next pass applies nothing, and that LinkStateAny then leaves a link
// brought up by hand up.
func TestLinkStateDown(t *testing.T) {
	ns := nstest.New(t)
	s := ns.Open()
	// A foreign veth pair, up.
	ns.IP("link", "add", "f0", "type", "veth", "peer", "name", "f1")
	ns.IP("link", "set", "f0", "up")
	l := reconcile.NewLedger()
	// An owned veth, created up.
	mustPass(t, s, reconcile.Desired{Links: []reconcile.Link{
		{Name: "o0", Kind: "veth", Data: rtnl.Veth{Peer: "o1"}, State: reconcile.LinkStateUp},
	}}, l)
	if !ipUp(t, ns, "f0") || !ipUp(t, ns, "o0") {
		t.Fatalf("setup: f0 up %v, o0 up %v", ipUp(t, ns, "f0"), ipUp(t, ns, "o0"))
	}

	down := reconcile.Desired{Links: []reconcile.Link{
		{Name: "f0", State: reconcile.LinkStateDown},
		{Name: "o0", Kind: "veth", Data: rtnl.Veth{Peer: "o1"}, State: reconcile.LinkStateDown},
	}}
	r := mustPass(t, s, down, l)
	if !r.Converged || len(r.Applied) != 2 {
		t.Fatalf("down pass: converged=%v applied=%v conflicts=%v", r.Converged, r.Applied, r.Conflicts)
	}
	for _, op := range r.Applied {
		if op.Action != diff.Update || op.Kind != diff.KindLink || op.Link.Up() {
			t.Errorf("down pass applied %v, want an update without UP", op)
		}
	}
	for _, n := range []string{"f0", "o0"} {
		if ipUp(t, ns, n) {
			t.Errorf("%s is still UP after the down pass", n)
		}
	}
	if r2 := mustPass(t, s, down, l); len(r2.Applied) != 0 || !r2.Converged {
		t.Fatalf("second pass applied %v (converged=%v, conflicts %v)", r2.Applied, r2.Converged, r2.Conflicts)
	}

	// Up by hand: a down link is taken down again; an "any" one stays up.
	ns.IP("link", "set", "f0", "up")
	ns.IP("link", "set", "o0", "up")
	down.Links[1].State = reconcile.LinkStateAny
	r = mustPass(t, s, down, l)
	if len(r.Applied) != 1 || r.Applied[0].Kind != diff.KindLink || r.Applied[0].Link.Name != "f0" {
		t.Fatalf("heal pass applied %v, want f0 taken down alone", r.Applied)
	}
	if ipUp(t, ns, "f0") || !ipUp(t, ns, "o0") {
		t.Errorf("after heal: f0 up %v (want false), o0 up %v (want true)", ipUp(t, ns, "f0"), ipUp(t, ns, "o0"))
	}
}

// TestLinkStateCreatedDown checks that a link created with LinkStateDown
// is created down and stays so.
func TestLinkStateCreatedDown(t *testing.T) {
	ns := nstest.New(t)
	s := ns.Open()
	l := reconcile.NewLedger()
	d := reconcile.Desired{Links: []reconcile.Link{{Name: "br0", Kind: "bridge", State: reconcile.LinkStateDown}}}
	if r := mustPass(t, s, d, l); len(r.Applied) != 1 || r.Applied[0].Action != diff.Create {
		t.Fatalf("first pass applied %v", r.Applied)
	}
	if ipUp(t, ns, "br0") {
		t.Errorf("br0 created UP")
	}
	if r := mustPass(t, s, d, l); len(r.Applied) != 0 {
		t.Fatalf("second pass applied %v", r.Applied)
	}
}

func TestLinkStateString(t *testing.T) {
	for s, want := range map[reconcile.LinkState]string{
		reconcile.LinkStateAny: "any", reconcile.LinkStateUp: "up", reconcile.LinkStateDown: "down", 7: "LinkState(7)",
	} {
		if got := s.String(); got != want {
			t.Errorf("LinkState(%d).String() = %q, want %q", uint8(s), got, want)
		}
	}
}

func TestValidateLinkState(t *testing.T) {
	got := problems(t, reconcile.Desired{Links: []reconcile.Link{{Name: "eth0", State: 3}}})
	want := []string{"links[0].state: unknown link state LinkState(3) (want any, up or down)"}
	if !slices.Equal(got, want) {
		t.Fatalf("problems: %q, want %q", got, want)
	}
}
