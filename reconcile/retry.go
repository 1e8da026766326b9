package reconcile

import (
	"time"

	"github.com/linx-net/linx/diff"
)

// Defaults of Retries, in one place.
const (
	// DefaultRetryFirst is how long an object that failed once waits
	// before it is tried again: long enough that a kernel refusing it
	// (a missing kind, a bad value) costs one request a second at most,
	// short enough that a passing failure (a link that appears) heals
	// quickly even without an event.
	DefaultRetryFirst = time.Second
	// DefaultRetryMax caps the wait: the reconciler's default interval,
	// the period at which a full pass looks at everything anyway.
	DefaultRetryMax = 30 * time.Second
)

// Retries is the per-object retry state of a long-lived caller: an object
// whose operation the kernel refused is not sent again until its backoff
// has passed (First, doubling on each further failure, capped at Max).
// While it backs off, a pass skips it and reports it failed with its last
// error, and what depends on it blocked. The wait ends early when the
// operation the pass would send changes: the desired object changed, the
// interface index it resolves to changed (its link was recreated), or
// the kernel's links or addresses changed (a link appeared or came up,
// an address that makes a gateway reachable was added).
//
// Retries is pure: it holds no timer and starts no goroutine; time comes
// in through Options.Now. Hand the same *Retries to every pass of one
// scope (Options.Retries). It is not safe for concurrent use: one pass at
// a time. The zero value is not usable; call NewRetries.
type Retries struct {
	first, max time.Duration
	m          map[Ref]retryEntry
}

type retryEntry struct {
	// fp is the fingerprint of the op that failed and of the kernel state
	// it was tried against: the wait ends when it differs.
	fp       string
	err      error
	failures int
	next     time.Time
}

// NewRetries returns an empty retry state whose backoff starts at first
// and doubles up to limit; zero or negative values take DefaultRetryFirst
// and DefaultRetryMax, and a limit below first is raised to first.
func NewRetries(first, limit time.Duration) *Retries {
	if first <= 0 {
		first = DefaultRetryFirst
	}
	if limit <= 0 {
		limit = DefaultRetryMax
	}
	return &Retries{first: first, max: max(first, limit), m: make(map[Ref]retryEntry)}
}

// Backoff returns the wait after the n-th consecutive failure (1-based):
// First doubling, capped at Max; First for n < 1.
func (r *Retries) Backoff(n int) time.Duration {
	d := r.first
	for i := 1; i < n && d < r.max; i++ {
		d *= 2
	}
	return min(d, r.max)
}

// Next returns when the earliest backing-off object may be tried again,
// and false when no object backs off: a caller with nothing else to do
// runs its next pass then.
func (r *Retries) Next() (time.Time, bool) {
	var next time.Time
	for _, e := range r.m {
		if next.IsZero() || e.next.Before(next) {
			next = e.next
		}
	}
	return next, !next.IsZero()
}

// Len returns how many objects back off; 0 for a nil *Retries.
func (r *Retries) Len() int {
	if r == nil {
		return 0
	}
	return len(r.m)
}

// Failures returns how many consecutive times the object ref failed, 0
// when it does not back off (or r is nil).
func (r *Retries) Failures(ref Ref) int {
	if r == nil {
		return 0
	}
	return r.m[ref].failures
}

// holding returns the entry of ref when it backs off at now for the same
// fingerprint: the op must not be sent.
func (r *Retries) holding(ref Ref, fp string, now time.Time) (retryEntry, bool) {
	if r == nil {
		return retryEntry{}, false
	}
	e, ok := r.m[ref]
	if !ok || e.fp != fp || !now.Before(e.next) {
		return retryEntry{}, false
	}
	return e, true
}

// settle replaces the state with the outcome of a pass at now: tried are
// the ops the kernel refused (by fingerprint), held the entries that
// backed off and were skipped. Every other object is forgotten: it
// converged, is no longer desired, or was blocked (tried afresh once
// unblocked).
func (r *Retries) settle(now time.Time, tried []triedOp, held []Ref) {
	if r == nil {
		return
	}
	next := make(map[Ref]retryEntry, len(tried)+len(held))
	for _, ref := range held {
		next[ref] = r.m[ref]
	}
	for _, t := range tried {
		e := retryEntry{fp: t.fp, err: t.err, failures: 1}
		if old, ok := r.m[t.ref]; ok && old.fp == t.fp {
			e.failures = old.failures + 1
		}
		e.next = now.Add(r.Backoff(e.failures))
		next[t.ref] = e
	}
	r.m = next
}

// triedOp is an op the kernel refused during a pass; fp is filled in at
// the end of the pass, against the kernel state the pass left.
type triedOp struct {
	ref Ref
	op  diff.Op
	fp  string
	err error
}

// fingerprint returns what a retry of op is compared on: the op itself
// (the desired object with the indices it resolved to) and the kernel
// state it depends on, sig.
func fingerprint(op *diff.Op, sig string) string { return op.String() + "\x00" + sig }
