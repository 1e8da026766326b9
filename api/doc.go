// Package api serves the Linx message API over the network: protoactor
// remote (gRPC) carrying the protobuf messages of package messages, so that
// a controller on another machine can spawn, stop, update and query the
// scopes of a node agent, and subscribe to their status.
//
// The API is off unless config.API.Listen is set. Serve then:
//
//  1. refuses a listen address beyond loopback unless mutual TLS is
//     configured (certificate, key and client CA), and refuses a partial
//     TLS configuration;
//  2. starts protoactor remote on the actor system, with TLS 1.3 and client
//     certificates required and verified against the client CA when TLS is
//     configured;
//  3. makes the node supervisor reachable under the well-known actor name
//     NodeName ("linx-node"): a controller addresses
//     actor.NewPID(agentAddress, api.NodeName), or uses package client.
//
// # What reaches the node
//
// Every gRPC stream passes a guard (package api/guard, which a
// controller's reply endpoint in package client installs too) before
// protoactor's handler sees it: a batch addressed to any actor other than
// the node supervisor, or carrying a message type other than the messages
// of package messages (plus actor.Terminated, which a subscriber's exit
// produces), closes the stream with PermissionDenied, and a panic in
// protoactor's handler is recovered and closes only that stream. An
// actor.Terminated is accepted only when it reports the end of one of the
// sending peer's own actors (the address the peer declared when it
// connected, never the agent's own address, "nonhost", or the node and its
// children): protoactor passes its subject to the node unchecked, and a
// forged one would make the node take a running scope for stopped.
// The sender of a message must be an actor of the sending peer too: the
// node replies to whatever sender a message carries, so a peer naming
// another controller's pending request (its future$N) would have that
// controller receive a genuine answer to a request it did not make. So
// must the subscriber of a Subscribe or Unsubscribe: the node dials the
// subscriber's address to push statuses, which would otherwise be any host
// and port a peer names, and any peer could end another's subscription.
// protoactor looks an incoming type name up in the global protobuf
// registry and dereferences the result unchecked, so without the guard one
// unregistered type sent by any peer would crash the agent.
//
// What a peer owns is decided by the address it declares when it opens
// its stream, which may be neither the agent's own address nor "nonhost".
// That address is not tied to the connection: its source address differs
// from the declared one for a controller with several addresses (the
// kernel picks the source by route) or behind NAT, and certificates are
// not required to name a controller's reply address. A peer let in (any
// local process without TLS, any holder of a certificate of the client CA
// with it) can therefore declare another controller's address and act as
// that controller; the controllers the client CA vouches for are trusted
// not to do so.
//
// # Connections go both ways
//
// protoactor remote does not answer on the caller's connection: the node
// dials back the address in the sender's PID to deliver replies and status
// pushes. A controller therefore listens too (package client does), and
// with mutual TLS the node presents its own certificate when it dials back
// and verifies the controller's certificate chain against the client CA.
// The host name of a controller is not checked on that reverse connection
// (controllers name their own reply address); its certificate must chain to
// the client CA. Certificates used with the API therefore need both the
// serverAuth and clientAuth extended key usages.
package api
