// Package supervisor runs Linx scopes under an Erlang-style supervision tree
// inside a protoactor actor system, and is the embedding API for host
// controllers.
//
// The tree:
//
//	node supervisor                  one per agent (Start)
//	└── scope supervisor             one per scope, restarted on its own
//	    ├── socket actor             the scope's handle (actors/socket)
//	    ├── reconciler actor         the loop (actors/reconciler)
//	    └── monitor actor            the scope's events (actors/monitor)
//
// A crash of any actor of a scope restarts that scope's whole subtree and
// nothing else: the scope supervisor escalates every child failure, and the
// node supervisor restarts it, which makes protoactor stop all three
// children (closing the handle and the watch) and spawn fresh ones from
// *actor.Started. The fresh reconciler resynchronises from scratch once the
// fresh monitor has subscribed. The Source, and with it the ledger of what
// the scope created, lives outside the actors and is kept.
//
// More than Config.MaxRestarts crashes within Config.RestartWindow mark the
// scope failed: its actors stop and its status stays listed with phase
// PHASE_FAILED and the reason. A scope whose Source reports
// source.ErrScopeGone (its namespace's process exited) stops with that
// reason. Neither is silently forgotten; StopScope with forget removes the
// record.
//
// A scope that is not there may still come: Config.Claim or
// Config.NewSource failing with an error wrapping source.ErrScopeAbsent
// (for rtnetlink, a path: namespace not created yet) makes the spawn
// succeed with the scope in PHASE_WAITING, the reason saying what it
// waits for; a running scope whose Source reports an error wrapping both
// source.ErrScopeGone and source.ErrScopeAbsent (its namespace was
// deleted) has its actors stopped and waits again, without counting a
// crash. The node tries a waiting scope again with backoff
// (Config.WaitRetry, doubling up to Config.WaitRetryMax) and at once when
// Config.Appear fires; the first try that succeeds starts its actors
// (claim checked then, as the claim names the namespace by identity). The
// wait is logged at WARN once when it starts and once when the scope
// starts, never per try. A waiting scope holds its name, takes updates
// and stops like any other.
//
// A host controller:
//
//  1. creates (or already has) an *actor.ActorSystem, ideally with
//     actor.WithLoggerFactory(LoggerFactory(logger)) so protoactor logs
//     through the same log/slog logger;
//  2. calls Start with a Config whose NewSource builds a scope's Source
//     (for rtnetlink, the adapter over reconcile and rtnl/monitor);
//  3. spawns and updates scopes in Go types, with Node.Spawn (a Spec:
//     name, namespace, desired state, loop settings, source settings) and
//     Node.Update (the new desired state), and stops and queries them with
//     Node's other helpers. Over the network the same requests are the
//     messages of package messages (SpawnScope, UpdateDesired, ...) sent
//     to Node.PID; Config.Spec and Config.Desired convert them to the Go
//     form once, where they arrive;
//  4. subscribes an actor to receive every *messages.ScopeStatus change
//     instead of polling;
//  5. calls Node.Shutdown when done. From then on the node refuses to
//     spawn or update scopes (the error says the node is stopping), while
//     still answering queries until its scopes have stopped.
//
// The node validates a scope's desired state once per spawn and once per
// update (Config.Check, or the value's own Validate method) and refuses an
// invalid one with the validation's error; with rtnlsource.Check the
// passes then run on the validated state without checking it again.
//
// With Config.Claim, the node keeps one owner per namespace and route
// protocol: a spawn or an update whose claim overlaps that of another
// running scope is refused, naming that scope. Node.ListStopped lists a
// scope as stopped without running it (a recorded scope not resumed).
//
// Every status lives in the node supervisor, which answers queries from
// memory. A pass that changes nothing (the idle interval pass) updates
// last_pass and passes but is not published to subscribers.
package supervisor
