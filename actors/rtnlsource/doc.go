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
// routes it did not create, unless the SpawnScope sets adopt_protocol. Its
// ledger is the one of that scope in that namespace (one file per scope
// and namespace under the state directory: reconcile.OpenScopeLedger); a
// damaged one is moved aside and logged (WithLogger).
//
// Desired state travels as messages.Desired: DesiredToProto and
// DesiredFromProto convert between it and reconcile.Desired without loss
// (every valid Desired converts back to itself), NamespaceToProto and
// NamespaceFromProto do the same for namespaces (package api/convert turns
// a configured scope into the SpawnScope that starts it).
//
// With package supervisor:
//
//	node, err := supervisor.Start(system, supervisor.Config{
//		NewSource: rtnlsource.Factory(stateDir, rtnlsource.WithLogger(logger)),
//		Desired:   rtnlsource.DesiredFromProto,
//	})
package rtnlsource
