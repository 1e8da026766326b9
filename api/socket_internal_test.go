package api

import (
	"bufio"
	"context"
	"encoding/binary"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"golang.org/x/sys/unix"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/linx-net/linx/actors/source"
	"github.com/linx-net/linx/actors/supervisor"
	"github.com/linx-net/linx/config"
	"github.com/linx-net/linx/internal/wire"
	"github.com/linx-net/linx/messages"
)

// nopSource is a Source whose passes converge at once, touching nothing.
type nopSource struct{}

type nopHandle struct{}

func (nopHandle) Close() error { return nil }

func (nopSource) Open(context.Context) (source.Handle, error) { return nopHandle{}, nil }
func (nopSource) Watch(context.Context) (source.Watch, error) { return nil, nil }
func (nopSource) Pass(context.Context, source.Handle, any) source.Report {
	return source.Report{Converged: true}
}

func silent() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// testSocket serves a node of nopSources on a socket in a temporary
// directory with cfg's rules and limits; it returns the socket's path.
func testSocket(tb testing.TB, cfg config.API) (string, *Server, *supervisor.Node) {
	tb.Helper()
	if os.Geteuid() != 0 {
		tb.Skip("the socket is made root's")
	}
	system := actor.NewActorSystem(actor.WithLoggerFactory(supervisor.LoggerFactory(silent())))
	node, err := supervisor.Start(system, supervisor.Config{
		NewSource: func(supervisor.Spec) (source.Source, error) { return nopSource{}, nil },
		Interval:  time.Hour, Logger: silent(),
	})
	if err != nil {
		tb.Fatal(err)
	}
	cfg.Socket = filepath.Join(tb.TempDir(), "run", "linx.sock")
	srv, err := ServeWith(system, node, cfg, Options{Logger: silent()})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		srv.Close()
		node.Shutdown()
		system.Shutdown()
	})
	return cfg.Socket, srv, node
}

