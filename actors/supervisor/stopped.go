package supervisor

import (
	"fmt"

	"github.com/linx-net/linx/messages"
)

// listStopped asks the node to list a scope as stopped without running it.
type listStopped struct {
	name, reason string
}

// ListStopped lists scope name as stopped, with reason, without running
// it: a scope the agent knows of but does not resume (one recorded as
// stopped, or whose process is gone). It replaces the record of a scope of
// that name that is not running. A later Spawn of the name starts it; Stop
// with forget drops it. It fails when a scope of that name is running,
// the node is stopping, or on a timeout.
func (n *Node) ListStopped(name, reason string) error {
	return n.ack(&listStopped{name: name, reason: reason})
}

func (n *nodeActor) listStopped(m *listStopped) error {
	if n.stopping {
		return fmt.Errorf("listing scope %q as stopped: %w", m.name, errNodeStopping)
	}
	if old := n.scopes[m.name]; old != nil && old.active() {
		return fmt.Errorf("listing scope %q as stopped: it is running", m.name)
	}
	r := &scopeRec{
		name:   m.name,
		status: &messages.ScopeStatus{Name: m.name, Phase: messages.Phase_PHASE_STOPPED, Reason: m.reason},
	}
	n.scopes[m.name] = r
	n.publish(r)
	return nil
}
