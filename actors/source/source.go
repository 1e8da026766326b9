package source

import (
	"context"
	"errors"
	"io"
	"strconv"
	"time"
)

// ErrScopeGone is wrapped by errors that mean the scope itself has
// disappeared (for a network namespace: the process that held it exited, or
// the file naming it was removed). Such an error stops the scope for good,
// with the error as its reason; any other error is retried.
var ErrScopeGone = errors.New("scope is gone")

// ErrFighting is wrapped by the error of a pass that reached the desired
// state only by redoing what another writer keeps undoing (the same keys
// created or deleted again and again). The scope is reported as fighting,
// not converged. The pass itself did not fail, so the loop does not back
// off: it checks again soon, and a pass that finds nothing to redo ends
// the fight.
var ErrFighting = errors.New("fighting another writer")

// Handle is a scope's open resource (for rtnetlink, a socket inside the
// namespace). Close releases it; it is called exactly once.
type Handle = io.Closer

// Report is the outcome of one pass.
type Report struct {
	// Converged reports that the scope matched the desired state when the
	// pass ended (nothing left to apply, nothing failed).
	Converged bool
	// Applied counts the operations the pass applied.
	Applied int
	// Conflicts counts desired objects held by foreign state, left alone.
	Conflicts int
	// Err is why the pass did not converge; nil when it did. An error
	// wrapping ErrScopeGone stops the scope.
	Err error
	// Duration is how long the pass took.
	Duration time.Duration
	// Narrowed says the pass looked only at what the scope's events said
	// changed (see TriggerEvents); false for a full pass.
	Narrowed bool
	// Drift counts, by kind ("route", "address", …), the operations a
	// checking pass (TriggerCheck) applied although no event had come
	// since the pass before: differences the events, and so the narrowed
	// passes, missed. Nil when there were none or the pass was not such a
	// check.
	Drift map[string]int
}

// Trigger says why a pass runs, which bounds what it may skip. The zero
// value, TriggerFull, asks for a full pass.
type Trigger uint8

const (
	// TriggerFull: the scope starts, events were lost, the desired state
	// changed or a failed pass is retried; the pass looks at everything.
	TriggerFull Trigger = iota
	// TriggerCheck: the interval came round; the pass looks at
	// everything, and what it finds although no event came is drift
	// (Report.Drift).
	TriggerCheck
	// TriggerEvents: only wake-ups asked for the pass; it may look only
	// at what the events said changed (Report.Narrowed).
	TriggerEvents
)

// String returns "full", "check", "events" or "trigger(N)".
func (t Trigger) String() string {
	switch t {
	case TriggerFull:
		return "full"
	case TriggerCheck:
		return "check"
	case TriggerEvents:
		return "events"
	}
	return "trigger(" + strconv.Itoa(int(t)) + ")"
}

type triggerKey struct{}

// WithTrigger returns ctx carrying t, for Source.Pass.
func WithTrigger(ctx context.Context, t Trigger) context.Context {
	return context.WithValue(ctx, triggerKey{}, t)
}

// TriggerOf returns the trigger ctx carries: TriggerFull when none, so
// that a pass whose caller did not say is a full one.
func TriggerOf(ctx context.Context) Trigger {
	t, _ := ctx.Value(triggerKey{}).(Trigger)
	return t
}

// Event is what a Watch delivers.
type Event uint8

const (
	// Wake means the scope's state changed: run a pass soon.
	Wake Event = iota + 1
	// Resync means events were lost (an overrun): only a pass from scratch
	// restores the truth. Every Resync also counts in Watch.Overruns.
	Resync
)

// String returns "wake", "resync" or "event(N)".
func (e Event) String() string {
	switch e {
	case Wake:
		return "wake"
	case Resync:
		return "resync"
	}
	return "event(" + strconv.Itoa(int(e)) + ")"
}

// Watch is a live subscription to a scope's change events.
type Watch interface {
	// Events returns the channel of events. It is closed when the watch
	// ends, after Close or on a fatal error (see Err). Events are hints:
	// several changes may be reported as one Wake.
	Events() <-chan Event
	// Err returns why Events was closed: nil after Close, otherwise the
	// failure (wrapping ErrScopeGone if the scope disappeared).
	Err() error
	// Overruns returns how many times events were lost so far.
	Overruns() uint64
	// Close ends the watch, closes Events and waits for the goroutines the
	// watch started. It is idempotent and returns the first close error.
	Close() error
}

// Source drives one scope. See the package documentation for the duties of
// an implementation.
type Source interface {
	// Open returns a new handle on the scope, or an error (wrapping
	// ErrScopeGone if the scope no longer exists).
	Open(ctx context.Context) (Handle, error)
	// Watch subscribes to the scope's change events. It returns a nil Watch
	// and a nil error when the source has no events (the loop then runs on
	// its interval only).
	Watch(ctx context.Context) (Watch, error)
	// Pass observes the scope through h, diffs it against desired with the
	// ledger the source owns, applies the difference and reports. desired
	// is whatever the scope was given (nil means nothing desired). ctx
	// carries why the pass runs (TriggerOf): a source may narrow a pass
	// of TriggerEvents to what its events said changed.
	Pass(ctx context.Context, h Handle, desired any) Report
}
