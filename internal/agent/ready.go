package agent

import (
	"slices"
	"sync"
)

// readiness tracks which configured scopes have converged at least once.
// Its zero value is not usable; call newReadiness.
type readiness struct {
	mu        sync.Mutex
	converged map[string]bool // configured scope -> converged once
}

func newReadiness() *readiness { return &readiness{converged: map[string]bool{}} }

// expect adds a scope that has yet to converge, or resets one that is
// spawned again (in a new namespace, say).
func (r *readiness) expect(name string) {
	r.mu.Lock()
	r.converged[name] = false
	r.mu.Unlock()
}

// drop forgets a scope that is no longer configured.
func (r *readiness) drop(name string) {
	r.mu.Lock()
	delete(r.converged, name)
	r.mu.Unlock()
}

// passed records a pass of scope name; converged says whether it reached
// the desired state. Passes of scopes not expected are ignored.
func (r *readiness) passed(name string, converged bool) {
	if !converged {
		return
	}
	r.mu.Lock()
	if _, ok := r.converged[name]; ok {
		r.converged[name] = true
	}
	r.mu.Unlock()
}

// pending returns the names of the expected scopes that have not converged
// yet, sorted; none means ready.
func (r *readiness) pending() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for name, ok := range r.converged {
		if !ok {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}
