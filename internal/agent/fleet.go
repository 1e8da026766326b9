package agent

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/prometheus/client_golang/prometheus"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/linx-net/linx/config"
	"github.com/linx-net/linx/fleet"
	"github.com/linx-net/linx/internal/scopestore"
	"github.com/linx-net/linx/messages"
)

// Timings of the fleet source, in one place.
const (
	// FleetLeaseTTL is the lease of the member and status keys: a dead
	// agent's keys are gone this long after its last keep-alive.
	FleetLeaseTTL = 10 * time.Second
	// FleetStatusEvery is how often statuses are written at most: a few
	// writes a second per node, each one transaction of every change.
	FleetStatusEvery = 250 * time.Millisecond
	// FleetRetryEvery is how often the last desired state is applied
	// again (level-triggered), so that a spawn refused for a passing
	// reason (a namespace not made yet) is tried again.
	FleetRetryEvery = 5 * time.Second
	// fleetRequestTimeout bounds one etcd request of the status writer.
	fleetRequestTimeout = 3 * time.Second
	// fleetProbeEvery is how often a quiet agent reads from etcd to learn
	// whether it still answers: cheap, and soon enough for /readyz.
	fleetProbeEvery = 2 * time.Second
	// fleetMaxOps stays under etcd's default of 128 operations per
	// transaction.
	fleetMaxOps = 128
)

// fleetSource makes etcd a source of desired scopes (see package fleet):
// it follows <prefix>/v1/nodes/<node>/scopes/, converges the node's
// fleet scopes onto what it last saw (cached in the state directory, so
// that an agent restarted while etcd is away resumes it), and writes the
// scopes' statuses and the agent's membership under one lease.
type fleetSource struct {
	a       *Agent
	cfg     config.Fleet
	keys    fleet.Keys
	etcd    *clientv3.Client
	cache   string
	address string // the API's, for the membership
	logger  *slog.Logger

	mu      sync.Mutex // serialises converge; guards the fields below
	desired map[string]*messages.SpawnScope
	running map[string]*messages.SpawnScope // the fleet scopes spawned, as spawned (desired state current)
	warned  map[string]string               // scope -> last error logged

	names    atomic.Pointer[map[string]string] // fleet scopes, for the status writer: "" running, else why not
	dirty    atomic.Bool                       // a status changed since the last write
	inSync   atomic.Bool                       // the watch delivered since its last (re)start
	conn     atomic.Bool                       // the last etcd request succeeded
	lastSync atomic.Int64                      // unix nanos of the last time in sync
	started  time.Time

	connected prometheus.Gauge
	restarts  prometheus.Counter
}

// newFleet prepares the fleet source of cfg; nothing runs until run. It
// fails on TLS files that cannot be loaded, or an invalid client setup.
func newFleet(a *Agent, cfg config.Fleet, stateDir, address string, reg prometheus.Registerer) (*fleetSource, error) {
	tlsCfg, err := fleetTLS(cfg.TLS)
	if err != nil {
		return nil, err
	}
	etcd, err := clientv3.New(clientv3.Config{
		Endpoints: cfg.Endpoints,
		TLS:       tlsCfg,
		// The client's own logs are retries the agent reports itself.
		Logger:               zap.NewNop(),
		DialKeepAliveTime:    5 * time.Second,
		DialKeepAliveTimeout: 5 * time.Second,
	})
	if err != nil {
		return nil, fmt.Errorf("fleet: %w", err)
	}
	f := &fleetSource{
		a: a, cfg: cfg, keys: fleet.Keys{Prefix: cfg.Prefix}, etcd: etcd,
		cache:   filepath.Join(stateDir, "fleet", cfg.Node+".json"),
		address: address,
		logger:  a.logger.With("fleet", cfg.Node),
		running: map[string]*messages.SpawnScope{},
		warned:  map[string]string{},
		started: time.Now(),
		connected: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "linx_fleet_connected", Help: "1 while the agent's last request to etcd succeeded, 0 otherwise.",
		}),
		restarts: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "linx_fleet_watch_restarts_total", Help: "Times the watch of the node's desired scopes was started again (a compaction, a broken watch, etcd unreachable), each with a full re-read.",
		}),
	}
	f.names.Store(&map[string]string{})
	lag := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "linx_fleet_sync_lag_seconds", Help: "Seconds since the agent was last known in sync with etcd's desired scopes; 0 while it is.",
	}, func() float64 {
		if f.synced() {
			return 0
		}
		last := f.lastSync.Load()
		if last == 0 {
			return time.Since(f.started).Seconds()
		}
		return time.Since(time.Unix(0, last)).Seconds()
	})
	if err := errors.Join(reg.Register(f.connected), reg.Register(f.restarts), reg.Register(lag)); err != nil {
		etcd.Close()
		return nil, fmt.Errorf("fleet: metrics: %w", err)
	}
	return f, nil
}

