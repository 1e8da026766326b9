package agent

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/linx-net/linx/actors/source"
	"github.com/linx-net/linx/actors/supervisor"
	"github.com/linx-net/linx/client"
	"github.com/linx-net/linx/config"
	"github.com/linx-net/linx/fleet"
	"github.com/linx-net/linx/fleet/fleettest"
	"github.com/linx-net/linx/internal/nstest"
	"github.com/linx-net/linx/messages"
	"github.com/linx-net/linx/reconcile"
	"github.com/linx-net/linx/rtnl"
)

// memSource is a scope with no kernel: every pass converges at once. It
// lets one process run a thousand node supervisors.
type memSource struct{}

type nopHandle struct{}

func (nopHandle) Close() error { return nil }

func (memSource) Open(context.Context) (source.Handle, error) { return nopHandle{}, nil }
func (memSource) Watch(context.Context) (source.Watch, error) { return nil, nil }
func (memSource) Pass(context.Context, source.Handle, any) source.Report {
	return source.Report{Converged: true}
}

// BenchmarkFleetFanout runs 1000 node supervisors in one process, each
// with its own etcd client and fleet source over scopes of no kernel, all
// following one embedded etcd; one apply gives every node a scope. It
// prints, per node, the time from the apply's start until etcd holds the
// node's status saying converged (p50, p99), and the etcd writes (store
// revisions) the agents made per scope change. The baseline is one etcd
// put's round trip in the same run.
func BenchmarkFleetFanout(b *testing.B) {
	const nodes = 1000
	srv := fleettest.New(b)
	ctl, err := srv.Client()
	if err != nil {
		b.Fatal(err)
	}
	defer ctl.Close()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	system := actor.NewActorSystem(actor.WithLoggerFactory(supervisor.LoggerFactory(logger)))
	defer system.Shutdown()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait() }()
	dir := b.TempDir()
	sources := make([]*fleetSource, nodes)
	for i := range nodes {
		node, err := supervisor.Start(system, supervisor.Config{
			Name:      fmt.Sprintf("node-%d", i),
			NewSource: func(supervisor.Spec) (source.Source, error) { return memSource{}, nil },
			Interval:  time.Hour,
			Logger:    logger,
		})
		if err != nil {
			b.Fatal(err)
		}
		a := &Agent{logger: logger, system: system, node: node, metrics: NewMetrics(nil, logger)}
		f, err := newFleet(a, config.Fleet{Endpoints: []string{srv.Endpoint}, Node: fmt.Sprintf("n%d", i), Prefix: "/linx"}, dir, "", a.metrics.Registry)
		if err != nil {
			b.Fatal(err)
		}
		sources[i] = f
		wg.Add(1)
		go func() { defer wg.Done(); f.run(ctx) }()
	}
	deadline := time.Now().Add(2 * time.Minute)
	for i := 0; i < nodes; {
		if sources[i].synced() {
			i++
			continue
		}
		if time.Now().After(deadline) {
			b.Fatalf("node %d never in sync", i)
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Baseline: one put's round trip.
	var puts []time.Duration
	for range 50 {
		t0 := time.Now()
		if _, err := ctl.Put(ctx, "/bench/put", "x"); err != nil {
			b.Fatal(err)
		}
		puts = append(puts, time.Since(t0))
	}

	fc := fleet.New(ctl, "")
	converged := make(map[string]time.Duration, nodes)
	var mu sync.Mutex
	all := make(chan struct{})
	var start time.Time
	wctx, wcancel := context.WithCancel(ctx)
	defer wcancel()
	go fc.WatchStatuses(wctx, func(node, _ string, st *messages.ScopeStatus) {
		if st.GetPhase() != messages.Phase_PHASE_CONVERGED {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if _, ok := converged[node]; !ok {
			converged[node] = time.Since(start)
			if len(converged) == nodes {
				close(all)
			}
		}
	})
	time.Sleep(time.Second) // the watch is established; statuses are quiet
	rev0 := revision(b, ctl)
	b.ResetTimer()
	names := make([]string, nodes)
	for i := range names {
		names[i] = fmt.Sprintf("n%d", i)
	}
	spec := []*messages.SpawnScope{{Name: "edge", Desired: &messages.Desired{Addresses: []*messages.Address{{Link: "lo", Address: "10.0.0.1/32"}}}}}
	// fc.ApplyNodes, with each node's commit time kept: the latency from
	// it (react) tells the agents' share from the apply's.
	committed := make(map[string]time.Duration, nodes)
	sem := make(chan struct{}, fleet.ApplyConcurrency)
	var awg sync.WaitGroup
	start = time.Now()
	for _, node := range names {
		sem <- struct{}{}
		awg.Add(1)
		go func() {
			defer func() { <-sem; awg.Done() }()
			if _, err := fc.Apply(ctx, node, spec); err != nil {
				b.Error(err)
			}
			mu.Lock()
			committed[node] = time.Since(start)
			mu.Unlock()
		}()
	}
	awg.Wait()
	applied := time.Since(start)
	select {
	case <-all:
	case <-time.After(2 * time.Minute):
		b.Fatalf("only %d of %d nodes converged", len(converged), nodes)
	}
	b.StopTimer()
	// Statuses settle within a few write periods.
	time.Sleep(3 * FleetStatusEvery)
	writes := float64(revision(b, ctl)-rev0-nodes) / nodes
	mu.Lock()
	var lat, react []time.Duration
	for node, d := range converged {
		lat = append(lat, d)
		react = append(react, max(0, d-committed[node]))
	}
	mu.Unlock()
	slices.Sort(lat)
	slices.Sort(react)
	slices.Sort(puts)
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	fmt.Printf("fleet_fanout: nodes=%d scopes=%d p50=%.0f p99=%.0f etcd_writes_per_change=%.2f apply_ms=%.0f react_p50=%.0f react_p99=%.0f etcd_put_p50=%.2f\n",
		nodes, nodes, ms(lat[len(lat)/2]), ms(lat[len(lat)*99/100]), writes, ms(applied),
		ms(react[len(react)/2]), ms(react[len(react)*99/100]), ms(puts[len(puts)/2]))
	b.ReportMetric(ms(lat[len(lat)*99/100]), "p99-ms")
	b.ReportMetric(writes, "etcd-writes/change")
}

func revision(b *testing.B, c *clientv3.Client) int64 {
	r, err := c.Get(context.Background(), "/bench/none")
	if err != nil {
		b.Fatal(err)
	}
	return r.Header.Revision
}

// BenchmarkFleetResume measures an agent's restart until its 100 durable
// scopes (spawned through the message API, in one throwaway namespace,
// each with a protocol of its own) have all converged again, beside the
// first spawn of the same scopes in the same run.
func BenchmarkFleetResume(b *testing.B) {
	const scopes = 100
	ns := nstest.New(b)
	dir := b.TempDir()
	sock := filepath.Join(dir, "run", "linx.sock")
	path := filepath.Join(dir, "linx.yaml")
	body := "state_dir: " + filepath.Join(dir, "state") + "\nmetrics: {listen: \"127.0.0.1:0\"}\napi: {socket: " + sock + "}\nscopes: []\n"
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		b.Fatal(err)
	}
	var protos []uint32
	for p := rtnl.Protocol(100); len(protos) < scopes; p++ {
		if reconcile.CheckProtocol(p) == nil {
			protos = append(protos, uint32(p))
		}
	}
	start := func() (*Agent, func()) {
		cfg, err := config.Load(path)
		if err != nil {
			b.Fatal(err)
		}
		a, err := New(Options{Path: path, Config: cfg, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), NoSignals: true, API: ServeAPI})
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- a.Run(ctx) }()
		return a, func() {
			cancel()
			if err := <-done; err != nil {
				b.Error(err)
			}
		}
	}
	allConverged := func(a *Agent) bool {
		l, err := a.Node().List()
		if err != nil || len(l) != scopes {
			return false
		}
		for _, st := range l {
			if st.GetPhase() != messages.Phase_PHASE_CONVERGED {
				return false
			}
		}
		return true
	}
	wait := func(a *Agent) {
		deadline := time.Now().Add(2 * time.Minute)
		for !allConverged(a) {
			if time.Now().After(deadline) {
				b.Fatal("the scopes did not converge")
			}
			time.Sleep(time.Millisecond)
		}
	}

	a, stop := start()
	for {
		if _, err := os.Stat(sock); err == nil {
			break
		}
		time.Sleep(time.Millisecond)
	}
	c, err := client.DialSocket(context.Background(), sock)
	if err != nil {
		b.Fatal(err)
	}
	t0 := time.Now()
	for i := range scopes {
		spec := &messages.SpawnScope{
			Name: fmt.Sprintf("s%d", i), Protocol: protos[i], Interval: nil,
			Namespace: &messages.Namespace{Kind: &messages.Namespace_Path{Path: ns.Path()}},
			Desired:   &messages.Desired{Routes: []*messages.Route{{Dst: fmt.Sprintf("10.%d.%d.0/24", 100+i/250, i%250), Type: "blackhole"}}},
		}
		if err := c.Spawn(context.Background(), spec); err != nil {
			b.Fatal(err)
		}
	}
	wait(a)
	spawn := time.Since(t0)
	c.Close()
	stop()

	b.ResetTimer()
	t0 = time.Now()
	a, stop = start()
	wait(a)
	resume := time.Since(t0)
	b.StopTimer()
	stop()
	fmt.Printf("fleet_resume: scopes=%d resume_ms=%.0f spawn_ms=%.0f ratio_spawn=%.2f\n",
		scopes, float64(resume)/float64(time.Millisecond), float64(spawn)/float64(time.Millisecond), float64(resume)/float64(spawn))
	b.ReportMetric(float64(resume)/float64(time.Millisecond), "resume-ms")
}
