package reconcile

import (
	"net"

	"github.com/linx-net/linx/diff"
	"github.com/linx-net/linx/rtnl"
)

// DefaultJournalLimit is the number of route keys a Journal holds before
// it gives up and asks for a full pass: a burst that touches more routes
// than this costs about as much to check one by one as to list, and a
// full pass is the one that is sure. 4096 keys hold about a megabyte.
const DefaultJournalLimit = 4096

// Journal records what the kernel reported changed in a namespace since it
// was last taken (see Take), for a narrowed pass (Narrowing.Pass). It is
// fed with the decoded events of a monitor subscription, in the order the
// kernel sent them.
//
// For routes, the only kind a namespace can hold by the million, it keeps
// the last state the kernel reported per route key: events are ordered, so
// the last one is the kernel's current state for that key. Other kinds are
// listed in full by every pass; of them it keeps what a narrowed pass must
// know to be sure no route changed silently: the addresses deleted and
// added. Whatever it cannot attribute, a link deleted or taken down (the
// kernel then flushes its routes without a message), a nexthop event (the
// kernel deletes the routes through a nexthop with it), an event that
// could not be decoded, lost events, or more than Limit route keys, makes
// it Full: only a full pass will do.
//
// The zero value is a full journal with DefaultJournalLimit: nothing is
// known of what came before it. A Journal is not safe for concurrent
// use.
type Journal struct {
	// Limit bounds the route keys held; 0 means DefaultJournalLimit.
	Limit int

	// open is set by Take: from then on the journal holds every change.
	open   bool
	full   string
	events int
	routes map[diff.RouteKey]RouteSeen
	addrs  []AddressSeen
}

// RouteSeen is the last state the kernel reported for a route key.
type RouteSeen struct {
	// Route is the route as last reported.
	Route rtnl.Route
	// Deleted says it was reported deleted; otherwise it was added or
	// changed.
	Deleted bool
}

// AddressSeen is an address the kernel reported added or deleted.
type AddressSeen struct {
	// Address is the address as reported.
	Address rtnl.Address
	// Deleted says it was reported deleted; otherwise added or changed.
	Deleted bool
}

func (j *Journal) limit() int {
	if j.Limit <= 0 {
		return DefaultJournalLimit
	}
	return j.Limit
}

// Full returns why only a full pass will do ("" when a narrowed pass may
// run): "nothing known" for a journal never taken.
func (j *Journal) Full() string {
	if !j.open {
		return "nothing known before the journal"
	}
	return j.full
}

// Events returns how many events the journal was fed since it was taken.
func (j *Journal) Events() int { return j.events }

// Len returns the number of route keys held.
func (j *Journal) Len() int { return len(j.routes) }

// Lost makes the journal full for reason why: events were lost, or came
// that it cannot attribute.
func (j *Journal) Lost(why string) {
	j.events++
	j.setFull(why)
}

func (j *Journal) setFull(why string) {
	if j.full == "" {
		j.full = why
	}
	j.routes, j.addrs = nil, nil // a full pass follows: free them now
}

// Route records that the kernel reported r added or changed (deleted
// false) or deleted.
func (j *Journal) Route(r rtnl.Route, deleted bool) {
	j.events++
	if j.full != "" {
		return
	}
	k := diff.KeyOfRoute(r)
	if _, ok := j.routes[k]; !ok && len(j.routes) >= j.limit() {
		j.setFull("more route changes than the journal holds")
		return
	}
	if j.routes == nil {
		j.routes = make(map[diff.RouteKey]RouteSeen)
	}
	j.routes[k] = RouteSeen{Route: r, Deleted: deleted}
}

// Address records that the kernel reported a added or deleted. Deleting
// an address can make the kernel flush routes without a message (the
// link's last IPv4 address, a route's preferred source): a narrowed pass
// checks that neither happened (see Narrowing.Pass).
func (j *Journal) Address(a rtnl.Address, deleted bool) {
	j.events++
	if j.full != "" {
		return
	}
	if len(j.addrs) >= j.limit() {
		j.setFull("more address changes than the journal holds")
		return
	}
	j.addrs = append(j.addrs, AddressSeen{Address: a, Deleted: deleted})
}

// Link records that the kernel reported l added or changed (deleted
// false) or deleted. A link deleted or down makes the journal full: the
// kernel flushes the routes through it without a message per route.
func (j *Journal) Link(l rtnl.Link, deleted bool) {
	j.events++
	switch {
	case deleted:
		j.setFull("link " + l.Name + " deleted")
	case l.Flags&net.FlagUp == 0:
		j.setFull("link " + l.Name + " down")
	}
}

// Nexthop records a nexthop event, which makes the journal full: the
// kernel deletes or changes the routes through a nexthop with it.
func (j *Journal) Nexthop() {
	j.Lost("nexthop changed")
}

// Other records an event of a kind every pass lists in full (a
// neighbour, a rule).
func (j *Journal) Other() { j.events++ }

// Take returns what the journal holds and empties it: from now on it
// holds the changes after this call. A caller takes it at the start of a
// pass, so that a change during the pass is in the next one's journal.
func (j *Journal) Take() Journal {
	out := *j
	*j = Journal{Limit: j.Limit, open: true}
	return out
}

// Empty reports whether the journal was fed nothing since it was taken.
func (j *Journal) Empty() bool { return j.open && j.events == 0 && j.full == "" }
