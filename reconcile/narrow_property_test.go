package reconcile_test

import (
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"pgregory.net/rapid"

	"github.com/linx-net/linx/diff"
	"github.com/linx-net/linx/reconcile"
	"github.com/linx-net/linx/reconcile/fakekernel"
	"github.com/linx-net/linx/rtnl"
)

// foreignProto is another writer's route protocol (bird's).
const foreignProto rtnl.Protocol = 12

// monitored is a fake kernel with a monitor: after each step it feeds a
// journal with what changed, as the kernel's events would say it, except
// for the routes the kernel flushes without a message (a link going down,
// an address deleted), which a silent step leaves out.
type monitored struct {
	*fakekernel.Kernel
	j reconcile.Journal
}

type kernelView struct {
	links  []rtnl.Link
	addrs  []rtnl.Address
	routes []rtnl.Route
}

func snap(t *rapid.T, k *fakekernel.Kernel) kernelView {
	links, err := k.Links()
	if err != nil {
		t.Fatal(err)
	}
	addrs, err := k.Addresses()
	if err != nil {
		t.Fatal(err)
	}
	routes, err := k.RoutesFiltered(rtnl.RouteFilter{})
	if err != nil {
		t.Fatal(err)
	}
	return kernelView{links, addrs, routes}
}

// step runs fn and journals what it changed; silent leaves the route
// changes out.
func (m *monitored) step(t *rapid.T, silent bool, fn func()) {
	before := snap(t, m.Kernel)
	fn()
	after := snap(t, m.Kernel)
	for _, l := range after.links {
		i := slices.IndexFunc(before.links, func(x rtnl.Link) bool { return x.Index == l.Index })
		if i < 0 || before.links[i].Flags != l.Flags || before.links[i].MTU != l.MTU || before.links[i].MasterIndex != l.MasterIndex {
			m.j.Link(l, false)
		}
	}
	for _, l := range before.links {
		if !slices.ContainsFunc(after.links, func(x rtnl.Link) bool { return x.Index == l.Index }) {
			m.j.Link(l, true)
		}
	}
	for _, a := range after.addrs {
		if !slices.ContainsFunc(before.addrs, func(x rtnl.Address) bool { return x.Index == a.Index && x.Prefix == a.Prefix }) {
			m.j.Address(a, false)
		}
	}
	for _, a := range before.addrs {
		if !slices.ContainsFunc(after.addrs, func(x rtnl.Address) bool { return x.Index == a.Index && x.Prefix == a.Prefix }) {
			m.j.Address(a, true)
		}
	}
	if silent {
		return
	}
	for _, r := range after.routes {
		if !slices.ContainsFunc(before.routes, func(x rtnl.Route) bool { return x.String() == r.String() }) {
			m.j.Route(r, false)
		}
	}
	for _, r := range before.routes {
		k := diff.KeyOfRoute(r)
		if !slices.ContainsFunc(after.routes, func(x rtnl.Route) bool { return diff.KeyOfRoute(x) == k }) {
			m.j.Route(r, true)
		}
	}
}

func apply(k reconcile.Kernel, fn func(b *rtnl.Batch)) {
	var b rtnl.Batch
	fn(&b)
	_ = k.ApplyWith(&b, rtnl.ApplyOptions{}) // refusals are part of the game
}

// state is the kernel's state as text, for comparison.
func state(t *rapid.T, k *fakekernel.Kernel) string {
	s := snap(t, k)
	var lines []string
	for _, l := range s.links {
		lines = append(lines, fmt.Sprintf("link %d %s up=%v", l.Index, l.Name, l.Flags&net.FlagUp != 0))
	}
	for _, a := range s.addrs {
		lines = append(lines, fmt.Sprintf("addr %d %s", a.Index, a.Prefix))
	}
	for _, r := range s.routes {
		lines = append(lines, "route "+r.String()+" proto="+r.Protocol.String())
	}
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}

// foreign returns what a narrowed pass must never change: the routes of
// another protocol, and the addresses the scope does not desire.
func foreign(t *rapid.T, k *fakekernel.Kernel, d reconcile.Desired) string {
	s := snap(t, k)
	var lines []string
	for _, r := range s.routes {
		// The kernel's own prefix routes come and go with the addresses
		// they follow: a pass that puts an address back brings its route.
		if r.Protocol != rtnl.DefaultProtocol && r.Protocol != rtnl.ProtocolKernel {
			lines = append(lines, r.String()+" proto="+r.Protocol.String())
		}
	}
	for _, a := range s.addrs {
		if !slices.ContainsFunc(d.Addresses, func(x reconcile.Address) bool { return x.Prefix == a.Prefix }) {
			lines = append(lines, fmt.Sprintf("addr %d %s", a.Index, a.Prefix))
		}
	}
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}

