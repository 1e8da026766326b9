package diff

import (
	"iter"
	"maps"
	"slices"
	"strconv"

	"github.com/linx-net/linx/rtnl"
)

// Action is what an Op does to the kernel object it carries. The zero
// Action is not a valid action.
type Action uint8

// Actions, in the order an Op of each applies for one key when a link or
// address is recreated: Delete is placed right before Create.
const (
	// Create installs the object, which the kernel does not hold.
	Create Action = iota + 1
	// Update changes the object in place (a route replace, a link set, a
	// neighbour replace); its key stays the same.
	Update
	// Delete removes the object.
	Delete
)

// String returns "create", "update", "delete", or "Action(N)" for any
// other value.
func (a Action) String() string {
	switch a {
	case Create:
		return "create"
	case Update:
		return "update"
	case Delete:
		return "delete"
	}
	return "Action(" + strconv.Itoa(int(a)) + ")"
}

// Kind is the kind of kernel object an Op or a Conflict is about. Kinds are
// numbered in dependency order: a link is needed by its addresses, an
// address by the routes through it. The zero Kind is not a valid kind.
type Kind uint8

// Kinds, in dependency order.
const (
	KindLink Kind = iota + 1
	KindAddress
	KindRoute
	KindNeighbour
	KindRule
	// KindNexthop is a nexthop object; it is numbered last so that the
	// other kinds keep their numbers, but applies before the routes that
	// name it and is deleted after them (see Nexthops).
	KindNexthop
)

