// Package fleet keeps the desired scopes of many node agents in etcd, and
// follows them from an agent.
//
// The layout under a prefix (DefaultPrefix, /linx):
//
//	<prefix>/v1/nodes/<node>/scopes/<scope>   a SpawnScope in protobuf JSON
//	<prefix>/v1/status/<node>/<scope>         a ScopeStatus in protobuf JSON
//	<prefix>/v1/members/<node>                the agent's membership
//
// A controller writes desired scopes with Client (Apply writes one node's
// scopes in one transaction). An agent follows its node's scopes with
// Follow, which is level-triggered: it lists the scopes at a revision,
// watches from the next one, and lists again after a compaction or a
// broken watch, handing its target the whole desired set every time, so
// that nothing is missed and the target converges by diffing against
// what runs.
package fleet
