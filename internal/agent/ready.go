package agent

import (
	"slices"
	"sync"
)

// readiness tracks which configured scopes have run a pass to its end at
// least once (converged, or degraded: some objects failed, are blocked or
// are in conflict, the rest converged), and which are degraded now and
// why. Its zero value is not usable; call newReadiness.
//
// A degraded scope counts as ready: its passes run, everything that can
// converge has, and what cannot (an impossible object, another writer's
// key) will not by waiting; /readyz names it and why, and linx_objects
// counts its objects for alerts.
type readiness struct {
	mu        sync.Mutex
	converged map[string]bool   // configured scope -> ran a pass to its end once
	degraded  map[string]string // scope -> why its last pass was degraded
}

func newReadiness() *readiness {
	return &readiness{converged: map[string]bool{}, degraded: map[string]string{}}
}

// expect adds a scope that has yet to converge, or resets one that is
// spawned again (in a new namespace, say).
func (r *readiness) expect(name string) {
	r.mu.Lock()
	r.converged[name] = false
	delete(r.degraded, name)
	r.mu.Unlock()
}

// drop forgets a scope that is no longer configured.
func (r *readiness) drop(name string) {
	r.mu.Lock()
	delete(r.converged, name)
	delete(r.degraded, name)
	r.mu.Unlock()
}

// passed records a pass of scope name; converged says whether it reached
// the desired state, degraded (when it did not) why it ran to its end all
// the same ("" when it did not: a failed listing, a fight). Passes of
// scopes not expected are ignored.
func (r *readiness) passed(name string, converged bool, degraded string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.converged[name]; !ok {
		return
	}
	switch {
	case converged:
		r.converged[name] = true
		delete(r.degraded, name)
	case degraded != "":
		r.converged[name] = true
		r.degraded[name] = degraded
	}
}

// pending returns the names of the expected scopes that have not run a
// pass to its end yet, sorted; none means ready.
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

// degradedScopes returns "scope: why" for each degraded scope, sorted.
func (r *readiness) degradedScopes() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]string, 0, len(r.degraded))
	for name, why := range r.degraded {
		out = append(out, name+": "+why)
	}
	slices.Sort(out)
	return out
}
