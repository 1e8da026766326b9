package diff

import (
	"fmt"
	"net"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/linx-net/linx/rtnl"
	"pgregory.net/rapid"
)

const modelProto = rtnl.DefaultProtocol

// model is an in-memory kernel with the kernel's key semantics: one object
// per key, creates of a held key and updates or deletes of a missing one
// fail, and a route op may not touch a route of another protocol (the
// property under test: the plan never overwrites a foreign route).
type model struct {
	links     map[LinkKey]rtnl.Link
	addrs     map[AddressKey]rtnl.Address
	routes    map[RouteKey]rtnl.Route
	neighs    map[NeighbourKey]rtnl.Neighbour
	rules     map[RuleKey]rtnl.Rule
	nextIndex int
}

func newModel(s State) *model {
	m := &model{
		links:  make(map[LinkKey]rtnl.Link),
		addrs:  make(map[AddressKey]rtnl.Address),
		routes: make(map[RouteKey]rtnl.Route),
		neighs: make(map[NeighbourKey]rtnl.Neighbour),
		rules:  make(map[RuleKey]rtnl.Rule),
	}
	for _, l := range s.Links {
		m.links[KeyOfLink(l)] = l
		m.nextIndex = max(m.nextIndex, l.Index+1)
	}
	for _, a := range s.Addresses {
		m.addrs[KeyOfAddress(a)] = a
	}
	for _, r := range s.Routes {
		m.routes[KeyOfRoute(r)] = r
	}
	for _, n := range s.Neighbours {
		m.neighs[KeyOfNeighbour(n)] = n
	}
	for _, r := range s.Rules {
		m.rules[KeyOfRule(r)] = r
	}
	return m
}

// apply applies one op as the kernel would, failing where the kernel (or
// the ownership contract) would refuse it.
func apply[K comparable, T any](objs map[K]T, a Action, k K, v T, what string) error {
	_, held := objs[k]
	switch a {
	case Create:
		if held {
			return fmt.Errorf("create %s: key %v exists", what, k)
		}
		objs[k] = v
	case Update:
		if !held {
			return fmt.Errorf("update %s: key %v missing", what, k)
		}
		objs[k] = v
	case Delete:
		if !held {
			return fmt.Errorf("delete %s: key %v missing", what, k)
		}
		delete(objs, k)
	default:
		return fmt.Errorf("op with action %v", a)
	}
	return nil
}

func (m *model) apply(op Op) error {
	switch op.Kind {
	case KindLink:
		l := *op.Link // a copy: the op is the plan's
		k := KeyOfLink(l)
		switch op.Action {
		case Create:
			l.Index = m.nextIndex
			m.nextIndex++
		case Update, Delete:
			if o, ok := m.links[k]; ok && o.Index != l.Index {
				return fmt.Errorf("%v: index %d, the kernel's is %d", op, l.Index, o.Index)
			}
		}
		return apply(m.links, op.Action, k, l, "link")
	case KindAddress:
		return apply(m.addrs, op.Action, KeyOfAddress(*op.Address), *op.Address, "address")
	case KindRoute:
		k := KeyOfRoute(*op.Route)
		if o, ok := m.routes[k]; ok && op.Action != Create && o.Protocol != modelProto {
			return fmt.Errorf("%v touches a foreign route %v", op, o)
		}
		return apply(m.routes, op.Action, k, *op.Route, "route")
	case KindNeighbour:
		return apply(m.neighs, op.Action, KeyOfNeighbour(*op.Neighbour), *op.Neighbour, "neighbour")
	case KindRule:
		return apply(m.rules, op.Action, KeyOfRule(*op.Rule), *op.Rule, "rule")
	}
	return fmt.Errorf("op of kind %v", op.Kind)
}

func (m *model) state() State {
	return State{
		Links:      sortedValues(m.links, LinkKey.Compare),
		Addresses:  sortedValues(m.addrs, AddressKey.Compare),
		Routes:     sortedValues(m.routes, RouteKey.Compare),
		Neighbours: sortedValues(m.neighs, NeighbourKey.Compare),
		Rules:      sortedValues(m.rules, RuleKey.Compare),
	}
}

func sortedValues[K comparable, T any](m map[K]T, cmp func(a, b K) int) []T {
	var out []T
	for _, k := range sortedKeys(m, cmp) {
		out = append(out, m[k])
	}
	return out
}

