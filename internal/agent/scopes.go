package agent

import (
	"reflect"
	"sync"

	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/linx-net/linx/actors/rtnlsource"
	"github.com/linx-net/linx/config"
	"github.com/linx-net/linx/messages"
	"github.com/linx-net/linx/rtnl"
	"github.com/linx-net/linx/rtnl/reconcile"
)

// Changes is what a reload does to the running scopes, each list in the
// new file's order (Stop in the old file's).
type Changes struct {
	// Spawn are scopes new in the file.
	Spawn []config.Scope
	// Stop names scopes gone from the file: stopped, kernel state kept.
	Stop []string
	// Respawn are scopes whose namespace, protocol or interval changed:
	// stopped, then spawned again with the new settings.
	Respawn []config.Scope
	// Update are scopes whose desired state alone changed.
	Update []config.Scope
	// Unchanged names scopes that stay as they are.
	Unchanged []string
}

// Diff compares the scopes of a running configuration with those of a new
// one, by name. The line a scope starts on does not count as a change.
func Diff(old, new []config.Scope) Changes {
	var c Changes
	byName := make(map[string]config.Scope, len(old))
	for _, s := range old {
		byName[s.Name] = s
	}
	seen := make(map[string]bool, len(new))
	for _, s := range new {
		seen[s.Name] = true
		o, ok := byName[s.Name]
		switch {
		case !ok:
			c.Spawn = append(c.Spawn, s)
		case o.Namespace != s.Namespace || o.Protocol != s.Protocol || o.Interval != s.Interval:
			c.Respawn = append(c.Respawn, s)
		case !reflect.DeepEqual(o.Desired, s.Desired):
			c.Update = append(c.Update, s)
		default:
			c.Unchanged = append(c.Unchanged, s.Name)
		}
	}
	for _, s := range old {
		if !seen[s.Name] {
			c.Stop = append(c.Stop, s.Name)
		}
	}
	return c
}

// Empty reports whether the reload changes no scope.
func (c Changes) Empty() bool {
	return len(c.Spawn)+len(c.Stop)+len(c.Respawn)+len(c.Update) == 0
}

// namespaceProto returns the message form of ns.
func namespaceProto(ns rtnl.Namespace) *messages.Namespace {
	switch {
	case ns.PID() != 0:
		return &messages.Namespace{Kind: &messages.Namespace_Pid{Pid: uint32(ns.PID())}}
	case !ns.IsHost():
		return &messages.Namespace{Kind: &messages.Namespace_Path{Path: ns.Path()}}
	}
	return &messages.Namespace{Kind: &messages.Namespace_Host{Host: true}}
}

// desiredTable carries configured desired states to the node supervisor
// as they are. The configuration holds reconcile.Desired values, richer
// than messages.Desired (route types and sources, vlan and ipvlan links):
// rather than squeeze them through the protobuf form, the agent sends an
// empty *messages.Desired whose pointer is a ticket for the Go value. A
// local actor system hands messages over by pointer, so the supervisor's
// Desired hook (convert) gets the ticket back; any other message (from
// the message API) is converted by rtnlsource.DesiredFromProto.
type desiredTable struct {
	mu      sync.Mutex
	tickets map[*messages.Desired]reconcile.Desired
}

func newDesiredTable() *desiredTable {
	return &desiredTable{tickets: map[*messages.Desired]reconcile.Desired{}}
}

// ticket returns a message standing for d, to be used once.
func (t *desiredTable) ticket(d reconcile.Desired) *messages.Desired {
	m := &messages.Desired{}
	t.mu.Lock()
	t.tickets[m] = d
	t.mu.Unlock()
	return m
}

// cancel drops a ticket that was not used (its request failed before the
// supervisor converted it).
func (t *desiredTable) cancel(m *messages.Desired) {
	t.mu.Lock()
	delete(t.tickets, m)
	t.mu.Unlock()
}

// convert is the supervisor's Config.Desired: a ticket's Go value, or the
// protobuf form converted and validated. It returns the conversion's
// problems for a bad protobuf desired state.
func (t *desiredTable) convert(m *messages.Desired) (any, error) {
	t.mu.Lock()
	d, ok := t.tickets[m]
	delete(t.tickets, m)
	t.mu.Unlock()
	if ok {
		return d, nil
	}
	return rtnlsource.DesiredFromProto(m)
}

// spawnMessage returns the SpawnScope for s, its desired state carried by
// a ticket of t.
func spawnMessage(s config.Scope, t *desiredTable) *messages.SpawnScope {
	return &messages.SpawnScope{
		Name:      s.Name,
		Namespace: namespaceProto(s.Namespace),
		Desired:   t.ticket(s.Desired),
		Interval:  durationpb.New(s.Interval),
		Protocol:  uint32(s.Protocol),
	}
}
