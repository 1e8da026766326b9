package api_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protojson"

	"github.com/linx-net/linx/client"
	"github.com/linx-net/linx/config"
	"github.com/linx-net/linx/internal/agent"
	"github.com/linx-net/linx/internal/nstest"
	"github.com/linx-net/linx/messages"
)

// socketChildEnv makes this test binary a socket client: it sends the
// SpawnScope of socketSpecEnv to the socket at socketChildEnv's path and
// prints "ok" or the error.
const (
	socketChildEnv = "LINX_API_SOCKET_CHILD"
	socketSpecEnv  = "LINX_API_SOCKET_SPEC"
	socketOpEnv    = "LINX_API_SOCKET_OP" // spawn (the default), update or stop
)

// floodCount is how many spawns the "flood" operation sends.
const floodCount = 10000

// TestSocketChild is the client side of TestEscalationRefused when run as
// its child; otherwise it does nothing.
func TestSocketChild(t *testing.T) {
	path := os.Getenv(socketChildEnv)
	if path == "" {
		t.Skip("run as a child by TestEscalationRefused")
	}
	spec := &messages.SpawnScope{}
	if err := protojson.Unmarshal([]byte(os.Getenv(socketSpecEnv)), spec); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := client.DialSocket(ctx, path)
	if err != nil {
		fmt.Printf("RESULT dial: %v\n", err)
		return
	}
	defer c.Close()
	op := os.Getenv(socketOpEnv)
	switch op {
	case "update":
		err = c.Update(ctx, spec.GetName(), spec.GetDesired())
	case "stop":
		err = c.Stop(ctx, spec.GetName())
	case "flood":
		// FloodCount spawns of the scope on one connection, as fast as
		// the agent answers: counted by outcome.
		counts := map[string]int{}
		for i := range floodCount {
			spec.Name = fmt.Sprintf("flood-%d", i)
			err := c.Spawn(context.Background(), spec)
			switch {
			case err == nil:
				counts["accepted"]++
			case errors.Is(err, client.ErrPermissionDenied):
				counts["denied"]++
			case strings.Contains(err.Error(), "rate limited"):
				counts["limited"]++
			default:
				counts["other"]++
			}
		}
		fmt.Printf("RESULT flood: %v\n", counts)
		return
	default:
		op, err = "spawn", c.Spawn(ctx, spec)
	}
	if err != nil {
		fmt.Printf("RESULT %s: denied=%v %v\n", op, errors.Is(err, client.ErrPermissionDenied), err)
		return
	}
	fmt.Println("RESULT ok")
}

// runSocketChild runs TestSocketChild as uid (gid and groups as given)
// against the socket at path, and returns its RESULT line.
func runSocketChild(t *testing.T, path string, spec *messages.SpawnScope, cred *syscall.Credential) string {
	t.Helper()
	return runSocketOp(t, path, "spawn", spec, cred)
}

