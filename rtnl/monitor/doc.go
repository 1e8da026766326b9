// Package monitor watches one network namespace for changes to the state
// Linx manages — links, IPv4 and IPv6 addresses, IPv4 and IPv6 routes,
// neighbours, IPv4 and IPv6 policy rules — through the kernel's rtnetlink
// multicast notifications, the mechanism behind `ip monitor`.
//
// Open creates one multicast socket inside the namespace (the host, a
// process's, or one named by a path), joins it to every group above, and
// starts one reader goroutine. Each notification is decoded by the same
// codecs as rtnl's list verbs (rtnl.DecodeLink, rtnl.DecodeAddress, …), so
// an event's resource equals the entry a re-list returns.
//
// # Events are hints, not deltas
//
// Netlink multicast is lossy: when the socket's receive buffer is full the
// kernel drops notifications and tells the reader so with ENOBUFS. A
// consumer therefore must not maintain state by applying events one by
// one. It treats every event as a wake-up and re-lists (and re-diffs)
// whatever it cares about:
//
//  1. Open the monitor first, then list: a change made between the two is
//     then seen as an event rather than missed.
//  2. On any event — or on ResyncNeeded — list again and act on the list.
//     Debounce if you like: many events may arrive for one change.
//  3. Close the monitor when done.
//
// An event's resource is there for logging, filtering ("did anything in
// table 1000 change?") and tests, not as a source of truth.
//
// # Overruns and slow consumers
//
// The monitor never dies on lost notifications, unlike the subscriptions of
// vishvananda/netlink, which stop at the first ENOBUFS. On ENOBUFS it
// counts an overrun (see Monitor.Overruns), delivers an Event whose Op is
// ResyncNeeded, and goes on reading from the same socket. The kernel
// receive buffer is DefaultReceiveBuffer unless WithReceiveBuffer says
// otherwise.
//
// The reader never waits for the consumer. Events go into the Events
// channel, whose capacity is DefaultQueue unless WithQueue says otherwise.
// When it is full, the reader discards every queued event, together with
// the new one, and queues a single ResyncNeeded in their place: a re-list
// covers all of them. Events after it queue normally. A slow consumer
// thus sees at most one ResyncNeeded per overflow, never an unbounded
// backlog, and the reader's memory stays bounded whatever the consumer
// does.
//
// Consumers that need nothing but a wake-up may read Wake instead: a
// channel of capacity 1 that the reader fills, without blocking, after each
// delivery. Any number of changes coalesce into one pending wake-up.
//
// A receive error other than ENOBUFS (none is expected from a healthy
// socket) is delivered as a ResyncNeeded carrying the error in Event.Err;
// the reader then pauses, backing off up to one second while the error
// repeats, so that it can never spin.
//
// # Shutdown
//
// Close unblocks the reader, waits for its goroutine to return and closes
// the socket and both channels. When Close returns, no goroutine or file
// descriptor of the monitor remains and no event is delivered: events
// still queued are discarded, and a receive from Events or Wake reports a
// closed channel.
package monitor
