// Package diff computes the ordered create, update and delete operations
// that converge the kernel's observed network state onto a desired state,
// without taking over anything it does not own.
//
// It is the pure half of declarative reconciliation: no I/O, no
// goroutines, no clock. Observations come in as rtnl's own structs (the
// same types a list returns and a verb takes, so desired and observed
// compare directly); a list of Op values and a list of Conflict values go
// out. Applying the ops, and observing again, is the caller's part (the
// reconcile package does both).
//
// # Keys and ownership
//
// Each object is identified by the kernel's own key for it, so that two
// objects with one key cannot coexist and a desired object is matched with
// the observed object the kernel would hold in its place:
//
//	kind       key (type, function)                      ownership    updated in place
//	---------  ----------------------------------------  -----------  ------------------------------------
//	link       name (LinkKey, KeyOfLink)                  ledger       MTU, txqueuelen, master, MAC,
//	                                                                   up or down (State.LinksDown)
//	address    index, prefix with host bits               ledger and   nothing (recreated if owned)
//	           (AddressKey, KeyOfAddress)                 IFA_PROTO
//	route      family, table (0 is main), destination,    protocol     gateway, oif, src, scope, type,
//	           tos, metric (RouteKey, KeyOfRoute)                      next hops, nexthop id, source
//	                                                                   prefix (one replace)
//	neighbour  index, IP (NeighbourKey, KeyOfNeighbour)   ledger and   MAC, PERMANENT/NOARP state, flags
//	                                                      NDA_PROTOCOL
//	rule       family, priority, from, to, fwmark,        ledger and   nothing (everything is key)
//	                                                      FRA_PROTOCOL
//	           fwmask, iif, oif, tos, invert, action,
//	           table, and every other selector rtnl.Rule
//	           models or marks unmodelled: ip protocol,
//	           ports and masks, uid range, suppressors,
//	           l3mdev, goto, tunnel id, realms, dscp
//	           (RuleKey, KeyOfRule)
//
// Keys are computed as the kernel stores the object, so that what an owner
// created is recognised when read back: a route's table 0 is main, its
// destination masked and an IPv6 metric 0 is 1024; a rule's /0 selector
// (from 0.0.0.0/0, to ::/0) is none, and its defaults (family, action,
// table, firewall-mark mask) are explicit; an IPv4-mapped IPv6 address is
// the IPv4 address it names.
//
// Routes are owned two-way by rtm_protocol: the kernel stores it with each
// route, so an owner sees exactly its own routes (rtnl.DefaultProtocol, 76,
// unless told otherwise) and nothing else. Links carry no owner in the
// kernel, so they are owned three-way: desired, observed, and a ledger (an
// Owned, one Set per kind) of the keys this owner created before. Keys
// round-trip through MarshalText and UnmarshalText, so the ledger can be
// persisted as text.
//
// A large route table need not be held as lists: RoutesFrom reads the
// desired routes one at a time (DesiredRoutes), and an ObservedRoutes
// takes the observed ones as a dump streams them, holding each as a
// compact record. A loop that keeps its ObservedRoutes from one diff to
// the next reuses its memory. RoutesInParts leaves the creates and
// updates to be built when asked for (RouteChanges), so that a caller
// can send the first while it builds the rest.
//
// Addresses, neighbours and rules are owned three-way too, and the kernel
// also keeps who created each: the writer's protocol (IFA_PROTO since Linux
// 6.1, NDA_PROTOCOL since 5.0, FRA_PROTOCOL since 4.17). Every create
// carries the owner's protocol (Compute's proto; a Mark for the per-kind
// functions), and where the kernel keeps it (State.Marked on the observed
// State) an object is the owner's only when its key is in the ledger and
// it carries that protocol: a ledger key that outlived its object, whose
// key another writer's object then took, never makes that object ours. On
// an older kernel, the ledger alone decides. See Mark.
//
// # Rules
//
//  1. A desired object whose key the kernel does not hold is created.
//  2. A desired object whose key the kernel holds is updated in place when
//     it differs in an attribute the kernel can change in place (the last
//     column above). A zero desired field means "don't care" and is never
//     compared: a desired link with MTU 0 accepts any MTU. A changed
//     gateway is therefore an Update, not a delete and a create. A link's
//     administrative state is tri-state: up when the desired Flags hold
//     net.FlagUp, down when its key is in State.LinksDown (both at once is
//     a Conflict), left as it is otherwise.
//  3. A desired object that differs from the observed one in what the
//     kernel cannot change in place (a link's kind or settings, an
//     address's peer, broadcast, label or scope) is recreated, Delete
//     right before Create, when its key is owned; when it is foreign it is
//     a Conflict and nothing is done to it.
//  4. A desired key held by a foreign object is a Conflict, for every
//     kind, and the object is never changed: a route of another protocol
//     (the kernel's replace matches routes regardless of protocol and
//     would overwrite it), an address, neighbour or rule that is not the
//     owner's (a neighbour entry the kernel learned is its cache, not a
//     writer's, and is replaced), a link whose name is not owned. Such a
//     conflict is Foreign, and what depends on the desired object is for
//     the caller to hold back. Two exceptions configure a foreign link in
//     place: a desired link with no Kind (an existing link, only
//     configured) and one in State.LinksAdopted (a foreign link of its
//     kind, adopted); neither makes the link owned. Where the kernel keeps
//     marks, an object whose key and mark disagree (see Mark) is left as
//     it is: it satisfies a desired object it equals, and is a Conflict
//     otherwise.
//  5. An observed object is deleted only when it is the owner's (its key
//     is owned and, where the kernel keeps marks, it carries the owner's
//     protocol; a route: its protocol is the owner's) and is no longer
//     desired. A foreign object is never deleted, and a foreign object
//     that is desired does not become owned.
//  6. A key desired twice, or a desired object with no usable key (a
//     route with no destination, a rule with no priority), is a Conflict;
//     the first of a duplicated key is kept.
//  7. Ops are ordered so that applying them one by one is safe: creates
//     and updates of links, then addresses, routes, neighbours and rules;
//     then deletes in the reverse order. Within a kind, ops follow the
//     key's Compare, so equal inputs give equal plans. Nexthop objects
//     (Nexthops) go between addresses and routes: created before the
//     routes that name them, single nexthops before the groups that list
//     them; deleted after the routes, groups before their members. A
//     change of a group's members is one update of the group, not of the
//     routes through it.
//
// # The caller's duties
//
//  1. Observe everything the plan is computed from in one pass (list
//     after subscribing to changes, so that no change is missed).
//  2. Resolve desired objects written by interface name to indices against
//     that observation: addresses, routes and neighbours carry indices.
//  3. Record a Create's key in the ledger before applying it and remove a
//     Delete's key after applying it (Owned.Record keeps the in-memory
//     half), so that a crash leaves no owned object unrecorded.
//  4. Treat deleting what is already gone as success: deleting a link
//     takes its addresses, routes and neighbours with it.
//  5. Diff again after applying: a plan that created a link leaves the
//     objects on it for the next pass, and a second pass with the updated
//     ledger returns no ops once the kernel holds the desired state.
package diff
