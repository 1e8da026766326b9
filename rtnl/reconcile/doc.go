// Package reconcile runs one converging pass over a network namespace:
// it lists what the kernel has, diffs it against the desired state with
// the ownership ledger, and applies the difference in dependency order.
//
// It is mechanism only: no goroutines, no timers. A host controller can
// call Pass in its own loop; the actors in actors/ run it continuously.
//
// # Ownership
//
// Routes are owned by their protocol (rtm_protocol; 76 unless overridden):
// a pass lists only routes of its protocol, filtered in the kernel, and
// never sees or touches another writer's routes. A desired route whose key
// (table, destination, tos, metric) is already held by a route of another
// protocol is reported as a conflict and left alone.
//
// Links, addresses, neighbours and rules carry no owner in the kernel, so a
// Ledger records the keys this scope created. Only ledger keys that are no
// longer desired are deleted; an object that merely appeared is never
// touched. The ledger is saved atomically (temporary file, fsync, rename)
// with the key recorded before a create and removed after a delete, so a
// crash at any point never leaves an object Linx created unowned.
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
//     against desired and the ledger.
//  5. Apply creates and updates: addresses (so gateways are reachable),
//     routes, neighbours, rules; then deletes in reverse: rules,
//     neighbours, routes, addresses. When addresses were deleted, steps 4
//     and 5 run once more, since the kernel flushes the IPv4 routes and
//     neighbours of an interface that loses its last IPv4 address. Links
//     are deleted last. An owned object the kernel cannot change in place
//     (a link's kind or settings, a vxlan's VNI) is recreated: its delete
//     goes out right before its create, in the same batch, and its key
//     stays owned.
//  6. Each kind goes out in pipelined batches. The first failing link,
//     address, neighbour or rule operation stops the pass and is reported
//     with its *rtnl.Error; route operations go on past a failure so that
//     the other routes converge. A create the kernel refuses because it
//     holds the key already is a conflict, not a failure. The ledger is
//     saved as it changes: a key recorded before its create is sent,
//     removed after its delete.
//
// Plan runs steps 1 to 4 and returns the operations Pass would apply.
package reconcile
