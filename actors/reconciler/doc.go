// Package reconciler is the long-lived loop of a scope: an actor that holds
// the desired state and asks the socket actor for a pass (observe, diff
// against desired with the ledger, apply) whenever the scope may have
// drifted:
//
//   - when it starts, from scratch (on the monitor's first source.Resync when
//     Config.AwaitResync is set, which is how the scope supervisor wires it
//     so that the subscription exists before the first listing);
//   - every Config.Interval, as the safety net for anything the events
//     missed;
//   - on source.Wake and source.Resync from the monitor (each *monitor.Wakeup
//     is taken as soon as it arrives, so the monitor's next one can
//     follow), coalesced: the first event of a burst arms a Config.Debounce
//     timer, the rest of the burst joins it, and events that arrive while a
//     pass runs become one pass after it;
//   - on *SetDesired, at once.
//
// Every pass takes a token from a bucket refilled at Config.Rate per second
// (capacity Config.Burst), so fighting another writer over the same object
// costs at most Rate passes per second instead of a spinning CPU. A failed
// pass is retried with exponential backoff (100 ms doubling, capped at the
// interval), reset by the next success. A degraded pass (its error wraps
// source.ErrDegraded: it ran to its end, but some objects failed, are
// blocked or are in conflict) is not a failed one: it is not retried
// with that backoff, each failing object backing off on its own in the
// source; the loop runs again when source.Report.RetryIn says the first
// is due (capped at the interval), or on an event.
//
// Each pass carries why it runs (socket.Pass.Trigger, which the source
// reads with source.TriggerOf): source.TriggerFull at start, after a
// Resync, for a new desired state and for a retry after a failure;
// source.TriggerCheck for the interval; source.TriggerEvents when only
// wake-ups (or the look again after a fight) asked for it.
// Reasons that meet in one pass give the one that looks at most. A source
// may narrow a TriggerEvents pass to what the events said changed, and
// counts what a TriggerCheck pass finds although no event came as drift;
// the full passes stay the source of truth.
//
// After each pass the actor sends *PassDone to its parent. Passes are
// numbered from a random point per incarnation, so a restarted reconciler
// never takes the socket actor's reply to its predecessor's pass for its
// own. All timers come
// from protoactor's scheduler and are cancelled on *actor.Stopping and
// *actor.Restarting. The reconciler knows nothing of netlink: desired state
// is opaque and passes go through the socket actor to a source.Source.
package reconciler