func fleetTLS(t config.FleetTLS) (*tls.Config, error) {
	if t.Cert == "" && t.CA == "" {
		return nil, nil
	}
	c := &tls.Config{MinVersion: tls.VersionTLS12}
	if t.Cert != "" {
		pair, err := tls.LoadX509KeyPair(t.Cert, t.Key)
		if err != nil {
			return nil, fmt.Errorf("fleet.tls: %w", err)
		}
		c.Certificates = []tls.Certificate{pair}
	}
	if t.CA != "" {
		pem, err := os.ReadFile(t.CA)
		if err != nil {
			return nil, fmt.Errorf("fleet.tls.ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("fleet.tls.ca %s: no PEM certificate", t.CA)
		}
		c.RootCAs = pool
	}
	return c, nil
}

// synced reports whether the fleet source is in sync with etcd.
func (f *fleetSource) synced() bool { return f.inSync.Load() && f.conn.Load() }

// resumeCache converges onto the desired scopes cached by the last run,
// if any: they hold until etcd answers.
func (f *fleetSource) resumeCache() {
	data, err := os.ReadFile(f.cache)
	if errors.Is(err, os.ErrNotExist) {
		return
	}
	if err != nil {
		f.logger.Error("fleet: reading the cached desired scopes", "err", err)
		return
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		f.logger.Error("fleet: the cached desired scopes do not parse; waiting for etcd", "file", f.cache, "err", err)
		return
	}
	d := make(map[string]*messages.SpawnScope, len(raw))
	for name, v := range raw {
		s := &messages.SpawnScope{}
		if err := protojson.Unmarshal(v, s); err != nil {
			f.logger.Error("fleet: a cached scope does not parse", "scope", name, "err", err)
			continue
		}
		d[name] = s
	}
	f.logger.Info("fleet: resuming the desired scopes cached by the last run until etcd answers", "scopes", len(d))
	f.converge(d)
}

// saveCache records d for a restart during an outage.
func (f *fleetSource) saveCache(d map[string]*messages.SpawnScope) {
	raw := make(map[string]json.RawMessage, len(d))
	for name, s := range d {
		v, err := protojson.Marshal(s)
		if err != nil {
			f.logger.Error("fleet: caching a scope", "scope", name, "err", err)
			return
		}
		raw[name] = v
	}
	data, err := json.Marshal(raw)
	if err == nil {
		if err = os.MkdirAll(filepath.Dir(f.cache), 0o700); err == nil {
			err = scopestore.WriteAtomic(f.cache, data)
		}
	}
	if err != nil {
		f.logger.Error("fleet: caching the desired scopes; a restart during an outage would not resume them", "err", err)
	}
}

// run follows etcd, retries and writes statuses until ctx is done; then
// it closes the client. It returns nil.
func (f *fleetSource) run(ctx context.Context) error {
	defer f.etcd.Close()
	// The node tells of every status change: only then are the statuses
	// read and written.
	f.dirty.Store(true)
	sub := f.a.system.Root.Spawn(actor.PropsFromFunc(func(c actor.Context) {
		if _, ok := c.Message().(*messages.ScopeStatus); ok {
			f.dirty.Store(true)
		}
	}))
	if err := f.a.node.Subscribe(sub); err != nil {
		f.logger.Warn("fleet: subscribing to the scopes' statuses; polling them instead", "err", err)
	}
	defer func() {
		_ = f.a.node.Unsubscribe(sub)
		f.a.system.Root.Stop(sub)
	}()
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		f.writeStatuses(ctx)
	}()
	go func() {
		defer wg.Done()
		t := time.NewTicker(FleetRetryEvery)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				f.mu.Lock()
				d := f.desired
				f.mu.Unlock()
				if d != nil {
					f.converge(d)
				}
			}
		}
	}()
	f.logger.Info("fleet: following etcd", "endpoints", f.cfg.Endpoints, "prefix", f.keys.Scopes(f.cfg.Node))
	_ = fleet.Follow(ctx, f.etcd, f.keys, f.cfg.Node, f.onDesired, func(err error) {
		f.inSync.Store(false)
		f.restarts.Inc()
		f.logger.Warn("fleet: reading the desired scopes again", "reason", err)
	})
	wg.Wait()
	return nil
}

