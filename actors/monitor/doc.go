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
//  2. A reader goroutine forwards each source.Event to the target with
//     system.Root.Send; it never touches the actor context. For each
//     source.Resync it also sends *Overrun to the parent. It recovers its own
//     panics and hands them to the actor, which re-panics so the supervisor
//     sees a crash instead of the process dying.
//  3. When the watch ends by itself, an error wrapping source.ErrScopeGone is
//     sent to the parent as *Gone; any other error crashes the actor so the
//     scope restarts and resynchronises.
//  4. *actor.Restarting and *actor.Stopping close the watch and wait for the
//     reader goroutine, so nothing outlives the actor.
package monitor
