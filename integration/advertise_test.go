package integration

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/linx-net/linx/api/apitest"
	"github.com/linx-net/linx/client"
	"github.com/linx-net/linx/internal/nstest"
)

// TestAgentWildcardListenAdvertises runs an agent whose message API
// listens on every address (0.0.0.0) and advertises 127.0.0.1: protoactor
// routes by the advertised address, so a controller dialling it is
// answered. Without advertise, the agent would name itself 0.0.0.0, which
// no controller can reach; the configuration refuses that.
func TestAgentWildcardListenAdvertises(t *testing.T) {
	nstest.RequireRoot(t)
	bin := agentBuild(t)
	ca := apitest.NewCA(t, "advertise")
	node, ctl := ca.Issue("node"), ca.Issue("controller")

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	l.Close()

	dir := t.TempDir()
	path := filepath.Join(dir, "linx.yaml")
	cfg := fmt.Sprintf(`state_dir: %s
metrics:
  listen: 127.0.0.1:0
api:
  socket: off
  listen: 0.0.0.0:%s
  advertise: 127.0.0.1:%s
  tls: {cert: %s, key: %s, client_ca: %s}
scopes: []
`, filepath.Join(dir, "state"), port, port, node.CertFile, node.KeyFile, ca.CertFile)
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	p := agentStart(t, bin, path)
	if got := fleetAPIAddr(t, p); got != "127.0.0.1:"+port {
		t.Fatalf("the agent says its API is at %s; want the advertised 127.0.0.1:%s", got, port)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ep, err := client.NewEndpoint(client.WithTLS(ctl.CertFile, ctl.KeyFile, ca.CertFile))
	if err != nil {
		t.Fatal(err)
	}
	defer ep.Close()
	c, err := ep.Dial(ctx, "127.0.0.1:"+port)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.List(ctx); err != nil {
		t.Fatalf("List through the advertised address: %v", err)
	}
	p.stop()
}
