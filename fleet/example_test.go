package fleet_test

import (
	"context"
	"fmt"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/linx-net/linx/fleet"
	"github.com/linx-net/linx/messages"
)

// A controller writes node n1's desired scopes in one transaction and
// prints the changes. It needs an etcd at the endpoint, so it only
// compiles here.
func ExampleClient_Apply() {
	etcd, err := clientv3.New(clientv3.Config{Endpoints: []string{"127.0.0.1:2379"}, DialTimeout: 5 * time.Second})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer etcd.Close()
	fc := fleet.New(etcd, "/linx")
	changes, err := fc.Apply(context.Background(), "n1", []*messages.SpawnScope{{
		Name:      "edge",
		Namespace: &messages.Namespace{Kind: &messages.Namespace_Path{Path: "/var/run/netns/edge"}},
		Desired:   &messages.Desired{Addresses: []*messages.Address{{Link: "lo", Address: "10.0.0.1/32"}}},
	}})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, c := range changes {
		fmt.Println(c) // n1/edge: spawn
	}
}
