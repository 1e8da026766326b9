package reconcile_test

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/linx-net/linx/diff"
	"github.com/linx-net/linx/internal/nstest"
	"github.com/linx-net/linx/reconcile"
	"github.com/linx-net/linx/rtnl"
)

// ipRoute is a route as `ip -N -j route show` prints it (ns.JSON runs
// ip -N -j).
type ipRoute struct {
	Dst      string `json:"dst"`
	Gateway  string `json:"gateway"`
	Protocol string `json:"protocol"`
}

// ipRoutes returns the IPv4 routes of table main by destination.
func ipRoutes(ns *nstest.NS) map[string]ipRoute {
	var out []ipRoute
	ns.JSON(&out, "route", "show", "table", "main")
	m := make(map[string]ipRoute, len(out))
	for _, r := range out {
		m[r.Dst] = r
	}
	return m
}

// routesNS returns a namespace whose up veth r0 has 10.0.0.1/24, so that
// 10.0.0.2 and 10.0.0.3 are on-link gateways.
func routesNS(t *testing.T) (*nstest.NS, *rtnl.Socket) {
	t.Helper()
	ns := nstest.New(t)
	s := ns.Open()
	for _, err := range []error{
		s.CreateVeth("r0", "r1"), s.LinkSetUp("r0"), s.LinkSetUp("r1"),
		s.AddressAdd("r0", netip.MustParsePrefix("10.0.0.1/24")),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	return ns, s
}

// TestOwnProtocolAndOverrides checks a pass owning protocol 90 with one
// route overridden to 91: the kernel holds each route with its protocol,
// routes of those protocols that are not desired are deleted, and routes
// of any other protocol (the pass's default 76 among them) are left alone.
func TestOwnProtocolAndOverrides(t *testing.T) {
	ns, s := routesNS(t)
	ns.IP("route", "add", "10.9.0.0/24", "via", "10.0.0.2", "proto", "90") // ours, stale
	ns.IP("route", "add", "10.9.1.0/24", "via", "10.0.0.2", "proto", "91") // ours (override), stale
	ns.IP("route", "add", "10.9.2.0/24", "via", "10.0.0.2", "proto", "76") // another owner's
	ns.IP("route", "add", "10.9.3.0/24", "via", "10.0.0.2", "proto", "static")

	d := reconcile.Desired{Routes: []reconcile.Route{
		{Dst: netip.MustParsePrefix("10.8.0.0/24"), Via: netip.MustParseAddr("10.0.0.2")},
		{Dst: netip.MustParsePrefix("10.8.1.0/24"), Via: netip.MustParseAddr("10.0.0.2"), Protocol: 91},
	}}
	// A fresh ledger has claimed neither protocol: the pass is refused,
	// naming the routes, until it is told to adopt them.
	opts := reconcile.Options{Protocol: 90}
	_, err := reconcile.Pass(s, d, reconcile.NewLedger(), opts)
	var ce *reconcile.ClaimError
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "10.9.0.0/24") || !strings.Contains(err.Error(), "10.9.1.0/24") {
		t.Fatalf("pass claiming protocols 90 and 91 = %v, want *ClaimError naming their routes", err)
	}
	opts.AdoptProtocol = true
	r, err := reconcile.Pass(s, d, reconcile.NewLedger(), opts)
	if err != nil || !r.Converged || len(r.Conflicts) != 0 {
		t.Fatalf("pass: err=%v converged=%v conflicts=%v applied=%v", err, r.Converged, r.Conflicts, r.Applied)
	}
	got := ipRoutes(ns)
	for dst, proto := range map[string]string{
		"10.8.0.0/24": "90", "10.8.1.0/24": "91", "10.9.2.0/24": "76", "10.9.3.0/24": "4",
	} {
		if got[dst].Protocol != proto || got[dst].Gateway != "10.0.0.2" {
			t.Errorf("route %s: ip reports %+v; want via 10.0.0.2 proto %s", dst, got[dst], proto)
		}
	}
	for _, dst := range []string{"10.9.0.0/24", "10.9.1.0/24"} {
		if rt, ok := got[dst]; ok {
			t.Errorf("stale route %s of an owned protocol outlived the pass: %+v", dst, rt)
		}
	}
	if r, err := reconcile.Pass(s, d, reconcile.NewLedger(), opts); err != nil || len(r.Applied) != 0 {
		t.Fatalf("second pass: err=%v applied=%v", err, r.Applied)
	}
}

// TestGatewayChangeIsReplacedInPlace checks that a desired route whose
// gateway changed is one update, sent as a replace: the kernel then holds
// the route once, with the new gateway, and nothing was deleted.
func TestGatewayChangeIsReplacedInPlace(t *testing.T) {
	ns, s := routesNS(t)
	l := reconcile.NewLedger()
	route := func(gw string) reconcile.Desired {
		return reconcile.Desired{Routes: []reconcile.Route{
			{Dst: netip.MustParsePrefix("10.8.0.0/24"), Via: netip.MustParseAddr(gw)},
		}}
	}
	mustPass(t, s, route("10.0.0.2"), l)
	r := mustPass(t, s, route("10.0.0.3"), l)
	if len(r.Applied) != 1 || r.Applied[0].Action != diff.Update || r.Applied[0].Kind != diff.KindRoute {
		t.Fatalf("applied %v; want one route update", r.Applied)
	}
	var out []ipRoute
	ns.JSON(&out, "route", "show", "10.8.0.0/24")
	if len(out) != 1 || out[0].Gateway != "10.0.0.3" || out[0].Protocol != "76" {
		t.Fatalf("ip reports %+v; want the route once, via 10.0.0.3, proto 76", out)
	}
}
