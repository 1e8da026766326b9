// Package scopestore keeps the records of durable scopes: the scopes a
// node agent was told to run through its message API, each with its last
// desired state, so that the agent resumes them after a restart (an
// upgrade, a crash, a reboot).
//
// One file per scope, <state_dir>/scopes/<name>.json, replaced atomically
// (written aside, synced, renamed, directory synced), so a crash leaves the
// old record or the new one, never a torn one. A record is readable JSON:
// the scope's SpawnScope in protobuf JSON, whether it was stopped and why,
// and the identity of its namespace when it was recorded.
package scopestore
