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
	// is whatever the scope was given (nil means nothing desired).
	Pass(ctx context.Context, h Handle, desired any) Report
}
