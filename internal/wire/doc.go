// Package wire frames the messages of package messages on a stream, for
// the message API's local socket: each frame is a 4-byte big-endian length
// followed by that many bytes of a google.protobuf.Any holding one message
// of package messages ("linx.v1.…"). A request is one frame and its reply
// one frame on the same connection.
//
// Read refuses a frame longer than its caller's cap before reading it, and
// any type outside package messages, so a peer can make the reader
// allocate at most the cap and never decode a type of its choosing.
package wire
