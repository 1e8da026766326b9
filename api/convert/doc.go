// Package convert is the edge between Linx's Go model and the protobuf
// messages of the message API: the one place where either is turned into
// the other.
//
// Messages to Go: SpecFromProto turns a SpawnScope into the
// supervisor.Spec the node spawns (rtnlsource.Settings as its Source),
// DesiredForNode an UpdateDesired's state into a reconcile.Desired, and
// DesiredFromProto and NamespaceFromProto convert the parts (the first
// also validates). The agent gives SpecFromProto and DesiredForNode to
// its node (supervisor.Config.Spec and .Desired) and uses them for its
// durable records and fleet scopes, so a message is converted once, where
// it arrives; the node validates the result once.
//
// Go to messages: DesiredToProto and NamespaceToProto are the inverses
// (lossless for every valid reconcile.Desired), and SpawnFromConfig builds
// the SpawnScope that starts a scope of the configuration file over the
// network (the command line's scope spawn --config, the fleet's desired
// scopes). SpecFromConfig builds the same scope's Spec directly in Go
// types, as the agent spawns its configured scopes.
package convert
