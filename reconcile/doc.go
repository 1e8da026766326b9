// Package reconcile runs one converging pass over a network namespace:
// it lists what the kernel has, diffs it against the desired state with
// the ownership ledger, and applies the difference in dependency order.
//
// It is mechanism only: no goroutines, no timers. A host controller can
// call Pass in its own loop; the actors in actors/ run it continuously.
//
// # The kernel
//
// A pass works through Kernel, the little it needs of a namespace: a
// listing of each kind, a batch applied in order, the exact deletion of
// a rule. *rtnl.Socket implements it, and so does the in-memory kernel of
// package reconcile/fakekernel, which keeps the real kernel's semantics
// where a pass depends on them (EEXIST, deletes of what is gone, the
// flushes that follow an address's removal, rule-delete matching, the
// protocol marks), so that the ordering, conflict and failure logic can
// be tested without root. What became of each operation is decided by
// one pure function, Classify: applied, already gone, blocked (a
// recreate's create whose delete failed), shadowed (a rule delete that
// would hit another rule: EBUSY), held (EEXIST: another writer's key),
// refused, or never sent. The scenario tests run the same table against
// both kernels, as root, and require the same outcome from each.
//
// # Ownership
//
// Routes are owned by their protocol (rtm_protocol; 76 unless overridden):
// a pass lists only routes of its protocol, filtered in the kernel, and
// never sees or touches another writer's routes. A desired route whose key
// (table, destination, tos, metric) is already held by a route of another
// protocol is reported as a conflict and left alone.
//
// Nexthop objects are owned by their protocol too, the pass's own
// (Options.Protocol): a pass deletes the nexthops of its protocol that are
// not desired and never changes or deletes another's. A desired id held
// by another writer's nexthop is a conflict, and the groups listing it
// and the routes through it are held back. The kernel deletes the routes
// through a nexthop with it, whoever wrote them, and takes it out of the
// groups that list it: so a pass never deletes a nexthop that a route of
// a protocol it does not own, or another writer's group, still uses. It
// reports a conflict naming that route or group, keeps the nexthop, and
// deletes it on a later pass once nothing foreign uses it.
//
// Routes are keyed with their source prefix (IPv6 source-specific
// routing, Route.From): routes to one destination from different sources
// are different routes.
//
// A Ledger records the keys of the links, addresses, neighbours and rules
// this scope created. Only ledger keys that are no longer desired are
// deleted; an object that merely appeared is never touched. The ledger is
// saved atomically (temporary file, fsync, rename) with the key recorded
// before a create and removed after a delete, so a crash at any point
// never leaves an object Linx created unowned.
//
// Addresses, neighbours and rules also carry a mark in the kernel: the
// protocol of the writer that created them. A pass writes the scope's
// protocol (Options.Protocol, 76 by default) on every one it creates, and
// where the kernel keeps the mark it changes or deletes only objects whose
// key is in the ledger and that carry the scope's protocol. A ledger key
// can outlive its object (deleted by hand while the agent was down, or
// flushed by the kernel with its link); another writer's object that
// later takes that key carries its own protocol, or none, and is never
// touched. What each kernel guarantees:
//
//	kind       attribute     kernel   without it
//	---------  ------------  -------  ----------------------------------
//	route      rtm_protocol  all      (always owned by protocol alone)
//	rule       FRA_PROTOCOL  4.17     the ledger alone decides
//	neighbour  NDA_PROTOCOL  5.0      the ledger alone decides
//	address    IFA_PROTO     6.1      the ledger alone decides
//	link       none          -        the ledger, checked by index (below)
//
// A pass takes a kind's mark as kept when the running kernel's release is
// at least the one above, or when any object of the kind it lists carries
// a protocol (a backport; the kernel's own default rules and IPv6
// link-local addresses carry one). An older kernel ignores the attribute
// when adding and reports none: every object of the kind then reads
// protocol 0, and the ledger alone decides, as it did before marks. On a
// kernel that keeps marks, an object whose key and mark disagree is left
// as it is: one whose key is in the ledger but that carries no protocol
// (one Linx created before it wrote marks, or another writer's), or one
// that carries the scope's protocol but whose key is not in the ledger (a
// ledger lost or moved aside). It satisfies a desired object it equals, is
// a conflict when it differs, and is never deleted.
//
// A desired key that a foreign object holds is a conflict, for every kind,
// and the object is left untouched: a neighbour is created exclusively,
// never replacing an entry the kernel holds, learned ones included. A
// desired link with a kind whose name another writer's link holds is a
// conflict, and so is everything that depends on it: the addresses,
// neighbours and routes desired on it and the links desired on it as
// parent are not applied to that link, and a port desired on it is not
// enslaved. Link.Adopt lets a desired link configure a foreign link of its
// name and kind; a desired link with no kind configures the existing link
// of its name, as it always did. Neither makes the link owned.
//
// A link is keyed by its name, and a name can pass to another writer: the
// link Linx created is deleted by someone else and a link of the same name
// appears. So the ledger also records an owned link's interface index, in
// the first link round that sees the link after its create. At the start
// of every link round, an owned name held by a link of another index is
// dropped from the ledger and that link is treated as foreign: it is not
// deleted when no longer desired, nor recreated when its settings differ
// (a conflict instead). A name owned without a recorded index (saved by an
// older Linx) is owned by name until a pass sees it and records the index
// of the link found then. Addresses and neighbours are keyed by interface
// index already, and the kernel hands a deleted link's index out again
// when asked for it (IFLA_NEW_IFINDEX: `ip link add … index N`, a link
// moved in from another namespace): the ledger records, per index, the
// name of the link its keys were recorded with, and drops the keys of an
// index that names another link now.
//
// A key cannot outlive its object: before it diffs anything, a pass drops
// every owned key whose object it finds absent and does not desire (an
// object deleted by another writer, flushed by the kernel, or deleted
// while the agent was down), so that a foreign object taking the key
// later is never taken for the scope's. One case no ledger can tell: an
// owned object deleted and a foreign twin created before any pass sees
// the deletion.
//
// A ledger belongs to the namespace it was first applied in, and a pass
// refuses it in any other (*NamespaceError). Route protocols are claimed:
// a pass owning a protocol that already marks routes the scope did not
// create is refused (*ClaimError) unless Options.AdoptProtocol is set;
// the claims are recorded in the ledger, so a scope resuming its own
// protocol is not refused.
//
// # A pass, step by step
//
//  1. Validate the desired state (an invalid one is refused whole) and
//     read the ledger again: another process may have changed it. Check
//     the ledger's namespace and the protocol claims, then drop the stale
//     keys (see Ownership).
//  2. Links: list, settle the owned links' indices (see Ownership), diff,
//     create and update, in rounds until nothing is left to do (parents
//     and masters first, then the links on them and the enslaving).
//  3. Resolve every interface name to its index.
//  4. List addresses, routes (kernel-filtered, one dump per protocol the
//     pass owns; see Desired.Protocols), neighbours and rules; diff each
//     against desired, the ledger and, where the kernel keeps them, the
//     objects' protocols. What is desired on a link another writer holds
//     is reported as a conflict and left out.
//  5. Apply creates and updates: addresses (so gateways are reachable),
//     nexthop objects (single ones, then groups), routes, neighbours,
//     rules; then deletes in reverse: rules, neighbours, routes, nexthops
//     (groups, then single ones), addresses. A nexthop is thus created
//     before the routes that name it and deleted after them; a group's
//     new members are one replace of the group, which moves every route
//     through it, the routes themselves unchanged. When addresses were deleted, steps 4
//     and 5 run once more, since the kernel flushes the IPv4 routes and
//     neighbours of an interface that loses its last IPv4 address. Links
//     are deleted last. An owned object the kernel cannot change in place
//     (a link's kind or settings, a vxlan's VNI) is recreated: its delete
//     goes out right before its create, in the same batch, and its key
//     stays owned.
//  6. Each kind goes out in pipelined batches (single nexthops before
//     groups). A failing operation is reported with its *rtnl.Error
//     (Report.Failures) and holds back only what depends on its object
//     (see Dependencies); everything else converges in the same pass.
//     With Options.FailFast the first failing link, address, neighbour,
//     rule or nexthop operation stops the pass instead, as a single-shot
//     caller may want (route operations go on past a failure either
//     way). A create the kernel refuses because it holds the key already
//     is a conflict, not a failure. The ledger is saved as it changes: a
//     key recorded before its create is sent, removed after its delete.
//
// Plan runs Pass, every step, against a copy of the namespace in memory
// (fakekernel.Copy) and a copy of the ledger: its report is what Pass
// would do now, the kernel's refusals and conflicts included, and it
// changes neither the namespace nor the ledger's file.
//
// # Dependencies
//
// An object depends on the objects that must exist for the kernel to
// take it. When an object fails (the kernel refused its create or
// update, it names an interface neither present nor desired, or it is a
// veth whose peer's namespace cannot be entered), the
// create or update of every desired object that depends on it is not
// sent: it is blocked, reported in Report.Blocked with the object it
// depends on directly, and blocks what depends on it in turn. The rules:
//
//   - an address, neighbour or nexthop object desired on a link depends
//     on the link; so does a route out of the link (its device, or the
//     device of one of its multipath next hops);
//   - a link depends on its parent (macvlan, vlan, vxlan …), and a link
//     desired as a port depends on its master unless it is enslaved to
//     it already;
//   - a route or nexthop object through a gateway depends on the desired
//     addresses whose subnet holds the gateway (on the route's device,
//     when it names one) when nothing else reaches it: no address in the
//     kernel, no other desired address still converging. A gateway no
//     address reaches is the kernel's to judge (ENETUNREACH: a failure of
//     the route itself);
//   - a nexthop group depends on its members, a route through a nexthop
//     id on that nexthop;
//   - rules depend on nothing a pass creates (their interface names need
//     no interface).
//
// A desired link without a Kind that the kernel does not hold cannot be
// created by the pass: another program is to make it (a container
// runtime moving an interface in, say). It is reported as a conflict
// with Status.Absent set, and what is desired on it is blocked by it
// until it appears; it fails nothing.
//
// An object that already is as desired is converged whatever its
// dependencies: only a pending create or update is held back. A failed
// or blocked object is sent at most once per pass, even when the pass
// looks again after an address delete. Deletes follow the same
// ordering and do not stop at a failure either: each failed delete is
// reported, and no delete is held back, since the kernel removes what an
// object carries with it (a link's addresses, routes and neighbours, the
// routes through a nexthop), and deleting what is gone is success.
//
// A long-lived caller keeps a Retries across passes (Options.Retries):
// an object that keeps failing is then skipped, with its last error,
// until its backoff has passed, so that a permanently impossible object
// costs one request per backoff period; the backoff ends early when the
// operation or the kernel's links or addresses change.
//
// # Narrowed passes
//
// A full pass costs the routes the scope owns: at a million routes, a
// second or so to list and diff them, however little changed. A loop fed
// with the kernel's events can do better between full passes. It keeps a
// Journal of what the events reported since the last pass, and hands it
// to Narrowing.Pass, which lists the small kinds (links, addresses,
// neighbours, rules, nexthops) and diffs them as a full pass does, but for
// routes looks only at the keys the journal names: the desired routes at
// those keys (found through an index built once per Validated, 16 bytes a
// route) against the kernel's routes there as the last event for each key
// reported them. Ownership, conflicts and hold-backs follow the full
// pass's rules, so a narrowed pass never touches what a full pass would
// not. The route conflicts of keys it does not look at are reported as
// the last pass found them.
//
// A narrowed pass is only as good as its journal, so it gives way to a
// full pass whenever it cannot be sure:
//
//  1. the last pass did not reach its end, or ran with another desired
//     state or options;
//  2. the journal is full: events were lost, one could not be decoded or
//     was a nexthop's (the kernel deletes the routes through a nexthop
//     with it), a link went down or away (the kernel flushes its routes
//     without a message per route), or more than Journal.Limit route keys
//     changed;
//  3. an address deleted may have taken routes with it: its link has no
//     IPv4 address left that was there all along (fib_disable_ip), or a
//     desired route prefers it as its source;
//  4. on the way, an operation failed, a route create was refused at a
//     key the journal does not show held by another writer, a link or
//     nexthop changed, an address was deleted, or a held link or nexthop
//     is in play. The full pass then follows at once, in the same call.
//
// A pass builds, sends and takes in the outcome of its route creates and
// updates a chunk at a time (8192 routes), the kernel applying one chunk
// in a goroutine of its own while the pass builds the next and settles
// the last: a million routes cost the kernel's install and little more.
// A pass that sends BulkRoutes route operations or more mutes their echo
// around them when its Kernel is a RouteMuter, so that a watcher may stop
// hearing the echo of the pass's own changes; it then treats its events
// as lost, and the full pass that follows sees what else changed
// meanwhile. A Kernel that is an AppliedObserver is told of each batch of
// applied ops as the pass settles it.
//
// Correctness rests on full passes: the loop runs one at start, after
// lost events, on every new desired state and on its interval. What an
// interval pass repairs although no event came since the pass before is
// drift that events, and so narrowed passes, missed; package
// actors/rtnlsource counts it (linx_drift_repaired_total).
//
// The package sits above rtnl and diff and below the actors: it imports
// no actor and nothing of the configuration or the message API.
package reconcile
