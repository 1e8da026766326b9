package rtnl_test

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/linx-net/linx/internal/nstest"
	"github.com/linx-net/linx/rtnl"
)

// bRoute is route i of a test batch: 10.(i/256).(i%256).0/24 shifted into
// 20.0.0.0/8, via 10.0.0.2 with protocol 76.
func bRoute(i int) rtnl.Route {
	return rtnl.Route{
		Dst:      netip.PrefixFrom(netip.AddrFrom4([4]byte{20, byte(i >> 8), byte(i), 0}), 24),
		Gateway:  netip.MustParseAddr("10.0.0.2"),
		Protocol: rtnl.DefaultProtocol,
	}
}

// bOwnRoutes returns the destinations of the protocol-76 routes.
func bOwnRoutes(t *testing.T, ns *nstest.NS) map[string]bool {
	t.Helper()
	m := map[string]bool{}
	for _, r := range wRoutes(t, ns, "proto", "76") {
		m[r.Dst] = true
	}
	return m
}

func bBatchError(t *testing.T, err error) *rtnl.BatchError {
	t.Helper()
	var be *rtnl.BatchError
	if !errors.As(err, &be) {
		t.Fatalf("Apply = %v (%T), want *rtnl.BatchError", err, err)
	}
	return be
}

type bWant struct {
	index int
	errno unix.Errno
}

