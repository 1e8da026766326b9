package agent

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/linx-net/linx/config"
	"github.com/linx-net/linx/messages"
)

// A configured scope whose path: namespace is not there (not created yet,
// or deleted) waits for it: the node runs it as soon as the namespace
// appears (supervisor.Config.Appear). Readiness counts a waiting scope as
// ready, and /readyz names it: a fresh install whose example scope names a
// namespace nobody made yet must be able to become ready, and a waiting
// scope has nothing it could converge. A scope that starts when its
// namespace appears is pending again until it has converged once.

// phases returns the phase of every scope the node lists, by name; nil
// when the node does not answer.
func (a *Agent) phases() map[string]messages.Phase {
	list, err := a.node.List()
	if err != nil {
		return nil
	}
	m := make(map[string]messages.Phase, len(list))
	for _, st := range list {
		m[st.GetName()] = st.GetPhase()
	}
	return m
}

// waiting returns the configured scopes waiting for their namespace,
// sorted.
func (a *Agent) waiting() []string {
	var out []string
	for name, p := range a.phases() {
		if _, ok := a.configuredNamespace(name); ok && p == messages.Phase_PHASE_WAITING {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

// unconverged returns the configured scopes that have not converged once
// yet, those waiting for their namespace left out, sorted.
func (a *Agent) unconverged() []string {
	p := a.ready.pending()
	if len(p) == 0 {
		return p
	}
	phases := a.phases()
	return slices.DeleteFunc(p, func(name string) bool { return phases[name] == messages.Phase_PHASE_WAITING })
}

// recordPID remembers which namespace configured pid: scope s was
// spawned in, so that a reload never takes the pid, once its process is
// gone, for the same namespace (see revivable).
func (a *Agent) recordPID(s config.Scope) {
	pid := s.Namespace.PID()
	if pid == 0 {
		return
	}
	id, err := s.Namespace.ID()
	if err != nil {
		return
	}
	a.pidsMu.Lock()
	a.pids[s.Name] = id
	a.pidsMu.Unlock()
}

// revivable returns why configured scope s, stopped or failed, is not
// spawned again by a reload ("" when it is): a pid: scope whose process
// is gone, or whose pid now names another namespace than the one it was
// spawned in. A path: scope is always spawned again: it waits for its
// namespace if that is not there.
func (a *Agent) revivable(s config.Scope) string {
	pid := s.Namespace.PID()
	if pid == 0 {
		return ""
	}
	id, err := s.Namespace.ID()
	switch {
	case errors.Is(err, unix.ESRCH):
		return "process " + strconv.Itoa(pid) + " is gone"
	case err != nil:
		return fmt.Sprintf("process %d: %v", pid, err)
	}
	a.pidsMu.Lock()
	was, ok := a.pids[s.Name]
	a.pidsMu.Unlock()
	if ok && !was.Same(id) {
		return fmt.Sprintf("process %d is gone: its number now names a process in another namespace", pid)
	}
	return ""
}

// phaseWord is p as the status command prints it: "stopped", "failed".
func phaseWord(p messages.Phase) string {
	return strings.ToLower(strings.TrimPrefix(p.String(), "PHASE_"))
}
