package cniplugin

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"syscall"
	"time"

	"github.com/containernetworking/cni/pkg/types"

	"github.com/linx-net/linx/client"
	"github.com/linx-net/linx/messages"
)

// Error codes of linx-cni's own failures (the CNI spec leaves 100 and up
// to plugins).
const (
	// ErrIPAM: the IPAM plugin failed or returned no address.
	ErrIPAM uint = 100
	// ErrConverge: a scope did not converge within the timeout, or
	// failed or stopped; the message names the scope and its last error.
	ErrConverge uint = 101
	// ErrAgent: the agent refused a request; the message quotes it.
	ErrAgent uint = 102
	// ErrPluginNotAvailable is STATUS's answer when the agent does not
	// answer on its socket (the spec's code 50).
	ErrPluginNotAvailable uint = 50
)

// agent is one connection to the agent's socket, with the retries the
// API's limits call for.
type agent struct {
	c *client.Client
}

// dial connects to the agent's socket. An agent that refuses the
// connection for the moment (its per-identity connection limit, reached
// when a runtime starts many pods at once) is tried again until ctx is
// done; a socket that is missing or unserved fails at once. It returns a
// CNI error with code 11 (try again later) when the agent cannot be
// reached.
func dial(ctx context.Context, path string) (*agent, error) {
	delay := 20 * time.Millisecond
	for {
		c, err := client.DialSocket(ctx, path)
		if err == nil {
			return &agent{c: c}, nil
		}
		gone := errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, client.ErrPermissionDenied)
		if gone || !sleep(ctx, delay) {
			return nil, types.NewError(types.ErrTryAgainLater, fmt.Sprintf("linx-cni: the Linx agent at %s is unreachable", path), err.Error())
		}
		delay = min(delay*2, 500*time.Millisecond)
	}
}

func (a *agent) Close() { a.c.Close() }

// sleep waits d or until ctx is done, and reports whether ctx is still
// live.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// retry runs f until it succeeds, fails for another reason than the
// API's rate limit, or ctx is done.
func retry(ctx context.Context, f func() error) error {
	delay := 20 * time.Millisecond
	for {
		err := f()
		if err == nil || !strings.Contains(err.Error(), "rate limited") || !sleep(ctx, delay) {
			return err
		}
		delay = min(delay*2, 500*time.Millisecond)
	}
}

// unknown reports whether err is the agent's answer about a scope it
// does not know.
func unknown(err error) bool {
	return err != nil && (strings.Contains(err.Error(), "no scope named") || strings.Contains(err.Error(), "no such scope"))
}

func (a *agent) status(ctx context.Context, name string) (*messages.ScopeStatus, error) {
	var st *messages.ScopeStatus
	err := retry(ctx, func() (err error) {
		st, err = a.c.Status(ctx, name)
		return err
	})
	return st, err
}

func (a *agent) list(ctx context.Context) ([]*messages.ScopeStatus, error) {
	var l []*messages.ScopeStatus
	err := retry(ctx, func() (err error) {
		l, err = a.c.List(ctx)
		return err
	})
	return l, err
}

func (a *agent) spawn(ctx context.Context, spec *messages.SpawnScope) error {
	return retry(ctx, func() error { return a.c.Spawn(ctx, spec) })
}

func (a *agent) update(ctx context.Context, name string, d *messages.Desired) error {
	return retry(ctx, func() error { return a.c.Update(ctx, name, d) })
}

// forget stops and forgets a scope; an unknown scope is success.
func (a *agent) forget(ctx context.Context, name string) error {
	err := retry(ctx, func() error { return a.c.Forget(ctx, name) })
	if unknown(err) {
		return nil
	}
	return err
}

// running reports whether a scope of that name runs (its status is
// neither stopped nor failed), with its status when listed.
func running(st *messages.ScopeStatus) bool {
	switch st.GetPhase() {
	case messages.Phase_PHASE_STOPPED, messages.Phase_PHASE_FAILED:
		return false
	}
	return st != nil
}

// ensure spawns spec unless a scope of its name runs; a spawn that fails
// because another ADD spawned the scope meanwhile is success. It returns
// the agent's refusal otherwise.
func (a *agent) ensure(ctx context.Context, spec *messages.SpawnScope) error {
	st, err := a.status(ctx, spec.GetName())
	if err == nil && running(st) {
		return nil
	}
	if err != nil && !unknown(err) {
		return err
	}
	if err := a.spawn(ctx, spec); err != nil {
		if st, serr := a.status(ctx, spec.GetName()); serr == nil && running(st) {
			return nil
		}
		return err
	}
	return nil
}

// put spawns spec, or replaces the desired state of the running scope of
// its name (a runtime repeating an ADD). It returns the number of passes
// the scope had run before, so that a wait sees a pass of the new state.
func (a *agent) put(ctx context.Context, spec *messages.SpawnScope) (uint64, error) {
	st, err := a.status(ctx, spec.GetName())
	if err != nil && !unknown(err) {
		return 0, err
	}
	if err == nil && running(st) {
		return st.GetPasses(), a.update(ctx, spec.GetName(), spec.GetDesired())
	}
	return 0, a.spawn(ctx, spec)
}

// converged waits until the scope's status is converged after more than
// passes passes. It returns a CNI error with code ErrConverge naming the
// scope and its last error when the scope fails, stops or is degraded
// after such a pass (objects failed or in conflict), or ctx ends first.
func (a *agent) converged(ctx context.Context, name string, passes uint64) (*messages.ScopeStatus, error) {
	delay := 10 * time.Millisecond
	var last *messages.ScopeStatus
	var lastErr error
	for {
		st, err := a.status(ctx, name)
		if err == nil {
			last = st
			switch st.GetPhase() {
			case messages.Phase_PHASE_CONVERGED:
				if st.GetPasses() > passes {
					return st, nil
				}
			case messages.Phase_PHASE_FAILED, messages.Phase_PHASE_STOPPED:
				return st, types.NewError(ErrConverge, fmt.Sprintf("linx-cni: scope %s is %s", name, phaseName(st)), describe(st))
			case messages.Phase_PHASE_DEGRADED:
				// Some objects failed or are in conflict: waiting would not
				// make the attachment whole, the runtime's retry may.
				if st.GetPasses() > passes {
					return st, types.NewError(ErrConverge, fmt.Sprintf("linx-cni: scope %s is %s", name, phaseName(st)), describe(st))
				}
			}
		} else {
			lastErr = err
		}
		if !sleep(ctx, delay) {
			detail := describe(last)
			if last == nil && lastErr != nil {
				detail = lastErr.Error()
			}
			return last, types.NewError(ErrConverge, fmt.Sprintf("linx-cni: scope %s did not converge in time", name), detail)
		}
		delay = min(delay*3/2, 250*time.Millisecond)
	}
}

// phaseName is a status's phase in lower case: "converged", "failed", …
func phaseName(st *messages.ScopeStatus) string {
	return strings.ToLower(strings.TrimPrefix(st.GetPhase().String(), "PHASE_"))
}

// describe is a status for an error's details: phase, reason, last error.
func describe(st *messages.ScopeStatus) string {
	if st == nil {
		return "no status from the agent"
	}
	s := "phase " + phaseName(st)
	if r := st.GetReason(); r != "" {
		s += ", reason: " + r
	}
	if e := st.GetLastError(); e != "" {
		s += ", last error: " + e
	}
	return s
}
