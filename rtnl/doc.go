// Package rtnl reads and changes Linux network state over rtnetlink, in
// any network namespace: links, addresses, routes, nexthop objects,
// neighbours (ARP and NDP), policy rules and link statistics.
//
// It is the transport and the codecs under the rest of Linx: the monitor
// decodes multicast events with the same Decode functions, and the
// reconciler diffs the structs the read verbs return and applies its
// changes as batches.
//
// # Sockets and namespaces
//
// Everything starts with a Socket, opened inside one network namespace:
//
//	s, err := rtnl.Open(rtnl.Host())                          // the caller's own namespace
//	s, err := rtnl.Open(rtnl.NamespaceOfPID(4242))          // a process's, e.g. a container's
//	s, err := rtnl.Open(rtnl.NamespaceAt("/var/run/netns/blue")) // any file that names one
//	defer s.Close()
//
// The socket is created on a short-lived OS thread that entered the
// namespace (see Namespace.Run) and stays bound to it afterwards, so every
// verb called on it acts in that namespace whatever goroutine calls it. No
// goroutine of the caller ever changes namespace. ParseNamespace reads the
// text forms "host", "pid:N" and "path:P", as the command line takes them.
//
// Opening fails with ESRCH for a pid that does not exist, ENOENT for a path
// that does not exist, and EPERM without CAP_SYS_ADMIN to enter another
// namespace.
//
// Namespace.Handle returns the namespace as a github.com/vishvananda/netns
// handle, for code written against that package; it is opened with the
// same checks.
//
// # Verbs
//
// Every read is a method of Socket:
//
//	Links, LinkByName, LinkByIndex        links; Link.Up reports IFF_UP
//	Addresses, AddressesOf                IPv4 and IPv6 addresses
//	Routes, RoutesFiltered, RouteGet      every table, both families; which route the kernel would use
//	Neighbours, NeighboursOf              the ARP and NDP tables
//	Rules                                 policy rules, both families
//	Nexthops, NexthopsFiltered, Nexthop   nexthop objects and groups (Linux 5.3+)
//	Stats, AllStats                       the 25 counters of struct rtnl_link_stats64
//
// Lists are complete snapshots taken with one netlink dump each (restarted
// when the kernel reports it interrupted by a concurrent change). For
// tables too large to hold, the Each verbs stream the same dumps, one
// decoded entry at a time, in the memory of one datagram:
//
//	EachLink, EachAddress, EachRoute      with AddressFilter, RouteFilter
//	EachNeighbour, EachRule               with NeighbourFilter, a family
//
// The filters' fields go to the kernel (NETLINK_GET_STRICT_CHK), which
// then sends only what matches, but for RouteFilter's destination (Root,
// Match), which no kernel filters: it is applied as the dump is read. A
// streamed dump cannot be restarted: an interrupted one ends in EINTR
// after its last entry. Addresses
// keep their host bits (10.0.42.5/24), as the kernel stores them. The
// structs print like `ip` does in brief: `Link<"lo" (1) UP MTU=65536>`,
// `Route<default via 192.168.1.1 oif=2>`.
//
// Every change is a method of Socket too, and returns once the kernel has
// acknowledged it:
//
//	LinkAdd, LinkModify, LinkDelete, LinkMoveTo   any kind; Create* name the common ones
//	LinkSetUp, LinkSetDown, LinkSet…              one setting of a link named by name
//	AddressAdd, AddressReplace, AddressDelete     an address on a link named by name
//	RouteAdd, RouteReplace, RouteDelete           zero fields as RouteAdd documents
//	NeighbourAdd, NeighbourSet, NeighbourDelete   static ARP and NDP entries
//	RuleAdd, RuleDelete                           policy rules
//	NexthopAdd, NexthopReplace, NexthopDelete     nexthop objects and groups, by id
//
// Add is strict (EEXIST when the object exists), Replace creates or
// overwrites, and Delete fails with an error IsNotExist recognises when the
// object is already gone. Many changes at once go into a Batch, which
// Socket.Apply pipelines and whose *BatchError names each failed entry.
//
// # Values
//
// Addresses and prefixes are netip.Addr and netip.Prefix; link-layer
// addresses are net.HardwareAddr. netip.MustParseAddr and
// netip.MustParsePrefix build literals (the latter keeps host bits);
// MustParseMAC and ParseMAC add MAC literals, and Network, Broadcast and
// Contains the usual subnet arithmetic, with documented IPv6 behaviour.
//
// # Who installed an object
//
// The kernel keeps, with most objects, the protocol of the writer that
// installed it, and reports it back: Route.Protocol (rtm_protocol, on every
// kernel), Rule.Protocol (FRA_PROTOCOL, Linux 4.17), Neighbour.Protocol
// (NDA_PROTOCOL, Linux 5.0) and Address.Protocol (IFA_PROTO, Linux 6.1,
// whose values 1 to 3 the kernel gives its own addresses). The verbs send
// a non-zero Protocol when adding; an older kernel ignores the attribute
// and reports 0. An owner that writes its own protocol can thus tell its
// objects from another writer's of the same key; links carry no such mark.
//
// # Errors
//
// Every verb fails with an *Error carrying the errno and a message:
//
//	_, err := s.LinkByName("nope0")
//	// err.Error() == `netlink ENODEV (19): no such interface "nope0"`
//	errors.Is(err, unix.ENODEV) // true
//
// The message is the kernel's own extended-ack text (NLMSGERR_ATTR_MSG)
// whenever it sent one; when it sent none, the verb writes one naming the
// argument at fault. Bad arguments caught before anything is sent (an empty
// or over-long interface name) fail with EINVAL. IsNotExist and IsExist
// classify errors without listing errnos.
//
// A dump the kernel marks interrupted (NLM_F_DUMP_INTR: the table changed
// while it was being read) is restarted from scratch a bounded number of
// times, then fails with EINTR; a list is never a mix of two states.
//
// # Timeouts
//
// No call waits forever: each wait for a reply datagram is bounded by the
// socket's timeout (DefaultTimeout, or WithTimeout at Open), after which the
// verb fails with EAGAIN. A reply arriving after its request timed out is
// recognised by its sequence number and discarded.
//
// # Concurrency
//
// A Socket is safe for concurrent use by many goroutines; requests on one
// socket are serialised, so a goroutine that needs its own throughput should
// open its own socket. Close is idempotent, and a request in flight or made
// after Close fails with EBADF.
//
// # Decoding other sockets' messages
//
// DecodeLink, DecodeLinkStats, DecodeAddress, DecodeRoute, DecodeNeighbour,
// DecodeRule and DecodeNexthop turn the payload of one rtnetlink message
// into the structs above, so that events read from a multicast socket
// equal what a re-read returns. They return an error, and never panic, on
// malformed input.
//
// # Why its own codecs
//
// github.com/vishvananda/netlink is the Go library most tools use, and
// Linx's benchmarks measure against it in every run; it is not the codec
// here. Dumping 100,000 routes through it took about 20 times as long as
// through this package, on the same kernel. A Handle also never delivers
// the kernel's extended acknowledgements (its issue #1129), has no bound
// on how long a request may wait, reads 23 of the 25 counters of
// rtnl_link_stats64, sends a route's protocol 0 as "boot", and replaces a
// route without matching its protocol, so that it can overwrite another
// writer's. This package keeps every error's explanation, bounds every
// wait, restarts interrupted dumps, pipelines batches and decodes into
// netip values.
package rtnl
