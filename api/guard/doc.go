// Package guard protects a protoactor remote endpoint of Linx from the
// peers that reach it: the agent's message API (package api) and a
// controller's reply endpoint (package client) both install it, through
// ServerOptions, on the gRPC server protoactor starts.
//
// protoactor's gRPC handler trusts its peers: it looks an incoming type
// name up in the global protobuf registry and dereferences the result
// unchecked (one unregistered type crashes the process), indexes the
// batch's slices without bounds checks, and delivers any message to any
// local actor, system messages included. The guard sits in front of it and,
// for every stream:
//
//  1. remembers the address the peer declares when it connects (protoactor
//     sends its actor system's address first), and refuses a change of it,
//     an empty one, "nonhost" and the endpoint's own address, and asks
//     Policy.Declare whether the peer may declare it (the agent's API ties
//     it to the peer's certificate there);
//  2. refuses a batch carrying a type the Policy does not accept or the
//     registry does not know, using a serializer other than protobuf,
//     addressing an actor the Policy does not accept, or holding an index
//     out of range;
//  3. refuses a message whose sender is not an actor of the peer (at the
//     address it declared): protoactor hands the sender to the receiving
//     actor, whose reply goes there, so a peer could otherwise have another
//     peer's pending request (its future$N) answered;
//  4. refuses a messages.Subscribe or messages.Unsubscribe whose
//     subscriber is not an actor of the peer: the agent dials the
//     subscriber's address to push statuses (whatever host and port a peer
//     names), and a peer could otherwise end another's subscription;
//  5. refuses an actor.Terminated that does not report the end of one of
//     the peer's own actors: naming the endpoint's own address, "nonhost",
//     an actor the Policy calls its own, or an address other than the one
//     the peer declared;
//  6. refuses an actor.Watch or actor.Unwatch whose watcher is not an
//     actor of the peer. A watcher under "nonhost" (protoactor's name for a
//     local actor, which it sends as such when the actor was spawned before
//     its remote started) is taken to be the peer's and rewritten to the
//     peer's address, so that the watched actor's Terminated reaches it.
//
// A Policy may also refuse a delivery by its peer, actor and type
// (Policy.Deliver): a controller's reply endpoint binds its actors to the
// agent each serves that way. With Policy.Stamp, the guard replaces the
// header of every message it passes with the stream's own (the agent's
// API puts the identity of the peer's certificate there), so that no peer
// can forge one.
//
// A refused batch ends the stream with PermissionDenied and is logged; the
// peer's protoactor reconnects for its next message. A panic in
// protoactor's handlers is recovered, logged, and ends only that stream or
// call with Internal.
package guard