func sortedKeys[K comparable, T any](m map[K]T, cmp func(a, b K) int) []K {
	ks := make([]K, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sortKeys(ks, cmp)
	return ks
}

func sortKeys[K any](ks []K, cmp func(a, b K) int) {
	for i := 1; i < len(ks); i++ {
		for j := i; j > 0 && cmp(ks[j-1], ks[j]) > 0; j-- {
			ks[j-1], ks[j] = ks[j], ks[j-1]
		}
	}
}

// Generators draw from small pools so that desired, observed and owned keys
// collide often.

var (
	genLinkName = rapid.SampledFrom([]string{"a0", "a1", "a2", "a3", "a4", "a5"})
	genMAC      = rapid.SampledFrom([]net.HardwareAddr{nil, mac("02:00:00:00:00:01"), mac("02:00:00:00:00:02")})
	genHostIP   = rapid.SampledFrom([]netip.Addr{ip("10.0.0.1"), ip("10.0.0.2"), ip("10.0.0.3"), ip("2001:db8::1")})
	genGateway  = rapid.SampledFrom([]netip.Addr{{}, ip("10.0.0.1"), ip("10.0.0.254")})
)

func genLink(observed bool) *rapid.Generator[rtnl.Link] {
	return rapid.Custom(func(t *rapid.T) rtnl.Link {
		l := rtnl.Link{Name: genLinkName.Draw(t, "name")}
		kinds := []string{"", "bridge", "veth"}
		if observed {
			l.MTU = rapid.SampledFrom([]int{1500, 9000}).Draw(t, "mtu")
			l.TxQueueLen = 1000
			l.HardwareAddr = genMAC.Draw(t, "mac")
		} else {
			kinds = []string{"", "bridge", "bridge", "veth"}
			l.MTU = rapid.SampledFrom([]int{0, 1500, 9000}).Draw(t, "mtu")
			l.HardwareAddr = genMAC.Draw(t, "mac")
		}
		l.Kind = rapid.SampledFrom(kinds).Draw(t, "kind")
		if l.Kind == "veth" && (observed || rapid.Bool().Draw(t, "data")) {
			l.Data = rtnl.Veth{}
		}
		if rapid.Bool().Draw(t, "up") {
			l.Flags = net.FlagUp
		}
		return l
	})
}

// genMark draws the protocol an observed object carries: the owner's,
// none, or another writer's.
var genMark = rapid.SampledFrom([]rtnl.Protocol{modelProto, modelProto, 0, 99})

func genAddress(observed bool) *rapid.Generator[rtnl.Address] {
	return rapid.Custom(func(t *rapid.T) rtnl.Address {
		a := rtnl.Address{Index: rapid.IntRange(1, 3).Draw(t, "index")}
		a.Prefix = netip.PrefixFrom(genHostIP.Draw(t, "ip"), 24)
		a.Label = rapid.SampledFrom([]string{"", "x", "y"}).Draw(t, "label")
		if observed {
			a.Protocol = rtnl.AddressProtocol(genMark.Draw(t, "proto"))
		}
		return a
	})
}

func genRoute(observed bool) *rapid.Generator[rtnl.Route] {
	return rapid.Custom(func(t *rapid.T) rtnl.Route {
		r := rtnl.Route{
			Dst:     rapid.SampledFrom([]netip.Prefix{pfx("10.1.0.0/16"), pfx("10.2.0.0/16"), pfx("0.0.0.0/0"), pfx("2001:db8:1::/48")}).Draw(t, "dst"),
			Gateway: genGateway.Draw(t, "gw"),
			OIF:     rapid.IntRange(1, 2).Draw(t, "oif"),
			Metric:  rapid.SampledFrom([]uint32{0, 100}).Draw(t, "metric"),
		}
		if r.Dst.Addr().Is6() {
			r.Gateway = netip.Addr{}
		}
		if observed {
			r.Table = rapid.SampledFrom([]uint32{254, 100}).Draw(t, "table")
			r.Protocol = rapid.SampledFrom([]rtnl.Protocol{modelProto, modelProto, rtnl.ProtocolStatic, rtnl.ProtocolKernel}).Draw(t, "proto")
			r = kernelise(r)
		} else {
			r.Table = rapid.SampledFrom([]uint32{0, 254, 100}).Draw(t, "table")
			r.Protocol = rapid.SampledFrom([]rtnl.Protocol{0, modelProto}).Draw(t, "proto")
		}
		return r
	})
}

// kernelise fills in what the kernel reports for a route: prepareRoute's
// defaults, with the route's own protocol.
func kernelise(r rtnl.Route) rtnl.Route {
	p := r.Protocol
	r = prepareRoute(r, p)
	return r
}

func genNeighbour(observed bool) *rapid.Generator[rtnl.Neighbour] {
	return rapid.Custom(func(t *rapid.T) rtnl.Neighbour {
		n := rtnl.Neighbour{Index: rapid.IntRange(1, 2).Draw(t, "index"), IP: genHostIP.Draw(t, "ip")}
		n.HardwareAddr = genMAC.Draw(t, "mac")
		if observed {
			n.Protocol = genMark.Draw(t, "proto")
			n.State = rapid.SampledFrom([]rtnl.NeighState{rtnl.NeighPermanent, rtnl.NeighStale, rtnl.NeighReachable}).Draw(t, "state")
		} else {
			n.State = rapid.SampledFrom([]rtnl.NeighState{0, rtnl.NeighPermanent, rtnl.NeighReachable}).Draw(t, "state")
		}
		return n
	})
}

func genRule(observed bool) *rapid.Generator[rtnl.Rule] {
	return rapid.Custom(func(t *rapid.T) rtnl.Rule {
		r := rtnl.Rule{
			Priority: rapid.SampledFrom([]uint32{100, 200, 300}).Draw(t, "priority"),
			Table:    rapid.SampledFrom([]uint32{0, 100, 200}).Draw(t, "table"),
			From:     rapid.SampledFrom([]netip.Prefix{{}, pfx("10.1.0.0/16")}).Draw(t, "from"),
			FwMark:   rapid.SampledFrom([]uint32{0, 7}).Draw(t, "fwmark"),
		}
		if observed {
			r, _ = prepareRule(r)
			r.Protocol = genMark.Draw(t, "proto")
		}
		return r
	})
}

// uniqueBy keeps the first object of each key, as the kernel holds one.
func uniqueBy[T any, K comparable](xs []T, key func(T) K) []T {
	seen := make(map[K]bool)
	var out []T
	for _, x := range xs {
		if k := key(x); !seen[k] {
			seen[k] = true
			out = append(out, x)
		}
	}
	return out
}

func genState(t *rapid.T, observed bool) State {
	s := State{
		Links:      uniqueBy(rapid.SliceOfN(genLink(observed), 0, 6).Draw(t, "links"), KeyOfLink),
		Addresses:  uniqueBy(rapid.SliceOfN(genAddress(observed), 0, 8).Draw(t, "addresses"), KeyOfAddress),
		Routes:     uniqueBy(rapid.SliceOfN(genRoute(observed), 0, 10).Draw(t, "routes"), KeyOfRoute),
		Neighbours: uniqueBy(rapid.SliceOfN(genNeighbour(observed), 0, 6).Draw(t, "neighbours"), KeyOfNeighbour),
		Rules:      uniqueBy(rapid.SliceOfN(genRule(observed), 0, 6).Draw(t, "rules"), KeyOfRule),
	}
	if observed {
		for i := range s.Links {
			s.Links[i].Index = 10 + i
		}
		// The kernel keeps marks of each kind, or (an older one) not.
		s.Marked = Marks{Addresses: rapid.Bool().Draw(t, "mark addresses"),
			Neighbours: rapid.Bool().Draw(t, "mark neighbours"), Rules: rapid.Bool().Draw(t, "mark rules")}
		return s
	}
	for _, l := range s.Links {
		if rapid.IntRange(0, 3).Draw(t, "adopt") == 0 {
			if s.LinksAdopted == nil {
				s.LinksAdopted = NewSet[LinkKey]()
			}
			s.LinksAdopted.Add(KeyOfLink(l))
		}
	}
	// Some desired links are wanted down: mostly ones not wanted up (a
	// tri-state), now and then one wanted up as well (a conflict), or a
	// name not desired at all (ignored).
	for _, l := range s.Links {
		if rapid.IntRange(0, 9).Draw(t, "down") < 4 && (!l.Up() || rapid.IntRange(0, 4).Draw(t, "up and down") == 0) {
			if s.LinksDown == nil {
				s.LinksDown = NewSet[LinkKey]()
			}
			s.LinksDown.Add(KeyOfLink(l))
		}
	}
	if rapid.Bool().Draw(t, "down undesired") {
		if s.LinksDown == nil {
			s.LinksDown = NewSet[LinkKey]()
		}
		s.LinksDown.Add(LinkKey{Name: genLinkName.Draw(t, "down name")})
	}
	return s
}

// genOwned picks owned keys among the observed objects' keys and the
// desired ones (owned but gone, or owned and never created).
func genOwned(t *rapid.T, desired, observed State) Owned {
	o := Owned{Links: NewSet[LinkKey](), Addresses: NewSet[AddressKey](), Neighbours: NewSet[NeighbourKey](), Rules: NewSet[RuleKey]()}
	pick := func(label string) bool { return rapid.Bool().Draw(t, label) }
	for _, s := range []State{observed, desired} {
		for _, x := range s.Links {
			if pick("own link") {
				o.Links.Add(KeyOfLink(x))
			}
		}
		for _, x := range s.Addresses {
			if pick("own address") {
				o.Addresses.Add(KeyOfAddress(x))
			}
		}
		for _, x := range s.Neighbours {
			if pick("own neighbour") {
				o.Neighbours.Add(KeyOfNeighbour(x))
			}
		}
		for _, x := range s.Rules {
			if pick("own rule") {
				o.Rules.Add(KeyOfRule(x))
			}
		}
	}
	return o
}

func cloneOwned(o Owned) Owned {
	return Owned{Links: o.Links.Clone(), Addresses: o.Addresses.Clone(), Neighbours: o.Neighbours.Clone(), Rules: o.Rules.Clone()}
}

// TestPropertyConverges checks, for random desired, observed and owned
// state, that applying the plan in the model kernel
//
//   - never fails (no create of a held key, no op on a foreign route);
//   - yields the desired state on every desired key not in conflict;
//   - leaves every foreign object that is not desired untouched, and every
//     object of a conflicting key too;
//   - removes every owned key that is not desired;
//   - and that diffing again, with the ledger kept by Owned.Record, gives no
//     ops and the same conflicts.
func TestPropertyConverges(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		desired := genState(t, false)
		observed := genState(t, true)
		owned := genOwned(t, desired, observed)
		before := cloneOwned(owned)

		plan := Compute(desired, observed, owned, modelProto)
		m := newModel(observed)
		for _, op := range plan.Ops {
			if err := touchesOnlyOwn(m, op, desired, observed.Marked, before); err != nil {
				t.Fatalf("%v\nplan: %v", err, plan.Ops)
			}
			if err := m.apply(op); err != nil {
				t.Fatalf("applying %v: %v\nplan: %v", op, err, plan.Ops)
			}
			owned.Record(op)
		}
		conflicted := make(map[string]bool)
		for _, c := range plan.Conflicts {
			conflicted[c.Kind.String()+" "+c.Key] = true
		}

		mk := observed.Marked
		checkKind(t, "link", desired.Links, observed.Links, m.links, KeyOfLink, ledgerOwned[LinkKey, rtnl.Link](before.Links), conflicted, func(d, got rtnl.Link) bool {
			return (d.Kind == "" || d.Kind == got.Kind) && (d.MTU == 0 || d.MTU == got.MTU) &&
				(!d.Up() || got.Up()) && (!desired.LinksDown.Has(KeyOfLink(d)) || !got.Up()) && (d.HardwareAddr == nil || d.HardwareAddr.String() == got.HardwareAddr.String())
		})
		// A desired link wanted neither up nor down keeps its up state,
		// unless the plan recreated it.
		recreated := make(map[LinkKey]bool)
		for _, op := range plan.Ops {
			if op.Kind == KindLink && op.Action == Delete {
				recreated[KeyOfLink(*op.Link)] = true
			}
		}
		for _, d := range desired.Links {
			k := KeyOfLink(d)
			if d.Up() || desired.LinksDown.Has(k) || recreated[k] {
				continue
			}
			for _, o := range observed.Links {
				if g, held := m.links[k]; KeyOfLink(o) == k && held && g.Up() != o.Up() {
					t.Fatalf("desired link %v wants no state, yet %v became %v", d, o, g)
				}
			}
		}
		checkKind(t, "address", desired.Addresses, observed.Addresses, m.addrs, KeyOfAddress,
			markOwned(before.Addresses, mk.Addresses, func(a rtnl.Address) rtnl.Protocol { return rtnl.Protocol(a.Protocol) }), conflicted, func(d, got rtnl.Address) bool {
				return d.Label == "" || d.Label == got.Label
			})
		checkKind(t, "route", desired.Routes, observed.Routes, m.routes, KeyOfRoute,
			func(_ RouteKey, r rtnl.Route) bool { return r.Protocol == modelProto }, conflicted,
			func(d, got rtnl.Route) bool {
				return got.Protocol == modelProto && d.Gateway == got.Gateway && d.OIF == got.OIF
			})
		checkKind(t, "neighbour", desired.Neighbours, observed.Neighbours, m.neighs, KeyOfNeighbour,
			markOwned(before.Neighbours, mk.Neighbours, func(n rtnl.Neighbour) rtnl.Protocol { return n.Protocol }), conflicted, func(d, got rtnl.Neighbour) bool {
				return (d.HardwareAddr == nil || d.HardwareAddr.String() == got.HardwareAddr.String()) &&
					((d.State != 0 && d.State != rtnl.NeighPermanent) || got.State == rtnl.NeighPermanent)
			})
		checkKind(t, "rule", desired.Rules, observed.Rules, m.rules, KeyOfRule,
			markOwned(before.Rules, mk.Rules, func(r rtnl.Rule) rtnl.Protocol { return r.Protocol }), conflicted, func(d, got rtnl.Rule) bool { return true })

		// Observed routes of our protocol that are not desired are gone.
		dk := make(map[RouteKey]bool)
		for _, r := range desired.Routes {
			dk[KeyOfRoute(r)] = true
		}
		for _, r := range observed.Routes {
			if k := KeyOfRoute(r); r.Protocol == modelProto && !dk[k] {
				if _, ok := m.routes[k]; ok {
					t.Fatalf("owned route %v not desired but still present", r)
				}
			}
		}

		now := m.state()
		now.Marked = observed.Marked
		again := Compute(desired, now, owned, modelProto)
		if len(again.Ops) != 0 {
			t.Fatalf("second diff is not empty: %v\nfirst plan: %v", again.Ops, plan.Ops)
		}
		if !reflect.DeepEqual(conflictKeys(again.Conflicts), conflictKeys(plan.Conflicts)) {
			t.Fatalf("conflicts changed: %v, then %v", plan.Conflicts, again.Conflicts)
		}
	})
}

