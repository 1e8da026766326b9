package diff

import (
	"fmt"
	"net/netip"
	"reflect"
	"testing"

	"github.com/linx-net/linx/rtnl"
	"pgregory.net/rapid"
)

// genObserved draws observed routes for a diff of desired: most are
// desired routes as the kernel reports them (some changed in a compared
// field), with kernel flags of every width, and others drawn at random.
func genObserved(t *rapid.T, desired []rtnl.Route, proto rtnl.Protocol) []rtnl.Route {
	var observed []rtnl.Route
	for i, d := range desired {
		if !d.Dst.IsValid() || rapid.IntRange(0, 4).Draw(t, fmt.Sprint("absent ", i)) == 0 {
			continue
		}
		o := prepareRoute(d, proto)
		if o.OIF == 0 {
			o.OIF = 7
		}
		switch rapid.IntRange(0, 5).Draw(t, fmt.Sprint("change ", i)) {
		case 1:
			o.Gateway = rapid.SampledFrom([]netip.Addr{{}, ip("10.0.0.3"), ip("2001:db8::3")}).Draw(t, "gw")
		case 2:
			o.OIF++
		case 3:
			o.Metric = 0 // an IPv6 metric the key reads as 1024
		}
		observed = append(observed, o)
	}
	observed = append(observed, rapid.SliceOfN(genAnyRoute(), 0, 8).Draw(t, "others")...)
	for i := range observed {
		observed[i].Flags = rapid.SampledFrom([]uint32{0, 0, 4, 16, 0x100, 0x20000010}).Draw(t, fmt.Sprint("flags ", i))
	}
	return rapid.Permutation(observed).Draw(t, "order")
}

// TestRoutesObservedMatchesRoutes checks that a diff against routes
// added one at a time to an ObservedRoutes, through one reused value as
// rtnl.Socket.EachRoute hands them out, gives exactly the ops and
// conflicts of Routes on the list (deleted routes given back whole, flags
// included), twice in a row, after a Reset, and with the desired routes
// read one at a time (RoutesFrom), and with the creates and updates built
// in parts (RoutesInParts, in chunks of a drawn size).
func TestRoutesObservedMatchesRoutes(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		proto := rapid.SampledFrom([]rtnl.Protocol{modelProto, rtnl.ProtocolStatic}).Draw(t, "owner")
		desired := rapid.SliceOfN(genAnyRoute(), 0, 30).Draw(t, "desired")
		observed := genObserved(t, desired, proto)
		wantOps, wantCs := Routes(desired, observed, proto)

		var o ObservedRoutes
		fill := func() {
			o.Reset(proto)
			var r rtnl.Route
			for i := range observed {
				r = observed[i]
				r.NextHops = append([]rtnl.NextHop(nil), observed[i].NextHops...)
				o.Add(&r)
				r = rtnl.Route{NextHops: r.NextHops[:0:len(r.NextHops)]}
				for j := range r.NextHops[:cap(r.NextHops)] {
					r.NextHops[:cap(r.NextHops)][j] = rtnl.NextHop{}
				}
			}
		}
		fill()
		if o.Len() != len(observed) {
			t.Fatalf("Len = %d, want %d", o.Len(), len(observed))
		}
		chunk := rapid.IntRange(1, 8).Draw(t, "chunk")
		for round := range 5 {
			if round == 2 {
				fill()
			}
			var ops []Op
			var cs []Conflict
			switch round {
			case 3:
				ops, cs = RoutesFrom(routeSource(desired), &o)
			case 4:
				changes, deletes, conflicts := RoutesInParts(routeSource(desired), &o)
				o.Reset(rtnl.ProtocolBoot) // changes must not read o
				for from := 0; from < changes.Len(); from += chunk {
					ops = changes.Append(ops, from, min(from+chunk, changes.Len()))
				}
				ops, cs = append(ops, deletes...), conflicts
			default:
				ops, cs = RoutesObserved(desired, &o)
			}
			if !reflect.DeepEqual(ops, wantOps) {
				t.Fatalf("round %d: ops:\n got %v\nwant %v", round, ops, wantOps)
			}
			if !reflect.DeepEqual(cs, wantCs) {
				t.Fatalf("round %d: conflicts:\n got %v\nwant %v", round, cs, wantCs)
			}
		}
	})
}

// TestObservedRoutesCompact checks that gateway routes of the owner, the
// bulk of a large table, are held as records alone, and given back whole
// when deleted.
func TestObservedRoutesCompact(t *testing.T) {
	var o ObservedRoutes
	o.Reset(modelProto)
	r := rtnl.Route{Dst: pfx("10.1.0.0/24"), Gateway: ip("10.0.0.2"), OIF: 3, Table: rtnl.TableMain,
		Protocol: modelProto, Type: rtnl.RouteTypeUnicast, Flags: 16}
	o.Add(&r)
	v6 := rtnl.Route{Dst: pfx("2001:db8::/64"), OIF: 3, Table: rtnl.TableMain, Protocol: modelProto,
		Type: rtnl.RouteTypeUnicast, Scope: rtnl.ScopeLink, Metric: 1024}
	o.Add(&v6)
	if len(o.full) != 0 {
		t.Fatalf("%d routes kept whole, want 0: %v", len(o.full), o.full)
	}
	ops, _ := RoutesObserved(nil, &o)
	if len(ops) != 2 || !reflect.DeepEqual(*ops[0].Route, r) || !reflect.DeepEqual(*ops[1].Route, v6) {
		t.Fatalf("ops = %v, want deletes of %v and %v", ops, r, v6)
	}
}

// routeSource is a DesiredRoutes that hands out copies of a list, with
// next hops of their own.
type routeSource []rtnl.Route

func (s routeSource) Len() int { return len(s) }

func (s routeSource) Route(i int, r *rtnl.Route) {
	*r = s[i]
	r.NextHops = append([]rtnl.NextHop(nil), s[i].NextHops...)
}
