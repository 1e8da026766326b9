// Package source defines what the Linx control loop drives: a Source observes
// one scope (for rtnetlink, one network namespace), diffs it against the
// desired state with the scope's ownership ledger, applies the difference,
// and says where the scope's wake-up events come from.
//
// The actors in package actors/... know only this interface, never netlink,
// so the same loop, supervision and status reporting can later drive another
// subsystem (nftables, cgroups). Desired state is opaque here (type any): the
// Source gives it meaning.
//
// A Source lives as long as its scope, across every restart of the scope's
// actors; it owns what must survive those restarts, such as the ledger of
// keys the scope created (persisted under the state directory). The actors
// own only what a restart must rebuild: the Handle (opened and closed by the
// socket actor) and the Watch (opened and closed by the monitor actor).
//
// An implementation's duties:
//
//  1. Open returns a fresh Handle each call; the handle is used by one
//     goroutine at a time and closed exactly once.
//  2. Pass is safe to repeat: a pass re-observes everything, so an
//     interrupted or failed pass is repaired by the next one. Only a pass
//     whose context says source.TriggerEvents may look at less (what its
//     events said changed), and only when it can be sure nothing else
//     changed; a pass after a failed one looks at everything.
//  3. Watch is subscribed before it returns, so a pass started after Watch
//     returns observes everything the watch has not reported.
//  4. Errors meaning the scope no longer exists (its process exited, its
//     namespace file is gone) wrap ErrScopeGone; the scope then stops with
//     that reason instead of restarting. Those meaning that it may come
//     back (a namespace file removed, which can be created again) wrap
//     ErrScopeAbsent as well: the scope then waits for it instead of
//     stopping for good. A constructor that finds the scope not there yet
//     returns an error wrapping ErrScopeAbsent alone.
//     that reason instead of restarting.
//  5. A pass that ran to its end but left some desired objects
//     unconverged (failed, blocked by a failure, in conflict with another
//     writer) lists them in Report.Objects and wraps ErrDegraded; it keeps
//     the per-object retry state that spares an object that keeps failing
//     (Report.RetryIn), since the loop does not back off a degraded pass.
package source