// Random sequences of kernel edits, by another writer and on the scope's
// own objects (routes deleted, added, replaced by another protocol,
// addresses removed, links taken down), interleaved with narrowed and
// full passes, end each pass in the state a full pass alone reaches from
// the same kernel state; a narrowed pass never changes another writer's
// objects. Two fake kernels take the same edits: one is converged by the
// passes drawn, the other by full passes only.
func TestPropertyNarrowedPassesMatchFullPasses(t *testing.T) {
	var narrowedTotal int
	rapid.Check(t, func(t *rapid.T) {
		id := rtnl.NamespaceID{Dev: 1, Inode: 7}
		a := &monitored{Kernel: fakekernel.New(rtnl.Host(), id)}
		b := fakekernel.New(rtnl.Host(), id)
		d := genNarrowDesired(t)
		v, err := d.Validated()
		if err != nil {
			t.Fatalf("desired: %v", err)
		}
		la, lb := reconcile.NewLedger(), reconcile.NewLedger()
		var n reconcile.Narrowing
		o := reconcile.Options{}
		a.step(t, false, func() {
			a.j.Take()
			if _, err := n.Full(a, v, la, o); err != nil {
				t.Fatalf("first pass: %v", err)
			}
		})
		if _, err := reconcile.PassValidated(b, v, lb, o); err != nil {
			t.Fatalf("first pass: %v", err)
		}
		if sa, sb := state(t, a.Kernel), state(t, b); sa != sb {
			t.Fatalf("first passes differ:\n%s\n---\n%s", sa, sb)
		}
		narrowed := 0
		for i := range rapid.IntRange(1, 25).Draw(t, "steps") {
			both := func(silent bool, fn func(k reconcile.Kernel)) {
				a.step(t, silent, func() { fn(a) })
				fn(b)
			}
			route := genEditRoute(t)
			switch rapid.IntRange(0, 10).Draw(t, fmt.Sprintf("edit %d", i)) {
			case 10: // a new desired state: the next pass must be full
				d = genNarrowDesired(t)
				if v, err = d.Validated(); err != nil {
					t.Fatalf("desired: %v", err)
				}
			case 0: // a route deleted by hand, whoever's
				both(false, func(k reconcile.Kernel) { apply(k, func(b *rtnl.Batch) { b.RouteDelete(route) }) })
			case 1: // another writer replaces the route at a key
				route.Protocol = foreignProto
				both(false, func(k reconcile.Kernel) { apply(k, func(b *rtnl.Batch) { b.RouteReplace(route) }) })
			case 2: // another writer adds a route, if the key is free
				route.Protocol = foreignProto
				both(false, func(k reconcile.Kernel) { apply(k, func(b *rtnl.Batch) { b.RouteAdd(route) }) })
			case 3: // a route of the scope's protocol changed or added by hand
				route.Protocol = rtnl.DefaultProtocol
				both(false, func(k reconcile.Kernel) { apply(k, func(b *rtnl.Batch) { b.RouteReplace(route) }) })
			case 4: // an address removed: the kernel may flush routes silently
				addr := rapid.SampledFrom(narrowAddrs).Draw(t, "addr")
				both(true, func(k reconcile.Kernel) {
					apply(k, func(b *rtnl.Batch) {
						b.AddressDelete(rtnl.Address{Index: linkIndex(t, k, addr.Link), Prefix: addr.Prefix})
					})
				})
			case 5: // another writer's address added
				addr := rapid.SampledFrom(narrowAddrs).Draw(t, "addr")
				p := netip.PrefixFrom(addr.Prefix.Addr().Next().Next(), addr.Prefix.Bits())
				both(false, func(k reconcile.Kernel) {
					apply(k, func(b *rtnl.Batch) { b.AddressAdd(rtnl.Address{Index: linkIndex(t, k, addr.Link), Prefix: p}) })
				})
			case 6: // a link taken down: the kernel flushes its routes silently
				name := rapid.SampledFrom([]string{"ve0", "ve1"}).Draw(t, "link")
				both(true, func(k reconcile.Kernel) {
					idx := linkIndex(t, k, name)
					apply(k, func(b *rtnl.Batch) { b.LinkModify(rtnl.Link{Index: idx}) })
					// The flush the fake kernel leaves out.
					routes, _ := k.RoutesFiltered(rtnl.RouteFilter{OIF: idx})
					apply(k, func(b *rtnl.Batch) {
						for _, r := range routes {
							b.RouteDelete(r)
						}
					})
				})
			default: // a pass: narrowed or full on a, full on b
				full := rapid.Bool().Draw(t, "full")
				var rep reconcile.Report
				before := foreign(t, a.Kernel, d)
				a.step(t, false, func() {
					j := a.j.Take()
					if full {
						rep, err = n.Full(a, v, la, o)
					} else {
						rep, err = n.Pass(a, v, la, o, &j)
					}
				})
				if err != nil {
					t.Fatalf("pass on a (full %v): %v", full, err)
				}
				if rep.Narrowed {
					narrowed++
					if after := foreign(t, a.Kernel, d); after != before {
						t.Fatalf("a narrowed pass changed another writer's objects:\nbefore:\n%s\nafter:\n%s\napplied: %v", before, after, rep.Applied)
					}
				}
				repB, err := reconcile.PassValidated(b, v, lb, o)
				if err != nil {
					t.Fatalf("pass on b: %v", err)
				}
				if sa, sb := state(t, a.Kernel), state(t, b); sa != sb {
					t.Fatalf("after a pass (narrowed %v) the kernels differ:\n%s\n--- full passes only:\n%s\napplied: %v\nfull applied: %v",
						rep.Narrowed, sa, sb, rep.Applied, repB.Applied)
				}
				if len(rep.Conflicts) != len(repB.Conflicts) {
					t.Fatalf("conflicts differ (narrowed %v): %v\nfull: %v", rep.Narrowed, rep.Conflicts, repB.Conflicts)
				}
			}
		}
		narrowedTotal += narrowed
	})
	// The property says nothing if the passes drawn never stay narrowed.
	if narrowedTotal == 0 {
		t.Fatal("no pass stayed narrowed")
	}
	t.Logf("narrowed passes: %d", narrowedTotal)
}

