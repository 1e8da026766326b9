package diff

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/linx-net/linx/rtnl"
)

func opLines(ops []Op) string {
	var out []string
	for _, op := range ops {
		out = append(out, op.Action.String()+" "+op.Key())
	}
	return strings.Join(out, ", ")
}

// TestNexthopsOrderAndOwnership checks the order of nexthop ops (singles
// then groups created, groups then singles deleted), that a member change
// is one update of the group, and that another protocol's nexthops are
// never touched: a desired id one of them holds is a foreign conflict.
func TestNexthopsOrderAndOwnership(t *testing.T) {
	gw := netip.MustParseAddr("10.0.0.2")
	single := func(id uint32, proto rtnl.Protocol) rtnl.Nexthop {
		return rtnl.Nexthop{ID: id, Gateway: gw, OIF: 2, Protocol: proto, Family: rtnl.FamilyV4, Scope: rtnl.ScopeLink}
	}
	group := func(id uint32, proto rtnl.Protocol, members ...uint32) rtnl.Nexthop {
		n := rtnl.Nexthop{ID: id, Protocol: proto, Group: []rtnl.NexthopMember{}}
		for _, m := range members {
			n.Group = append(n.Group, rtnl.NexthopMember{ID: m, Weight: 1})
		}
		return n
	}
	for _, c := range []struct {
		name               string
		desired, observed  []rtnl.Nexthop
		ops, conflictsWant string
	}{{
		name:    "creates: singles before groups",
		desired: []rtnl.Nexthop{group(10, 0, 1, 2), single(2, 0), single(1, 0)},
		ops:     "create id=1, create id=2, create id=10",
	}, {
		name:     "deletes: groups before singles; other protocols untouched",
		observed: []rtnl.Nexthop{single(1, modelProto), group(10, modelProto, 1), single(5, rtnl.ProtocolStatic)},
		ops:      "delete id=10, delete id=1",
	}, {
		name:     "a member change is one update of the group",
		desired:  []rtnl.Nexthop{single(1, 0), single(2, 0), single(3, 0), group(10, 0, 1, 3)},
		observed: []rtnl.Nexthop{single(1, modelProto), single(2, modelProto), single(3, modelProto), group(10, modelProto, 1, 2)},
		ops:      "update id=10",
	}, {
		name:     "equal: nothing, a weight of 0 being 1 and a desired interface of 0 any",
		desired:  []rtnl.Nexthop{{ID: 1, Gateway: gw}, {ID: 10, Group: []rtnl.NexthopMember{{ID: 1}}}},
		observed: []rtnl.Nexthop{single(1, modelProto), group(10, modelProto, 1)},
	}, {
		name:          "a foreign id is a conflict",
		desired:       []rtnl.Nexthop{single(5, 0)},
		observed:      []rtnl.Nexthop{single(5, rtnl.ProtocolStatic)},
		conflictsWant: "nexthop id=5 foreign",
	}, {
		name:          "a group of a member not desired, a duplicate, an id of 0",
		desired:       []rtnl.Nexthop{single(1, 0), single(1, 0), group(10, 0, 7), {}},
		ops:           "create id=1",
		conflictsWant: "nexthop id=0, nexthop id=1, nexthop id=10",
	}} {
		t.Run(c.name, func(t *testing.T) {
			ops, conflicts := Nexthops(c.desired, c.observed, modelProto)
			if got := opLines(ops); got != c.ops {
				t.Errorf("ops %q, want %q", got, c.ops)
			}
			for _, op := range ops {
				if op.Action != Delete && op.Nexthop.Protocol != modelProto {
					t.Errorf("%v: not written with the owner's protocol", op)
				}
			}
			var cs []string
			for _, cf := range conflicts {
				s := cf.Kind.String() + " " + cf.Key
				if cf.Foreign {
					s += " foreign"
				}
				cs = append(cs, s)
			}
			if got := strings.Join(cs, ", "); got != c.conflictsWant {
				t.Errorf("conflicts %q, want %q", got, c.conflictsWant)
			}
		})
	}
}

// TestRouteKeySourcePrefix checks that two IPv6 routes to one destination
// from two sources are two keys, both created, and that the key's text
// form carries the source and reads back.
func TestRouteKeySourcePrefix(t *testing.T) {
	dst := netip.MustParsePrefix("fd50::/64")
	a := rtnl.Route{Dst: dst, SrcPrefix: netip.MustParsePrefix("fd01::/64"), OIF: 2}
	b := rtnl.Route{Dst: dst, SrcPrefix: netip.MustParsePrefix("fd02::/64"), OIF: 2}
	ka, kb := KeyOfRoute(a), KeyOfRoute(b)
	if ka == kb || ka.Compare(kb) == 0 {
		t.Fatalf("keys %v and %v are equal", ka, kb)
	}
	var back RouteKey
	if err := back.UnmarshalText([]byte(ka.String())); err != nil || back != ka {
		t.Fatalf("%q read back as %v, %v", ka.String(), back, err)
	}
	ops, conflicts := Routes([]rtnl.Route{a, b}, nil, modelProto)
	if len(ops) != 2 || len(conflicts) != 0 {
		t.Fatalf("ops %v conflicts %v; want two creates", ops, conflicts)
	}
	prepared := []rtnl.Route{prepareRoute(a, modelProto), prepareRoute(b, modelProto)}
	if ops, _ := Routes([]rtnl.Route{a, b}, prepared, modelProto); len(ops) != 0 {
		t.Fatalf("against themselves: %v", ops)
	}
}
