package rtnlsource

import (
	"fmt"
	"slices"
	"time"

	"github.com/linx-net/linx/actors/source"
	"github.com/linx-net/linx/diff"
)

// Defaults of the fight detector. A key the scope creates (or deletes, or
// updates) again and again without undoing it itself is being undone by
// another writer: a scope of the same protocol elsewhere, a daemon, a
// script. Two loops woken by each other's changes fight several times a
// second (the case that forced this: 54 creates in 5 s); an operator
// deleting by hand, or a self-healing test, redoes a key a few times a
// minute at most. Ten times the same action on one key within a minute
// lies between.
const (
	FightRepeats = 10
	FightWindow  = time.Minute
)

// FightError is the error of a pass that converged, but only by redoing
// what another writer keeps undoing: the scope is reported as fighting,
// not converged.
type FightError struct {
	// Keys are the keys redone, sorted; Op is the action on the first.
	Keys []string
	Op   diff.Action
	// Repeats is how many times the first key was redone within Window.
	Repeats int
	Window  time.Duration
}

// Unwrap returns source.ErrFighting.
func (e *FightError) Unwrap() error { return source.ErrFighting }

// Error returns "fighting another writer: route … created 10 times
// within 1m0s (and 1 more keys); …".
func (e *FightError) Error() string {
	more := ""
	if len(e.Keys) > 1 {
		more = fmt.Sprintf(" (and %d more keys)", len(e.Keys)-1)
	}
	return fmt.Sprintf("fighting another writer: %s %sd %d times within %v%s; something else undoes this scope's work (another scope or program owning the same objects or protocol)",
		e.Keys[0], e.Op, e.Repeats, e.Window, more)
}

// fights remembers, per key, the last action a pass applied to it and
// when that same action was repeated. An action different from the last
// (the scope undoing its own work: a desired state that changed) starts
// the count again. It is pure: time comes in with each pass.
type fights struct {
	keys map[string]*keyActs
}

type keyActs struct {
	last  diff.Action
	times []time.Time
}

// observe records the ops of a pass at now and returns a *FightError when
// the pass redid a key that has now seen the same action FightRepeats
// times within FightWindow, nil otherwise (a pass that redid nothing ends
// a fight).
func (f *fights) observe(now time.Time, ops []diff.Op) *FightError {
	if f.keys == nil {
		f.keys = map[string]*keyActs{}
	}
	touched := map[string]bool{}
	for _, op := range ops {
		k := op.Kind.String() + " " + op.Key()
		touched[k] = true
		a := f.keys[k]
		if a == nil || a.last != op.Action {
			f.keys[k] = &keyActs{last: op.Action, times: []time.Time{now}}
			continue
		}
		a.times = append(a.times, now)
	}
	var worst *FightError
	var fighting []string
	for k, a := range f.keys {
		a.times = slices.DeleteFunc(a.times, func(t time.Time) bool { return now.Sub(t) >= FightWindow })
		if len(a.times) == 0 {
			delete(f.keys, k)
			continue
		}
		if len(a.times) >= FightRepeats && touched[k] {
			fighting = append(fighting, k)
		}
	}
	if len(fighting) == 0 {
		return nil
	}
	slices.Sort(fighting)
	a := f.keys[fighting[0]]
	worst = &FightError{Keys: fighting, Op: a.last, Repeats: len(a.times), Window: FightWindow}
	return worst
}
