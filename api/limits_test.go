package api_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/linx-net/linx/client"
	"github.com/linx-net/linx/config"
	"github.com/linx-net/linx/messages"
)

// TestTCPConnectionLimits opens bare TCP connections that never start a
// handshake: the API holds at most max_connections_per_source of them
// from one address, drops each when its handshake deadline passes, and a
// controller with a certificate gets in again once they are gone.
func TestTCPConnectionLimits(t *testing.T) {
	if twoRemotes(t) {
		return
	}
	srv, _ := startNode(t, config.API{Listen: "127.0.0.1:0", Limits: config.Limits{
		MaxConnections: 8, MaxConnectionsPerSource: 2, HandshakeTimeout: 300 * time.Millisecond,
	}})
	var conns []net.Conn
	for range 20 {
		c, err := net.Dial("tcp", srv.Addr())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		conns = append(conns, c)
	}
	// Those over the cap are closed at once, the others at the deadline:
	// every one of them ends.
	closed := 0
	for _, c := range conns {
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		if _, err := c.Read(make([]byte, 1)); err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				t.Fatalf("a bare connection was held for 10 s")
			}
			closed++
		}
		if n := srv.Connections(); n > 2 {
			t.Errorf("%d connections held from one address; the cap is 2", n)
		}
	}
	if closed != len(conns) {
		t.Errorf("%d of %d bare connections closed", closed, len(conns))
	}
	deadline := time.Now().Add(10 * time.Second)
	for srv.Connections() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d connections still held after the handshake deadline", srv.Connections())
		}
		time.Sleep(10 * time.Millisecond)
	}
	ctx := ctxT(t)
	c, err := client.Dial(ctx, srv.Addr(), tlsOpt(t))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Spawn(ctx, &messages.SpawnScope{Name: "after"}); err != nil {
		t.Fatal(err)
	}
}

// TestMessageSizeCap checks that a request over max_message_bytes is
// refused over TCP and never reaches the node: by the client with a clear
// error (client.ErrTooLarge, with the sizes) when it knows the cap, and
// by the agent's transport when it does not.
func TestMessageSizeCap(t *testing.T) {
	if twoRemotes(t) {
		return
	}
	srv, _, node := startNodeLogged(t, config.API{Listen: "127.0.0.1:0", Limits: config.Limits{MaxMessageBytes: 4096}}, quiet())
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	big := &messages.SpawnScope{Name: "big", Desired: &messages.Desired{}}
	for range 500 {
		big.Desired.Addresses = append(big.Desired.Addresses, &messages.Address{Link: "eth0", Address: "10.0.0.1/24"})
	}
	c, err := client.Dial(ctx, srv.Addr(), tlsOpt(t), client.WithTimeout(2*time.Second), client.WithMaxMessageBytes(4096))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	err = c.Spawn(ctx, big)
	if !errors.Is(err, client.ErrTooLarge) || !strings.Contains(err.Error(), "over the agent's message cap of 4096") {
		t.Errorf("a message over the cap: %v; want client.ErrTooLarge naming the cap", err)
	}
	// A client that assumes the default cap sends it; the agent drops the
	// connection, and the client says why that may be.
	c2, err := client.Dial(ctx, srv.Addr(), tlsOpt(t), client.WithTimeout(2*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	err = c2.Spawn(ctx, big)
	if !errors.Is(err, client.ErrConnectionBroke) || !strings.Contains(err.Error(), "over its message cap (api.limits.max_message_bytes), and this one was") {
		t.Fatalf("a message over the cap: %v; want client.ErrConnectionBroke naming the cap and the size", err)
	}
	t.Log(err)
	if list, err := node.List(); err != nil || len(list) != 0 {
		t.Errorf("scopes: %v %v; want none", list, err)
	}
}
