package client

import "testing"

func TestBindingsDeliver(t *testing.T) {
	const agent, other = "10.0.0.1:7946", "10.0.0.2:7946"
	b := &bindings{agent: map[string]string{}}
	b.bind("$4", agent)       // a subscriber
	b.bind("future$5", agent) // a pending request
	for _, tc := range []struct {
		peer, id, name string
		want           bool
	}{
		{other, "future$2", "actor.Watch", false},
		{other, "future$2", "actor.Unwatch", false},
		{agent, "future$5", "actor.Terminated", false},
		{agent, "future$5", "actor.Watch", false},
		{other, "future$2", "linx.v1.ScopeList", true}, // not bound: any agent
		{agent, "future$5", "linx.v1.ScopeList", true},
		{other, "future$5", "linx.v1.ScopeList", false},
		{"", "future$5", "linx.v1.ScopeList", false},
		{other, "$3", "actor.Watch", true},
		{agent, "$4", "linx.v1.ScopeStatus", true},
		{agent, "$4", "actor.Watch", true},
		{other, "$4", "linx.v1.ScopeStatus", false},
		{other, "$4", "actor.Unwatch", false},
		{"", "$4", "linx.v1.ScopeStatus", false},
	} {
		if got := b.deliver(tc.peer, tc.id, tc.name); got != tc.want {
			t.Errorf("deliver(%q, %q, %q) = %v; want %v", tc.peer, tc.id, tc.name, got, tc.want)
		}
	}
	b.unbind("$4")
	if !b.deliver(other, "$4", "linx.v1.ScopeStatus") {
		t.Error("an unbound actor still refuses other peers")
	}
}
