package reconcile

import (
	"errors"
	"strconv"

	"golang.org/x/sys/unix"

	"github.com/linx-net/linx/diff"
	"github.com/linx-net/linx/rtnl"
)

// Kernel is what a pass needs of a namespace's kernel: the namespace it
// acts in, a listing of each kind, a batch applied in order and the exact
// deletion of one rule. *rtnl.Socket implements it; package
// reconcile/fakekernel holds an in-memory one for tests without root.
//
// Every method fails as the *rtnl.Socket method of the same name does:
// with a *rtnl.Error, or a *rtnl.BatchError from ApplyWith.
type Kernel interface {
	// Namespace and NamespaceID name the namespace the kernel acts in,
	// which binds a ledger (see Ledger).
	Namespace() rtnl.Namespace
	NamespaceID() rtnl.NamespaceID
	Links() ([]rtnl.Link, error)
	Addresses() ([]rtnl.Address, error)
	Neighbours() ([]rtnl.Neighbour, error)
	Rules() ([]rtnl.Rule, error)
	// RoutesFiltered lists the routes of every table that f selects; a
	// pass asks for those of one protocol at a time.
	RoutesFiltered(f rtnl.RouteFilter) ([]rtnl.Route, error)
	// Nexthops lists every nexthop object, groups included; a kernel
	// without them (before 5.3) fails with EOPNOTSUPP or EINVAL.
	Nexthops() ([]rtnl.Nexthop, error)
	// ApplyWith applies a batch's entries in order (see rtnl.Batch).
	ApplyWith(b *rtnl.Batch, o rtnl.ApplyOptions) error
	// RuleDelete deletes exactly r: ENOENT when it is not installed,
	// EBUSY when an earlier rule would match the request first.
	RuleDelete(r rtnl.Rule) error
	// LinkAdd creates one link, for what a batch cannot carry: a veth
	// whose peer is created in another namespace.
	LinkAdd(l rtnl.Link) error
}

var _ Kernel = (*rtnl.Socket)(nil)

// Outcome is what became of one operation a pass sent, or meant to send,
// to the kernel. The zero value is OutcomeApplied.
type Outcome uint8

const (
	// OutcomeApplied: the operation took effect.
	OutcomeApplied Outcome = iota
	// OutcomeGone: a delete of what was already gone (ENOENT, ENODEV,
	// ESRCH…); it counts as applied, and an owned key is dropped.
	OutcomeGone
	// OutcomeBlocked: the create half of a recreate whose delete did not
	// take effect; the owned object is still there and stays owned, and
	// the delete's failure is what the pass reports.
	OutcomeBlocked
	// OutcomeShadowed: a rule delete refused with EBUSY, since another
	// writer's rule would be deleted in its place; the rule stays owned
	// and is reported as a conflict.
	OutcomeShadowed
	// OutcomeHeld: a create refused with EEXIST, the key held by an
	// object the pass did not see as its own; a conflict, the key is not
	// kept.
	OutcomeHeld
	// OutcomeRefused: the kernel refused the operation for another reason;
	// the pass stops at the first, and a refused create's key is not kept.
	OutcomeRefused
	// OutcomeUnsent: never sent, the batch having stopped before it; an
	// unsent create's key is not kept.
	OutcomeUnsent
)

var outcomeNames = [...]string{"applied", "gone", "blocked", "shadowed", "held", "refused", "unsent"}

// String returns the outcome's name ("applied", "gone", …), or
// "Outcome(N)" for a value out of range.
func (o Outcome) String() string {
	if int(o) < len(outcomeNames) {
		return outcomeNames[o]
	}
	return "Outcome(" + strconv.Itoa(int(o)) + ")"
}

// Classify returns the outcome of op: sent says whether it was sent, err
// is the kernel's answer to it (nil when it took effect), and blocked
// whether op is the create half of a recreate whose delete did not take
// effect (failed other than with "not found", or was not sent). It is
// pure: the pass's ledger and report follow from its answer.
func Classify(op *diff.Op, sent bool, err *rtnl.Error, blocked bool) Outcome {
	switch {
	case !sent && blocked:
		return OutcomeBlocked
	case !sent:
		return OutcomeUnsent
	case err == nil:
		return OutcomeApplied
	case op.Action == diff.Delete && rtnl.IsNotExist(err):
		return OutcomeGone
	case blocked:
		return OutcomeBlocked
	case op.Kind == diff.KindRule && op.Action == diff.Delete && errors.Is(err, unix.EBUSY):
		return OutcomeShadowed
	case op.Action == diff.Create && errors.Is(err, unix.EEXIST):
		return OutcomeHeld
	}
	return OutcomeRefused
}

// routeStreamer is a Kernel that also streams a route listing, as
// *rtnl.Socket does (see rtnl.Socket.EachRoute).
type routeStreamer interface {
	EachRoute(f rtnl.RouteFilter, fn func(*rtnl.Route) error) error
}

// RouteMuter is a Kernel whose caller watches the namespace's route
// notifications and can stop hearing the echo of a pass's own changes: a
// pass that sends BulkRoutes route operations or more in one batch calls
// MuteRoutes before it and the returned unmute once it is sent. Delivering
// that echo costs the kernel about a third of a bulk install; the caller
// must then re-list, since another writer's changes went unheard too
// (monitor.Monitor.MuteRoutes does both). Plan's copy is no RouteMuter.
type RouteMuter interface {
	Kernel
	MuteRoutes() (unmute func())
}

// AppliedObserver is a Kernel whose caller follows what a pass applies
// as it goes: the pass calls Applied with the ops of each batch the
// kernel applied, once it has taken in their outcome, so that a caller
// tracking them (a fight detector, say) does its share while the kernel
// is still busy with the next batch of a large install, rather than
// reading Report.Applied after the pass. Over a pass, the ops given are
// those of Report.Applied. Applied is called from the pass's goroutine;
// it must not modify ops or keep the slice.
type AppliedObserver interface {
	Kernel
	Applied(ops []diff.Op)
}

// routeListAttempts bounds the listings of one protocol's routes that a
// concurrent change interrupts (EINTR), as rtnl bounds the restarts of a
// dump it holds whole.
const routeListAttempts = 5

// listRoutes puts the routes of protocol proto that s holds into obs,
// reset for proto, with room for expect of them. A kernel that streams
// its routes (routeStreamer) hands them over one at a time, so that obs
// holds each compactly and no list of them all is made; a listing
// interrupted by a concurrent change is started again, up to
// routeListAttempts times.
func listRoutes(s Kernel, proto rtnl.Protocol, expect int, obs *diff.ObservedRoutes) error {
	f := rtnl.RouteFilter{Protocol: proto}
	st, ok := s.(routeStreamer)
	if !ok {
		routes, err := s.RoutesFiltered(f)
		if err != nil {
			return err
		}
		obs.Reset(proto)
		obs.Grow(len(routes))
		for i := range routes {
			obs.Add(&routes[i])
		}
		return nil
	}
	add := func(r *rtnl.Route) error {
		obs.Add(r)
		return nil
	}
	for attempt := 1; ; attempt++ {
		obs.Reset(proto)
		obs.Grow(expect + expect/16)
		err := st.EachRoute(f, add)
		if err == nil || !errors.Is(err, unix.EINTR) || attempt == routeListAttempts {
			return err
		}
	}
}