// String returns "link", "address", "route", "neighbour", "rule", or
// "Kind(N)" for any other value.
func (k Kind) String() string {
	switch k {
	case KindLink:
		return "link"
	case KindAddress:
		return "address"
	case KindRoute:
		return "route"
	case KindNeighbour:
		return "neighbour"
	case KindRule:
		return "rule"
	case KindNexthop:
		return "nexthop"
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// Op is one create, update or delete of one kernel object. Kind says which
// of the six object fields points to it; the other five are nil. A
// consumer switches on Kind and reads the typed field:
//
//	switch op.Kind {
//	case diff.KindRoute:
//		err = applyRoute(op.Action, op.Route)
//	case diff.KindLink:
//		…
//	}
//
// What the object field holds depends on Action:
//
//   - Create: the desired object, with the defaults this package assumes
//     made explicit (a route's Protocol, Table, Type, Scope and IPv6
//     metric; a neighbour's State; a rule's Family, Action, Table and
//     FwMask), so that what is installed has the key the diff computed.
//   - Update: the object as it must be after the change, with every field
//     the kernel needs to apply it in place. A link update is the observed
//     link (its Index included, since desired links are by name) with the
//     desired fields that differ applied; a neighbour update likewise; a
//     route update is the desired route, applied with replace.
//   - Delete: the observed object, exactly as the kernel reported it, so
//     that a delete can name the one object among several with one key.
type Op struct {
	Action Action
	Kind   Kind

	// The object, by pointer: an op is small (56 bytes) whatever its
	// kind, so that a diff of a million routes is a million small ops and
	// one array of routes, not a million ops each as large as all six
	// kinds together. Ops made by this package point into arrays of their
	// own and share them with no one; a copy of an Op shares the object,
	// so change the object of a copy only through a copy of the object.
	Link      *rtnl.Link
	Address   *rtnl.Address
	Route     *rtnl.Route
	Neighbour *rtnl.Neighbour
	Rule      *rtnl.Rule
	Nexthop   *rtnl.Nexthop
}

// Valid reports whether o's Kind is one of the six and the field of that
// kind points to its object, as in every op this package makes.
func (o Op) Valid() bool {
	switch o.Kind {
	case KindLink:
		return o.Link != nil
	case KindAddress:
		return o.Address != nil
	case KindRoute:
		return o.Route != nil
	case KindNeighbour:
		return o.Neighbour != nil
	case KindRule:
		return o.Rule != nil
	case KindNexthop:
		return o.Nexthop != nil
	}
	return false
}

// Key returns the string form of the key of the object the op carries, as
// the key's String method gives it, or "" for an op that is not Valid.
func (o Op) Key() string {
	if !o.Valid() {
		return ""
	}
	switch o.Kind {
	case KindLink:
		return KeyOfLink(*o.Link).String()
	case KindAddress:
		return KeyOfAddress(*o.Address).String()
	case KindRoute:
		return KeyOfRoute(*o.Route).String()
	case KindNeighbour:
		return KeyOfNeighbour(*o.Neighbour).String()
	case KindRule:
		return KeyOfRule(*o.Rule).String()
	case KindNexthop:
		return KeyOfNexthop(*o.Nexthop).String()
	}
	return ""
}

// Object returns a copy of the object the op carries, as a value of its
// rtnl type (rtnl.Link, rtnl.Address, …), or nil for an op that is not
// Valid.
func (o Op) Object() any {
	if !o.Valid() {
		return nil
	}
	switch o.Kind {
	case KindLink:
		return *o.Link
	case KindAddress:
		return *o.Address
	case KindRoute:
		return *o.Route
	case KindNeighbour:
		return *o.Neighbour
	case KindRule:
		return *o.Rule
	case KindNexthop:
		return *o.Nexthop
	}
	return nil
}

// String returns the action and the object, as
// `update Route<10.50.0.0/24 via 10.0.0.2 proto=76>`.
func (o Op) String() string {
	obj := o.Object()
	if obj == nil {
		return o.Action.String() + " " + o.Kind.String()
	}
	return o.Action.String() + " " + obj.(interface{ String() string }).String()
}

// Conflict is a desired object the diff will not converge, with the
// reason. The usual cause is a foreign object that holds the desired key
// and cannot be changed in place without taking it over: a route of
// another protocol, a foreign link of another kind. Conflicts are reported,
// never resolved: the caller decides (and usually alerts).
type Conflict struct {
	Kind Kind
	// Key is the string form of the desired object's key.
	Key string
	// Desired is the desired object, as its rtnl type (rtnl.Route, …).
	Desired any
	// Observed is the observed object holding Key, as its rtnl type, or
	// nil when the conflict is about the desired object alone (a key
	// desired twice, a link with no kind to create it from).
	Observed any
	// Reason is a sentence saying what is wrong.
	Reason string
	// Foreign is true when an object that is not the owner's holds Key
	// (Observed): it is left untouched, and what depends on the desired
	// object (the addresses, neighbours and routes of a desired link, the
	// links enslaved to it) cannot converge either and is to be held back
	// rather than applied to the foreign object.
	Foreign bool
}

// String returns `route family=inet table=254 …: <reason>`.
func (c Conflict) String() string { return c.Kind.String() + " " + c.Key + ": " + c.Reason }

// Set is a set of keys (LinkKey, AddressKey, …): the keys of the objects an
// owner created, which it alone may delete.
//
// The zero (nil) Set is empty and may be read (Has, Len, All) but not
// written; make one with NewSet, or let Owned.Record allocate it.
type Set[K comparable] map[K]struct{}

// NewSet returns a set holding keys.
func NewSet[K comparable](keys ...K) Set[K] {
	s := make(Set[K], len(keys))
	for _, k := range keys {
		s[k] = struct{}{}
	}
	return s
}

// Has reports whether k is in s; false for a nil set.
func (s Set[K]) Has(k K) bool {
	_, ok := s[k]
	return ok
}

// Add puts k in s. It panics on a nil set.
func (s Set[K]) Add(k K) { s[k] = struct{}{} }

// Remove takes k out of s; removing an absent key (or from a nil set) does
// nothing.
func (s Set[K]) Remove(k K) { delete(s, k) }

// Len returns the number of keys in s.
func (s Set[K]) Len() int { return len(s) }

// All returns the keys of s, in no particular order; sort them with
// slices.SortedFunc(s.All(), K.Compare) for a stable order.
func (s Set[K]) All() iter.Seq[K] { return maps.Keys(s) }

// Clone returns a copy of s; nil for a nil set.
func (s Set[K]) Clone() Set[K] { return maps.Clone(s) }

// State is a whole namespace's worth of objects, desired or observed.
// Links are by name; addresses, routes and neighbours refer to links by
// index, so a desired State is written (or resolved) against the observed
// link indices.
type State struct {
	Links []rtnl.Link
	// LinksDown holds the keys of desired links wanted administratively
	// down (see Links); nil wants none down. It is read on a desired State
	// only, and ignored on an observed one.
	LinksDown Set[LinkKey]
	// LinksAdopted holds the keys of desired links that may configure a
	// foreign link of their name and kind (see Links); nil adopts none. It
	// is read on a desired State only.
	LinksAdopted Set[LinkKey]
	// Marked says of which kinds the kernel keeps the ownership mark (the
	// writer's protocol) on the objects it holds; see Mark. It is read on
	// an observed State only: the zero Marks (an older kernel, or one not
	// known to keep them) leaves ownership to the ledger alone.
	Marked     Marks
	Addresses  []rtnl.Address
	Routes     []rtnl.Route
	Neighbours []rtnl.Neighbour
	Rules      []rtnl.Rule
}

// Mark is an owner's mark on the objects of one kind: the protocol it
// writes on every object it creates (IFA_PROTO on addresses, NDA_PROTOCOL
// on neighbours, FRA_PROTOCOL on rules, as rtm_protocol on routes), and
// whether the kernel keeps it, so that an observed object's protocol says
// who created it.
//
// When Kept (and Protocol is not 0), an observed object is the owner's
// only when its key is owned and it carries Protocol: a foreign object
// that took an owned key after the owner's object went carries another
// protocol and is never changed or deleted. Where the key and the mark
// disagree the object is left as it is too: one carrying no protocol (0)
// under an owned key (another writer's, or the owner's from before it
// wrote marks), or one carrying Protocol whose key is not owned (the
// owner's, its ledger lost, or another owner's using the same protocol).
// Such an object satisfies a desired object it equals, and is a Conflict
// when it differs. When not Kept, the ledger alone decides.
//
// The zero Mark writes no protocol and leaves ownership to the ledger.
type Mark struct {
	Protocol rtnl.Protocol
	Kept     bool
}

func (m Mark) active() bool { return m.Kept && m.Protocol != 0 }

// Marks says, per kind, whether the kernel keeps the writer's protocol on
// its objects: rules since Linux 4.17 (FRA_PROTOCOL), neighbours since
// 5.0 (NDA_PROTOCOL), addresses since 6.1 (IFA_PROTO). The zero Marks
// keeps none.
type Marks struct {
	Addresses, Neighbours, Rules bool
}

// Owned is the ledger of keys one owner created, per kind (routes are owned
// by protocol instead and have no set). The zero Owned owns nothing.
type Owned struct {
	Links      Set[LinkKey]
	Addresses  Set[AddressKey]
	Neighbours Set[NeighbourKey]
	Rules      Set[RuleKey]
}

// Record applies op to the ledger: a Create records the key of the object
// it carries, a Delete removes it. An Update changes nothing (updating a
// foreign link's MTU does not make it ours), nor does a route op (routes
// are owned by protocol), nor does an op that is not Valid. Nil sets are
// allocated as needed.
//
// A persistent ledger records a create's key before applying it and
// removes a delete's key after, so that a crash in between never leaves an
// object the ledger forgot; Record is the in-memory half of that.
func (o *Owned) Record(op Op) {
	if !op.Valid() {
		return // an op without its object names no key
	}
	switch op.Kind {
	case KindLink:
		record(&o.Links, op.Action, KeyOfLink(*op.Link))
	case KindAddress:
		record(&o.Addresses, op.Action, KeyOfAddress(*op.Address))
	case KindNeighbour:
		record(&o.Neighbours, op.Action, KeyOfNeighbour(*op.Neighbour))
	case KindRule:
		record(&o.Rules, op.Action, KeyOfRule(*op.Rule))
	}
}

func record[K comparable](s *Set[K], a Action, k K) {
	switch a {
	case Create:
		if *s == nil {
			*s = make(Set[K])
		}
		s.Add(k)
	case Delete:
		s.Remove(k)
	}
}

// Plan is the outcome of Compute: the ops to apply, in order, and the
// desired objects that will not converge.
type Plan struct {
	// Ops are to be applied one after the other, in this order.
	Ops []Op
	// Conflicts are ordered by kind, then key.
	Conflicts []Conflict
}

// Converged reports whether the plan has nothing to do: no ops and no
// conflicts.
func (p Plan) Converged() bool { return len(p.Ops) == 0 && len(p.Conflicts) == 0 }

// keyed pairs an op with its key, for sorting.
type keyed[K any] struct {
	key K
	op  Op
}

// keyedConflict pairs a conflict with its key, for sorting.
type keyedConflict[K any] struct {
	key K
	c   Conflict
}

// appendSorted sorts ks by key, Delete before Create for one key (a
// recreate), and appends their ops to dst. The sort is stable so that several deletes of one key (observed duplicates)
// keep the observed order.
func appendSorted[K any](dst []Op, ks []keyed[K], cmp func(a, b K) int) []Op {
	slices.SortStableFunc(ks, func(a, b keyed[K]) int {
		if c := cmp(a.key, b.key); c != 0 {
			return c
		}
		return actionRank(a.op.Action) - actionRank(b.op.Action)
	})
	for i := range ks {
		dst = append(dst, ks[i].op)
	}
	return dst
}

func actionRank(a Action) int {
	if a == Delete {
		return 0
	}
	return 1
}

func sortConflicts[K any](ks []keyedConflict[K], cmp func(a, b K) int) []Conflict {
	slices.SortStableFunc(ks, func(a, b keyedConflict[K]) int { return cmp(a.key, b.key) })
	if len(ks) == 0 {
		return nil
	}
	out := make([]Conflict, len(ks))
	for i := range ks {
		out[i] = ks[i].c
	}
	return out
}
