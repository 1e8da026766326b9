// Package socket is the actor that owns a scope's Handle (for rtnetlink, the
// namespace's socket) and serialises every request made through it.
//
// Lifecycle, as protoactor drives it:
//
//  1. *actor.Started opens the handle through the scope's Source. An error
//     wrapping source.ErrScopeGone is reported to the parent as *Gone and
//     the actor stays up answering every request with that error; any other
//     error panics, so the supervisor restarts the scope (and, past its
//     limit, marks it failed).
//  2. *Pass and *Do run one at a time against the handle, in arrival order;
//     each is answered to its sender with *PassResult or *DoResult.
//  3. Each runs for at most Config.PassTimeout. Past it the actor cancels
//     the call's context and closes the handle, which fails a request
//     pending on an rtnetlink socket with EBADF; it waits for the call to
//     return, discards its result, answers with an error wrapping
//     ErrTimeout (a failed pass, which the reconciler retries), and opens a
//     fresh handle as in step 1. The call runs in a goroutine of its own
//     only so that it can be timed; it has always returned before the
//     actor handles its next message, so none outlives the actor.
//  4. *actor.Restarting and *actor.Stopping close the handle, so a restart
//     reopens a fresh one and a stop leaks nothing.
package socket
