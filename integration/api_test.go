package integration

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/linx-net/linx/internal/nstest"
)

// TestAPICommands drives an agent process with `linx-node scope` and
// `linx-node status`, each a process of its own, over the agent's local
// socket.
func TestAPICommands(t *testing.T) {
	bin := agentBuild(t)
	ns := nstest.New(t)
	ns.IP("link", "add", "veth0", "type", "veth", "peer", "name", "veth1")
	dir := t.TempDir()
	path := filepath.Join(dir, "linx.yaml")
	sock := agentSocket(path)
	cfg := fmt.Sprintf("state_dir: %s\nmetrics:\n  listen: 127.0.0.1:0\napi:\n  socket: %s\nscopes: []\n", filepath.Join(dir, "state"), sock)
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	p := agentStart(t, bin, path)
	agentWaitSocket(t, p, sock)

	run := func(wantCode int, args ...string) string {
		t.Helper()
		code, stdout, stderr := agentExit(t, bin, append(args, "--socket", sock)...)
		if code != wantCode {
			t.Fatalf("linx-node %s: exit %d, want %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, wantCode, stdout, stderr)
		}
		return stdout + stderr
	}

	run(0, "scope", "spawn", "web", "--netns", "path:"+ns.Path(), "--address", "veth0=10.88.0.1/24", "--interval", "1s")
	type row struct {
		Name       string `json:"name"`
		Phase      string `json:"phase"`
		OpsApplied uint32 `json:"ops_applied"`
		Passes     uint64 `json:"passes"`
		LastPass   string `json:"last_pass"`
	}
	var rows []row
	deadline := time.Now().Add(20 * time.Second)
	for {
		rows = nil
		if err := json.Unmarshal([]byte(run(0, "status", "-o", "json")), &rows); err != nil {
			t.Fatal(err)
		}
		if len(rows) == 1 && rows[0].Phase == "converged" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("status never showed web converged: %+v", rows)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if rows[0].Name != "web" || rows[0].Passes == 0 || rows[0].LastPass == "" {
		t.Errorf("status = %+v; want web with a pass", rows[0])
	}
	if got := agentAddrs(ns, "veth0"); !slices.Contains(got, "10.88.0.1/24") {
		t.Errorf("veth0 has %v; want 10.88.0.1/24", got)
	}

	// The same scope from a file, in the message's YAML form, is refused
	// while web runs; the table lists it.
	spec := filepath.Join(dir, "web.yaml")
	if err := os.WriteFile(spec, []byte("name: web\nnamespace: {path: "+ns.Path()+"}\ndesired:\n  addresses:\n    - {link: veth0, address: 10.88.0.2/24}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	run(1, "scope", "spawn", "-f", spec)
	if out := run(0, "scope", "list"); !strings.Contains(out, "web") || !strings.Contains(out, "converged") {
		t.Errorf("scope list:\n%s", out)
	}
	if out := run(0, "status", "web"); !strings.Contains(out, "SCOPE") || !strings.Contains(out, "web") {
		t.Errorf("status web:\n%s", out)
	}
	run(1, "status", "nope")
	run(2, "status", "-o", "xml") // yaml is a format since show gained it
	run(2, "status", "--tls-cert", "only.pem")
	run(2, "scope", "spawn", "x", "--netns", "bogus")

	run(0, "scope", "stop", "web")
	run(0, "scope", "spawn", "-f", spec) // replaces the stopped scope
	deadline = time.Now().Add(20 * time.Second)
	for {
		got := agentAddrs(ns, "veth0")
		// The new incarnation keeps the ledger: the old address, owned
		// and no longer desired, goes.
		if slices.Contains(got, "10.88.0.2/24") && !slices.Contains(got, "10.88.0.1/24") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("veth0 has %v; want 10.88.0.2/24 only", got)
		}
		time.Sleep(50 * time.Millisecond)
	}
	run(0, "scope", "stop", "web", "--forget")
	if out := run(0, "status", "-o", "json"); strings.TrimSpace(out) != "[]" {
		t.Errorf("status after forget = %s; want []", out)
	}
	p.stop()
}
