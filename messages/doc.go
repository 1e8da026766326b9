// Package messages is the Linx actor API: the protobuf messages a host
// controller sends to a node supervisor (see package actors/supervisor) to
// spawn, stop, update and query scopes, and the ScopeStatus it gets back or
// receives as a subscriber.
//
// The types are generated from linx.proto; the generated linx.pb.go is
// committed. To regenerate it (protoc must be installed):
//
//	go generate ./messages
//
// which installs protoc-gen-go v1.36.12 and runs protoc with protoactor's
// actor.proto on the import path (Subscribe carries an actor.PID).
//
// Being protobuf, every message also crosses protoactor remote. Messages
// between the actors of one node are plain Go types defined in the actors
// packages.
package messages
