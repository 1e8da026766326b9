package api

import (
	"io"
	"log/slog"
	"testing"
)

func TestPolicy(t *testing.T) {
	p := policy("linx", func() string { return "10.0.0.1:7946" }, slog.New(slog.NewTextHandler(io.Discard, nil)))
	for name, want := range map[string]bool{
		"linx.v1.ListScopes": true,
		"actor.Terminated":   true,
		"actor.Watch":        false,
		"actor.PoisonPill":   false,
		"linx.v1.Nope":       false,
	} {
		if got := p.Types(name); got != want {
			t.Errorf("Types(%q) = %v; want %v", name, got, want)
		}
	}
	for id, want := range map[string]bool{NodeName: true, "linx": true, "linx/scope-web-1": false, "activator": false} {
		if got := p.Target(id); got != want {
			t.Errorf("Target(%q) = %v; want %v", id, got, want)
		}
	}
	for id, want := range map[string]bool{NodeName: true, "linx": true, "linx/scope-web-1": true, "linxy": false, "$3": false} {
		if got := p.Own(id); got != want {
			t.Errorf("Own(%q) = %v; want %v", id, got, want)
		}
	}
}
