//go:build soak

package api_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/linx-net/linx/client"
	"github.com/linx-net/linx/config"
	"github.com/linx-net/linx/internal/nstest"
	"github.com/linx-net/linx/messages"
)

// soakUsage returns the process's goroutines and open descriptors.
func soakUsage(t *testing.T) (goroutines, fds int) {
	t.Helper()
	runtime.GC()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return runtime.NumGoroutine(), len(ents)
}

// TestSoakAPIFloods floods a running agent's message API, as a harsh user
// would: 10,000 spawns from an identity with no grant (nobody, on the
// socket), 10,000 from one whose grant is capped (a TLS controller), and
// thousands of bare TCP connections that never start a handshake. During
// each, an address deleted from a configured scope must come back within
// a second and /healthz must answer; afterwards the descriptors and
// goroutines must be back to their baseline. It prints the figures and a
// verdict.
func TestSoakAPIFloods(t *testing.T) {
	nstest.RequireRoot(t)
	ns := nstest.New(t)
	ns.IP("link", "set", "lo", "up")
	sock := socketDir(t)
	p := pkiFor(t)
	path := filepath.Join(t.TempDir(), "linx.yaml")
	data := fmt.Sprintf(`state_dir: %s
metrics: {listen: 127.0.0.1:0}
api:
  socket: %s
  group: "65534"
  listen: 127.0.0.1:0
  tls: {cert: %s, key: %s, client_ca: %s}
  authorization:
    - identity: controller
      verbs: ["*"]
      namespaces: {paths: ["/var/run/netns/linx-t-*"]}
      scopes: ["flood-*"]
  limits: {max_scopes_per_identity: 64, handshake_timeout: 2s}
scopes:
  - name: demo
    netns: path:%s
    interval: 1h
    desired:
      addresses: [{link: lo, address: 10.66.0.1/32}]
`, t.TempDir(), sock, p.node.CertFile, p.node.KeyFile, p.ca.CertFile, ns.Path())
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
	var apiAddr string
	for deadline := time.Now().Add(10 * time.Second); apiAddr == ""; time.Sleep(10 * time.Millisecond) {
		for _, line := range strings.Split(logs.String(), "\n") {
			if strings.Contains(line, `"msg":"message API listening"`) {
				_, rest, _ := strings.Cut(line, `"address":"`)
				apiAddr, _, _ = strings.Cut(rest, `"`)
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("no TCP API")
		}
	}
	health := "http://" + a.MetricsAddr().String() + "/healthz"
	hc := &http.Client{Timeout: time.Second}

	// probe deletes the address and measures its repair, and asks
	// /healthz, while a flood runs.
	verdict := true
	var maxRepair time.Duration
	probes := 0
	probe := func(flood string) {
		t.Helper()
		ns.IP("addr", "del", "10.66.0.1/32", "dev", "lo")
		t0 := time.Now()
		for !strings.Contains(ns.IP("-4", "-o", "addr", "show", "dev", "lo"), " 10.66.0.1/32 ") {
			if time.Since(t0) > 10*time.Second {
				break
			}
			time.Sleep(time.Millisecond)
		}
		repair := time.Since(t0)
		maxRepair = max(maxRepair, repair)
		probes++
		resp, err := hc.Get(health)
		code := 0
		if err == nil {
			code = resp.StatusCode
			resp.Body.Close()
		}
		ok := repair < time.Second && code == http.StatusOK
		verdict = verdict && ok
		fmt.Printf("soak api %s: repair %v, /healthz %d %v, ok=%v\n", flood, repair.Round(time.Millisecond), code, err, ok)
		if !ok {
			t.Errorf("%s: repair %v, /healthz %d %v; want under 1 s and 200", flood, repair, code, err)
		}
	}
	// Warm up, then the baseline.
	probe("none")
	time.Sleep(500 * time.Millisecond)
	g0, fd0 := soakUsage(t)
	fmt.Printf("soak api baseline: %d goroutines, %d fds\n", g0, fd0)

	// Flood 1a: nobody, 10,000 spawns in the host namespace on the socket.
	done := make(chan string, 1)
	start := time.Now()
	go func() {
		done <- runSocketOp(t, sock, "flood", &messages.SpawnScope{Namespace: &messages.Namespace{Kind: &messages.Namespace_Host{Host: true}},
			Desired: &messages.Desired{Routes: []*messages.Route{{Dst: "198.51.100.0/24", Type: "blackhole"}}}},
			&syscall.Credential{Uid: 65534, Gid: 65534, Groups: []uint32{}})
	}()
	for probing := true; probing; {
		select {
		case res := <-done:
			fmt.Printf("soak api flood of nobody's spawns: %s in %v\n", res, time.Since(start).Round(time.Millisecond))
			probing = false
		default:
			probe("nobody's spawns")
			time.Sleep(100 * time.Millisecond)
		}
	}

	// Flood 1b: a controller allowed to spawn, capped at 64 scopes and
	// its request rate, 10,000 spawns from 8 goroutines over TLS.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	c, err := client.Dial(ctx, apiAddr, tlsOpt(t))
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	counts := map[string]int{}
	var wg sync.WaitGroup
	start = time.Now()
	for w := range 8 {
		wg.Go(func() {
			for i := w; i < floodCount; i += 8 {
				// no_routes: the scopes share the configured scope's
				// namespace, where protocol 76 has an owner already.
				err := c.Spawn(ctx, &messages.SpawnScope{Name: fmt.Sprintf("flood-%d", i),
					Namespace: &messages.Namespace{Kind: &messages.Namespace_Path{Path: ns.Path()}},
					Options:   &messages.ScopeOptions{NoRoutes: true}})
				k := "accepted"
				switch {
				case err == nil:
				case strings.Contains(err.Error(), "rate limited"):
					k = "rate limited"
				case strings.Contains(err.Error(), "scope limit"):
					k = "scope limit"
				default:
					k = "other: " + err.Error()
				}
				mu.Lock()
				counts[k]++
				mu.Unlock()
			}
		})
	}
	flooding := make(chan struct{})
	go func() { wg.Wait(); close(flooding) }()
	for probing := true; probing; {
		select {
		case <-flooding:
			probing = false
		default:
			probe("a capped controller's spawns")
			time.Sleep(100 * time.Millisecond)
		}
	}
	fmt.Printf("soak api flood of a capped controller's spawns: %v in %v\n", counts, time.Since(start).Round(time.Millisecond))
	if counts["accepted"] > 64 {
		t.Errorf("%d scopes accepted; the cap is 64", counts["accepted"])
	}
	// Its scopes go (root, on the socket, is not rate limited by the
	// controller's budget).
	rc, err := client.DialSocket(ctx, sock)
	if err != nil {
		t.Fatal(err)
	}
	list, err := rc.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range list {
		if strings.HasPrefix(st.GetName(), "flood-") {
			if err := rc.Forget(ctx, st.GetName()); err != nil {
				t.Error(err)
			}
		}
	}
	rc.Close()
	c.Close()

	// Flood 2: bare TCP connections that never start a handshake.
	const bare = 4000
	var conns []net.Conn
	start = time.Now()
	refused := 0
	for range bare {
		conn, err := net.DialTimeout("tcp", apiAddr, time.Second)
		if err != nil {
			refused++
			continue
		}
		conns = append(conns, conn)
	}
	fmt.Printf("soak api flood of %d bare connections: %d opened, %d refused in %v\n", bare, len(conns), refused, time.Since(start).Round(time.Millisecond))
	probe("bare connections")
	// A controller from another source address still completes its
	// handshake.
	ctl, err := tls.LoadX509KeyPair(p.ctl.CertFile, p.ctl.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	pool, err := remotestartPool(p.ca.CertFile)
	if err != nil {
		t.Fatal(err)
	}
	d := &tls.Dialer{NetDialer: &net.Dialer{Timeout: 3 * time.Second, LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}},
		Config: &tls.Config{Certificates: []tls.Certificate{ctl}, RootCAs: pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS13}}
	if tc, err := d.DialContext(ctx, "tcp", apiAddr); err != nil {
		t.Errorf("a controller from 127.0.0.2 during the flood: %v", err)
		verdict = false
	} else {
		tc.SetReadDeadline(time.Now().Add(3 * time.Second))
		_, err := tc.Read(make([]byte, 1))
		tc.Close()
		fmt.Printf("soak api: a controller from 127.0.0.2 during the flood: handshake ok, greeting %v\n", err)
	}
	for _, conn := range conns {
		conn.Close()
	}
	probe("after the bare connections")

	// Back to the baseline.
	var g1, fd1 int
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		g1, fd1 = soakUsage(t)
		if (g1 <= g0+20 && fd1 <= fd0+10) || time.Now().After(deadline) {
			break
		}
	}
	back := g1 <= g0+20 && fd1 <= fd0+10
	verdict = verdict && back
	fmt.Printf("soak api after the floods: %d goroutines (baseline %d), %d fds (baseline %d), back=%v\n", g1, g0, fd1, fd0, back)
	if !back {
		t.Errorf("not back to the baseline: %d goroutines (%d), %d fds (%d)", g1, g0, fd1, fd0)
	}
	resp, err := hc.Get("http://" + a.MetricsAddr().String() + "/metrics")
	if err == nil {
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		for _, line := range strings.Split(string(body), "\n") {
			if strings.HasPrefix(line, "linx_api_requests_total") {
				fmt.Println("soak api metric:", line)
			}
		}
	}
	fmt.Printf("soak api: %d repairs during the floods, the slowest %v (bound 1s)\n", probes, maxRepair.Round(time.Millisecond))
	fmt.Printf("soak api verdict: %v\n", map[bool]string{true: "PASS", false: "FAIL"}[verdict])
}
