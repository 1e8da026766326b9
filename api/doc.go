// Package api serves the Linx message API: the protobuf messages of
// package messages, with which a controller spawns, stops, updates and
// queries the scopes of a node agent, and subscribes to their status.
//
// The agent runs as root and can rewrite every namespace's routing, so the
// API is a privilege boundary. ServeWith serves it two ways, and both pass
// the same gate before anything reaches the node supervisor:
//
//  1. the local socket (config.API.Socket, /run/linx/linx.sock by
//     default): a Unix socket in a directory of mode 0750, itself 0660,
//     both owned by root and config.API.Group. The kernel's peer
//     credentials (SO_PEERCRED) of each connection decide: uid 0 or a
//     member of the group is served as identity "uid:N", anyone else gets
//     one refusal and is logged. Requests and replies are frames of
//     package internal/wire on the same connection: no dial-back, no TCP
//     port. Subscriptions need TCP;
//  2. TCP (config.API.Listen), always with mutual TLS, loopback included:
//     protoactor remote (gRPC), with the client's certificate naming it
//     (its first URI SAN, or its CN: see Identity). Controllers address
//     actor.NewPID(agentAddress, NodeName), or use package client.
//
// # The gate
//
// Every request, from either transport, is judged by the rules of
// config.API.Authorization (package api/authz: verbs, namespaces, scope
// names, object caps; by default root on the socket may do everything and
// anyone else may only read), by the scopes of the configuration file
// (changed or stopped only by an identity granted configured: true; the
// agent is told, so that its next reload puts them back), and by the
// limits of config.API.Limits (requests per second per identity, scopes
// per identity and in all). A refusal is answered with an Ack whose error
// starts "permission denied:" (naming the rule), "rate limited:" or
// "scope limit:". Every request that would change a scope, and every
// refusal, is one "api audit" log line (identity, transport, peer, verb,
// scope, namespace, objects, result, rule), and Options.Observe counts
// each request by verb and result.
//
// # What reaches the gate over TCP
//
// Every gRPC stream passes a guard (package api/guard, which a
// controller's reply endpoint in package client installs too) before
// protoactor's handler sees it. Peers reach the gate, under NodeName, with
// the messages of package messages only; the node supervisor itself, under
// its own id, takes only the actor.Terminated of a subscriber it watches,
// never about the node or its children. The guard replaces every message's
// header with the identity of the stream's certificate (which the gate
// reads), so a peer cannot claim another identity; a certificate may not
// claim a socket identity (uid:N) either. A batch carrying another type,
// addressing another actor, naming a sender, subscriber or watcher that is
// not the peer's, or holding bad indexes closes the stream with
// PermissionDenied; a panic in protoactor's handler is recovered and closes
// only that stream.
//
// What a peer owns is decided by the address it declares when it opens its
// stream. That address must be one its certificate vouches for: a DNS or IP
// SAN equal to the declared host, or a host listed for its identity in
// reply_addresses. Otherwise the stream is refused: a peer could else
// declare another controller's address and receive its replies and status
// pushes.
//
// # Limits on connections
//
// Each transport holds at most config.API.Limits.MaxConnections
// connections, and MaxConnectionsPerSource from one source address (TCP)
// or uid (socket); the caps are lowered at start until ReservedFDs
// descriptors stay free for the scopes and the health endpoint. A TCP
// connection over a cap is closed before its TLS handshake, and a
// handshake must end within HandshakeTimeout. Messages above
// MaxMessageBytes are refused on both transports.
//
// # Connections go both ways over TCP
//
// protoactor remote does not answer on the caller's connection: the node
// dials back the address in the sender's PID to deliver replies and status
// pushes. A controller therefore listens too (package client does), and
// the node presents its own certificate when it dials back and verifies
// the controller's certificate chain against the client CA. Certificates
// used with the API therefore need both the serverAuth and clientAuth
// extended key usages.
package api