func conflictKeys(cs []Conflict) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Kind.String()+" "+c.Key)
	}
	return out
}

// touchesOnlyOwn fails when op would change or delete an object that is
// not the owner's: one whose key is not owned, or, where the kernel keeps
// marks, that carries another protocol or none. A foreign link may be
// changed only by a desired link with no kind or one adopted; creates
// must carry the owner's protocol.
func touchesOnlyOwn(m *model, op Op, desired State, mk Marks, owned Owned) error {
	mine := func(owned, marked bool, p rtnl.Protocol) bool { return owned && (!marked || p == modelProto) }
	switch op.Kind {
	case KindLink:
		if op.Action == Create || owned.Links.Has(KeyOfLink(*op.Link)) {
			return nil
		}
		for _, d := range desired.Links {
			if d.Name == op.Link.Name && op.Action == Update && (d.Kind == "" || desired.LinksAdopted.Has(KeyOfLink(d))) {
				return nil
			}
		}
		return fmt.Errorf("%v touches a foreign link %v", op, m.links[KeyOfLink(*op.Link)])
	case KindAddress:
		k := KeyOfAddress(*op.Address)
		if op.Action == Create {
			if op.Address.Protocol != rtnl.AddressProtocol(modelProto) {
				return fmt.Errorf("%v does not carry the owner's protocol", op)
			}
			return nil
		}
		if o := m.addrs[k]; !mine(owned.Addresses.Has(k), mk.Addresses, rtnl.Protocol(o.Protocol)) {
			return fmt.Errorf("%v touches a foreign address %+v", op, o)
		}
	case KindNeighbour:
		k := KeyOfNeighbour(*op.Neighbour)
		if op.Action == Create {
			if op.Neighbour.Protocol != modelProto {
				return fmt.Errorf("%v does not carry the owner's protocol", op)
			}
			return nil
		}
		o := m.neighs[k]
		if op.Action == Delete && learned(o) && slices.ContainsFunc(desired.Neighbours, func(d rtnl.Neighbour) bool { return KeyOfNeighbour(d) == k }) {
			return nil // the kernel's cache, replaced by a desired entry
		}
		if !mine(owned.Neighbours.Has(k), mk.Neighbours, o.Protocol) {
			return fmt.Errorf("%v touches a foreign neighbour %+v", op, o)
		}
	case KindRule:
		k := KeyOfRule(*op.Rule)
		if op.Action == Create {
			if op.Rule.Protocol != modelProto {
				return fmt.Errorf("%v does not carry the owner's protocol", op)
			}
			return nil
		}
		if o := m.rules[k]; !mine(owned.Rules.Has(k), mk.Rules, o.Protocol) {
			return fmt.Errorf("%v touches a foreign rule %+v", op, o)
		}
	}
	return nil
}

