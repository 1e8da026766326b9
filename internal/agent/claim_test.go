package agent

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/linx-net/linx/client"
	"github.com/linx-net/linx/config"
	"github.com/linx-net/linx/internal/nstest"
	"github.com/linx-net/linx/messages"
)

// serveAPI is the message API of package api, as linx-node run wires it.
// newAPIAgent is newAgent with the message API of package api.
func newAPIAgent(t *testing.T, path string) *Agent {
	t.Helper()
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	a, err := New(Options{Path: path, Config: cfg, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), NoSignals: true, API: ServeAPI})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// processIn starts a process inside ns and returns its pid and a func
// that kills it and waits for it; it is killed at the end of the test.
func processIn(t *testing.T, ns *nstest.NS) (int, func()) {
	t.Helper()
	cmd := exec.Command("ip", "netns", "exec", ns.Name, "sleep", "3600")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	kill := func() {
		once.Do(func() {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		})
	}
	t.Cleanup(kill)
	id, err := ns.Namespace().ID()
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "the process in its namespace", func() bool {
		l, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/net", cmd.Process.Pid))
		return err == nil && l == fmt.Sprintf("net:[%d]", id.Inode)
	})
	return cmd.Process.Pid, kill
}

// TestOneOwnerPerNamespaceAndProtocol is the case of scopes a (from the
// file, on a path), b (the API, by the pid of a process in the same
// namespace) and c (the API, on the same path), all owning protocol 76:
// b and c are refused, naming a, at spawn and at update; and a fight
// provoked anyway (another writer deleting a's route again and again)
// shows in a's status and metrics instead of converged.
func TestOneOwnerPerNamespaceAndProtocol(t *testing.T) {
	ns, other := nstest.New(t), nstest.New(t)
	dir := t.TempDir()
	sock := filepath.Join(dir, "run", "linx.sock")
	path := filepath.Join(dir, "linx.yaml")
	body := "state_dir: " + filepath.Join(dir, "state") + "\nmetrics: {listen: \"127.0.0.1:0\"}\napi: {socket: " + sock + "}\nscopes:\n" +
		"  - name: a\n    netns: path:" + ns.Path() + "\n    interval: 1h\n    desired:\n" +
		"      links: [{name: lo, up: true}]\n" +
		"      routes: [{dst: 10.9.0.0/24, type: blackhole}]\n"
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	a := newAPIAgent(t, path)
	runAgent(t, a)
	eventually(t, "scope a converged, the API served", func() bool {
		_, err := os.Stat(sock)
		return len(a.Pending()) == 0 && err == nil
	})

	ctx := context.Background()
	c, err := client.DialSocket(ctx, sock)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	desired := &messages.Desired{Routes: []*messages.Route{{Dst: "10.10.0.0/24", Type: "blackhole"}}}
	pid, _ := processIn(t, ns)
	for _, spec := range []*messages.SpawnScope{
		{Name: "b", Namespace: &messages.Namespace{Kind: &messages.Namespace_Pid{Pid: uint32(pid)}}, Desired: desired},
		{Name: "c", Namespace: &messages.Namespace{Kind: &messages.Namespace_Path{Path: ns.Path()}}, Desired: desired},
	} {
		err := c.Spawn(ctx, spec)
		if err == nil || !strings.Contains(err.Error(), `scope "a" already owns route protocol 76`) {
			t.Errorf("spawning %s: %v; want a refusal naming scope a", spec.GetName(), err)
		}
	}

	// Elsewhere, or with a protocol of its own, c is welcome; an update
	// that makes it take a's protocol is refused.
	spec := &messages.SpawnScope{Name: "c", Namespace: &messages.Namespace{Kind: &messages.Namespace_Path{Path: ns.Path()}}, Desired: desired, Protocol: 77}
	if err := c.Spawn(ctx, spec); err != nil {
		t.Fatalf("spawning c with protocol 77: %v", err)
	}
	taking := &messages.Desired{Routes: []*messages.Route{{Dst: "10.10.0.0/24", Type: "blackhole", Protocol: 76}}}
	if err := c.Update(ctx, "c", taking); err == nil || !strings.Contains(err.Error(), `scope "a" already owns route protocol 76`) {
		t.Errorf("updating c onto protocol 76: %v; want a refusal naming scope a", err)
	}
	if err := c.Spawn(ctx, &messages.SpawnScope{Name: "d", Namespace: &messages.Namespace{Kind: &messages.Namespace_Path{Path: other.Path()}}, Desired: desired}); err != nil {
		t.Errorf("spawning d in another namespace: %v", err)
	}

	// Another writer keeps deleting a's route: a reports the fight.
	var st *messages.ScopeStatus
	deadline := time.Now().Add(20 * time.Second)
	for {
		st, err = a.Node().Status("a")
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(st.GetLastError(), "fighting another writer") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no fight reported; status %v", st)
		}
		_, _ = ns.TryIP("route", "del", "blackhole", "10.9.0.0/24", "proto", "76")
		time.Sleep(20 * time.Millisecond)
	}
	if st.GetPhase() == messages.Phase_PHASE_CONVERGED {
		t.Errorf("a fighting scope reads converged: %v", st)
	}
	if v := testutil.ToFloat64(a.Metrics().fighting.WithLabelValues("a")); v != 1 {
		t.Errorf("linx_scope_fighting{scope=a} = %v, want 1", v)
	}
	// The other writer gone, the next look finds nothing to redo.
	eventually(t, "a converged again after the fight", func() bool {
		st, err := a.Node().Status("a")
		return err == nil && st.GetPhase() == messages.Phase_PHASE_CONVERGED && testutil.ToFloat64(a.Metrics().fighting.WithLabelValues("a")) == 0
	})
}
