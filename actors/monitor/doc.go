// Package monitor is the actor that owns a scope's Watch (for rtnetlink, the
// namespace's multicast subscription) and forwards its events to the
// reconciler.
//
// Lifecycle, as protoactor drives it:
//
//  1. *actor.Started subscribes through the Source, then sends
//     source.Resync to the target: everything before the subscription may
//     have been missed, so the first pass must start from scratch. A Source
//     without events (nil Watch), or Config.Disabled, still sends that one
//     Resync.
//  2. A reader goroutine coalesces the watch's events for the target: it
//     sends a *Wakeup, and until the target takes it (Wakeup.Take) further
//     events only join it, a Resync overriding a Wake. So at most one
//     Wakeup per monitor waits in the target's mailbox whatever the event
//     rate, and a Resync is never lost: Take reports it. For each
//     source.Resync the reader also sends *Overrun to the parent. It never
//     touches the actor context (it uses system.Root.Send), and it recovers
//     its own panics and hands them to the actor, which re-panics so the
//     supervisor sees a crash instead of the process dying.
//  3. When the watch ends by itself, an error wrapping source.ErrScopeGone is
//     sent to the parent as *Gone; any other error crashes the actor so the
//     scope restarts and resynchronises. A watch whose events stop with no
//     error although the actor did not close it counts as such a failure
//     (ErrWatchEnded): a scope never runs on silently without its events.
//  4. *actor.Restarting and *actor.Stopping close the watch and wait for the
//     reader goroutine, so nothing outlives the actor.
package monitor
