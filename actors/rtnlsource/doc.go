// Package rtnlsource is the rtnetlink Source of the Linx loop: it drives one
// network namespace with rtnl (the handle is an *rtnl.Socket), reconcile
// (a pass) and rtnl/monitor (the wake-ups), so that the generic actors in
// actors/... converge links, addresses, routes, neighbours and rules.
//
// For a namespace named by a process (pid:N) the watch also holds a pidfd of
// that process: when the process exits the watch ends with an error wrapping
// source.ErrScopeGone at once, and the scope stops with that reason (an open
// socket would otherwise keep the namespace alive and the loop running).
//
// Factory checks a scope before it starts: its namespace must be a
// namespace file (a FIFO or a regular file named as one is refused at
// once, never opened), and a protocol it would take must not already mark
// routes it did not create, unless Settings.AdoptProtocol is set. Its
// ledger is the one of that scope in that namespace (one file per scope
// and namespace under the state directory: reconcile.OpenScopeLedger); a
// damaged one is moved aside and logged (WithLogger).
//
// The watch feeds every event it decodes into a reconcile.Journal the
// Source keeps, and each pass takes it. A pass the loop runs for wake-ups
// alone (source.TriggerEvents) on a validated desired state is narrowed to
// the route keys the journal names (reconcile.Narrowing.Pass), unless no
// watch ran all along or the journal says only a full pass will do. An
// interval pass (source.TriggerCheck) that applies operations although
// the journal stayed empty since the pass before, which ended without
// error, reports them as drift (source.Report.Drift, by kind): what the
// events, and so the narrowed passes, missed. An event that was sent
// before the check began but not yet read counts too, so drift may show
// a repair the next narrowed pass would have made; in a healthy scope it
// stays at 0.
//
// A scope is a supervisor.Spec whose Desired is a reconcile.Desired and
// whose Source is a Settings (route protocol, adoption, route management,
// monitor buffer). Check validates its desired state once per spawn or
// update and hands the passes a reconcile.Validated; Claim names what it
// owns.
//
// This package knows nothing of protobuf. Over the network, desired state
// travels as messages.Desired; package api/convert, at that edge, turns a
// SpawnScope into a Spec (SpecFromProto) and an UpdateDesired's state into
// a reconcile.Desired (DesiredForNode), once, where the message arrives
// (neither validates: the node does).
//
// With package supervisor:
//
//	node, err := supervisor.Start(system, supervisor.Config{
//		NewSource: rtnlsource.Factory(stateDir, rtnlsource.WithLogger(logger)),
//		Check:     rtnlsource.Check,
//		Claim:     rtnlsource.Claim,
//		Spec:      convert.SpecFromProto,  // SpawnScope messages sent to the node (api/convert)
//		Desired:   convert.DesiredForNode, // UpdateDesired messages (api/convert)
//	})
//	err = node.Spawn(supervisor.Spec{Name: "web", Namespace: ns, Desired: desired,
//		Source: rtnlsource.Settings{Protocol: 77}})
package rtnlsource
