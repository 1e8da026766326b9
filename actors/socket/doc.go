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
//  3. *actor.Restarting and *actor.Stopping close the handle, so a restart
//     reopens a fresh one and a stop leaks nothing.
package socket
