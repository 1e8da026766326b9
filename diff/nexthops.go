package diff

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"

	"github.com/linx-net/linx/rtnl"
)

// NexthopKey is the identity of a nexthop object: its id, which routes
// name (rtnl.Route.NHID) and groups list as members.
type NexthopKey struct {
	ID uint32
}

// KeyOfNexthop returns n's key.
func KeyOfNexthop(n rtnl.Nexthop) NexthopKey { return NexthopKey{ID: n.ID} }

// String returns `id=5`.
func (k NexthopKey) String() string { return "id=" + strconv.FormatUint(uint64(k.ID), 10) }

// Compare orders keys by id; it returns -1, 0 or +1.
func (k NexthopKey) Compare(o NexthopKey) int { return cmp.Compare(k.ID, o.ID) }

// Nexthops diffs desired nexthop objects against observed ones, owned
// two-way by protocol as routes are (see Routes): an observed nexthop
// whose Protocol is proto is the owner's, every other one is foreign and
// is never changed or deleted. A desired nexthop's Protocol is ignored:
// it is created with proto.
//
// For each desired nexthop, by id:
//
//   - no observed nexthop has the id: Create;
//   - a nexthop of another protocol has it: a Conflict (Foreign), never
//     an op, since the kernel's replace would take it over;
//   - the owner's nexthop has it and differs (gateway, interface when the
//     desired one names it, blackhole, onlink, fdb, group members and
//     weights, group type, the resilient settings the desired one sets):
//     Update, applied in place with replace. A group's new members
//     replace its old ones in one message, and every route through the
//     group moves with it: the routes themselves do not change;
//   - an id of 0, an id desired twice, a group with no members, a member
//     that is not a single nexthop desired here, and a group that is a
//     member of a group are Conflicts.
//
// Observed nexthops of proto that are not desired are deleted.
//
// The ops are in dependency order: creates and updates of single
// nexthops, then of groups (a group's members exist before it), then
// deletes of groups, then of single nexthops (a member outlives the
// groups that list it); by id within each. A caller applies the creates
// and updates before the routes that name the nexthops, and the deletes
// after the routes that named them are gone.
func Nexthops(desired, observed []rtnl.Nexthop, proto rtnl.Protocol) ([]Op, []Conflict) {
	var conflicts []Conflict
	conflict := func(n rtnl.Nexthop, o any, foreign bool, reason string) {
		conflicts = append(conflicts, Conflict{Kind: KindNexthop, Key: KeyOfNexthop(n).String(),
			Desired: n, Observed: o, Foreign: foreign, Reason: reason})
	}
	want := make(map[uint32]rtnl.Nexthop, len(desired))
	singles := make(map[uint32]bool, len(desired))
	for _, n := range desired {
		switch _, dup := want[n.ID]; {
		case n.ID == 0:
			conflict(n, nil, false, "the nexthop has no id")
			continue
		case dup:
			conflict(n, nil, false, reasonDuplicate)
			continue
		}
		want[n.ID] = n
		if !n.IsGroup() {
			singles[n.ID] = true
		}
	}
	for id, n := range want {
		if !n.IsGroup() {
			continue
		}
		if len(n.Group) == 0 {
			conflict(n, nil, false, "the group has no members")
			delete(want, id)
			continue
		}
		for _, m := range n.Group {
			if !singles[m.ID] {
				conflict(n, nil, false, fmt.Sprintf("member %d is not a single nexthop desired with the group", m.ID))
				delete(want, id)
				break
			}
		}
	}
	seen := make(map[uint32]bool, len(observed))
	var ops []Op
	for _, o := range observed {
		seen[o.ID] = true
		d, ok := want[o.ID]
		switch {
		case !ok:
			if o.Protocol == proto {
				ops = append(ops, Op{Action: Delete, Kind: KindNexthop, Nexthop: &o})
			}
		case o.Protocol != proto:
			conflict(d, o, true, fmt.Sprintf(
				"a nexthop of protocol %s holds the id; replacing it would take it over, with the routes through it", o.Protocol))
		case !nexthopSame(&d, &o):
			ops = append(ops, Op{Action: Update, Kind: KindNexthop, Nexthop: new(prepareNexthop(d, proto))})
		}
	}
	for id, d := range want {
		if !seen[id] {
			ops = append(ops, Op{Action: Create, Kind: KindNexthop, Nexthop: new(prepareNexthop(d, proto))})
		}
	}
	slices.SortFunc(ops, func(a, b Op) int {
		if c := cmp.Compare(nexthopRank(a), nexthopRank(b)); c != 0 {
			return c
		}
		return cmp.Compare(a.Nexthop.ID, b.Nexthop.ID)
	})
	slices.SortStableFunc(conflicts, func(a, b Conflict) int {
		return cmp.Compare(a.Desired.(rtnl.Nexthop).ID, b.Desired.(rtnl.Nexthop).ID)
	})
	return ops, conflicts
}

// nexthopRank orders nexthop ops: creates and updates of singles, of
// groups, then deletes of groups, of singles.
func nexthopRank(o Op) int {
	switch {
	case o.Action != Delete && !o.Nexthop.IsGroup():
		return 0
	case o.Action != Delete:
		return 1
	case o.Nexthop.IsGroup():
		return 2
	}
	return 3
}

// prepareNexthop returns d as it is to be installed: the owner's
// protocol, no family for a group, weight 1 for a member of weight 0.
func prepareNexthop(d rtnl.Nexthop, proto rtnl.Protocol) rtnl.Nexthop {
	d.Protocol = proto
	if d.IsGroup() {
		d.Family = rtnl.FamilyAll
		g := slices.Clone(d.Group)
		for i := range g {
			g[i].Weight = max(g[i].Weight, 1)
		}
		d.Group = g
	}
	return d
}

// nexthopSame reports whether observed nexthop o already is desired
// nexthop d, on the fields Nexthops compares.
func nexthopSame(d, o *rtnl.Nexthop) bool {
	const flags = 0x4 // RTNH_F_ONLINK: the only flag sent
	if d.IsGroup() != o.IsGroup() || d.Blackhole != o.Blackhole || d.FDB != o.FDB ||
		d.Gateway != o.Gateway || (d.OIF != 0 && d.OIF != o.OIF) ||
		d.Flags&flags != o.Flags&flags || d.GroupType != o.GroupType ||
		len(d.Group) != len(o.Group) {
		return false
	}
	for i := range d.Group {
		if d.Group[i].ID != o.Group[i].ID || max(d.Group[i].Weight, 1) != max(o.Group[i].Weight, 1) {
			return false
		}
	}
	if r := d.Resilient; r != nil && d.GroupType == rtnl.NexthopGroupResilient {
		or := o.Resilient
		if or == nil {
			return false
		}
		if (r.Buckets != 0 && r.Buckets != or.Buckets) ||
			(r.IdleTimer != 0 && r.IdleTimer != or.IdleTimer) ||
			(r.UnbalancedTimer != 0 && r.UnbalancedTimer != or.UnbalancedTimer) {
			return false
		}
	}
	return true
}