// ledgerOwned says an observed object is owned when its key is.
func ledgerOwned[K comparable, T any](owned Set[K]) func(K, T) bool {
	return func(k K, _ T) bool { return owned.Has(k) }
}

// markOwned says an observed object is owned when its key is and, where
// the kernel keeps marks, it carries the owner's protocol.
func markOwned[K comparable, T any](owned Set[K], marked bool, proto func(T) rtnl.Protocol) func(K, T) bool {
	return func(k K, o T) bool { return owned.Has(k) && (!marked || proto(o) == modelProto) }
}

// checkKind checks one kind after the plan was applied: desired keys not in
// conflict are present and match (ok), untouched foreign objects are
// unchanged, owned objects no longer desired are gone (wasOwned says
// whether the observed object was owned before the plan: by key, mark or,
// for routes, protocol).
func checkKind[T any, K comparable](t *rapid.T, kind string, desired, observed []T, got map[K]T, key func(T) K,
	wasOwned func(K, T) bool, conflicted map[string]bool, ok func(d, got T) bool) {
	want := make(map[K]bool)
	for _, d := range desired {
		k := key(d)
		want[k] = true
		if conflicted[kind+" "+keyString(k)] {
			continue
		}
		g, held := got[k]
		if !held {
			t.Fatalf("desired %s %v is missing", kind, d)
		}
		if !ok(d, g) {
			t.Fatalf("desired %s %v, the model holds %v", kind, d, g)
		}
	}
	for _, o := range observed {
		k := key(o)
		conflict := conflicted[kind+" "+keyString(k)]
		switch {
		case conflict || (!want[k] && !wasOwned(k, o)):
			// Foreign and not desired, or desired but in conflict: untouched.
			if g, held := got[k]; !held || !reflect.DeepEqual(g, o) {
				t.Fatalf("foreign %s %v was changed to %v (held %v)", kind, o, g, held)
			}
		case !want[k]:
			if _, held := got[k]; held {
				t.Fatalf("owned %s %v is no longer desired but still present", kind, o)
			}
		}
	}
}

