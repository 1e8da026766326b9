package api_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/remote"
	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/linx-net/linx/actors/source"
	"github.com/linx-net/linx/actors/supervisor"
	"github.com/linx-net/linx/api"
	"github.com/linx-net/linx/api/apitest"
	"github.com/linx-net/linx/client"
	"github.com/linx-net/linx/config"
	"github.com/linx-net/linx/messages"
)

// remotestartPool reads a PEM file of CA certificates.
func remotestartPool(file string) (*x509.CertPool, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		return nil, fmt.Errorf("%s holds no certificate", file)
	}
	return pool, nil
}

// leakOptions ignore grpc's and protoactor's process-wide background
// goroutines.
var leakOptions = []goleak.Option{
	goleak.IgnoreTopFunction("google.golang.org/grpc/internal/grpcsync.(*CallbackSerializer).run"),
	// protoactor's dead-letter log throttle: a timer goroutine that ends
	// one throttle period after the last dead letter.
	goleak.IgnoreTopFunction("github.com/asynkron/protoactor-go/actor.NewDeadLetter.NewThrottle.func4.1"),
	goleak.IgnoreAnyFunction("github.com/asynkron/protoactor-go/actor.(*ActorSystem).Shutdown.func1"),
}

func TestMain(m *testing.M) {
	code := m.Run()
	noRace.remove()
	if code == 0 {
		if err := goleak.Find(leakOptions...); err != nil {
			fmt.Fprintf(os.Stderr, "goleak: errors on successful test run: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}

// setSource is a toy Source: its "kernel" is a set of address strings and
// a pass adds what is missing and removes what is no longer desired.
type setSource struct {
	mu     sync.Mutex
	kernel map[string]bool
}

type nopHandle struct{}

func (nopHandle) Close() error { return nil }

func (s *setSource) Open(context.Context) (source.Handle, error) { return nopHandle{}, nil }
func (s *setSource) Watch(context.Context) (source.Watch, error) { return nil, nil }

func (s *setSource) Pass(_ context.Context, _ source.Handle, desired any) source.Report {
	s.mu.Lock()
	defer s.mu.Unlock()
	var r source.Report
	want := map[string]bool{}
	for _, a := range desired.(*messages.Desired).GetAddresses() {
		want[a.GetLink()+" "+a.GetAddress()] = true
	}
	for k := range want {
		if !s.kernel[k] {
			s.kernel[k] = true
			r.Applied++
		}
	}
	for k := range s.kernel {
		if !want[k] {
			delete(s.kernel, k)
			r.Applied++
		}
	}
	r.Converged = true
	return r
}

// twoRemotes runs a test that has an agent's and a controller's protoactor
// remote in one process. Under the race detector protoactor itself races
// there (Remote.Start sets grpc's global logger while the other remote's
// connections read it; endpointManager.stop clears its connections while
// an endpoint's reader goroutine removes one), so with -race (as make test
// runs) the test is run instead in a child process: this package's tests
// built without -race, running just that test. twoRemotes then reports
// true and the caller returns, passing or failing as the child did.
// Without -race (in the child too) it reports false and the test runs
// here.
func twoRemotes(t *testing.T) bool {
	t.Helper()
	if !raceEnabled {
		return false
	}
	if os.Getenv(childEnv) != "" {
		t.Fatalf("%s is set in a -race build: the child must be built without -race", childEnv)
	}
	bin := noRace.build(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-test.run", "^"+regexp.QuoteMeta(t.Name())+"$", "-test.v", "-test.count=1", "-test.timeout=2m")
	cmd.Env = append(os.Environ(), childEnv+"=1")
	out, err := cmd.CombinedOutput()
	t.Logf("%s without -race, in a child process:\n%s", t.Name(), out)
	if err != nil {
		t.Fatalf("%s without -race: %v", t.Name(), err)
	}
	if !bytes.Contains(out, []byte("--- PASS: "+t.Name()+" ")) {
		t.Fatalf("%s without -race did not report a pass", t.Name())
	}
	return true
}

// childEnv marks the child process of twoRemotes.
const childEnv = "LINX_API_TEST_CHILD"

// noRace is this package's test binary built without -race, shared by the
// tests of one run and removed by TestMain.
var noRace noRaceBinary

type noRaceBinary struct {
	once sync.Once
	dir  string
	path string
	err  error
}

func (b *noRaceBinary) build(t *testing.T) string {
	t.Helper()
	b.once.Do(func() {
		goTool, err := exec.LookPath("go") // go test puts GOROOT/bin first in PATH
		if err != nil {
			b.err = fmt.Errorf("finding the go command: %w", err)
			return
		}
		if b.dir, err = os.MkdirTemp("", "linx-api-test-"); err != nil {
			b.err = err
			return
		}
		b.path = filepath.Join(b.dir, "api.test")
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		// The working directory of a test is its package's directory.
		cmd := exec.CommandContext(ctx, goTool, "test", "-c", "-race=false", "-o", b.path, ".")
		if out, err := cmd.CombinedOutput(); err != nil {
			b.err = fmt.Errorf("go test -c -race=false: %w\n%s", err, out)
		}
	})
	if b.err != nil {
		t.Fatal(b.err)
	}
	return b.path
}

func (b *noRaceBinary) remove() {
	if b.dir != "" {
		os.RemoveAll(b.dir)
	}
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// startNode runs a node supervisor with toy sources and its API as cfg says.
func startNode(t *testing.T, cfg config.API) (*api.Server, *actor.ActorSystem) {
	t.Helper()
	srv, system, _ := startNodeLogged(t, cfg, quiet())
	return srv, system
}

// startNodeLogged is startNode with the API logging to logger; it returns
// the node too.
func startNodeLogged(t *testing.T, cfg config.API, logger *slog.Logger) (*api.Server, *actor.ActorSystem, *supervisor.Node) {
	t.Helper()
	system := actor.NewActorSystem(actor.WithLoggerFactory(supervisor.LoggerFactory(quiet())))
	node, err := supervisor.Start(system, supervisor.Config{
		NewSource: func(supervisor.Spec) (source.Source, error) {
			return &setSource{kernel: map[string]bool{}}, nil
		},
		Interval: time.Hour,
		Logger:   quiet(),
	})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Listen != "" && !cfg.TLS.Enabled() {
		// TCP is always mutual TLS: the test's own CA, and a controller
		// certificate granted everything.
		p := pkiFor(t)
		cfg.TLS = config.TLS{Cert: p.node.CertFile, Key: p.node.KeyFile, ClientCA: p.ca.CertFile}
	}
	if cfg.Listen != "" && cfg.Authorization == nil {
		cfg.Authorization = []config.Grant{{Identity: "controller", Verbs: []string{"*"}, Host: true, PID: true}}
	}
	srv, err := api.Serve(system, node, cfg, logger)
	if err != nil {
		node.Shutdown()
		system.Shutdown()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := srv.Close(); err != nil {
			t.Error(err)
		}
		if err := node.Shutdown(); err != nil {
			t.Error(err)
		}
		system.Shutdown()
	})
	return srv, system, node
}

// pki is a test's certificate authority, the agent's certificate and a
// controller's (CN "controller").
type pki struct {
	ca        *apitest.CA
	node, ctl apitest.Pair
}

// pkis holds each running test's pki, by test name.
var pkis sync.Map

// pkiFor returns t's pki, made on first use.
func pkiFor(t *testing.T) *pki {
	t.Helper()
	if p, ok := pkis.Load(t.Name()); ok {
		return p.(*pki)
	}
	ca := apitest.NewCA(t, "linx-test")
	p := &pki{ca: ca, node: ca.Issue("agent"), ctl: ca.Issue("controller")}
	pkis.Store(t.Name(), p)
	t.Cleanup(func() { pkis.Delete(t.Name()) })
	return p
}

// tlsOpt is the client option of t's controller certificate.
func tlsOpt(t *testing.T) client.Option {
	p := pkiFor(t)
	return client.WithTLS(p.ctl.CertFile, p.ctl.KeyFile, p.ca.CertFile)
}

// logBuffer collects log output written from any goroutine.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestServeOffWhenNoListen(t *testing.T) {
	srv, err := api.Serve(actor.NewActorSystem(), nil, config.API{}, nil)
	if srv != nil || err != nil {
		t.Fatalf("Serve without listen = %v, %v; want nil, nil", srv, err)
	}
	if srv.Close() != nil || srv.Addr() != "" {
		t.Fatal("a nil Server is not inert")
	}
}

func TestServeRefuses(t *testing.T) {
	system := actor.NewActorSystem(actor.WithLoggerFactory(supervisor.LoggerFactory(quiet())))
	defer system.Shutdown()
	node, err := supervisor.Start(system, supervisor.Config{
		NewSource: func(supervisor.Spec) (source.Source, error) { return &setSource{}, nil },
		Logger:    quiet(),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer node.Shutdown()
	for _, tc := range []struct {
		cfg  config.API
		want string
	}{
		{config.API{Listen: "10.1.2.3:7000"}, "requires mutual TLS"},
		{config.API{Listen: "[::]:7000"}, "requires mutual TLS"},
		{config.API{Listen: ":7000"}, "empty host"},
		{config.API{Listen: "127.0.0.1"}, "want host:port"},
		{config.API{Listen: "127.0.0.1:http"}, "not a number"},
		{config.API{Listen: "10.1.2.3:7000", TLS: config.TLS{Cert: "c.pem", Key: "k.pem"}}, "requires mutual TLS"},
		{config.API{Listen: "127.0.0.1:7000"}, "loopback included; use api.socket"},
		{config.API{Listen: "127.0.0.1:0", TLS: config.TLS{Cert: "/nonexistent/c.pem", Key: "/nonexistent/k.pem", ClientCA: "/nonexistent/ca.pem"}}, "loading TLS certificate"},
	} {
		srv, err := api.Serve(system, node, tc.cfg, quiet())
		if err == nil {
			srv.Close()
			t.Errorf("Serve(%+v) succeeded; want an error containing %q", tc.cfg, tc.want)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Serve(%+v) = %v; want an error containing %q", tc.cfg, err, tc.want)
		}
	}
}

// waitFor reads statuses until one satisfies ok.
func waitFor(t *testing.T, ch <-chan *messages.ScopeStatus, what string, ok func(*messages.ScopeStatus) bool) *messages.ScopeStatus {
	t.Helper()
	timeout := time.After(15 * time.Second)
	for {
		select {
		case st, open := <-ch:
			if !open {
				t.Fatalf("subscription closed while waiting for %s", what)
			}
			if ok(st) {
				return st
			}
		case <-timeout:
			t.Fatalf("no status change: %s", what)
		}
	}
}

func TestControllerFlow(t *testing.T) {
	if twoRemotes(t) {
		return
	}
	srv, _ := startNode(t, config.API{Listen: "127.0.0.1:0"})
	ctx := ctxT(t)
	c, err := client.Dial(ctx, srv.Addr(), tlsOpt(t))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	exerciseScope(t, ctx, c, "web")
}

// exerciseScope spawns, updates and stops a scope through c, following it
// by subscription.
func exerciseScope(t *testing.T, ctx context.Context, c *client.Client, name string) {
	t.Helper()
	ch, cancel, err := c.Subscribe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer cancel()
	err = c.Spawn(ctx, &messages.SpawnScope{
		Name: name,
		Desired: &messages.Desired{Addresses: []*messages.Address{
			{Link: "eth0", Address: "10.0.0.2/24"},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, ch, "converged after spawn", func(st *messages.ScopeStatus) bool {
		return st.GetName() == name && st.GetPhase() == messages.Phase_PHASE_CONVERGED && st.GetOpsApplied() == 1
	})
	if err := c.Spawn(ctx, &messages.SpawnScope{Name: name}); err == nil {
		t.Error("spawning a running scope twice succeeded")
	}
	err = c.Update(ctx, name, &messages.Desired{Addresses: []*messages.Address{
		{Link: "eth0", Address: "10.0.0.3/24"},
		{Link: "eth0", Address: "10.0.0.4/24"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	// One address removed, two added.
	waitFor(t, ch, "converged after update", func(st *messages.ScopeStatus) bool {
		return st.GetName() == name && st.GetPhase() == messages.Phase_PHASE_CONVERGED && st.GetOpsApplied() == 3
	})
	st, err := c.Status(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	if st.GetPhase() != messages.Phase_PHASE_CONVERGED || st.GetPasses() < 2 {
		t.Errorf("Status = %v; want converged after at least 2 passes", st)
	}
	list, err := c.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].GetName() != name {
		t.Errorf("List = %v; want just %s", list, name)
	}
	if _, err := c.Status(ctx, "nope"); err == nil {
		t.Error("Status of an unknown scope succeeded")
	}
	if err := c.Stop(ctx, name); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ch, "stopped", func(st *messages.ScopeStatus) bool {
		return st.GetName() == name && st.GetPhase() == messages.Phase_PHASE_STOPPED
	})
	if err := c.Update(ctx, name, &messages.Desired{}); err == nil {
		t.Error("updating a stopped scope succeeded")
	}
}

func TestMutualTLS(t *testing.T) {
	if twoRemotes(t) {
		return
	}
	ca := apitest.NewCA(t, "linx-test")
	nodePair := ca.Issue("node")
	srv, _ := startNode(t, config.API{Listen: "127.0.0.1:0", TLS: config.TLS{
		Cert: nodePair.CertFile, Key: nodePair.KeyFile, ClientCA: ca.CertFile,
	}})
	ctx := ctxT(t)

	ctl := ca.Issue("controller")
	c, err := client.Dial(ctx, srv.Addr(), client.WithTLS(ctl.CertFile, ctl.KeyFile, ca.CertFile))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	exerciseScope(t, ctx, c, "tls")

	t.Run("no certificate", func(t *testing.T) {
		c, err := client.Dial(ctx, srv.Addr(), client.WithTimeout(3*time.Second))
		if err == nil {
			c.Close()
			t.Fatal("a client without TLS was let in")
		}
		t.Log(err)
	})
	t.Run("certificate of another CA", func(t *testing.T) {
		other := apitest.NewCA(t, "other")
		bad := other.Issue("intruder")
		// Trusting the agent's CA, presenting a certificate it does not.
		c, err := client.Dial(ctx, srv.Addr(), client.WithTimeout(3*time.Second),
			client.WithTLS(bad.CertFile, bad.KeyFile, ca.CertFile))
		if err == nil {
			c.Close()
			t.Fatal("a client with a certificate of another CA was let in")
		}
		if !strings.Contains(err.Error(), "certificate") {
			t.Errorf("err = %v; want it to name the certificate", err)
		}
	})
	t.Run("agent of another CA", func(t *testing.T) {
		other := apitest.NewCA(t, "other")
		c, err := client.Dial(ctx, srv.Addr(), client.WithTimeout(3*time.Second),
			client.WithTLS(ctl.CertFile, ctl.KeyFile, other.CertFile))
		if err == nil {
			c.Close()
			t.Fatal("the client trusted an agent its CA did not sign")
		}
	})
	// The refusals did not disturb the agent.
	if _, err := c.List(ctx); err != nil {
		t.Fatal(err)
	}
}

// bogus returns a protobuf message of a type no Linx binary registers.
func bogus(t *testing.T) proto.Message {
	t.Helper()
	fdp := &descriptorpb.FileDescriptorProto{
		Name:    proto.String("bogus.proto"),
		Package: proto.String("linxtest"),
		Syntax:  proto.String("proto3"),
		MessageType: []*descriptorpb.DescriptorProto{{
			Name: proto.String("Bogus"),
			Field: []*descriptorpb.FieldDescriptorProto{{
				Name:   proto.String("x"),
				Number: proto.Int32(1),
				Type:   descriptorpb.FieldDescriptorProto_TYPE_STRING.Enum(),
				Label:  descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL.Enum(),
			}},
		}},
	}
	fd, err := protodesc.NewFile(fdp, nil)
	if err != nil {
		t.Fatal(err)
	}
	return dynamicpb.NewMessage(fd.Messages().Get(0))
}

// TestForeignMessagesRefused sends what protoactor's handler would crash
// on, or obey, and checks that the node still answers afterwards.
func TestForeignMessagesRefused(t *testing.T) {
	if twoRemotes(t) {
		return
	}
	srv, _ := startNode(t, config.API{Listen: "127.0.0.1:0"})
	ctx := ctxT(t)

	raw := actor.NewActorSystem(actor.WithLoggerFactory(supervisor.LoggerFactory(quiet())))
	// A peer with a valid certificate, so that what it sends reaches the
	// guard (without one, its connection fails the handshake, and
	// protoactor would redial it forever).
	p := pkiFor(t)
	cert, err := tls.LoadX509KeyPair(p.ctl.CertFile, p.ctl.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	pool, err := remotestartPool(p.ca.CertFile)
	if err != nil {
		t.Fatal(err)
	}
	rcfg := remote.Configure("127.0.0.1", 0, remote.WithDialOptions(grpc.WithTransportCredentials(credentials.NewTLS(
		&tls.Config{Certificates: []tls.Certificate{cert}, RootCAs: pool, MinVersion: tls.VersionTLS13}))))
	rcfg.MaxRetryCount = 1
	r := remote.NewRemote(raw, rcfg)
	r.Start()
	defer func() {
		r.Shutdown(true)
		raw.Shutdown()
	}()
	node := actor.NewPID(srv.Addr(), api.NodeName)
	for _, msg := range []any{
		bogus(t),            // unregistered: protoactor would dereference nil
		&actor.PoisonPill{}, // registered, but would stop the node
		&messages.ListScopes{},
	} {
		raw.Root.Send(node, msg)
	}
	// Addressed to a system actor rather than the node.
	raw.Root.Send(actor.NewPID(srv.Addr(), "EndpointSupervisor"), &messages.ListScopes{})

	c, err := client.Dial(ctx, srv.Addr(), tlsOpt(t))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// Give the refused batches time to arrive before asking.
	time.Sleep(200 * time.Millisecond)
	if _, err := c.List(ctx); err != nil {
		t.Fatalf("the node no longer answers: %v", err)
	}
	if err := c.Spawn(ctx, &messages.SpawnScope{Name: "alive"}); err != nil {
		t.Fatalf("the node no longer spawns: %v", err)
	}
	if _, err := c.Status(ctx, "alive"); err != nil {
		t.Fatal(err)
	}
}

func TestDialErrors(t *testing.T) {
	ctx := ctxT(t)
	if _, err := client.Dial(ctx, "127.0.0.1"); err == nil {
		t.Error("Dial without a port succeeded")
	}
	if _, err := client.Dial(ctx, "127.0.0.1:1", client.WithListen("0.0.0.0:0")); err == nil {
		t.Error("Dial with a wildcard reply endpoint succeeded")
	}
	_, err := client.Dial(ctx, "127.0.0.1:1", client.WithTimeout(time.Second))
	if err == nil {
		t.Fatal("Dial to a closed port succeeded")
	}
	if !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("err = %v; want connection refused", err)
	}
}

// rawStream opens protoactor's message stream to the endpoint at addr as a
// peer would, declaring its actor system's address as declared, without
// protoactor on this side: what it sends is exactly what the test builds.
// The stream ends with ctx.
func rawStream(t *testing.T, ctx context.Context, addr, declared string) remote.Remoting_ReceiveClient {
	t.Helper()
	creds := insecure.NewCredentials()
	if p, ok := pkis.Load(t.Name()); ok {
		p := p.(*pki)
		cert, err := tls.LoadX509KeyPair(p.ctl.CertFile, p.ctl.KeyFile)
		if err != nil {
			t.Fatal(err)
		}
		pool, err := remotestartPool(p.ca.CertFile)
		if err != nil {
			t.Fatal(err)
		}
		creds = credentials.NewTLS(&tls.Config{Certificates: []tls.Certificate{cert}, RootCAs: pool, MinVersion: tls.VersionTLS13})
	}
	conn, err := grpc.DialContext(ctx, addr, grpc.WithTransportCredentials(creds))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	s, err := remote.NewRemotingClient(conn).Receive(ctx)
	if err != nil {
		t.Fatal(err)
	}
	err = s.Send(&remote.RemoteMessage{MessageType: &remote.RemoteMessage_ConnectRequest{
		ConnectRequest: &remote.ConnectRequest{ConnectionType: &remote.ConnectRequest_ServerConnection{
			ServerConnection: &remote.ServerConnection{SystemId: "raw", Address: declared},
		}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if m, err := s.Recv(); err != nil || m.GetConnectResponse() == nil {
		t.Fatalf("connecting to %s: %v, %v; want a ConnectResponse", addr, m, err)
	}
	return s
}

// batchOf is a batch carrying msg, of type typeName, to target.
func batchOf(t *testing.T, target *actor.PID, typeName string, msg proto.Message) *remote.RemoteMessage {
	t.Helper()
	data, err := proto.Marshal(msg)
	if err != nil {
		t.Fatal(err)
	}
	return &remote.RemoteMessage{MessageType: &remote.RemoteMessage_MessageBatch{MessageBatch: &remote.MessageBatch{
		TypeNames: []string{typeName},
		Targets:   []*actor.PID{target},
		Envelopes: []*remote.MessageEnvelope{{MessageData: data}},
	}}}
}

// sendRefused sends m on a fresh raw stream to addr and checks that the
// endpoint ends the stream with PermissionDenied.
func sendRefused(t *testing.T, addr, declared string, m *remote.RemoteMessage) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	s := rawStream(t, ctx, addr, declared)
	if err := s.Send(m); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Recv(); status.Code(err) != codes.PermissionDenied {
		t.Errorf("stream after the batch: %v; want PermissionDenied", err)
	}
}

// TestForgedTerminatedRefused sends the node actor.Terminated messages
// naming the agent's own running scope, which protoactor would pass on and
// the node would take as the scope's end.
func TestForgedTerminatedRefused(t *testing.T) {
	if twoRemotes(t) {
		return
	}
	logs := &logBuffer{}
	srv, system, node := startNodeLogged(t, config.API{Listen: "127.0.0.1:0"}, slog.New(slog.NewTextHandler(logs, nil)))
	ctx := ctxT(t)
	c, err := client.Dial(ctx, srv.Addr(), tlsOpt(t))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Spawn(ctx, &messages.SpawnScope{Name: "web"}); err != nil {
		t.Fatal(err)
	}
	scope := node.PID().Id + "/scope-web-1"
	if _, ok := system.ProcessRegistry.GetLocal(scope); !ok {
		t.Fatalf("the scope's supervisor is not %q", scope)
	}

	const peer = "127.0.0.1:1" // what the raw peer declares as its address
	// The node's own id: where protoactor delivers the Terminated of a
	// subscriber it watches (the gate, NodeName, takes none).
	target := actor.NewPID(srv.Addr(), node.PID().Id)
	_, port, _ := strings.Cut(srv.Addr(), ":")
	for _, who := range []*actor.PID{
		actor.NewPID(srv.Addr(), scope),      // the agent's own address
		actor.NewPID("nonhost", scope),       // protoactor's local address
		actor.NewPID(peer, scope),            // the peer's address, the node's child
		actor.NewPID("localhost:"+port, "x"), // an alias of the agent's address
		actor.NewPID("127.0.0.1:2", "$1"),    // another peer's actor
	} {
		sendRefused(t, srv.Addr(), peer, batchOf(t, target, "actor.Terminated", &actor.Terminated{Who: who}))
		if want := "actor.Terminated of " + who.Address + "/" + who.Id; !strings.Contains(logs.String(), want) {
			t.Errorf("no refusal logged for %s; log:\n%s", want, logs.String())
		}
	}
	if n := strings.Count(logs.String(), "refused a batch"); n != 5 {
		t.Errorf("%d refusals logged; want 5", n)
	}
	st, err := c.Status(ctx, "web")
	if err != nil {
		t.Fatal(err)
	}
	if st.GetPhase() == messages.Phase_PHASE_STOPPED {
		t.Fatalf("a forged Terminated stopped the scope: %v", st)
	}
	if _, ok := system.ProcessRegistry.GetLocal(scope); !ok {
		t.Fatal("the scope's supervisor is gone")
	}
}

// loggedController starts a node with a loopback API and a controller
// dialled to it through an endpoint that logs to the returned buffer; all
// are closed in t.Cleanup.
func loggedController(t *testing.T) (*api.Server, *client.Endpoint, *client.Client, *logBuffer) {
	t.Helper()
	srv, _ := startNode(t, config.API{Listen: "127.0.0.1:0"})
	logs := &logBuffer{}
	ep, err := client.NewEndpoint(tlsOpt(t), client.WithLogger(slog.New(slog.NewTextHandler(logs, nil))))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ep.Close() })
	c, err := ep.Dial(ctxT(t), srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return srv, ep, c, logs
}

// TestReplyEndpointRefusesForeignMessages sends a controller's reply
// endpoint what protoactor's handler would crash on, or obey, and checks
// that the controller still works afterwards.
func TestReplyEndpointRefusesForeignMessages(t *testing.T) {
	if twoRemotes(t) {
		return
	}
	srv, ep, c, logs := loggedController(t)
	ctx := ctxT(t)
	if err := c.Spawn(ctx, &messages.SpawnScope{Name: "web"}); err != nil {
		t.Fatal(err)
	}
	// Any actor of the controller: a subscriber.
	ch, cancel, err := c.Subscribe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer cancel()
	<-ch

	peer := srv.Addr() // the raw peer poses as the agent
	sub := actor.NewPID(ep.Addr(), "$1")
	for _, m := range []*remote.RemoteMessage{
		// unregistered: protoactor would dereference nil and crash the process
		batchOf(t, sub, "linxtest.Bogus", bogus(t)),
		// registered, but would stop the actor
		batchOf(t, sub, "actor.PoisonPill", &actor.PoisonPill{}),
		// protoactor's own machinery
		batchOf(t, actor.NewPID(ep.Addr(), "EndpointSupervisor"), "linx.v1.ScopeStatus", &messages.ScopeStatus{}),
		// a watch by an actor of another host
		batchOf(t, sub, "actor.Watch", &actor.Watch{Watcher: actor.NewPID("127.0.0.1:2", "x")}),
		// the end of one of the controller's own actors
		batchOf(t, actor.NewPID(ep.Addr(), "$2"), "actor.Terminated", &actor.Terminated{Who: sub}),
	} {
		sendRefused(t, ep.Addr(), peer, m)
	}
	if n := strings.Count(logs.String(), "reply endpoint: refused a batch"); n != 5 {
		t.Errorf("%d refusals logged; want 5; log:\n%s", n, logs.String())
	}
	if _, err := c.List(ctx); err != nil {
		t.Fatalf("the controller no longer works: %v", err)
	}
	if st, err := c.Status(ctx, "web"); err != nil || st.GetName() != "web" {
		t.Fatalf("Status = %v, %v", st, err)
	}
	// The subscription still receives.
	if err := c.Spawn(ctx, &messages.SpawnScope{Name: "db"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ch, "db's status", func(st *messages.ScopeStatus) bool { return st.GetName() == "db" })
}

// TestSubscriberExitUnsubscribes checks that the real Terminated of a
// controller's subscriber passes the guards of both ends (the node's Watch
// to the controller, the controller's Terminated to the node): the node
// drops a subscriber whose actor stopped without unsubscribing. The node
// runs before the API starts, as in the agent, so its own PID, the watcher
// in its Watch, says "nonhost": the reply endpoint's guard rewrites it to
// the agent's address, or the Terminated would stay in the controller.
func TestSubscriberExitUnsubscribes(t *testing.T) {
	if twoRemotes(t) {
		return
	}
	srv, _ := startNode(t, config.API{Listen: "127.0.0.1:0"})
	ctx := ctxT(t)
	ep, err := client.NewEndpoint(tlsOpt(t))
	if err != nil {
		t.Fatal(err)
	}
	defer ep.Close()
	c, err := ep.Dial(ctx, srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// A scope, so that a fresh subscriber receives a status at once.
	if err := c.Spawn(ctx, &messages.SpawnScope{Name: "web"}); err != nil {
		t.Fatal(err)
	}
	sys := ep.System()
	node := actor.NewPID(srv.Addr(), api.NodeName)
	type marker struct{}
	// subscribe spawns an actor named "probe" (always the same PID) and
	// subscribes it. It reports whether the node sent it the current
	// statuses, which the node does only for a subscriber it does not
	// have: the node sends them before its Ack, on the same stream, so
	// they are in the probe's mailbox before a marker sent after the Ack.
	subscribe := func() (*actor.PID, bool) {
		got := make(chan any, 16)
		pid, err := sys.Root.SpawnNamed(actor.PropsFromFunc(func(ctx actor.Context) {
			switch m := ctx.Message().(type) {
			case *messages.ScopeStatus, marker:
				got <- m
			}
		}), "probe")
		if err != nil {
			t.Fatal(err)
		}
		v, err := sys.Root.RequestFuture(node, &messages.Subscribe{Subscriber: pid}, 5*time.Second).Result()
		if a, ok := v.(*messages.Ack); err != nil || !ok || a.GetError() != "" {
			t.Fatalf("subscribing: %v, %v", v, err)
		}
		sys.Root.Send(pid, marker{})
		_, fresh := (<-got).(*messages.ScopeStatus)
		return pid, fresh
	}
	pid, fresh := subscribe()
	if !fresh {
		t.Fatal("the first subscription received no status")
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		// Stopped without Unsubscribe: only its Terminated tells the node.
		if err := sys.Root.StopFuture(pid).Wait(); err != nil {
			t.Fatal(err)
		}
		if time.Now().After(deadline) {
			t.Fatal("the node kept a subscriber whose actor stopped")
		}
		time.Sleep(20 * time.Millisecond)
		if pid, fresh = subscribe(); fresh {
			break
		}
	}
	// Unsubscribed before the endpoints close: a node that still has a
	// remote subscriber when its API has stopped cannot publish to it.
	if _, err := sys.Root.RequestFuture(node, &messages.Unsubscribe{Subscriber: pid}, 5*time.Second).Result(); err != nil {
		t.Fatal(err)
	}
	sys.Root.StopFuture(pid).Wait()
}

// closedAddr returns a loopback address on which nothing listens.
func closedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// TestUnreachablePeerLeaksNothing makes the node answer a peer whose
// address cannot be reached, as it does when a controller closes before a
// reply or an Unwatch reaches it, and checks that the agent's attempts to
// connect leave no gRPC connection behind once the API is closed: with more
// than one attempt, protoactor's endpoint writer drops the connection of a
// failed attempt without closing it, and gRPC retries it forever.
func TestUnreachablePeerLeaksNothing(t *testing.T) {
	// In a child process under -race: the gRPC connections of an earlier
	// run race with this one's Remote.Start (see twoRemotes).
	if twoRemotes(t) {
		return
	}
	// Registered first, so run last: after the API and the node stop.
	opts := append([]goleak.Option{goleak.IgnoreCurrent()}, leakOptions...)
	t.Cleanup(func() {
		if err := goleak.Find(opts...); err != nil {
			t.Errorf("goroutines left after the API closed: %v", err)
		}
	})
	srv, system := startNode(t, config.API{Listen: "127.0.0.1:0"})
	gone := closedAddr(t)
	failed := make(chan struct{})
	var once sync.Once
	sub := system.EventStream.Subscribe(func(evt any) {
		if e, ok := evt.(*remote.EndpointTerminatedEvent); ok && e.Address == gone {
			once.Do(func() { close(failed) })
		}
	})
	defer system.EventStream.Unsubscribe(sub)

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s := rawStream(t, ctx, srv.Addr(), gone)
	m := batchOf(t, actor.NewPID(srv.Addr(), api.NodeName), "linx.v1.ListScopes", &messages.ListScopes{})
	b := m.GetMessageBatch()
	b.Senders = []*actor.PID{actor.NewPID(gone, "future$1")}
	b.Envelopes[0].Sender = 1
	if err := s.Send(m); err != nil {
		t.Fatal(err)
	}
	select {
	case <-failed:
	case <-ctx.Done():
		t.Fatal("the node did not give up delivering its reply to an unreachable peer")
	}
}

// localIDs returns the ids of the local actors and futures of system.
func localIDs(system *actor.ActorSystem) map[string]bool {
	ids := map[string]bool{}
	for _, bucket := range system.ProcessRegistry.LocalPIDs.LocalPIDs {
		for _, id := range bucket.Keys() {
			ids[id] = true
		}
	}
	return ids
}

// TestReplyEndpointBindsActorsToTheirAgent checks that a controller's
// subscriber takes statuses from the agent it subscribed to only, and that
// no peer may watch a pending request (protoactor would complete it with
// the Watch).
func TestReplyEndpointBindsActorsToTheirAgent(t *testing.T) {
	if twoRemotes(t) {
		return
	}
	srv, ep, c, logs := loggedController(t)
	ctx := ctxT(t)
	before := localIDs(ep.System())
	ch, cancel, err := c.Subscribe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer cancel()
	var sub string
	for id := range localIDs(ep.System()) {
		if !before[id] && strings.HasPrefix(id, "$") {
			sub = id
		}
	}
	if sub == "" {
		t.Fatal("the subscriber's actor is not in the endpoint's registry")
	}

	const other = "127.0.0.1:1" // what the raw peer, another agent, declares
	sendRefused(t, ep.Addr(), other, batchOf(t, actor.NewPID(ep.Addr(), sub), "linx.v1.ScopeStatus", &messages.ScopeStatus{Name: "forged"}))
	future := actor.NewPID(ep.Addr(), "future$1")
	sendRefused(t, ep.Addr(), srv.Addr(), batchOf(t, future, "actor.Watch", &actor.Watch{Watcher: actor.NewPID(srv.Addr(), "x")}))
	sendRefused(t, ep.Addr(), srv.Addr(), batchOf(t, future, "actor.Terminated", &actor.Terminated{Who: actor.NewPID(srv.Addr(), "x")}))
	if n := strings.Count(logs.String(), "reply endpoint: refused a batch"); n != 3 {
		t.Errorf("%d refusals logged; want 3; log:\n%s", n, logs.String())
	}

	if err := c.Spawn(ctx, &messages.SpawnScope{Name: "db"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ch, "db's status", func(st *messages.ScopeStatus) bool {
		if st.GetName() == "forged" {
			t.Error("a status forged by another peer reached the subscriber")
		}
		return st.GetName() == "db"
	})
}
