// Package rtnlsource is the rtnetlink Source of the Linx loop: it drives one
// network namespace with rtnl (the handle is an *rtnl.Socket), reconcile
// (a pass) and rtnl/monitor (the wake-ups), so that the generic actors in
// actors/... converge links, addresses, routes, neighbours and rules.
//
// For a namespace named by a process (pid:N) the watch also holds a pidfd of
// that process: when the process exits the watch ends with an error wrapping
// source.ErrScopeGone at once, and the scope stops with that reason (an open
// socket would otherwise keep the namespace alive and the loop running). A
// process that exited never comes back, and a pid the kernel hands out
// again names another namespace: such a scope stays stopped.
//
// A namespace named by a path (path:/var/run/netns/NAME) may not exist yet
// when its scope is spawned, and may be deleted and made again under the
// same name. Factory and Claim then fail with an error wrapping
// source.ErrScopeAbsent (the path does not exist, or is the empty file
// `ip netns add` mounts the namespace on), and the node waits for the
// namespace (phase waiting) instead of refusing the scope. While the scope
// runs, its watch also watches the path's directory with inotify: when the
// path is removed, or names another namespace, the watch ends with an
// error wrapping both source.ErrScopeGone and source.ErrScopeAbsent, and
// the scope goes back to waiting. Appear, given to the node as
// supervisor.Config.Appear, wakes a waiting scope as soon as its path (or
// a missing directory above it, such as /var/run/netns itself) is created.
// A namespace made again under the same name is a new namespace, with a
// ledger of its own (reconcile.LedgerPath names the namespace's identity),
// so nothing the scope owned in the old one is taken for owned in the new.
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
// stays at 0. Around a bulk batch of the pass's own routes
// (reconcile.BulkRoutes), the watch's monitor leaves the route groups
// (monitor.Monitor.MuteRoutes); rejoining delivers a Resync, and the
// journal, lost, makes the next pass a full one.
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
//		Appear:    rtnlsource.Appear,
//		Spec:      convert.SpecFromProto,  // SpawnScope messages sent to the node (api/convert)
//		Desired:   convert.DesiredForNode, // UpdateDesired messages (api/convert)
//	})
//	err = node.Spawn(supervisor.Spec{Name: "web", Namespace: ns, Desired: desired,
//		Source: rtnlsource.Settings{Protocol: 77}})
package rtnlsource
