package client_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/linx-net/linx/api"
	"github.com/linx-net/linx/api/apitest"
	"github.com/linx-net/linx/client"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreTopFunction("google.golang.org/grpc/internal/grpcsync.(*CallbackSerializer).run"),
		// protoactor's dead-letter log throttle: a timer goroutine that ends
		// one throttle period after the last dead letter.
		goleak.IgnoreTopFunction("github.com/asynkron/protoactor-go/actor.NewDeadLetter.NewThrottle.func4.1"),
	)
}

func TestNodeNameMatchesAPI(t *testing.T) {
	if client.NodeName != api.NodeName {
		t.Fatalf("client.NodeName %q != api.NodeName %q", client.NodeName, api.NodeName)
	}
}

func TestDialErrors(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ca := apitest.NewCA(t, "t")
	p := ca.Issue("c")
	for _, tc := range []struct {
		name string
		addr string
		opts []client.Option
		want string
	}{
		{"no port", "127.0.0.1", nil, "want host:port"},
		{"wildcard reply endpoint", "127.0.0.1:1", []client.Option{client.WithListen("0.0.0.0:0")}, "wildcard"},
		{"empty reply host", "127.0.0.1:1", []client.Option{client.WithListen(":0")}, "wildcard"},
		{"partial TLS", "127.0.0.1:1", []client.Option{client.WithTLS(p.CertFile, "", "")}, "certificate, a key and a CA"},
		{"missing CA", "127.0.0.1:1", []client.Option{client.WithTLS(p.CertFile, p.KeyFile, "/nonexistent/ca.pem")}, "reading CA file"},
		{"not a CA file", "127.0.0.1:1", []client.Option{client.WithTLS(p.CertFile, p.KeyFile, p.KeyFile)}, "no PEM certificate"},
		{"closed port", "127.0.0.1:1", []client.Option{client.WithTimeout(time.Second)}, "connection refused"},
	} {
		c, err := client.Dial(ctx, tc.addr, tc.opts...)
		if err == nil {
			c.Close()
			t.Errorf("%s: Dial succeeded", tc.name)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Dial = %v; want an error containing %q", tc.name, err, tc.want)
		}
	}
}

func TestEndpointClose(t *testing.T) {
	ep, err := client.NewEndpoint()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(ep.Addr(), "127.0.0.1:") || strings.HasSuffix(ep.Addr(), ":0") {
		t.Errorf("Addr = %q; want 127.0.0.1 and the port the kernel chose", ep.Addr())
	}
	if err := ep.Close(); err != nil {
		t.Fatal(err)
	}
	if err := ep.Close(); err != nil {
		t.Fatal("second Close:", err)
	}
	if _, err := ep.Dial(context.Background(), "127.0.0.1:1"); err != client.ErrClosed {
		t.Errorf("Dial on a closed endpoint = %v; want ErrClosed", err)
	}
}
