package api

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strings"

	"github.com/asynkron/protoactor-go/remote"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
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
// only the protobuf serializer used. A batch that breaks the rules ends
// the stream with PermissionDenied.
func guardStream(nodeID string, logger *slog.Logger) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		return handler(srv, &guardedStream{ServerStream: ss, nodeID: nodeID, logger: logger})
	}
}

type guardedStream struct {
	grpc.ServerStream
	nodeID string
	logger *slog.Logger
}

func (g *guardedStream) RecvMsg(m any) error {
	if err := g.ServerStream.RecvMsg(m); err != nil {
		return err
	}
	rm, ok := m.(*remote.RemoteMessage)
	if !ok {
		return nil
	}
	if err := g.check(rm.GetMessageBatch()); err != nil {
		from := "unknown peer"
		if p, ok := peer.FromContext(g.Context()); ok {
			from = p.Addr.String()
		}
		g.logger.Warn("message API: refused a batch", "peer", from, "err", err)
		return status.Error(codes.PermissionDenied, err.Error())
	}
	return nil
}

func (g *guardedStream) check(b *remote.MessageBatch) error {
	if b == nil {
		return nil
	}
	for _, name := range b.GetTypeNames() {
		if !allowedType(name) {
			return fmt.Errorf("message type %q is not part of the Linx message API", name)
		}
	}
	for _, t := range b.GetTargets() {
		if id := t.GetId(); id != NodeName && id != g.nodeID {
			return fmt.Errorf("actor %q is not reachable through the Linx message API", id)
		}
	}
	for _, e := range b.GetEnvelopes() {
		// Serializer 0 is protobuf; the others decode arbitrary types.
		if e.GetSerializerId() != 0 {
			return fmt.Errorf("serializer %d is not accepted (protobuf only)", e.GetSerializerId())
		}
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
