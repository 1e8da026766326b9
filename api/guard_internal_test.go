package api

import (
	"context"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/remote"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/proto"

	"github.com/linx-net/linx/messages"
)

func TestPolicy(t *testing.T) {
	p := policy("linx", func() string { return "10.0.0.1:7946" }, slog.New(slog.NewTextHandler(io.Discard, nil)))
	for name, want := range map[string]bool{
		"linx.v1.ListScopes": true,
		"actor.Terminated":   true,
		"actor.Watch":        false,
		"actor.PoisonPill":   false,
		"linx.v1.Nope":       false,
	} {
		if got := p.Types(name); got != want {
			t.Errorf("Types(%q) = %v; want %v", name, got, want)
		}
	}
	for id, want := range map[string]bool{NodeName: true, "linx": true, "linx/scope-web-1": false, "activator": false} {
		if got := p.Target(id); got != want {
			t.Errorf("Target(%q) = %v; want %v", id, got, want)
		}
	}
	for id, want := range map[string]bool{NodeName: true, "linx": true, "linx/scope-web-1": true, "linxy": false, "$3": false} {
		if got := p.Own(id); got != want {
			t.Errorf("Own(%q) = %v; want %v", id, got, want)
		}
	}
}

// acceptAll stands in for protoactor's handler behind the guard: it
// answers every message that reaches it with a ConnectResponse, so that a
// peer tells a batch the guard let through (an answer) from one it refused
// (the stream ends with PermissionDenied).
type acceptAll struct {
	remote.UnimplementedRemotingServer
}

func (acceptAll) Receive(s remote.Remoting_ReceiveServer) error {
	for {
		if _, err := s.Recv(); err != nil {
			return err
		}
		err := s.Send(&remote.RemoteMessage{MessageType: &remote.RemoteMessage_ConnectResponse{
			ConnectResponse: &remote.ConnectResponse{},
		}})
		if err != nil {
			return err
		}
	}
}

// agentSelf is the address the guarded test server of guarded claims as
// the agent's own.
const agentSelf = "10.0.0.1:7946"

// guarded serves the message API's real guard (serverOptions, node id
// "linx", own address agentSelf) in front of acceptAll, and returns a
// function that sends a batch on a fresh stream after declaring an address
// ("" declares none) and returns nil if the batch reached the handler, or
// the error that ended the stream.
func guarded(t *testing.T) func(declared string, b *remote.MessageBatch) error {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(serverOptions("linx", func() string { return agentSelf }, slog.New(slog.NewTextHandler(io.Discard, nil)))...)
	remote.RegisterRemotingServer(srv, acceptAll{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.Serve(l)
	}()
	conn, err := grpc.Dial(l.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn.Close()
		srv.Stop()
		<-done
	})
	return func(declared string, b *remote.MessageBatch) error {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s, err := remote.NewRemotingClient(conn).Receive(ctx)
		if err != nil {
			t.Fatal(err)
		}
		send := func(m *remote.RemoteMessage) error {
			if err := s.Send(m); err != nil {
				t.Fatal(err)
			}
			_, err := s.Recv()
			return err
		}
		if declared != "" {
			err := send(&remote.RemoteMessage{MessageType: &remote.RemoteMessage_ConnectRequest{
				ConnectRequest: &remote.ConnectRequest{ConnectionType: &remote.ConnectRequest_ServerConnection{
					ServerConnection: &remote.ServerConnection{SystemId: "peer", Address: declared},
				}},
			}})
			if err != nil {
				return err
			}
		}
		return send(&remote.RemoteMessage{MessageType: &remote.RemoteMessage_MessageBatch{MessageBatch: b}})
	}
}

