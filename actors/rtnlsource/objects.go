package rtnlsource

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/linx-net/linx/actors/source"
	"github.com/linx-net/linx/diff"
	"github.com/linx-net/linx/reconcile"
)

// objectsOf returns the objects of a pass in the source package's terms.
func objectsOf(objects []reconcile.Status) []source.Object {
	if len(objects) == 0 {
		return nil
	}
	out := make([]source.Object, len(objects))
	for i, o := range objects {
		out[i] = source.Object{Kind: o.Kind.String(), Key: o.Key, State: o.State.String(), By: o.By, RetryAt: o.RetryAt}
		if o.Err != nil {
			out[i].Err = o.Err.Error()
		}
	}
	return out
}

// countsOf counts the desired objects of d by kind, and those of objects
// by kind and state. Kinds come in dependency order; a kind neither
// desired nor reported is left out.
func countsOf(d reconcile.Desired, objects []reconcile.Status) []source.Count {
	kinds := []diff.Kind{diff.KindLink, diff.KindAddress, diff.KindNexthop, diff.KindRoute, diff.KindNeighbour, diff.KindRule}
	desired := map[diff.Kind]int{
		diff.KindLink: len(d.Links), diff.KindAddress: len(d.Addresses), diff.KindNexthop: len(d.Nexthops),
		diff.KindRoute: len(d.Routes), diff.KindNeighbour: len(d.Neighbours), diff.KindRule: len(d.Rules),
	}
	counts := make(map[diff.Kind]*source.Count, len(kinds))
	for _, k := range kinds {
		counts[k] = &source.Count{Kind: k.String(), Desired: desired[k]}
	}
	for _, o := range objects {
		c := counts[o.Kind]
		if c == nil {
			continue
		}
		switch o.State {
		case reconcile.StateFailed:
			c.Failed++
		case reconcile.StateBlocked:
			c.Blocked++
		case reconcile.StateConflict:
			c.Conflict++
		}
	}
	var out []source.Count
	for _, k := range kinds {
		if c := counts[k]; c.Desired+c.Failed+c.Blocked+c.Conflict > 0 {
			out = append(out, *c)
		}
	}
	return out
}

// degraded returns the error of a pass that left objects unconverged:
// how many in each state, and the first, wrapping source.ErrDegraded. A
// pass whose only unconverged objects are desired links without a kind
// that are not there, and what is on them, is not degraded: it waits for
// another program to create them (a container runtime moving an
// interface in), and its error says so without ErrDegraded, so that the
// scope reads converging until they appear.
func degraded(objects []reconcile.Status) error {
	if absent := reconcile.Waiting(objects); absent != nil {
		for i, name := range absent {
			absent[i] = strconv.Quote(name)
		}
		return fmt.Errorf("waiting for link %s: desired without a kind, so another program is to create it; what is desired on it waits too", strings.Join(absent, ", "))
	}
	return fmt.Errorf("%w: %s", source.ErrDegraded, reconcile.Summary(objects))
}

// standingKey names one failure or conflict for the log.
type standingKey struct {
	ref   reconcile.Ref
	state reconcile.State
}

// logStanding logs each failed object and each conflict once when it
// appears (WARN) and once when it clears (INFO), not on every pass that
// finds it again. Blocked objects are not logged: their failure is.
func (s *Source) logStanding(objects []reconcile.Status) {
	now := make(map[standingKey]string, len(objects))
	for _, o := range objects {
		if o.State != reconcile.StateFailed && o.State != reconcile.StateConflict {
			continue
		}
		k := standingKey{ref: o.Ref, state: o.State}
		why := o.By
		if o.Err != nil {
			why = o.Err.Error()
		}
		now[k] = why
		if _, seen := s.standing[k]; seen || s.logger == nil {
			continue
		}
		if o.State == reconcile.StateFailed {
			s.logger.Warn("object failed; what depends on it is held back, the rest converges", "scope", s.name, "namespace", s.ns.String(),
				"kind", o.Kind.String(), "key", o.Key, "err", why)
		} else if o.Absent {
			s.logger.Warn("waiting for a link the desired state names without a kind (another program is to create it)", "scope", s.name, "namespace", s.ns.String(),
				"kind", o.Kind.String(), "key", o.Key)
		} else {
			s.logger.Warn("conflict: another writer's object holds a desired key; left alone", "scope", s.name, "namespace", s.ns.String(),
				"kind", o.Kind.String(), "key", o.Key, "reason", why)
		}
	}
	for k, why := range s.standing {
		if _, still := now[k]; still || s.logger == nil {
			continue
		}
		if k.state == reconcile.StateFailed {
			s.logger.Info("object no longer failing", "scope", s.name, "namespace", s.ns.String(), "kind", k.ref.Kind.String(), "key", k.ref.Key, "was", why)
		} else {
			s.logger.Info("conflict cleared", "scope", s.name, "namespace", s.ns.String(), "kind", k.ref.Kind.String(), "key", k.ref.Key, "was", why)
		}
	}
	s.standing = now
}
