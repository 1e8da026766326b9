package api

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/remote"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestRecoverStream(t *testing.T) {
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	icpt := recoverStream(logger)
	info := &grpc.StreamServerInfo{FullMethod: "/remote.Remoting/Receive"}
	err := icpt(nil, nil, info, func(any, grpc.ServerStream) error {
		// The kind of panic protoactor's handler raises on peer input it
		// indexes without checks.
		panic(errors.New("runtime error: index out of range [3] with length 0"))
	})
	if status.Code(err) != codes.Internal || !strings.Contains(err.Error(), "index out of range") {
		t.Fatalf("recovered error = %v; want code Internal naming the panic", err)
	}
	if err := icpt(nil, nil, info, func(any, grpc.ServerStream) error { return io.EOF }); err != io.EOF {
		t.Fatalf("a handler's own error became %v", err)
	}
	u := recoverUnary(logger)
	_, err = u(context.Background(), nil, &grpc.UnaryServerInfo{FullMethod: "/x"}, func(context.Context, any) (any, error) {
		panic("implement me")
	})
	if status.Code(err) != codes.Internal {
		t.Fatalf("recovered unary error = %v; want code Internal", err)
	}
}

func TestGuardCheck(t *testing.T) {
	g := &guardedStream{nodeID: "linx"}
	node := &actor.PID{Address: "a", Id: NodeName}
	for _, tc := range []struct {
		name string
		b    *remote.MessageBatch
		ok   bool
	}{
		{"api message", &remote.MessageBatch{TypeNames: []string{"linx.v1.ListScopes"}, Targets: []*actor.PID{node}}, true},
		{"node by its own id", &remote.MessageBatch{TypeNames: []string{"actor.Terminated"}, Targets: []*actor.PID{{Id: "linx"}}}, true},
		{"unregistered", &remote.MessageBatch{TypeNames: []string{"linxtest.Bogus"}, Targets: []*actor.PID{node}}, false},
		{"unregistered in our package", &remote.MessageBatch{TypeNames: []string{"linx.v1.Nope"}, Targets: []*actor.PID{node}}, false},
		{"system message", &remote.MessageBatch{TypeNames: []string{"actor.PoisonPill"}, Targets: []*actor.PID{node}}, false},
		{"other actor", &remote.MessageBatch{TypeNames: []string{"linx.v1.ListScopes"}, Targets: []*actor.PID{{Id: "activator"}}}, false},
		{"json serializer", &remote.MessageBatch{
			TypeNames: []string{"linx.v1.ListScopes"}, Targets: []*actor.PID{node},
			Envelopes: []*remote.MessageEnvelope{{SerializerId: 1}},
		}, false},
		{"no batch", nil, true},
	} {
		err := g.check(tc.b)
		if (err == nil) != tc.ok {
			t.Errorf("%s: check = %v; want ok=%v", tc.name, err, tc.ok)
		}
	}
}