func marshal(t *testing.T, m proto.Message) []byte {
	t.Helper()
	data, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestGuardedPolicy checks what the message API's guard, with the API's
// real policy, lets through to protoactor's handler.
func TestGuardedPolicy(t *testing.T) {
	send := guarded(t)
	const peer = "10.0.0.9:4000" // the address the peer declares
	node := &actor.PID{Address: agentSelf, Id: NodeName}
	one := func(name string, m proto.Message) *remote.MessageBatch {
		return &remote.MessageBatch{
			TypeNames: []string{name},
			Targets:   []*actor.PID{node},
			Envelopes: []*remote.MessageEnvelope{{MessageData: marshal(t, m)}},
		}
	}
	// A Terminated goes to the node by its own id, which watches the
	// subscribers; the gate (NodeName) takes none.
	terminated := func(addr, id string) *remote.MessageBatch {
		b := one("actor.Terminated", &actor.Terminated{Who: &actor.PID{Address: addr, Id: id}})
		b.Targets = []*actor.PID{{Address: agentSelf, Id: "linx"}}
		return b
	}
	request := func(addr, id string) *remote.MessageBatch {
		b := one("linx.v1.ListScopes", &messages.ListScopes{})
		b.Senders = []*actor.PID{{Address: addr, Id: id}}
		b.Envelopes[0].Sender = 1
		return b
	}
	for _, tc := range []struct {
		name     string
		declared string
		b        *remote.MessageBatch
		ok       bool
	}{
		{"api message", peer, &remote.MessageBatch{TypeNames: []string{"linx.v1.ListScopes"}, Targets: []*actor.PID{node}}, true},
		{"node by its own id", peer, &remote.MessageBatch{TypeNames: []string{"actor.Terminated"}, Targets: []*actor.PID{{Id: "linx"}}}, true},
		{"a scope of the node", peer, &remote.MessageBatch{TypeNames: []string{"linx.v1.ListScopes"}, Targets: []*actor.PID{{Id: "linx/scope-web-1"}}}, false},
		{"protoactor's machinery", peer, &remote.MessageBatch{TypeNames: []string{"linx.v1.ListScopes"}, Targets: []*actor.PID{{Id: "activator"}}}, false},
		{"system message", peer, &remote.MessageBatch{TypeNames: []string{"actor.PoisonPill"}, Targets: []*actor.PID{node}}, false},
		{"watch", peer, one("actor.Watch", &actor.Watch{Watcher: &actor.PID{Address: peer, Id: "$1"}}), false},
		{"unregistered in our package", peer, &remote.MessageBatch{TypeNames: []string{"linx.v1.Nope"}, Targets: []*actor.PID{node}}, false},
		{"request by the peer's future", peer, request(peer, "future$3"), true},
		{"request by another controller's future", peer, request("10.0.0.8:4000", "future$3"), false},
		{"request by the agent's own actor", peer, request(agentSelf, "linx/scope-web-1"), false},
		{"request by a local actor", peer, request("nonhost", "future$3"), false},
		{"request before the peer declared its address", "", request(peer, "future$3"), false},
		{"subscribe the peer's actor", peer, one("linx.v1.Subscribe", &messages.Subscribe{Subscriber: &actor.PID{Address: peer, Id: "$2"}}), true},
		{"unsubscribe the peer's actor", peer, one("linx.v1.Unsubscribe", &messages.Unsubscribe{Subscriber: &actor.PID{Address: peer, Id: "$2"}}), true},
		{"subscribe an ssh server", peer, one("linx.v1.Subscribe", &messages.Subscribe{Subscriber: &actor.PID{Address: "10.1.2.3:22", Id: "$2"}}), false},
		{"unsubscribe another controller's actor", peer, one("linx.v1.Unsubscribe", &messages.Unsubscribe{Subscriber: &actor.PID{Address: "10.0.0.8:4000", Id: "$2"}}), false},
		{"subscribe the node to itself", peer, one("linx.v1.Subscribe", &messages.Subscribe{Subscriber: &actor.PID{Address: "nonhost", Id: "linx"}}), false},
		{"subscribe before the peer declared its address", "", one("linx.v1.Subscribe", &messages.Subscribe{Subscriber: &actor.PID{Address: peer, Id: "$2"}}), false},
		{"a peer declaring the agent's address", agentSelf, request(agentSelf, "$5"), false},
		{"a peer declaring the local address", "nonhost", request("nonhost", "$5"), false},
		{"subscriber of the peer terminated", peer, terminated(peer, "$12"), true},
		{"terminated to the gate", peer, one("actor.Terminated", &actor.Terminated{Who: &actor.PID{Address: peer, Id: "$12"}}), false},
		{"a request to the node by its own id, past the gate", peer, func() *remote.MessageBatch {
			b := request(peer, "future$3")
			b.Targets = []*actor.PID{{Address: agentSelf, Id: "linx"}}
			return b
		}(), false},
		{"terminated of the agent's own scope", peer, terminated(agentSelf, "linx/scope-web-1"), false},
		{"terminated of a local actor", peer, terminated("nonhost", "linx/scope-web-1"), false},
		{"terminated of a child under the peer's address", peer, terminated(peer, "linx/scope-web-1"), false},
		{"terminated of the node under an alias", peer, terminated("localhost:7946", NodeName), false},
		{"terminated of the node by its id", peer, terminated(peer, "linx"), false},
		{"terminated of another peer's actor", peer, terminated("10.0.0.8:4000", "$3"), false},
		{"terminated before the peer declared its address", "", terminated(peer, "$12"), false},
	} {
		err := send(tc.declared, tc.b)
		t.Logf("%s: %v", tc.name, err)
		if (err == nil) != tc.ok {
			t.Errorf("%s: %v; want ok=%v", tc.name, err, tc.ok)
		}
	}
}
