package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strings"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/remote"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
)

// messagesPackage is the protobuf package of package messages.
const messagesPackage = "linx.v1."

// allowedType reports whether a message of that type name may reach the
// node: the messages of package messages, and actor.Terminated, which
// protoactor sends the node when a remote subscriber it watches exits. The
// type must also be registered, or protoactor's decoder would panic.
func allowedType(name string) bool {
	if name != "actor.Terminated" && !strings.HasPrefix(name, messagesPackage) {
		return false
	}
	_, err := protoregistry.GlobalTypes.FindMessageByName(protoreflect.FullName(name))
	return err == nil
}

// guardStream returns a stream interceptor that checks every batch of
// messages before protoactor's handler decodes it: only the node (under
// its own id or NodeName) may be addressed, only allowed types carried,
// only the protobuf serializer used, every index into the batch in range,
// and an actor.Terminated must concern an actor of the sending peer (see
// checkTerminated). self returns the agent's own address; it is called only
// once protoactor listens. A batch that breaks the rules ends the stream
// with PermissionDenied.
func guardStream(nodeID string, self func() string, logger *slog.Logger) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		return handler(srv, &guardedStream{ServerStream: ss, nodeID: nodeID, self: self, logger: logger})
	}
}

type guardedStream struct {
	grpc.ServerStream
	nodeID string
	self   func() string
	logger *slog.Logger

	// peerAddr is the address the peer declared in its ConnectRequest (the
	// address of its own actor system), "" before it did. Only the
	// handler's goroutine calls RecvMsg, so it needs no lock.
	peerAddr string
}

func (g *guardedStream) RecvMsg(m any) error {
	if err := g.ServerStream.RecvMsg(m); err != nil {
		return err
	}
	rm, ok := m.(*remote.RemoteMessage)
	if !ok {
		return nil
	}
	err := g.connect(rm.GetConnectRequest())
	if err == nil {
		err = g.check(rm.GetMessageBatch())
	}
	if err != nil {
		from := "unknown peer"
		if p, ok := peer.FromContext(g.Context()); ok {
			from = p.Addr.String()
		}
		g.logger.Warn("message API: refused a batch", "peer", from, "declared", g.peerAddr, "err", err)
		return status.Error(codes.PermissionDenied, err.Error())
	}
	return nil
}

// connect records the address a peer declares when it opens its stream
// (protoactor's endpoint writer sends its actor system's address first). A
// peer may not change it on the same stream.
func (g *guardedStream) connect(c *remote.ConnectRequest) error {
	if c == nil {
		return nil
	}
	addr := c.GetServerConnection().GetAddress()
	if g.peerAddr != "" && addr != g.peerAddr {
		return fmt.Errorf("the peer declared address %q after %q on the same stream", addr, g.peerAddr)
	}
	g.peerAddr = addr
	return nil
}

func (g *guardedStream) check(b *remote.MessageBatch) error {
	if b == nil {
		return nil
	}
	names := b.GetTypeNames()
	for _, name := range names {
		if !allowedType(name) {
			return fmt.Errorf("message type %q is not part of the Linx message API", name)
		}
	}
	targets := b.GetTargets()
	for _, t := range targets {
		if id := t.GetId(); id != NodeName && id != g.nodeID {
			return fmt.Errorf("actor %q is not reachable through the Linx message API", id)
		}
	}
	for _, e := range b.GetEnvelopes() {
		// Serializer 0 is protobuf; the others decode arbitrary types.
		if e.GetSerializerId() != 0 {
			return fmt.Errorf("serializer %d is not accepted (protobuf only)", e.GetSerializerId())
		}
		// protoactor indexes these slices without checking.
		ti, target, sender := e.GetTypeId(), e.GetTarget(), e.GetSender()
		if ti < 0 || int(ti) >= len(names) || target < 0 || int(target) >= len(targets) ||
			sender < 0 || int(sender) > len(b.GetSenders()) {
			return fmt.Errorf("envelope indexes (type %d, target %d, sender %d) out of range", ti, target, sender)
		}
		if names[ti] == "actor.Terminated" {
			if err := g.checkTerminated(e.GetMessageData()); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkTerminated refuses an actor.Terminated that does not concern an
// actor of the sending peer. protoactor hands its Who to the node
// unchecked, and a peer's legitimate Terminated only ever reports one of
// its own actors that the node watches (a subscriber): one naming the
// agent's own address, the local "nonhost", the node or one of its
// children (whatever the address, which has aliases such as localhost), or
// any address other than the one the peer declared, is forged.
func (g *guardedStream) checkTerminated(data []byte) error {
	var t actor.Terminated
	if err := proto.Unmarshal(data, &t); err != nil {
		return fmt.Errorf("decoding actor.Terminated: %w", err)
	}
	who := t.GetWho()
	if who == nil {
		return errors.New("actor.Terminated names no actor")
	}
	addr, id := who.GetAddress(), who.GetId()
	switch {
	case addr == "nonhost" || addr == g.self():
		return fmt.Errorf("actor.Terminated of %s/%s: a peer may not report the end of this agent's actors", addr, id)
	case id == NodeName || id == g.nodeID || strings.HasPrefix(id, g.nodeID+"/"):
		return fmt.Errorf("actor.Terminated of %s/%s: names the node or one of its children", addr, id)
	case g.peerAddr == "":
		return fmt.Errorf("actor.Terminated of %s/%s before the peer declared its address", addr, id)
	case addr != g.peerAddr:
		return fmt.Errorf("actor.Terminated of %s/%s: not an actor of the sending peer %s", addr, id, g.peerAddr)
	}
	return nil
}

// recoverStream returns a stream interceptor that turns a panic in the
// handler (protoactor's, which indexes and dereferences peer input without
// checks) into an Internal error ending that stream only.
func recoverStream(logger *slog.Logger) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) (err error) {
		defer func() {
			if p := recover(); p != nil {
				logger.Error("message API: recovered from a panic in the stream handler",
					"method", info.FullMethod, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
				err = status.Errorf(codes.Internal, "the agent could not handle the stream: %v", p)
			}
		}()
		return handler(srv, ss)
	}
}

// recoverUnary is recoverStream for unary calls (protoactor leaves some
// unimplemented, as panics).
func recoverUnary(logger *slog.Logger) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
		defer func() {
			if p := recover(); p != nil {
				logger.Error("message API: recovered from a panic in a unary handler",
					"method", info.FullMethod, "panic", fmt.Sprint(p))
				resp, err = nil, status.Errorf(codes.Internal, "the agent could not handle the call: %v", p)
			}
		}()
		return handler(ctx, req)
	}
}