func bCheckFailures(t *testing.T, be *rtnl.BatchError, want []bWant) {
	t.Helper()
	var got []bWant
	for _, f := range be.Failures {
		got = append(got, bWant{f.Index, f.Err.Errno})
		if f.Op != f.Err.Op || f.Op == "" {
			t.Errorf("failure %d: Op %q, Err.Op %q", f.Index, f.Op, f.Err.Op)
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("failures = %v, want %v (%v)", got, want, be)
	}
}

func TestBatchReportsExactlyTheFailingEntries(t *testing.T) {
	ns, s, _ := wRoutedNS(t)
	// Entry 5's route exists already (as static, so not counted below).
	pre := bRoute(5)
	pre.Protocol = rtnl.ProtocolStatic
	wMust(t, s.RouteAdd(pre))

	var b rtnl.Batch
	for i := range 3000 {
		r := bRoute(i)
		switch i {
		case 17:
			r.Gateway, r.OIF = netip.Addr{}, 9999 // no such interface
		case 42:
			r.Gateway = netip.MustParseAddr("fd00::2") // wrong family: refused before sending
		case 2500:
			r.Gateway = netip.MustParseAddr("192.0.2.1") // not on-link
		}
		b.RouteAdd(r)
	}
	if b.Len() != 3000 {
		t.Fatalf("Len = %d", b.Len())
	}
	be := bBatchError(t, s.Apply(&b))
	bCheckFailures(t, be, []bWant{{5, unix.EEXIST}, {17, unix.ENODEV}, {42, unix.EINVAL}, {2500, unix.ENETUNREACH}})
	if be.Done != 3000 || be.Len != 3000 {
		t.Fatalf("Done = %d, Len = %d", be.Done, be.Len)
	}
	if be.Failures[0].Op != "route add" {
		t.Errorf("Op = %q", be.Failures[0].Op)
	}
	if !errors.Is(be, unix.EEXIST) || !errors.Is(be, unix.ENETUNREACH) || errors.Is(be, unix.EPERM) {
		t.Error("errors.Is does not see the failures' errnos")
	}
	own := bOwnRoutes(t, ns)
	if len(own) != 2996 {
		t.Fatalf("%d routes installed, want 2996", len(own))
	}
	for _, i := range []int{5, 17, 42, 2500} {
		if own[bRoute(i).Dst.String()] {
			t.Errorf("failed entry %d installed", i)
		}
	}

	// Applying the same batch again: every valid entry now exists.
	be = bBatchError(t, s.Apply(&b))
	if len(be.Failures) != 3000 {
		t.Fatalf("second apply: %d failures, want 3000", len(be.Failures))
	}

	// Deleting through a batch; deleting what is gone reports ESRCH.
	b.Reset()
	if b.Len() != 0 {
		t.Fatal("Reset left entries")
	}
	for i := range 3000 {
		b.RouteDelete(bRoute(i))
	}
	be = bBatchError(t, s.Apply(&b))
	var want []bWant
	for _, i := range []int{5, 17, 42, 2500} {
		want = append(want, bWant{i, unix.ESRCH})
	}
	bCheckFailures(t, be, want)
	if own := bOwnRoutes(t, ns); len(own) != 0 {
		t.Fatalf("%d routes left after the delete batch", len(own))
	}
}

func TestBatchStopOnError(t *testing.T) {
	ns, s, _ := wRoutedNS(t)
	wMust(t, s.RouteAdd(bRoute(10)))
	var b rtnl.Batch
	for i := range 300 {
		b.RouteAdd(bRoute(i))
	}
	be := bBatchError(t, s.ApplyWith(&b, rtnl.ApplyOptions{StopOnError: true}))
	bCheckFailures(t, be, []bWant{{10, unix.EEXIST}})
	// The failing entry's datagram (entries 0-63) was sent; nothing after.
	if be.Done != 64 {
		t.Fatalf("Done = %d, want 64", be.Done)
	}
	own := bOwnRoutes(t, ns)
	for i := range 300 {
		if want := i < 64; own[bRoute(i).Dst.String()] != want {
			t.Fatalf("route %d installed = %v, want %v", i, !want, want)
		}
	}

	// A validation failure stops before anything after it is sent.
	ns.IP("route", "flush", "proto", "76")
	b.Reset()
	for i := range 300 {
		r := bRoute(i)
		if i == 100 {
			r.Gateway = netip.MustParseAddr("fd00::1")
		}
		b.RouteAdd(r)
	}
	be = bBatchError(t, s.ApplyWith(&b, rtnl.ApplyOptions{StopOnError: true}))
	bCheckFailures(t, be, []bWant{{100, unix.EINVAL}})
	if be.Done != 101 {
		t.Fatalf("Done = %d, want 101", be.Done)
	}
	if n := len(bOwnRoutes(t, ns)); n != 100 {
		t.Fatalf("%d routes installed, want 100", n)
	}
}

func TestBatchEveryVerb(t *testing.T) {
	ns := nstest.New(t)
	s := ns.Open()
	var b rtnl.Batch
	b.LinkAdd(rtnl.Link{Name: "bv0", Data: rtnl.Veth{Peer: "bv1"}})
	b.LinkAdd(rtnl.Link{Name: "bbr0", Kind: "bridge"})
	b.LinkAdd(rtnl.Link{Name: "bv2", Data: rtnl.Veth{Peer: "bv3", PeerNamespace: rtnl.NamespaceOfPID(1)}})
	b.LinkAdd(rtnl.Link{Name: "bd0", Kind: "dummy"})
	be := bBatchError(t, s.Apply(&b))
	bCheckFailures(t, be, []bWant{{2, unix.EINVAL}, {3, unix.EOPNOTSUPP}})
	if !wLinkExists(ns, "bv0") || !wLinkExists(ns, "bbr0") {
		t.Fatal("links of the batch missing")
	}
	v0, err := s.LinkByName("bv0")
	wMust(t, err)
	v1, err := s.LinkByName("bv1")
	wMust(t, err)
	br, err := s.LinkByName("bbr0")
	wMust(t, err)

	mac := net.HardwareAddr{0x02, 0, 0, 0, 0, 0x33}
	gw := netip.MustParseAddr("10.0.0.2")
	route := rtnl.Route{Dst: netip.MustParsePrefix("10.70.0.0/16"), Gateway: gw, Table: 300, Protocol: rtnl.DefaultProtocol}
	rule := rtnl.Rule{From: netip.MustParsePrefix("10.0.0.0/24"), Table: 300, Priority: 1000}
	b.Reset()
	b.LinkModify(rtnl.Link{Index: v0.Index, MTU: 1400, Flags: net.FlagUp})
	b.LinkModify(rtnl.Link{Index: v1.Index, MasterIndex: br.Index, Flags: net.FlagUp})
	b.AddressAdd(rtnl.Address{Index: v0.Index, Prefix: netip.MustParsePrefix("10.0.0.1/24")})
	b.AddressReplace(rtnl.Address{Index: v0.Index, Prefix: netip.MustParsePrefix("10.0.1.1/24")})
	b.NeighbourAdd(rtnl.Neighbour{Index: v0.Index, IP: netip.MustParseAddr("10.0.0.7"), HardwareAddr: mac})
	b.NeighbourReplace(rtnl.Neighbour{Index: v0.Index, IP: netip.MustParseAddr("10.0.0.8"), HardwareAddr: mac, State: rtnl.NeighReachable})
	b.RouteAdd(route)
	b.RouteReplace(rtnl.Route{Dst: netip.MustParsePrefix("10.71.0.0/16"), Gateway: gw, Protocol: rtnl.DefaultProtocol})
	b.RuleAdd(rule)
	wMust(t, s.Apply(&b))

	l := wShowLink(t, ns, "bv0")
	if l.MTU != 1400 || !l.up() {
		t.Errorf("bv0 = %+v", l)
	}
	if l := wShowLink(t, ns, "bv1"); l.Master != "bbr0" || !l.up() {
		t.Errorf("bv1 = %+v", l)
	}
	if a := wAddrsOf(t, ns, "bv0"); !slices.Contains(a, "10.0.0.1/24") || !slices.Contains(a, "10.0.1.1/24") {
		t.Errorf("addresses = %v", a)
	}
	n := wNeighs(t, ns, "bv0")
	if n["10.0.0.7"].LLAddr != mac.String() || !slices.Equal(n["10.0.0.8"].State, []string{"REACHABLE"}) {
		t.Errorf("neighbours = %+v", n)
	}
	if _, ok := wFindRoute(wRoutes(t, ns, "table", "300"), "10.70.0.0/16"); !ok {
		t.Error("route in table 300 missing")
	}
	if _, ok := wFindRoute(wRoutes(t, ns), "10.71.0.0/16"); !ok {
		t.Error("replaced route missing")
	}
	if !slices.ContainsFunc(wRules(t, ns, "-4"), func(r wIpRule) bool { return r.Priority == 1000 && r.Table == "300" }) {
		t.Error("rule missing")
	}

	// Undo everything in one batch, deletes first.
	b.Reset()
	b.RuleDelete(rule)
	b.RouteDelete(route)
	b.RouteDelete(rtnl.Route{Dst: netip.MustParsePrefix("10.71.0.0/16")})
	b.NeighbourDelete(rtnl.Neighbour{Index: v0.Index, IP: netip.MustParseAddr("10.0.0.7")})
	b.AddressDelete(rtnl.Address{Index: v0.Index, Prefix: netip.MustParsePrefix("10.0.1.1/24")})
	b.LinkDelete(v0.Index)
	b.LinkDelete(br.Index)
	b.LinkDelete(0)
	be = bBatchError(t, s.Apply(&b))
	bCheckFailures(t, be, []bWant{{7, unix.EINVAL}})
	if wLinkExists(ns, "bv0") || wLinkExists(ns, "bbr0") {
		t.Fatal("links not deleted")
	}
	if len(wRoutes(t, ns, "table", "300")) != 0 {
		t.Fatal("table 300 not empty")
	}
	if slices.ContainsFunc(wRules(t, ns, "-4"), func(r wIpRule) bool { return r.Priority == 1000 }) {
		t.Fatal("rule not deleted")
	}
}

func TestBatchEmptyAndInvalidOnly(t *testing.T) {
	ns := nstest.New(t)
	s := ns.Open()
	var b rtnl.Batch
	wMust(t, s.Apply(&b))
	b.RouteAdd(rtnl.Route{})
	b.AddressAdd(rtnl.Address{Index: 1, Prefix: netip.PrefixFrom(netip.MustParseAddr("10.0.0.1"), 40)})
	b.RuleAdd(rtnl.Rule{FwMark: 1})
	be := bBatchError(t, s.Apply(&b))
	bCheckFailures(t, be, []bWant{{0, unix.EINVAL}, {1, unix.EINVAL}, {2, unix.EINVAL}})
	if be.Failures[2].Err.Message != "rule needs a table" || be.Failures[2].Op != "rule add" {
		t.Errorf("rule failure = %+v", be.Failures[2])
	}
	if got := be.Error(); got != fmt.Sprintf("batch: 3 of 3 entries failed; first #0 route add: %v", be.Failures[0].Err) {
		t.Errorf("Error() = %q", got)
	}
	// The socket still works for single requests afterwards.
	if _, err := s.LinkByName("lo"); err != nil {
		t.Fatal(err)
	}
}
