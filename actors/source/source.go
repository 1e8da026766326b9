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

// ErrScopeAbsent is wrapped by errors that mean the scope is not there now
// but may be later (for a network namespace named by a path: the file does
// not exist yet, or was removed and may be created again). A Source
// constructor failing with it makes the node wait for the scope (phase
// waiting) instead of refusing it; a running scope's error that wraps it
// as well as ErrScopeGone stops the scope's actors and sends the scope
// back to waiting, instead of stopping it for good.
var ErrScopeAbsent = errors.New("not there yet")

// ErrFighting is wrapped by the error of a pass that reached the desired
// state only by redoing what another writer keeps undoing (the same keys
// created or deleted again and again). The scope is reported as fighting,
// not converged. The pass itself did not fail, so the loop does not back
// off: it checks again soon, and a pass that finds nothing to redo ends
// the fight.
var ErrFighting = errors.New("fighting another writer")

// ErrDegraded is wrapped by the error of a pass that ran to its end but
// left some desired objects unconverged: failed, blocked by one that
// failed, or held by another writer's object (Report.Objects lists them).
// The scope is degraded, not failing: the loop does not back off, and
// runs again when Report.RetryIn says the first backing-off object is due
// (or on the next event or interval).
var ErrDegraded = errors.New("degraded")

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
	// Objects lists every desired object the pass did not converge, in the
	// order it met them; nil when all converged.
	Objects []Object
	// Counts counts, per kind, the desired objects of the pass and those
	// of Objects in each state, so that the converged ones can be derived
	// (Count.Converged); nil when the source does not count.
	Counts []Count
	// RetryIn is when the first object that backs off after failing is
	// due to be tried again; zero when none backs off.
	RetryIn time.Duration
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

// Object states, as Object.State spells them.
const (
	StateConverged = "converged"
	StateFailed    = "failed"
	StateBlocked   = "blocked"
	StateConflict  = "conflict"
)

// Object is one desired object a pass did not converge, in terms common to
// every source.
type Object struct {
	// Kind is the object's kind ("link", "address", "route", …).
	Kind string
	// Key names the object within its kind, as the source spells keys.
	Key string
	// State is StateFailed, StateBlocked or StateConflict.
	State string
	// Err is why a failed object failed (the kernel's error); "" otherwise.
	Err string
	// By is what holds the object back: for a blocked object the object it
	// depends on ("link d0"), for a conflict the foreign object or reason.
	By string
	// RetryAt is when a failed object is tried again; zero when unknown.
	RetryAt time.Time
}

// String returns "link d0 failed: …", "address … blocked by link d0" or
// "route … conflict: …".
func (o Object) String() string {
	switch o.State {
	case StateFailed:
		return o.Kind + " " + o.Key + " failed: " + o.Err
	case StateBlocked:
		return o.Kind + " " + o.Key + " blocked by " + o.By
	}
	return o.Kind + " " + o.Key + " " + o.State + ": " + o.By
}

// Count is the number of desired objects of one kind in a pass, and how
// many of them were failed, blocked or in conflict.
type Count struct {
	Kind                               string
	Desired, Failed, Blocked, Conflict int
}

// Converged returns the desired objects of the kind that converged: the
// rest of Desired, never below zero (a conflict may name an object that is
// not desired, such as one the pass did not delete).
func (c Count) Converged() int { return max(0, c.Desired-c.Failed-c.Blocked-c.Conflict) }

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