// ask sends m on a fresh connection to path and returns the reply.
func ask(tb testing.TB, path string, m proto.Message) proto.Message {
	tb.Helper()
	c, err := net.Dial("unix", path)
	if err != nil {
		tb.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if err := wire.Write(c, m, 0); err != nil {
		tb.Fatal(err)
	}
	reply, err := wire.Read(bufio.NewReader(c), 1<<20)
	if err != nil {
		tb.Fatal(err)
	}
	return reply
}

func ackErr(m proto.Message) string {
	if a, ok := m.(*messages.Ack); ok {
		return a.GetError()
	}
	return ""
}

func TestSocketLimits(t *testing.T) {
	path, srv, node := testSocket(t, config.API{
		Authorization: []config.Grant{{Identity: "uid:*", Verbs: []string{"*"}, Host: true}},
		Limits: config.Limits{
			MaxMessageBytes: 4096, RequestsPerSecond: 0.001, Burst: 7, MaxScopes: 3, MaxScopesPerIdentity: 2,
			MaxConnections: 4, MaxConnectionsPerSource: 2,
		}})
	// Root on the socket (this test) is the operator: not limited. Others
	// are: scopes per identity, then in all, then the rate.
	for _, tc := range []struct{ who, name, want string }{
		{"uid:0", "root-1", ""}, {"uid:0", "root-2", ""}, {"uid:0", "root-3", ""},
		{"uid:1000", "a", ""}, {"uid:1000", "b", ""}, {"uid:1000", "c", "max_scopes_per_identity"},
		{"uid:1001", "d", ""}, {"uid:1001", "e", "api.limits.max_scopes"},
	} {
		got := ackErr(srv.gate.handle(Peer{Identity: tc.who, Transport: TransportSocket}, &messages.SpawnScope{Name: tc.name}))
		if (tc.want == "" && got != "") || !strings.Contains(got, tc.want) {
			t.Errorf("%s spawns %s: %q; want %q", tc.who, tc.name, got, tc.want)
		}
	}
	if list, _ := node.List(); len(list) != 6 {
		t.Errorf("%d scopes; want 6", len(list))
	}
	// The rate: uid:1000 has a burst of 7, 3 spent above.
	var limited string
	for range 5 {
		limited = ackErr(srv.gate.handle(Peer{Identity: "uid:1000", Transport: TransportSocket}, &messages.StopScope{Name: "zz"}))
	}
	if !strings.Contains(limited, "rate limited") {
		t.Errorf("the request after the burst: %q; want rate limited", limited)
	}
	if got := ackErr(ask(t, path, &messages.StopScope{Name: "root-1"})); got != "" {
		t.Errorf("root after the others' limits: %q", got)
	}
	// The message-size cap: the connection gets a clear error, then ends.
	big := &messages.SpawnScope{Name: "big", Desired: &messages.Desired{}}
	for range 200 {
		big.Desired.Addresses = append(big.Desired.Addresses, &messages.Address{Link: "eth0", Address: "10.0.0.1/24"})
	}
	if got := ackErr(ask(t, path, big)); !strings.Contains(got, "frame too large") {
		t.Errorf("a message over the cap: %q", got)
	}
	// Connections per source (uid): 2 held, the third is refused.
	waitConns(t, srv, 0)
	for range 2 { // held open until the test ends
		c, err := net.Dial("unix", path)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
	}
	waitConns(t, srv, 2) // the server has taken them
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	m, err := wire.Read(c, 1<<20)
	if err != nil || !strings.Contains(ackErr(m), "max_connections_per_source") {
		t.Errorf("a third connection: %v %v; want the per-source limit", m, err)
	}
}

// waitConns waits until srv holds n connections.
func waitConns(t *testing.T, srv *Server, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for srv.Connections() != n {
		if time.Now().After(deadline) {
			t.Fatalf("%d connections held; want %d", srv.Connections(), n)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestAdmitted(t *testing.T) {
	s := &socketServer{gid: 4242}
	for _, tc := range []struct {
		cred unix.Ucred
		want bool
	}{
		{unix.Ucred{Uid: 0, Gid: 0}, true},
		{unix.Ucred{Uid: 1000, Gid: 4242}, true},
		{unix.Ucred{Uid: 65534, Gid: 65534, Pid: int32(os.Getpid())}, false},
	} {
		if got := s.admitted(&tc.cred); got != tc.want {
			t.Errorf("%+v: %v; want %v", tc.cred, got, tc.want)
		}
	}
	root := &socketServer{gid: 0}
	if root.admitted(&unix.Ucred{Uid: 1000, Gid: 0}) {
		t.Error("a non-root uid with gid 0 was admitted to a root-only socket")
	}
}

// FuzzSocket writes random bytes and hostile frames to the socket: the
// agent never crashes, answers or drops the connection, and keeps
// answering a well-formed request afterwards.
func FuzzSocket(f *testing.F) {
	path, _, _ := testSocket(f, config.API{Limits: config.Limits{MaxMessageBytes: 1 << 16, RequestsPerSecond: 1e6, Burst: 1e6}})
	frame := func(m proto.Message) []byte {
		a, _ := anypb.New(m)
		b, _ := proto.Marshal(a)
		return append(binary.BigEndian.AppendUint32(nil, uint32(len(b))), b...)
	}
	f.Add(frame(&messages.SpawnScope{Name: "evil", Namespace: &messages.Namespace{Kind: &messages.Namespace_Path{Path: "/proc/1/ns/net"}}}))
	f.Add(frame(&messages.Subscribe{Subscriber: &actor.PID{Address: "10.1.2.3:22", Id: "x"}}))
	f.Add(frame(&messages.ScopeStatus{Name: "forged"}))
	f.Add(frame(&messages.StopScope{Name: "nope"}))
	f.Add(binary.BigEndian.AppendUint32(nil, 1<<31))
	f.Add([]byte("GET / HTTP/1.0\r\n\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := net.Dial("unix", path)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(200 * time.Millisecond))
		c.Write(data)
		io.Copy(io.Discard, c) // until the agent answers and waits, or drops it
		c.Close()
		if l, ok := ask(t, path, &messages.ListScopes{}).(*messages.ScopeList); !ok {
			t.Fatalf("the agent no longer lists its scopes: %v", l)
		}
	})
}

// TestFDBudget checks that the connection budget leaves ReservedFDs of
// the process's descriptor limit free.
func TestFDBudget(t *testing.T) {
	var rl unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &rl); err != nil {
		t.Fatal(err)
	}
	b := fdBudget()
	if b < 1 || (rl.Cur < 1<<30 && uint64(2*b+ReservedFDs) > max(rl.Cur, uint64(ReservedFDs+2))) {
		t.Errorf("budget %d with a limit of %d: want at least 1 and %d descriptors left free", b, rl.Cur, ReservedFDs)
	}
}

// TestSocketDirShared checks that the agent never takes a shared
// directory (such as /tmp) for the socket's own, which it would make
// 0750.
func TestSocketDirShared(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the socket is made root's")
	}
	shared := filepath.Join(t.TempDir(), "tmp")
	if err := os.Mkdir(shared, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(shared, 0o777|os.ModeSticky); err != nil {
		t.Fatal(err)
	}
	if err := socketDir(shared); err == nil || !strings.Contains(err.Error(), "open to others") {
		t.Errorf("a 1777 directory: %v; want refused", err)
	}
	if fi, _ := os.Stat(shared); fi.Mode().Perm() != 0o777 {
		t.Errorf("the shared directory's mode became %v", fi.Mode())
	}
	own := filepath.Join(t.TempDir(), "a", "run")
	if err := socketDir(own); err != nil {
		t.Fatalf("a new directory: %v", err)
	}
	if err := socketDir(own); err != nil {
		t.Errorf("its own directory again: %v", err)
	}
}
