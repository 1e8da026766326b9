package reconcile

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/linx-net/linx/diff"
	"github.com/linx-net/linx/rtnl"
)

// Ref names one kernel object of a pass: its kind and the string form of
// its key (diff.Op.Key). A desired object on a link that does not exist
// has no interface index yet; its key then names the link instead
// ("link=d0 prefix=10.1.0.1/24"). The zero Ref names nothing.
type Ref struct {
	Kind diff.Kind
	Key  string
}

// String returns "link d0", "address index=3 prefix=10.0.0.1/24", …; ""
// for the zero Ref.
func (r Ref) String() string {
	if r.Kind == 0 && r.Key == "" {
		return ""
	}
	return r.Kind.String() + " " + r.Key
}

// RefOf returns the Ref of the object op carries.
func RefOf(op diff.Op) Ref { return Ref{Kind: op.Kind, Key: op.Key()} }

// Blocked is a desired object a pass held back because an object it
// depends on failed or is itself blocked (see the package documentation,
// "Dependencies"): its create or update was not sent.
type Blocked struct {
	Ref
	// Desired is the desired object, as its rtnl type (rtnl.Address, …).
	Desired any
	// By is the object it depends on directly: the failed one, or one
	// blocked in turn (follow the chain through Report.Blocked).
	By Ref
}

// String returns `address index=3 prefix=10.0.0.1/24 blocked by link d0`.
func (b Blocked) String() string { return b.Ref.String() + " blocked by " + b.By.String() }

// State is where a desired object stands after a pass. The zero value is
// StateConverged.
type State uint8

// Object states.
const (
	// StateConverged: the object is as desired.
	StateConverged State = iota
	// StateFailed: the kernel refused its operation (or it could not be
	// sent), or it is backing off after such a refusal.
	StateFailed
	// StateBlocked: held back by an object it depends on.
	StateBlocked
	// StateConflict: another writer's object holds its key.
	StateConflict
)

var stateNames = [...]string{"converged", "failed", "blocked", "conflict"}

// String returns "converged", "failed", "blocked" or "conflict";
// "State(N)" for a value out of range.
func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return "State(" + strconv.Itoa(int(s)) + ")"
}

// Status is one object a pass did not converge, whatever the reason: the
// common form of a Failure, a Blocked and a diff.Conflict.
type Status struct {
	Ref
	State State
	// Err is why a failed object failed: the kernel's *rtnl.Error, or
	// the reason it could not be sent. Nil for the other states.
	Err error
	// By names what holds the object back: for a blocked object the
	// object it depends on, for a conflict the foreign object or the
	// reason given by the diff.
	By string
	// RetryAt is when a failed object is tried again (see Retries); zero
	// when the pass keeps no retry state or the object is not failed.
	RetryAt time.Time
	// Absent is set on the conflict of a desired link that is not there
	// and that the pass cannot create, having no Kind: another program
	// is expected to make it (a container runtime moving an interface
	// into the namespace, say). What is desired on it is blocked by it.
	Absent bool
}

// String returns `link d0 failed: …`, `address … blocked by link d0` or
// `route … conflict: …`.
func (s Status) String() string {
	switch s.State {
	case StateFailed:
		return fmt.Sprintf("%s failed: %v", s.Ref, s.Err)
	case StateBlocked:
		return fmt.Sprintf("%s blocked by %s", s.Ref, s.By)
	}
	return fmt.Sprintf("%s %s: %s", s.Ref, s.State, s.By)
}

// Objects returns every object the pass did not converge, in the order
// the pass met them: failures (Failures), then blocked objects (Blocked),
// then conflicts (Conflicts). An object reported by several lists (a
// conflict found again on a second look) appears once, first state
// first. It returns nil for a converged pass.
func (r Report) Objects() []Status {
	n := len(r.Failures) + len(r.Blocked) + len(r.Conflicts)
	if n == 0 {
		return nil
	}
	out := make([]Status, 0, n)
	seen := make(map[Ref]bool, n)
	add := func(s Status) {
		if seen[s.Ref] {
			return
		}
		seen[s.Ref] = true
		out = append(out, s)
	}
	for _, f := range r.Failures {
		add(Status{Ref: RefOf(f.Op), State: StateFailed, Err: f.Err, RetryAt: f.RetryAt})
	}
	for _, b := range r.Blocked {
		add(Status{Ref: b.Ref, State: StateBlocked, By: b.By.String()})
	}
	for _, c := range r.Conflicts {
		add(Status{Ref: Ref{Kind: c.Kind, Key: c.Key}, State: StateConflict, By: c.Reason, Absent: absentLink(c)})
	}
	return out
}

// Waiting returns the names of the absent links (Status.Absent) among
// objects when they and what they block are all that did not converge:
// the pass then waits for another program to create those links, and is
// not degraded. It returns nil when anything else did not converge.
func Waiting(objects []Status) []string {
	var absent []string
	for _, o := range objects {
		switch {
		case o.State == StateConflict && o.Absent:
			absent = append(absent, o.Key)
		case o.State != StateBlocked:
			return nil
		}
	}
	return absent
}

// Summary returns how many of objects are in each state and the first,
// as "1 failed, 2 blocked (first: link d0 failed: …)"; "" for none.
func Summary(objects []Status) string {
	if len(objects) == 0 {
		return ""
	}
	var n [StateConflict + 1]int
	for _, o := range objects {
		if o.State <= StateConflict {
			n[o.State]++
		}
	}
	var parts []string
	for _, st := range []State{StateFailed, StateBlocked, StateConflict} {
		if n[st] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n[st], st))
		}
	}
	return fmt.Sprintf("%s (first: %v)", strings.Join(parts, ", "), objects[0])
}

// absentLink reports whether c is about a desired link that is not there
// and has no Kind to create it from.
func absentLink(c diff.Conflict) bool {
	l, ok := c.Desired.(rtnl.Link)
	return ok && c.Kind == diff.KindLink && c.Observed == nil && l.Kind == "" && l.Data == nil
}