// TestPropertyKeysRoundTrip checks that every key's text form parses back
// to the same key, and that Compare agrees with ==.
func TestPropertyKeysRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		addr := rapid.Custom(func(t *rapid.T) netip.Addr {
			if rapid.Bool().Draw(t, "v6") {
				return netip.AddrFrom16([16]byte(rapid.SliceOfN(rapid.Byte(), 16, 16).Draw(t, "b16")))
			}
			return netip.AddrFrom4([4]byte(rapid.SliceOfN(rapid.Byte(), 4, 4).Draw(t, "b4")))
		})
		prefix := rapid.Custom(func(t *rapid.T) netip.Prefix {
			if rapid.IntRange(0, 4).Draw(t, "none") == 0 {
				return netip.Prefix{}
			}
			a := addr.Draw(t, "addr")
			return netip.PrefixFrom(a, rapid.IntRange(0, a.BitLen()).Draw(t, "bits"))
		})
		name := rapid.StringMatching(`[a-z][a-z0-9.=_-]{0,14}`)

		roundTrip(t, LinkKey{Name: name.Draw(t, "link")}, LinkKey.Compare)
		roundTrip(t, AddressKey{Index: rapid.IntRange(0, 1<<31-1).Draw(t, "index"), Prefix: prefix.Draw(t, "prefix")}, AddressKey.Compare)
		roundTrip(t, RouteKey{
			Family: rapid.SampledFrom([]rtnl.Family{rtnl.FamilyV4, rtnl.FamilyV6, rtnl.FamilyAll, 99}).Draw(t, "family"),
			Table:  rapid.Uint32().Draw(t, "table"), Dst: prefix.Draw(t, "dst"),
			TOS: rapid.Uint8().Draw(t, "tos"), Metric: rapid.Uint32().Draw(t, "metric"),
		}, RouteKey.Compare)
		var nip netip.Addr
		if rapid.Bool().Draw(t, "has ip") {
			nip = addr.Draw(t, "ip")
		}
		roundTrip(t, NeighbourKey{Index: rapid.IntRange(0, 1<<31-1).Draw(t, "nindex"), IP: nip}, NeighbourKey.Compare)
		iif := ""
		if rapid.Bool().Draw(t, "has iif") {
			iif = name.Draw(t, "iif")
		}
		roundTrip(t, RuleKey{
			Family: rapid.SampledFrom([]rtnl.Family{rtnl.FamilyV4, rtnl.FamilyV6}).Draw(t, "rfamily"),
			// Selectors as KeyOfRule gives them: no /0, none mapped.
			Priority: rapid.Uint32().Draw(t, "priority"), From: ruleSelector(prefix.Draw(t, "from")), To: ruleSelector(prefix.Draw(t, "to")),
			FwMark: rapid.Uint32().Draw(t, "fwmark"), FwMask: rapid.Uint32().Draw(t, "fwmask"), IIF: iif,
			TOS: rapid.Uint8().Draw(t, "rtos"), Invert: rapid.Bool().Draw(t, "invert"),
			Action: rtnl.RuleAction(rapid.Uint8().Draw(t, "action")), Table: rapid.Uint32().Draw(t, "rtable"),
		}, RuleKey.Compare)
	})
}

