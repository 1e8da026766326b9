package authz_test

import (
	"fmt"

	"github.com/linx-net/linx/api/authz"
	"github.com/linx-net/linx/config"
	"github.com/linx-net/linx/messages"
)

// A tenant's controller may steer scopes named tenant-* in namespaces
// under /var/run/netns/tenant-*, and nothing in the host namespace.
func ExampleRules_Decide() {
	rules := authz.New([]config.Grant{{
		Identity: "spiffe://example.org/tenant/*",
		Verbs:    []string{"status", "spawn", "update", "stop"},
		Paths:    []string{"/var/run/netns/tenant-*"},
		Scopes:   []string{"tenant-*"},
	}})
	for _, r := range []authz.Request{
		{Identity: "spiffe://example.org/tenant/a", Verb: authz.Spawn, Scope: "tenant-a",
			Namespace: &messages.Namespace{Kind: &messages.Namespace_Path{Path: "/var/run/netns/tenant-a"}}},
		{Identity: "spiffe://example.org/tenant/a", Verb: authz.Spawn, Scope: "tenant-a",
			Namespace: &messages.Namespace{Kind: &messages.Namespace_Host{Host: true}}},
		{Identity: "uid:1000", Verb: authz.Stop, Scope: "tenant-a"},
		{Identity: "uid:0", Verb: authz.Stop, Scope: "demo", Configured: true},
	} {
		d := rules.Decide(r)
		if d.Allowed {
			fmt.Printf("%s %s %s: allowed by %s\n", r.Identity, r.Verb, r.Scope, d.Rule)
			continue
		}
		fmt.Println(d.Err(r))
	}
	// Output:
	// spiffe://example.org/tenant/a spawn tenant-a: allowed by api.authorization[0]
	// permission denied: "spiffe://example.org/tenant/a" may not spawn scope "tenant-a": the host namespace needs an explicit grant (namespaces: {host: true}) (rule api.authorization[0])
	// permission denied: "uid:1000" may not stop scope "tenant-a": the verb stop is not granted (rule built-in default (an identity no rule names may read statuses only))
	// uid:0 stop demo: allowed by built-in root (uid:0 may do everything)
}
