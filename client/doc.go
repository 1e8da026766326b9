// Package client drives a Linx node agent over its network message API
// (package api): spawn, stop, update and query scopes, and receive their
// status changes as they happen.
//
// A controller:
//
//  1. calls Dial with the agent's API address (and WithTLS when the agent
//     requires mutual TLS); Dial checks that the agent answers;
//  2. calls Spawn, Update, Stop, Status and List, each a request answered
//     by the agent's node supervisor;
//  3. calls Subscribe to receive every *messages.ScopeStatus change of
//     every scope, starting with the current status of each;
//  4. calls Close when done.
//
// # The reply endpoint
//
// The API is protoactor remote, which does not answer on the caller's
// connection: the agent dials back the caller's own address to deliver
// replies and status pushes. A Client therefore runs a small protoactor
// actor system of its own with remote listening on 127.0.0.1 and a port
// the kernel chooses. For an agent on another machine, WithListen names an
// address of this machine that the agent can reach ("10.0.0.5:0"); a
// wildcard address cannot be used, as it is also the address sent to the
// agent. With WithTLS the reply endpoint requires the agent's certificate
// too, verified against the same CA.
//
// The reply endpoint guards itself as the agent's API does (package
// api/guard): it accepts only the messages of package messages and the
// watch messages of subscriptions, only about the sending agent's own
// actors, and recovers from a panic in protoactor's handler, so that a
// misbehaving peer ends its own connection rather than the controller.
//
// Certificates used with the API need both the serverAuth and clientAuth
// extended key usages, since each side both listens and dials.
package client
