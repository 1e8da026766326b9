package agent

import (
	"reflect"

	"github.com/linx-net/linx/config"
)

// Changes is what a reload does to the running scopes, each list in the
// new file's order (Stop in the old file's).
type Changes struct {
	// Spawn are scopes new in the file.
	Spawn []config.Scope
	// Stop names scopes gone from the file: stopped, kernel state kept.
	Stop []string
	// Respawn are scopes whose namespace, protocol, interval or monitor
	// buffer changed: stopped, then spawned again with the new settings.
	Respawn []config.Scope
	// Update are scopes whose desired state alone changed.
	Update []config.Scope
	// Unchanged names scopes that stay as they are.
	Unchanged []string

	// old holds the running configuration's scopes by name, as Diff
	// indexed them, so that Reload finds the scope a respawn replaces
	// without indexing them again.
	old map[string]config.Scope
}

// Diff compares the scopes of a running configuration with those of a new
// one, by name. The line a scope starts on does not count as a change.
func Diff(old, new []config.Scope) Changes {
	byName := make(map[string]config.Scope, len(old))
	for _, s := range old {
		byName[s.Name] = s
	}
	c := Changes{old: byName}
	seen := make(map[string]bool, len(new))
	for _, s := range new {
		seen[s.Name] = true
		o, ok := byName[s.Name]
		switch {
		case !ok:
			c.Spawn = append(c.Spawn, s)
		case o.Namespace != s.Namespace || o.Protocol != s.Protocol || o.Interval != s.Interval ||
			o.MonitorBuffer != s.MonitorBuffer || o.AdoptProtocol != s.AdoptProtocol || o.NoRoutes != s.NoRoutes:
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
