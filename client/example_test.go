package client_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/linx-net/linx/client"
	"github.com/linx-net/linx/messages"
)

// A controller spawns a scope on an agent, waits for it to converge, updates
// its desired state and stops it. It needs an agent listening on
// 127.0.0.1:7946 with mutual TLS (api.listen and api.tls in its config),
// whose api.authorization grants this certificate spawn, update and stop
// in /var/run/netns/web.
func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	c, err := client.Dial(ctx, "127.0.0.1:7946",
		client.WithTLS("controller.pem", "controller-key.pem", "ca.pem"))
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	updates, stop, err := c.Subscribe(ctx)
	if err != nil {
		log.Fatal(err)
	}
	defer stop()

	err = c.Spawn(ctx, &messages.SpawnScope{
		Name:      "web",
		Namespace: &messages.Namespace{Kind: &messages.Namespace_Path{Path: "/var/run/netns/web"}},
		Desired: &messages.Desired{
			Addresses: []*messages.Address{{Link: "eth0", Address: "10.0.0.2/24"}},
			Routes:    []*messages.Route{{Dst: "default", Via: "10.0.0.1"}},
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	for st := range updates {
		if st.GetName() == "web" && st.GetPhase() == messages.Phase_PHASE_CONVERGED {
			fmt.Println("web converged; ops applied:", st.GetOpsApplied())
			break
		}
	}

	err = c.Update(ctx, "web", &messages.Desired{
		Addresses: []*messages.Address{{Link: "eth0", Address: "10.0.0.3/24"}},
	})
	if err != nil {
		log.Fatal(err)
	}
	if err := c.Stop(ctx, "web"); err != nil {
		log.Fatal(err)
	}
}

// On the agent's machine, a tool run by root (or by a member of the
// agent's api.group) talks to the agent's local socket: no port, no
// certificate. A request the agent's rules refuse wraps
// ErrPermissionDenied.
func ExampleDialSocket() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	c, err := client.DialSocket(ctx, client.DefaultSocket)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	err = c.Spawn(ctx, &messages.SpawnScope{
		Name:      "tenant-a",
		Namespace: &messages.Namespace{Kind: &messages.Namespace_Path{Path: "/var/run/netns/tenant-a"}},
	})
	if errors.Is(err, client.ErrPermissionDenied) {
		log.Fatalf("not granted: %v", err)
	}
	list, err := c.List(ctx)
	if err != nil {
		log.Fatal(err)
	}
	for _, st := range list {
		fmt.Println(st.GetName(), st.GetPhase())
	}
}