// runSocketOp is runSocketChild for op: spawn, update (spec's name and
// desired state) or stop (spec's name).
func runSocketOp(t *testing.T, path, op string, spec *messages.SpawnScope, cred *syscall.Credential) string {
	t.Helper()
	js, err := protojson.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	// A copy of this binary that the child may execute (go test's own
	// directory is root's alone).
	exe := filepath.Join(filepath.Dir(filepath.Dir(path)), "api.test")
	if _, err := os.Stat(exe); err != nil {
		self, err := os.Executable()
		if err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(self)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(exe, data, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, exe, "-test.run", "^TestSocketChild$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), socketChildEnv+"="+path, socketSpecEnv+"="+string(js), socketOpEnv+"="+op)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	out, err := cmd.CombinedOutput()
	for _, line := range strings.Split(string(out), "\n") {
		if r, ok := strings.CutPrefix(line, "RESULT "); ok {
			return r
		}
	}
	t.Fatalf("the child (uid %d) gave no result: %v\n%s", cred.Uid, err, out)
	return ""
}

// socketDir returns a directory for a test's socket that an unprivileged
// child can reach (t.TempDir is 0700): the agent makes the socket's own
// directory inside it, 0750 for root and api.group.
func socketDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "linx-sock-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(dir, "run", "linx.sock")
}

// hostRoute returns what `ip route show` says of 198.51.100.0/24 in the
// host namespace (read only).
func hostRoute(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("ip", "-4", "route", "show", "198.51.100.0/24").CombinedOutput()
	if err != nil {
		t.Fatalf("ip route show: %v\n%s", err, out)
	}
	return strings.TrimSpace(string(out))
}

// TestEscalationRefused repeats the local privilege escalation: an
// unprivileged user asks a running agent, on its local socket, for a
// blackhole route in the host namespace (and in pid 1's namespace by
// path). The agent refuses, nothing changes, and the refusal is audited;
// the same request from root, pointed at a throwaway namespace, succeeds.
func TestEscalationRefused(t *testing.T) {
	nstest.RequireRoot(t)
	ns := nstest.New(t)
	sock := socketDir(t)
	logs := &logBuffer{}
	cfg, err := config.Parse("linx.yaml", []byte(fmt.Sprintf(`state_dir: %s
metrics: {listen: "off"}
api:
  socket: %s
  group: "65534"
scopes: []
`, t.TempDir(), sock)))
	if err != nil {
		t.Fatal(err)
	}
	a := runAgent(t, cfg, "", logs)
	waitForFile(t, sock)
	if fi, err := os.Stat(sock); err != nil || fi.Mode().Perm() != 0o660 {
		t.Errorf("socket mode: %v %v; want 0660", fi.Mode(), err)
	}
	if fi, err := os.Stat(filepath.Dir(sock)); err != nil || fi.Mode().Perm() != 0o750 || fi.Sys().(*syscall.Stat_t).Gid != 65534 {
		t.Errorf("socket directory: %v %v; want 0750, group 65534", fi.Mode(), err)
	}

	before := hostRoute(t)
	route := &messages.Desired{Routes: []*messages.Route{{Dst: "198.51.100.0/24", Type: "blackhole"}}}
	nobody := &syscall.Credential{Uid: 65534, Gid: 65534, NoSetGroups: false, Groups: []uint32{}}
	for _, ns := range []*messages.Namespace{
		{Kind: &messages.Namespace_Host{Host: true}},
		{Kind: &messages.Namespace_Path{Path: "/proc/1/ns/net"}},
	} {
		res := runSocketChild(t, sock, &messages.SpawnScope{Name: "evil", Namespace: ns, Desired: route}, nobody)
		if !strings.HasPrefix(res, "spawn: denied=true") || !strings.Contains(res, "uid:65534") {
			t.Errorf("nobody's spawn in %v: %s; want permission denied", ns, res)
		}
	}
	if list, err := a.Node().List(); err != nil || len(list) != 0 {
		t.Errorf("scopes after the refusals: %v %v; want none: the node never saw them", list, err)
	}
	time.Sleep(200 * time.Millisecond)
	if after := hostRoute(t); after != before {
		t.Errorf("the host's route changed: %q -> %q", before, after)
	}
	if !strings.Contains(logs.String(), `"msg":"api audit"`) || !strings.Contains(logs.String(), `"result":"refused"`) {
		t.Errorf("no audit line of the refusal:\n%s", logs.String())
	}

	// A user outside api.group cannot even reach the socket (its
	// directory is 0750). Were the directory opened to everyone, the
	// kernel's peer credentials still keep that user out.
	outsider := &syscall.Credential{Uid: 65533, Gid: 65533, Groups: []uint32{}}
	if res := runSocketChild(t, sock, &messages.SpawnScope{Name: "evil", Desired: route}, outsider); !strings.Contains(res, "permission denied") {
		t.Errorf("uid 65533 through a 0750 directory: %s; want permission denied", res)
	}
	if err := os.Chmod(filepath.Dir(sock), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(sock, 0o666); err != nil {
		t.Fatal(err)
	}
	res := runSocketChild(t, sock, &messages.SpawnScope{Name: "evil", Desired: route}, outsider)
	if !strings.Contains(res, "dial:") || !strings.Contains(res, "uid 65533") || !strings.Contains(res, "neither root nor a member of group") {
		t.Errorf("uid 65533 on an open socket: %s; want refused by its credentials", res)
	}
	if !strings.Contains(logs.String(), `"msg":"api socket: refused a connection"`) {
		t.Errorf("the refused connection is not logged")
	}
	os.Chmod(filepath.Dir(sock), 0o750)
	os.Chmod(sock, 0o660)

	// Root may: the same request, in a throwaway namespace.
	ns.IP("link", "set", "lo", "up")
	res = runSocketChild(t, sock, &messages.SpawnScope{Name: "evil",
		Namespace: &messages.Namespace{Kind: &messages.Namespace_Path{Path: ns.Path()}}, Desired: route}, &syscall.Credential{Uid: 0, Gid: 0})
	if res != "ok" {
		t.Fatalf("root's spawn: %s", res)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(ns.IP("-4", "route", "show", "198.51.100.0/24"), "blackhole") {
		if time.Now().After(deadline) {
			t.Fatal("root's route did not appear in the throwaway namespace")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if after := hostRoute(t); after != before {
		t.Errorf("the host's route changed: %q -> %q", before, after)
	}
}

// runAgent runs an agent of cfg (read from path by Reload, when set),
// logging JSON to logs, with the message API as linx-node run wires it,
// until the test ends.
func runAgent(t *testing.T, cfg *config.Config, path string, logs io.Writer) *agent.Agent {
	t.Helper()
	a, err := agent.New(agent.Options{Path: path, Config: cfg, Logger: slog.New(slog.NewJSONHandler(logs, nil)), API: agent.ServeAPI, NoSignals: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	return a
}

func waitForFile(t *testing.T, path string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := os.Stat(path); err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not appear", path)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
