// Package client drives a Linx node agent over its message API (package
// api): spawn, stop, update and query scopes, and receive their status
// changes as they happen.
//
// A controller:
//
//  1. calls DialSocket on the agent's machine (its local socket, for root
//     and the members of the agent's api.group), or Dial with a remote
//     agent's API address and WithTLS (TCP is always mutual TLS); both
//     check that the agent answers;
//  2. calls Spawn, Update, Stop, Status and List, each a request answered
//     by the agent's node supervisor;
//  3. calls Subscribe to receive every *messages.ScopeStatus change of
//     every scope, starting with the current status of each;
//  4. calls Close when done.
//
// A request the agent's authorization rules refuse fails with an error
// wrapping ErrPermissionDenied, whose text names the rule.
//
// # The reply endpoint
//
// Over TCP the API is protoactor remote, which does not answer on the
// caller's connection: the agent dials back the caller's own address to deliver
// replies and status pushes. A Client therefore runs a small protoactor
// actor system of its own with remote listening on 127.0.0.1 and a port
// the kernel chooses. For an agent on another machine, WithListen names an
// address of this machine that the agent can reach ("10.0.0.5:0"); a
// wildcard address cannot be used, as it is also the address sent to the
// agent. With WithTLS the reply endpoint requires the agent's certificate
// too, verified against the same CA.
//
// The agent accepts a reply address only when the client's certificate
// names its host (a DNS or IP SAN), or the client's api.authorization rule
// lists it in reply_addresses; otherwise it ends the connection and Dial
// times out with "does not answer" (the agent logs "may not declare the
// reply address"). The local socket needs none of this: replies come back
// on the connection (and Subscribe is not served there).
//
// The reply endpoint guards itself with package api/guard, as the agent's
// API does, so that a misbehaving agent ends its own connection rather
// than the controller. It refuses a batch from an agent that:
//
//   - carries a type other than the messages of package messages,
//     actor.Watch, actor.Unwatch and actor.Terminated, or one the binary
//     does not register, or uses a serializer other than protobuf;
//   - addresses protoactor's own actors (EndpointSupervisor and its
//     children, activator, eventstream);
//   - names as sender, watcher or subscriber an actor that is not at the
//     address the agent declared when it connected (a watcher under
//     "nonhost" is taken to be the agent's node), or reports the end
//     (actor.Terminated) of any actor but one at that address;
//   - sends actor.Watch, actor.Unwatch or actor.Terminated to a pending
//     request (future$N), which protoactor would complete with it;
//   - sends anything to a Client's pending request or subscriber actor
//     from an agent other than the Client's.
//
// Other actors of the endpoint's system (see Endpoint.System) are not
// bound to an agent: any agent may send them the messages above. A panic
// in protoactor's handler is recovered and ends only that connection.
//
// protoactor routes a message by the exact address in its target PID: an
// agent must be dialled at the address it names itself by, the one its
// log line "message API listening" shows: api.advertise when set, else
// api.listen with the host as an address ("127.0.0.1:7946"), not another
// name for it ("localhost").
//
// Certificates used with the API need both the serverAuth and clientAuth
// extended key usages, since each side both listens and dials.
package client
