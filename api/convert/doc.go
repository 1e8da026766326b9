// Package convert turns Linx's Go model into the messages of the message
// API at the edge where a configured scope leaves for the network:
// SpawnFromConfig builds the SpawnScope that starts a scope of the
// configuration file, for the agent (which spawns its own scopes through
// the same path as a remote controller) and for the command line's scope
// spawn --config.
//
// The desired state itself is converted by rtnlsource.DesiredToProto and
// rtnlsource.DesiredFromProto, which are lossless inverses for every valid
// reconcile.Desired.
package convert
