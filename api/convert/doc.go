// Package convert turns a scope of the configuration file into what
// starts it, at the edge where it leaves the file: SpecFromConfig builds
// the supervisor.Spec the agent spawns its configured scopes with,
// directly in Go types, and SpawnFromConfig builds the SpawnScope message
// that starts the same scope over the network (the command line's scope
// spawn --config, the fleet's desired scopes).
//
// The desired state itself is converted by rtnlsource.DesiredToProto and
// rtnlsource.DesiredFromProto, which are lossless inverses for every valid
// reconcile.Desired.
package convert
