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
	"google.golang.org/protobuf/proto"
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
	g := &guardedStream{nodeID: "linx", self: func() string { return "10.0.0.1:7946" }, peerAddr: "10.0.0.9:4000"}
	node := &actor.PID{Address: "a", Id: NodeName}
	terminated := func(addr, id string) *remote.MessageBatch {
		data, err := proto.Marshal(&actor.Terminated{Who: &actor.PID{Address: addr, Id: id}})
		if err != nil {
			t.Fatal(err)
		}
		return &remote.MessageBatch{
			TypeNames: []string{"actor.Terminated"},
			Targets:   []*actor.PID{node},
			Envelopes: []*remote.MessageEnvelope{{MessageData: data}},
		}
	}
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
		{"type index out of range", &remote.MessageBatch{
			TypeNames: []string{"linx.v1.ListScopes"}, Targets: []*actor.PID{node},
			Envelopes: []*remote.MessageEnvelope{{TypeId: 1}},
		}, false},
		{"target index out of range", &remote.MessageBatch{
			TypeNames: []string{"linx.v1.ListScopes"}, Targets: []*actor.PID{node},
			Envelopes: []*remote.MessageEnvelope{{Target: 1}},
		}, false},
		{"sender index out of range", &remote.MessageBatch{
			TypeNames: []string{"linx.v1.ListScopes"}, Targets: []*actor.PID{node},
			Envelopes: []*remote.MessageEnvelope{{Sender: 1}},
		}, false},
		{"subscriber of the peer terminated", terminated("10.0.0.9:4000", "$12"), true},
		{"terminated of the agent's own scope", terminated("10.0.0.1:7946", "linx/scope-web-1"), false},
		{"terminated of a local actor", terminated("nonhost", "linx/scope-web-1"), false},
		{"terminated of a child under the peer's address", terminated("10.0.0.9:4000", "linx/scope-web-1"), false},
		{"terminated of the node under an alias", terminated("localhost:7946", NodeName), false},
		{"terminated of another peer's actor", terminated("10.0.0.8:4000", "$3"), false},
		{"terminated of no actor", &remote.MessageBatch{
			TypeNames: []string{"actor.Terminated"}, Targets: []*actor.PID{node},
			Envelopes: []*remote.MessageEnvelope{{}},
		}, false},
	} {
		err := g.check(tc.b)
		t.Logf("%s: %v", tc.name, err)
		if (err == nil) != tc.ok {
			t.Errorf("%s: check = %v; want ok=%v", tc.name, err, tc.ok)
		}
	}
}

func TestGuardConnect(t *testing.T) {
	g := &guardedStream{nodeID: "linx", self: func() string { return "10.0.0.1:7946" }}
	data, err := proto.Marshal(&actor.Terminated{Who: &actor.PID{Address: "10.0.0.9:4000", Id: "$1"}})
	if err != nil {
		t.Fatal(err)
	}
	b := &remote.MessageBatch{
		TypeNames: []string{"actor.Terminated"},
		Targets:   []*actor.PID{{Id: NodeName}},
		Envelopes: []*remote.MessageEnvelope{{MessageData: data}},
	}
	if err := g.check(b); err == nil {
		t.Error("a Terminated before the peer declared its address passed")
	}
	declare := func(addr string) *remote.ConnectRequest {
		return &remote.ConnectRequest{ConnectionType: &remote.ConnectRequest_ServerConnection{
			ServerConnection: &remote.ServerConnection{Address: addr},
		}}
	}
	if err := g.connect(declare("10.0.0.9:4000")); err != nil {
		t.Fatal(err)
	}
	if err := g.check(b); err != nil {
		t.Errorf("the peer's own subscriber's Terminated was refused: %v", err)
	}
	if err := g.connect(declare("10.0.0.9:4000")); err != nil {
		t.Errorf("declaring the same address again: %v", err)
	}
	if err := g.connect(declare("10.0.0.8:4000")); err == nil {
		t.Error("a peer changed its declared address on the same stream")
	}
}
