package api

import (
	"strings"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/linx-net/linx/actors/source"
	"github.com/linx-net/linx/actors/supervisor"
	"github.com/linx-net/linx/config"
	"github.com/linx-net/linx/messages"
	"github.com/linx-net/linx/rtnl"
)

// TestOwnedScopesResumed checks that a scope an earlier run recorded
// (Options.Owned) is judged by its recorded namespace: its owner, allowed
// tenant paths only, may stop it, and it counts against the owner's cap;
// without the record the same stop is judged as a host scope's, refused.
func TestOwnedScopesResumed(t *testing.T) {
	system := actor.NewActorSystem(actor.WithLoggerFactory(supervisor.LoggerFactory(silent())))
	defer system.Shutdown()
	node, err := supervisor.Start(system, supervisor.Config{
		NewSource: func(supervisor.Spec) (source.Source, error) { return nopSource{}, nil },
		Interval:  time.Hour, Logger: silent(),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer node.Shutdown()
	tenant := &messages.Namespace{Kind: &messages.Namespace_Path{Path: "/var/run/netns/tenant-a"}}
	if err := node.Spawn(supervisor.Spec{Name: "t1", Namespace: rtnl.NamespaceAt(tenant.GetPath())}); err != nil {
		t.Fatal(err)
	}
	cfg := config.API{
		Authorization: []config.Grant{{Identity: "uid:1000", Verbs: []string{"*"}, Paths: []string{"/var/run/netns/tenant-*"}}},
		Limits:        config.Limits{MaxScopesPerIdentity: 1}.WithDefaults(),
	}
	peer := Peer{Identity: "uid:1000", Transport: TransportSocket}
	stop := &messages.StopScope{Name: "t1"}

	fresh := newGate(system, node, cfg, Options{Logger: silent()})
	if got := ackErr(fresh.handle(peer, stop)); !strings.Contains(got, "permission denied") {
		t.Errorf("stop without the record: %q; want a refusal", got)
	}
	g := newGate(system, node, cfg, Options{Logger: silent(), Owned: []OwnedScope{{Name: "t1", Identity: "uid:1000", Namespace: tenant}}})
	spawn := &messages.SpawnScope{Name: "t2", Namespace: tenant}
	if got := ackErr(g.handle(peer, spawn)); !strings.Contains(got, "max_scopes_per_identity") {
		t.Errorf("a second scope past the cap of one: %q; want the resumed scope counted", got)
	}
	if got := ackErr(g.handle(peer, stop)); got != "" {
		t.Errorf("the owner stopping its resumed scope: %q", got)
	}
}