type textKey interface {
	comparable
	MarshalText() ([]byte, error)
}

func roundTrip[K textKey](t *rapid.T, k K, cmp func(a, b K) int) {
	b, err := k.MarshalText()
	if err != nil {
		t.Fatalf("%T %v: MarshalText: %v", k, k, err)
	}
	var back K
	if err := any(&back).(interface{ UnmarshalText([]byte) error }).UnmarshalText(b); err != nil {
		t.Fatalf("%T: UnmarshalText(%q): %v", k, b, err)
	}
	if back != k {
		t.Fatalf("%T: %q parsed as %v, want %v", k, b, back, k)
	}
	if cmp(k, back) != 0 {
		t.Fatalf("%T: Compare(%v, itself) != 0", k, k)
	}
}

func TestUnmarshalTextErrors(t *testing.T) {
	for _, tc := range []struct {
		key   interface{ UnmarshalText([]byte) error }
		input string
	}{
		{new(LinkKey), ""},
		{new(LinkKey), "a name too long!"},
		{new(LinkKey), "a/b"},
		{new(AddressKey), "index=2"},
		{new(AddressKey), "index=x prefix=10.0.0.1/24"},
		{new(AddressKey), "prefix=10.0.0.1/24 index=2"},
		{new(RouteKey), "family=inet table=254 dst=10.0.0.0/33 tos=0 metric=0"},
		{new(RouteKey), "family=ipx table=254 dst=10.0.0.0/8 tos=0 metric=0"},
		{new(NeighbourKey), "index=1 ip=10.0.0"},
		{new(RuleKey), "family=inet"},
		{new(RuleKey), "family=inet priority=1 from= to= fwmark=0x0 fwmask=0x0 iif= oif= tos=0 invert=maybe action=to_tbl table=1"},
	} {
		err := tc.key.UnmarshalText([]byte(tc.input))
		if err == nil {
			t.Errorf("%T.UnmarshalText(%q) succeeded", tc.key, tc.input)
			continue
		}
		if q := fmt.Sprintf("%q", tc.input); !strings.Contains(err.Error(), q) {
			t.Errorf("%T.UnmarshalText(%q): error %q does not quote the input", tc.key, tc.input, err)
		}
	}
	// The compare orders are total: a sorted set sorts the same every time.
	ks := []RouteKey{KeyOfRoute(rtnl.Route{Dst: pfx("10.0.0.0/8"), Metric: 5}), KeyOfRoute(rtnl.Route{Dst: pfx("10.0.0.0/8")}), KeyOfRoute(rtnl.Route{Dst: pfx("::/0")})}
	sortKeys(ks, RouteKey.Compare)
	if ks[0].Metric != 0 || ks[1].Metric != 5 || ks[2].Family != rtnl.FamilyV6 {
		t.Errorf("route keys sorted as %v", ks)
	}
}