// narrowAddrs are the addresses genNarrowDesired desires; each link has a
// second one, so that deleting one may or may not be the last.
var narrowAddrs = []reconcile.Address{
	{Link: "ve0", Prefix: netip.MustParsePrefix("10.0.0.1/24")},
	{Link: "ve1", Prefix: netip.MustParsePrefix("10.1.0.1/24")},
	{Link: "ve1", Prefix: netip.MustParsePrefix("10.1.1.1/24")},
	{Link: "ve1", Prefix: netip.MustParsePrefix("fd01::1/64")},
}

func genNarrowDesired(t *rapid.T) reconcile.Desired {
	d := reconcile.Desired{
		Links: []reconcile.Link{
			{Name: "ve0", Kind: "veth", Data: rtnl.Veth{Peer: "vp0"}, State: reconcile.LinkStateUp},
			{Name: "ve1", Kind: "veth", Data: rtnl.Veth{Peer: "vp1"}, State: reconcile.LinkStateUp},
		},
		Addresses: narrowAddrs,
	}
	seen := map[string]bool{}
	for range rapid.IntRange(0, 10).Draw(t, "routes") {
		r := genEditRouteDesired(t)
		k := desiredKeyText(r)
		if seen[k] {
			continue
		}
		seen[k] = true
		d.Routes = append(d.Routes, r)
	}
	return d
}

func desiredKeyText(r reconcile.Route) string { return fmt.Sprint(r.Dst, r.Table, r.Metric) }

// genEditRouteDesired draws a desired route among a few keys.
func genEditRouteDesired(t *rapid.T) reconcile.Route {
	r := reconcile.Route{
		Dst:    netip.MustParsePrefix(fmt.Sprintf("172.16.%d.0/24", rapid.IntRange(0, 5).Draw(t, "dst"))),
		Metric: rapid.SampledFrom([]uint32{0, 10}).Draw(t, "metric"),
	}
	switch rapid.IntRange(0, 3).Draw(t, "via") {
	case 0:
		r.Type = rtnl.RouteTypeBlackhole
	case 1:
		r.Dev = "ve0"
	case 2:
		r.Dev = "ve1"
	case 3:
		r.Dev, r.Src = "ve1", netip.MustParseAddr("10.1.1.1")
	}
	return r
}

// genEditRoute draws a route for another writer's edits, at the keys
// desired routes use and a few others.
func genEditRoute(t *rapid.T) rtnl.Route {
	r := rtnl.Route{
		Dst:    netip.MustParsePrefix(fmt.Sprintf("172.16.%d.0/24", rapid.IntRange(0, 7).Draw(t, "edit dst"))),
		Metric: rapid.SampledFrom([]uint32{0, 10}).Draw(t, "edit metric"),
		Type:   rtnl.RouteTypeBlackhole,
	}
	if rapid.Bool().Draw(t, "unreachable") {
		r.Type = rtnl.RouteTypeUnreachable
	}
	return r
}

func linkIndex(t *rapid.T, k reconcile.Kernel, name string) int {
	links, err := k.Links()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range links {
		if l.Name == name {
			return l.Index
		}
	}
	return 0
}
