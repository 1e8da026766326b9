package diff

import (
	"github.com/linx-net/linx/rtnl"
)

// Compute diffs a whole desired State against an observed one: links,
// addresses, neighbours and rules three-way with owned, routes two-way by
// proto; the desired State's LinksDown are the links wanted down and its
// LinksAdopted those that may configure a foreign link. proto is also the
// mark written on the addresses, neighbours and rules created, and which
// owns them with owned where the observed State's Marked says the kernel
// keeps it (see Mark). It is Links, Addresses, Routes, Neighbours and Rules together,
// with their ops put in one dependency-safe order:
//
//  1. creates and updates (and recreates, Delete right before Create) of
//     links, then addresses, then routes, then neighbours, then rules, so
//     that what an object needs exists before it;
//  2. then deletes of what is no longer desired, in the reverse order:
//     rules, neighbours, routes, addresses, links, so that nothing is
//     deleted while something still refers to it.
//
// Within each group the ops of one kind are ordered by key (the keys'
// Compare), so the plan depends only on its inputs. Conflicts are ordered
// by kind, then key.
//
// Compute does not follow indices across a plan: a link created or
// recreated by the plan has an index the kernel has yet to choose, so
// desired objects that refer to it by index converge on a later pass.
func Compute(desired, observed State, owned Owned, proto rtnl.Protocol) Plan {
	links := runLinks(desired.Links, observed.Links, owned.Links, desired.LinksDown, desired.LinksAdopted)
	addrs := addressSpec.run(desired.Addresses, observed.Addresses, owned.Addresses, Mark{proto, observed.Marked.Addresses})
	var obsRoutes ObservedRoutes
	obsRoutes.share(observed.Routes, proto)
	routes := routes(desiredSide{list: desired.Routes}, &obsRoutes)
	neighs := neighbourSpec.run(desired.Neighbours, observed.Neighbours, owned.Neighbours, Mark{proto, observed.Marked.Neighbours})
	rules := ruleSpec.run(desired.Rules, observed.Rules, owned.Rules, Mark{proto, observed.Marked.Rules})

	n := len(links.apply) + len(links.remove) + len(addrs.apply) + len(addrs.remove) +
		len(routes.apply) + len(routes.remove) + len(neighs.apply) + len(neighs.remove) +
		len(rules.apply) + len(rules.remove)
	var p Plan
	if n > 0 {
		p.Ops = make([]Op, 0, n)
	}
	p.Ops = appendSorted(p.Ops, links.apply, LinkKey.Compare)
	p.Ops = appendSorted(p.Ops, addrs.apply, AddressKey.Compare)
	p.Ops = routes.changes(desiredSide{list: desired.Routes}, &obsRoutes).Append(p.Ops, 0, len(routes.apply))
	p.Ops = appendSorted(p.Ops, neighs.apply, NeighbourKey.Compare)
	p.Ops = appendSorted(p.Ops, rules.apply, RuleKey.Compare)
	p.Ops = appendSorted(p.Ops, rules.remove, RuleKey.Compare)
	p.Ops = appendSorted(p.Ops, neighs.remove, NeighbourKey.Compare)
	p.Ops = routes.appendDeletes(p.Ops, &obsRoutes)
	p.Ops = appendSorted(p.Ops, addrs.remove, AddressKey.Compare)
	p.Ops = appendSorted(p.Ops, links.remove, LinkKey.Compare)

	p.Conflicts = append(p.Conflicts, sortConflicts(links.conflicts, LinkKey.Compare)...)
	p.Conflicts = append(p.Conflicts, sortConflicts(addrs.conflicts, AddressKey.Compare)...)
	p.Conflicts = append(p.Conflicts, routes.conflicts...)
	p.Conflicts = append(p.Conflicts, sortConflicts(neighs.conflicts, NeighbourKey.Compare)...)
	p.Conflicts = append(p.Conflicts, sortConflicts(rules.conflicts, RuleKey.Compare)...)
	return p
}
