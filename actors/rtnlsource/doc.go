// Package rtnlsource is the rtnetlink Source of the Linx loop: it drives one
// network namespace with rtnl (the handle is an *rtnl.Socket), rtnl/reconcile
// (a pass) and rtnl/monitor (the wake-ups), so that the generic actors in
// actors/... converge links, addresses, routes, neighbours and rules.
//
// For a namespace named by a process (pid:N) the watch also holds a pidfd of
// that process: when the process exits the watch ends with an error wrapping
// source.ErrScopeGone at once, and the scope stops with that reason (an open
// socket would otherwise keep the namespace alive and the loop running).
//
// Desired state travels as messages.Desired: DesiredToProto and
// DesiredFromProto convert between it and reconcile.Desired without loss
// (every valid Desired converts back to itself), NamespaceToProto and
// NamespaceFromProto do the same for namespaces, and SpawnFromConfig turns
// a configured scope into the SpawnScope that starts it.
//
// With package supervisor:
//
//	node, err := supervisor.Start(system, supervisor.Config{
//		NewSource: rtnlsource.Factory(stateDir),
//		Desired:   rtnlsource.DesiredFromProto,
//	})
package rtnlsource