// onDesired is Follow's target: a complete desired set, fresh from etcd.
func (f *fleetSource) onDesired(d map[string]*messages.SpawnScope) {
	f.conn.Store(true)
	f.connected.Set(1)
	f.saveCache(d)
	f.converge(d)
	f.inSync.Store(true)
	f.lastSync.Store(time.Now().UnixNano())
}

// converge makes the node's fleet scopes what d says: spawns the new,
// updates those whose desired state alone changed, stops and spawns again
// those whose settings changed, and stops (forgetting them, kernel state
// kept) those d no longer has. A configured scope of the same name wins.
// Failures are logged (once per scope and error) and tried again later.
func (f *fleetSource) converge(d map[string]*messages.SpawnScope) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.desired = d
	if f.a.stopping.Load() {
		return
	}
	for _, name := range slices.Sorted(maps.Keys(d)) {
		spec := proto.Clone(d[name]).(*messages.SpawnScope)
		spec.Name = name
		if _, ok := f.a.configuredNamespace(name); ok {
			f.warn(name, errors.New("the configuration file has a scope of this name; it wins"))
			continue
		}
		old, ok := f.running[name]
		if ok && sameSettings(old, spec) {
			if proto.Equal(old.GetDesired(), spec.GetDesired()) {
				continue
			}
			if err := f.a.updateMessage(name, spec.GetDesired()); err == nil {
				f.running[name] = spec
				f.logger.Info("fleet: scope updated", "scope", name)
				delete(f.warned, name)
				continue
			}
		}
		if ok {
			if err := f.a.stop(name); err != nil {
				f.warn(name, err)
				continue
			}
			delete(f.running, name)
		}
		if err := f.a.spawnMessage(spec); err != nil {
			f.warn(name, err)
			continue
		}
		f.running[name] = spec
		delete(f.warned, name)
		f.logger.Info("fleet: scope spawned", "scope", name)
	}
	for _, name := range slices.Sorted(maps.Keys(f.running)) {
		if _, ok := d[name]; ok {
			continue
		}
		if err := f.a.stop(name); err != nil {
			f.warn(name, err)
			continue
		}
		delete(f.running, name)
		delete(f.warned, name)
		f.a.metrics.forget(name)
		f.logger.Info("fleet: scope stopped: deleted from etcd; its kernel state is left in place", "scope", name)
	}
	// Running scopes report their own status; those refused report why.
	names := make(map[string]string, len(d))
	for name := range d {
		if _, ok := f.running[name]; ok {
			names[name] = ""
		} else {
			names[name] = "not spawned: " + f.warned[name]
		}
	}
	f.names.Store(&names)
	f.dirty.Store(true)
}

// warn logs err for scope name unless it was the last one logged.
func (f *fleetSource) warn(name string, err error) {
	if f.warned[name] == err.Error() {
		return
	}
	f.warned[name] = err.Error()
	f.logger.Warn("fleet: scope not converged onto etcd's desired state; trying again", "scope", name, "err", err)
}

// sameSettings reports whether a and b differ at most in desired state.
func sameSettings(a, b *messages.SpawnScope) bool {
	a, b = proto.Clone(a).(*messages.SpawnScope), proto.Clone(b).(*messages.SpawnScope)
	a.Desired, b.Desired = nil, nil
	return proto.Equal(a, b)
}

// member is the value of the membership key.
type member struct {
	Version string    `json:"version"`
	Started time.Time `json:"started"`
	Address string    `json:"address,omitempty"`
}

