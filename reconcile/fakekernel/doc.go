// Package fakekernel is an in-memory stand-in for a network namespace's
// kernel, as a reconcile pass sees it through reconcile.Kernel: it lists
// links, addresses, routes, neighbours, rules and nexthops, carries out rtnl.Batch
// entries (decoded from the very bytes an *rtnl.Socket would send) and
// deletes rules exactly, so that the ordering, conflict and failure logic
// of a pass can be tested without root. Copy seeds one from a real
// namespace's state, so that a pass may be run against it to see what it
// would do there without doing it: that is how reconcile.Plan plans.
//
// It keeps the kernel's semantics where a pass depends on them:
//
//   - a strict create of a key already present fails with EEXIST, a
//     replace changes the object in place;
//   - deleting what is absent fails as the kernel does (ENODEV for a
//     link, EADDRNOTAVAIL for an address, ESRCH for a route, ENOENT for a
//     neighbour or rule), and the loopback device cannot be deleted
//     (EOPNOTSUPP);
//   - removing an interface's last IPv4 address flushes the IPv4 routes
//     and neighbours through it (fib_disable_ip), and removing an address
//     the routes that use it as their source; deleting a link removes what
//     was on it and frees its ports;
//   - an IPv6 route of metric 0 gets 1024, as the kernel gives it;
//   - a route's gateway must lie in a prefix of an address on an up link,
//     or in a link-scope route through one (ENETUNREACH), and its device
//     is resolved from it; an IPv6 link-local gateway needs its device
//     only;
//   - an IPv4 address on an up link (or a link brought up) gets its
//     prefix route in the main table, of protocol kernel, as the kernel
//     adds it (a desired route there meets EEXIST); a link going down
//     takes the routes through it along;
//   - a link change always carries the master: 0 releases the link;
//   - a rule delete in a batch removes the first rule the request matches,
//     a selector left out matching anything (rule_find); RuleDelete
//     deletes exactly the rule it is given, failing with EBUSY when an
//     earlier rule would be matched first, as *rtnl.Socket does;
//   - addresses, neighbours and rules keep the protocol their writer set,
//     and the kernel's own objects carry the kernel's (the default rules,
//     loopback's addresses), as Linux 6.1 and later do;
//   - IPv6 can be turned off per link (DisableIPv6): an IPv6 address on it
//     is refused with EACCES;
//   - nexthop objects and groups: a group's members must exist and be
//     single nexthops, a route through an id that does not exist is
//     refused (EINVAL), and deleting a nexthop deletes the routes through
//     it and takes it out of the groups that list it (a group left empty
//     goes too, with its routes);
//   - an IPv6 route's source prefix is part of its key;
//   - creating a veth creates its peer too, down, when the peer stays in
//     the namespace, each end naming the other as its parent; deleting
//     either end deletes both;
//   - a bridge's MTU follows the lowest of its ports' (1500 with none) as
//     ports come, go or change theirs, until it is changed after its
//     creation (br_mtu_auto_adjust);
//   - routes are held by key, so that a table of 100,000 routes costs
//     per route what an empty one does;
//   - with rtnl.ApplyOptions.StopOnError a batch stops after the datagram
//     (64 requests) that carried the first failure, as a socket's does.
//
// It leaves out what a pass does not meet: the local table's routes,
// IPv6 link-local addresses and prefix routes, the IPv6 addresses a link
// loses when it goes down, and dynamic neighbours.
// What it does not model, a test injects: SetFault makes chosen requests
// fail as a real kernel refuses them (a link kind not built in, a value
// out of range), and nothing changes for a refused request.
//
// The zero Kernel is not usable; New returns one holding only the
// loopback device and the default rules. A Kernel is safe for concurrent
// use.
package fakekernel
