package api_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/linx-net/linx/client"
	"github.com/linx-net/linx/config"
	"github.com/linx-net/linx/internal/nstest"
	"github.com/linx-net/linx/messages"
)

// waitAddr waits until ns has (want) or lacks (!want) 10.66.0.1 on lo.
func waitAddr(t *testing.T, ns *nstest.NS, want bool, what string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for strings.Contains(ns.IP("-4", "-o", "addr", "show", "dev", "lo"), " 10.66.0.1/32 ") != want {
		if time.Now().After(deadline) {
			t.Fatalf("%s: 10.66.0.1/32 on lo is not %v after 10 s", what, map[bool]string{true: "there", false: "gone"}[want])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestConfiguredScopesBelongToTheFile checks that a scope of the
// configuration file is changed or stopped through the API only by an
// identity granted configured: true (root, by the built-in rule), and
// that a reload of the unchanged file puts back what the API changed.
func TestConfiguredScopesBelongToTheFile(t *testing.T) {
	nstest.RequireRoot(t)
	ns := nstest.New(t)
	ns.IP("link", "set", "lo", "up")
	sock := socketDir(t)
	path := filepath.Join(t.TempDir(), "linx.yaml")
	// uid:65534 may steer scopes in the test namespaces, but not the
	// file's.
	data := fmt.Sprintf(`state_dir: %s
metrics: {listen: "off"}
api:
  socket: %s
  group: "65534"
  authorization:
    - identity: uid:65534
      verbs: ["*"]
      namespaces: {paths: ["/var/run/netns/linx-t-*"]}
scopes:
  - name: demo
    netns: path:%s
    interval: 1h
    desired:
      addresses: [{link: lo, address: 10.66.0.1/32}]
`, t.TempDir(), sock, ns.Path())
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	logs := &logBuffer{}
	a := runAgent(t, cfg, path, logs)
	waitForFile(t, sock)
	waitAddr(t, ns, true, "the configured scope")

	nobody := &syscall.Credential{Uid: 65534, Gid: 65534, Groups: []uint32{}}
	empty := &messages.SpawnScope{Name: "demo", Desired: &messages.Desired{}}
	for _, op := range []string{"update", "stop"} {
		res := runSocketOp(t, sock, op, empty, nobody)
		if !strings.Contains(res, "denied=true") || !strings.Contains(res, "belongs to the configuration file") || !strings.Contains(res, "api.authorization[0]") {
			t.Errorf("nobody's %s of the configured scope: %s; want permission denied by api.authorization[0]", op, res)
		}
	}
	// Nor by taking its name once stopped: a spawn of a configured name is
	// the file's too.
	if res := runSocketOp(t, sock, "spawn", &messages.SpawnScope{Name: "demo",
		Namespace: &messages.Namespace{Kind: &messages.Namespace_Path{Path: ns.Path()}}}, nobody); !strings.Contains(res, "belongs to the configuration file") {
		t.Errorf("nobody's spawn of the configured name: %s", res)
	}
	time.Sleep(100 * time.Millisecond)
	waitAddr(t, ns, true, "after the refusals")

	// Root may: an empty desired state deletes the address.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := client.DialSocket(ctx, sock)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Update(ctx, "demo", &messages.Desired{}); err != nil {
		t.Fatal(err)
	}
	waitAddr(t, ns, false, "root's empty update")

	// A reload of the unchanged file puts it back.
	if err := a.Reload(); err != nil {
		t.Fatal(err)
	}
	waitAddr(t, ns, true, "the reload after the update")
	if !strings.Contains(logs.String(), `"reasserted":1`) {
		t.Errorf("the reload does not report the re-asserted scope:\n%s", logs.String())
	}

	// Stopped (and forgotten) through the API: a reload spawns it again.
	if err := c.Forget(ctx, "demo"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		list, err := c.List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(list) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the scope is still listed: %v", list)
		}
		time.Sleep(10 * time.Millisecond)
	}
	ns.IP("addr", "del", "10.66.0.1/32", "dev", "lo")
	if err := a.Reload(); err != nil {
		t.Fatal(err)
	}
	waitAddr(t, ns, true, "the reload after the stop")
	st, err := c.Status(ctx, "demo")
	if err != nil {
		t.Fatal(err)
	}
	if st.GetPhase() == messages.Phase_PHASE_STOPPED {
		t.Errorf("the scope is %v after the reload", st.GetPhase())
	}

	// SIGHUP (Reload) re-reads the rules: granted configured: true,
	// nobody may now update the file's scope.
	granted := strings.Replace(data, `      namespaces: {paths: ["/var/run/netns/linx-t-*"]}`,
		`      namespaces: {paths: ["/var/run/netns/linx-t-*"]}
      configured: true`, 1)
	if err := os.WriteFile(path, []byte(granted), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := a.Reload(); err != nil {
		t.Fatal(err)
	}
	if res := runSocketOp(t, sock, "update", empty, nobody); res != "ok" {
		t.Errorf("nobody's update once granted configured: true: %s", res)
	}
	waitAddr(t, ns, false, "nobody's granted update")

	// The audit names each request, accepted or refused.
	for _, want := range []string{`"identity":"uid:65534"`, `"verb":"update"`, `"result":"refused"`, `"identity":"uid:0"`, `"result":"accepted"`, `"transport":"socket"`} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("the audit lacks %s", want)
		}
	}
	// And the metric counts them.
	families, err := a.Metrics().Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]float64{}
	for _, f := range families {
		if f.GetName() != "linx_api_requests_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			var verb, result string
			for _, l := range m.GetLabel() {
				switch l.GetName() {
				case "verb":
					verb = l.GetValue()
				case "result":
					result = l.GetValue()
				}
			}
			counts[verb+" "+result] = m.GetCounter().GetValue()
		}
	}
	for _, want := range []string{"update refused", "stop refused", "spawn refused", "update accepted", "stop accepted"} {
		if counts[want] < 1 {
			t.Errorf("linx_api_requests_total: %v; want %s counted", counts, want)
		}
	}
}