// writeStatuses writes, every FleetStatusEvery at most, the statuses that
// changed since the last write, in one transaction, and the membership,
// all under one lease it keeps alive; until ctx is done. A failure drops
// the lease (a new one is taken) and rewrites everything.
func (f *fleetSource) writeStatuses(ctx context.Context) {
	var lease clientv3.LeaseID
	var lost atomic.Bool
	written := map[string][]byte{}
	var lastOK time.Time
	t := time.NewTicker(FleetStatusEvery)
	defer t.Stop()
	fail := func(what string, err error) {
		if f.conn.Load() {
			f.logger.Warn("fleet: etcd unreachable; converging the last desired state seen", "while", what, "err", err)
		}
		f.conn.Store(false)
		f.connected.Set(0)
		lease = 0
		clear(written)
		f.dirty.Store(true)
	}
	for {
		select {
		case <-ctx.Done():
			if lease != 0 {
				// A clean stop takes the member and statuses away now.
				rctx, cancel := context.WithTimeout(context.Background(), fleetRequestTimeout)
				_, _ = f.etcd.Revoke(rctx, lease)
				cancel()
			}
			return
		case <-t.C:
		}
		if lost.Load() {
			lost.Store(false)
			fail("keeping the lease alive", errors.New("lease lost"))
		}
		rctx, cancel := context.WithTimeout(ctx, fleetRequestTimeout)
		if lease == 0 {
			g, err := f.etcd.Grant(rctx, int64(FleetLeaseTTL/time.Second))
			if err != nil {
				cancel()
				fail("taking a lease", err)
				continue
			}
			ch, err := f.etcd.KeepAlive(ctx, g.ID)
			if err != nil {
				cancel()
				fail("keeping the lease alive", err)
				continue
			}
			go func() {
				for range ch {
				}
				lost.Store(true)
			}()
			lease = g.ID
			v, _ := json.Marshal(member{Version: buildVersion(), Started: f.started.UTC(), Address: f.address})
			if _, err := f.etcd.Put(rctx, f.keys.Member(f.cfg.Node), string(v), clientv3.WithLease(lease)); err != nil {
				cancel()
				fail("writing the membership", err)
				continue
			}
		}
		ops := f.statusOps(written, lease)
		var err error
		asked := len(ops) > 0
		if !asked && time.Since(lastOK) >= fleetProbeEvery {
			asked = true
			// Nothing to write: a read says whether etcd still answers.
			_, err = f.etcd.Get(rctx, f.keys.Member(f.cfg.Node), clientv3.WithCountOnly())
		}
		for len(ops) > 0 && err == nil {
			n := min(len(ops), fleetMaxOps)
			_, err = f.etcd.Txn(rctx).Then(ops[:n]...).Commit()
			ops = ops[n:]
		}
		cancel()
		if err != nil {
			fail("writing statuses", err)
			continue
		}
		if !f.conn.Load() {
			f.logger.Info("fleet: etcd reachable again")
		}
		if asked {
			lastOK = time.Now()
		}
		f.conn.Store(true)
		f.connected.Set(1)
	}
}

// statusOps returns the writes that bring etcd's statuses of the fleet
// scopes to what the node says, and records them in written.
func (f *fleetSource) statusOps(written map[string][]byte, lease clientv3.LeaseID) []clientv3.Op {
	names := *f.names.Load()
	if !f.dirty.Swap(false) && len(names) == len(written) {
		return nil
	}
	list, err := f.a.node.List()
	if err != nil {
		f.dirty.Store(true)
		return nil
	}
	var ops []clientv3.Op
	seen := map[string]bool{}
	for name, why := range names {
		if why != "" {
			// Not running: a status saying why, so that the fleet sees it.
			list = append(list, &messages.ScopeStatus{Name: name, Phase: messages.Phase_PHASE_STOPPED, Reason: why})
		}
	}
	for _, st := range list {
		if why, ok := names[st.GetName()]; !ok || seen[st.GetName()] || (why != "" && st.GetReason() != why) {
			continue
		}
		seen[st.GetName()] = true
		// Passes and the pass time change every pass: written with the
		// rest, but not a change on their own.
		v, err := protojson.Marshal(st)
		if err != nil {
			continue
		}
		q := quietStatus(st)
		if old, ok := written[st.GetName()]; ok && string(old) == string(q) {
			continue
		}
		written[st.GetName()] = q
		ops = append(ops, clientv3.OpPut(f.keys.Status(f.cfg.Node, st.GetName()), string(v), clientv3.WithLease(lease)))
	}
	for name := range written {
		if !seen[name] {
			delete(written, name)
			ops = append(ops, clientv3.OpDelete(f.keys.Status(f.cfg.Node, name)))
		}
	}
	return ops
}

func quietStatus(st *messages.ScopeStatus) []byte {
	c := proto.Clone(st).(*messages.ScopeStatus)
	c.LastPass, c.LastPassDuration, c.Passes = nil, nil, 0
	b, _ := proto.MarshalOptions{Deterministic: true}.Marshal(c)
	return b
}

func buildVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		return bi.Main.Version
	}
	return "unknown"
}
