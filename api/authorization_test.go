package api_test

import (
	"errors"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/linx-net/linx/api/apitest"
	"github.com/linx-net/linx/client"
	"github.com/linx-net/linx/config"
	"github.com/linx-net/linx/messages"
)

// tcpRules are the rules of TestTCPAuthorization's agent.
var tcpRules = []config.Grant{
	{Identity: "spiffe://example.org/tenant/*", Verbs: []string{"*"}, Paths: []string{"/var/run/netns/tenant-*"}, Scopes: []string{"tenant-*"}},
	{Identity: "monitor", Verbs: []string{"status"}},
	{Identity: "listed", Verbs: []string{"status"}, ReplyAddresses: []string{"127.0.0.1"}},
}

func inPath(p string) *messages.Namespace {
	return &messages.Namespace{Kind: &messages.Namespace_Path{Path: p}}
}

// TestTCPAuthorization checks one rule at a time over TCP with mutual
// TLS: a tenant's certificate (named by its URI SAN) is refused a host
// scope and a path outside its glob, a status-only identity cannot spawn,
// and a peer declaring a reply address its certificate does not vouch for
// is refused unless a rule lists it. Refusals never reach the node.
func TestTCPAuthorization(t *testing.T) {
	if twoRemotes(t) {
		return
	}
	ca := apitest.NewCA(t, "linx-test")
	nodePair := ca.Issue("agent")
	loopback := []net.IP{net.IPv4(127, 0, 0, 1)}
	tenant := ca.IssueWith("tenant", apitest.SANs{URIs: []string{"spiffe://example.org/tenant/a"}, IPs: loopback})
	monitor := ca.Issue("monitor")
	stranger := ca.IssueWith("stranger", apitest.SANs{DNS: []string{"ctl.example.org"}})
	listed := ca.IssueWith("listed", apitest.SANs{DNS: []string{"ctl.example.org"}})
	logs := &logBuffer{}
	srv, _, node := startNodeLogged(t, config.API{Listen: "127.0.0.1:0",
		TLS:           config.TLS{Cert: nodePair.CertFile, Key: nodePair.KeyFile, ClientCA: ca.CertFile},
		Authorization: tcpRules,
	}, slog.New(slog.NewTextHandler(logs, nil)))
	ctx := ctxT(t)
	dial := func(p apitest.Pair) (*client.Client, error) {
		return client.Dial(ctx, srv.Addr(), client.WithTLS(p.CertFile, p.KeyFile, ca.CertFile), client.WithTimeout(3*time.Second))
	}

	c, err := dial(tenant)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, tc := range []struct {
		name string
		spec *messages.SpawnScope
		want string
	}{
		{"host scope", &messages.SpawnScope{Name: "tenant-a", Namespace: &messages.Namespace{Kind: &messages.Namespace_Host{Host: true}}}, "host namespace needs an explicit grant"},
		{"no namespace (the host's)", &messages.SpawnScope{Name: "tenant-a"}, "host namespace needs an explicit grant"},
		{"path outside the glob", &messages.SpawnScope{Name: "tenant-a", Namespace: inPath("/proc/1/ns/net")}, "outside the granted paths"},
		{"pid namespace", &messages.SpawnScope{Name: "tenant-a", Namespace: &messages.Namespace{Kind: &messages.Namespace_Pid{Pid: 1}}}, "process namespaces"},
		{"scope name outside the glob", &messages.SpawnScope{Name: "web", Namespace: inPath("/var/run/netns/tenant-a")}, "scope name is outside"},
	} {
		err := c.Spawn(ctx, tc.spec)
		if !errors.Is(err, client.ErrPermissionDenied) || !strings.Contains(err.Error(), tc.want) ||
			!strings.Contains(err.Error(), "spiffe://example.org/tenant/a") || !strings.Contains(err.Error(), "api.authorization[0]") {
			t.Errorf("tenant, %s: %v; want permission denied (%s) by api.authorization[0]", tc.name, err, tc.want)
		}
	}
	if list, err := node.List(); err != nil || len(list) != 0 {
		t.Fatalf("scopes after the refusals: %v %v; want none", list, err)
	}
	if err := c.Spawn(ctx, &messages.SpawnScope{Name: "tenant-a", Namespace: inPath("/var/run/netns/tenant-a")}); err != nil {
		t.Fatalf("tenant, its own namespace: %v", err)
	}

	m, err := dial(monitor)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if list, err := m.List(ctx); err != nil || len(list) != 1 {
		t.Errorf("monitor's list: %v %v", list, err)
	}
	for name, err := range map[string]error{
		"spawn":  m.Spawn(ctx, &messages.SpawnScope{Name: "tenant-b", Namespace: inPath("/var/run/netns/tenant-b")}),
		"update": m.Update(ctx, "tenant-a", &messages.Desired{}),
		"stop":   m.Stop(ctx, "tenant-a"),
	} {
		if !errors.Is(err, client.ErrPermissionDenied) || !strings.Contains(err.Error(), "verb "+name+" is not granted") {
			t.Errorf("monitor's %s: %v; want permission denied", name, err)
		}
	}

	// The reply endpoint is 127.0.0.1:port, which stranger's certificate
	// (ctl.example.org only) does not vouch for.
	if s, err := dial(stranger); err == nil {
		s.Close()
		t.Error("a peer declaring a reply address its certificate does not vouch for was answered")
	}
	if !strings.Contains(logs.String(), "may not declare the reply address") {
		t.Errorf("no refusal of the reply address logged:\n%s", logs.String())
	}
	l, err := dial(listed)
	if err != nil {
		t.Fatalf("a reply address api.authorization lists: %v", err)
	}
	l.Close()

	// A certificate naming itself uid:0 is not root: uid:N identities
	// are the local socket's, vouched for by the kernel.
	fake, err := dial(ca.IssueWith("uid:0", apitest.SANs{IPs: loopback}))
	if err != nil {
		t.Fatal(err)
	}
	defer fake.Close()
	if err := fake.Spawn(ctx, &messages.SpawnScope{Name: "x"}); !errors.Is(err, client.ErrPermissionDenied) || !strings.Contains(err.Error(), "uid:N identities are the local socket's") {
		t.Errorf("a certificate named uid:0 spawning a host scope: %v; want permission denied", err)
	}
	if !strings.Contains(logs.String(), "msg=\"api audit\"") || !strings.Contains(logs.String(), "transport=tcp") {
		t.Errorf("no audit lines:\n%s", logs.String())
	}
}
