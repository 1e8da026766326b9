package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"reflect"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/oklog/run"

	"github.com/linx-net/linx/actors/rtnlsource"
	"github.com/linx-net/linx/actors/source"
	"github.com/linx-net/linx/actors/supervisor"
	"github.com/linx-net/linx/api"
	"github.com/linx-net/linx/api/convert"
	"github.com/linx-net/linx/config"
	"github.com/linx-net/linx/internal/scopestore"
	"github.com/linx-net/linx/internal/sdnotify"
	"github.com/linx-net/linx/messages"
	"github.com/linx-net/linx/reconcile"
	"github.com/linx-net/linx/rtnl"
)

// Timeouts of the process wiring, in one place.
const (
	// StopTimeout bounds the wait for a scope's actors to stop when a
	// reload replaces or removes it. A scope stops between passes, so the
	// longest wait is one pass (socket.DefaultPassTimeout is 30 s).
	StopTimeout = 40 * time.Second
	// ShutdownTimeout bounds the HTTP server's graceful shutdown: scrapes
	// are short, so a few seconds are plenty.
	ShutdownTimeout = 5 * time.Second
)

// ErrStopping is returned (wrapped) by Reload once the agent has begun to
// stop its scopes: a scope a reload started then would never be stopped.
var ErrStopping = errors.New("the agent is stopping")

// APIFunc starts the message API for a node with the agent's hooks, as
// ServeAPI does. The returned APIServer's Close stops it.
type APIFunc func(system *actor.ActorSystem, node *supervisor.Node, cfg config.API, hooks api.Options) (APIServer, error)

// ServeAPI is the APIFunc of package api's message API (api.ServeWith),
// the one linx-node runs. Its errors are api.ServeWith's.
func ServeAPI(system *actor.ActorSystem, node *supervisor.Node, cfg config.API, hooks api.Options) (APIServer, error) {
	s, err := api.ServeWith(system, node, cfg, hooks)
	if err != nil {
		return nil, err // not a nil *api.Server in a non-nil APIServer
	}
	return s, nil
}

// APIServer is a running message API.
type APIServer interface {
	io.Closer
	// SetAuthorization replaces the authorization rules (a reload).
	SetAuthorization(grants []config.Grant)
}

// Options configure an Agent. Config and Logger are required.
type Options struct {
	// Path is the configuration file, re-read by Reload. Empty makes
	// Reload fail.
	Path string
	// Config is the configuration loaded from Path.
	Config *config.Config
	// Logger receives the agent's logs and the actor system's.
	Logger *slog.Logger
	// API starts the message API when Config.API.Socket or Listen is
	// set; nil leaves the API off (a configured one is then logged as
	// unserved).
	API APIFunc
	// NoSignals leaves SIGINT, SIGTERM and SIGHUP alone: Run then ends
	// only when its context is done (for tests and embedding).
	NoSignals bool
	// Notifier tells systemd when the agent is ready, pings its watchdog
	// and says when it stops (see package sdnotify); nil sends nothing.
	Notifier *sdnotify.Notifier
	// ReadyTimeout bounds the wait for every configured scope to converge
	// before READY=1 is sent anyway; zero means DefaultReadyTimeout.
	ReadyTimeout time.Duration
}

// Agent is a node agent: an actor system with a node supervisor, the
// scopes of a configuration, metrics and health. Its zero value is not
// usable; call New.
type Agent struct {
	opts    Options
	logger  *slog.Logger
	system  *actor.ActorSystem
	node    *supervisor.Node
	metrics *Metrics
	ready   *readiness
	ln      net.Listener // nil when metrics are off

	mu  sync.Mutex // serialises Reload; guards cfg
	cfg *config.Config

	store *scopestore.Store // the durable scopes' records
	fleet *fleetSource      // nil when fleet is off
	now   func() time.Time

	api        APIServer                                      // nil when the API is off
	configured atomic.Pointer[map[string]*messages.Namespace] // the file's scopes, for the API
	touchedMu  sync.Mutex
	touched    map[string]bool // configured scopes the API changed since the last reload
	pidsMu     sync.Mutex
	pids       map[string]rtnl.NamespaceID // configured pid: scopes' namespaces when spawned

	stopping     atomic.Bool // set when stopScopes starts; Reload is refused from then on
	stopOnce     sync.Once
	stopErr      error
	shutdownOnce sync.Once
}

// New prepares an agent from a loaded configuration: it creates the state
// directory (0700), starts the actor system and the node supervisor, and
// binds the metrics listener. No scope runs until Run. It returns an error
// (and leaves nothing running) if the state directory cannot be created,
// the supervisor cannot start or the metrics address cannot be bound.
func New(o Options) (*Agent, error) {
	if o.Config == nil || o.Logger == nil {
		return nil, errors.New("agent: Options.Config and Options.Logger are required")
	}
	cfg := o.Config
	if err := makeStateDir(cfg.StateDir); err != nil {
		return nil, err
	}
	store, err := scopestore.Open(cfg.StateDir)
	if err != nil {
		return nil, err
	}
	a := &Agent{opts: o, logger: o.Logger, cfg: cfg, ready: newReadiness(), touched: map[string]bool{}, pids: map[string]rtnl.NamespaceID{}, store: store, now: time.Now}
	a.setConfigured(cfg.Scopes)
	a.system = actor.NewActorSystem(actor.WithLoggerFactory(supervisor.LoggerFactory(o.Logger)))
	node, err := supervisor.Start(a.system, supervisor.Config{
		NewSource: a.newSource(cfg.StateDir),
		Spec:      convert.SpecFromProto,
		Desired:   convert.DesiredForNode,
		Check:     rtnlsource.Check,
		Claim:     rtnlsource.Claim,
		Appear:    rtnlsource.Appear,
		Logger:    o.Logger,
	})
	if err != nil {
		a.system.Shutdown()
		return nil, fmt.Errorf("starting the node supervisor: %w", err)
	}
	a.node = node
	a.metrics = NewMetrics(node.List, o.Logger)
	if cfg.Fleet.Enabled() {
		addr := cfg.API.Advertise
		if addr == "" {
			addr = cfg.API.Listen
		}
		if addr == "" {
			addr = cfg.API.Socket
		}
		if a.fleet, err = newFleet(a, cfg.Fleet, cfg.StateDir, addr, a.metrics.Registry); err != nil {
			a.shutdown()
			return nil, err
		}
	}
	if cfg.Metrics.Listen != "off" {
		ln, err := net.Listen("tcp", cfg.Metrics.Listen)
		if err != nil {
			a.shutdown()
			return nil, fmt.Errorf("metrics: %w", err)
		}
		a.ln = ln
	}
	return a, nil
}

// makeStateDir creates dir with mode 0700, or tightens an existing one to
// 0700: the ledgers in it say what the agent may delete.
func makeStateDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("creating the state directory: %w", err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("state directory: %w", err)
	}
	if fi.Mode().Perm() != 0o700 {
		if err := os.Chmod(dir, 0o700); err != nil {
			return fmt.Errorf("state directory: %w", err)
		}
	}
	return nil
}

// newSource returns the supervisor's NewSource: rtnlsource sources with
// ledgers under stateDir, whose passes feed the metrics and readiness.
func (a *Agent) newSource(stateDir string) func(supervisor.Spec) (source.Source, error) {
	factory := rtnlsource.Factory(stateDir, rtnlsource.WithLogger(a.logger))
	return func(spec supervisor.Spec) (source.Source, error) {
		src, err := factory(spec)
		if err != nil {
			return nil, err
		}
		if s, ok := src.(*rtnlsource.Source); ok {
			return a.observed(spec.Name, s), nil
		}
		return src, nil
	}
}

// observedSource is a scope's rtnlsource.Source whose every pass reaches
// the metrics: through OnPass those that ran, and from Pass those that
// failed before reconciling (a namespace gone, a handle or desired state
// of the wrong type), which OnPass never sees.
type observedSource struct {
	*rtnlsource.Source
	name     string
	metrics  *Metrics
	observed atomic.Uint64 // passes OnPass saw
}

func (a *Agent) observed(name string, src *rtnlsource.Source) *observedSource {
	s := &observedSource{Source: src, name: name, metrics: a.metrics}
	observe := a.passObserver(name)
	src.OnPass(func(rep reconcile.Report, err error) {
		s.observed.Add(1)
		observe(rep, err)
	})
	return s
}

// Pass runs the pass and counts it as failed if it ended before OnPass.
// A scope's passes never overlap (its socket actor runs one at a time).
func (s *observedSource) Pass(ctx context.Context, h source.Handle, desired any) source.Report {
	before := s.observed.Load()
	r := s.Source.Pass(ctx, h, desired)
	if s.observed.Load() == before {
		s.metrics.observeEarlyFailure(s.name, r.Duration)
	}
	return r
}

// passObserver returns what sees each pass of scope name: the metrics and
// readiness.
func (a *Agent) passObserver(name string) func(reconcile.Report, error) {
	return func(rep reconcile.Report, err error) {
		a.metrics.observePass(name, rep, err)
		why := ""
		var f *reconcile.Failure
		if objects := rep.Objects(); (err == nil || errors.As(err, &f)) && reconcile.Waiting(objects) == nil {
			why = reconcile.Summary(objects) // ran to its end, and waits for no link
		}
		a.ready.passed(name, rep.Converged && err == nil, why)
	}
}

// Node returns the agent's node supervisor.
func (a *Agent) Node() *supervisor.Node { return a.node }

// System returns the agent's actor system.
func (a *Agent) System() *actor.ActorSystem { return a.system }

// Metrics returns the agent's metrics.
func (a *Agent) Metrics() *Metrics { return a.metrics }

// MetricsAddr returns the address /metrics is served on, nil when off.
func (a *Agent) MetricsAddr() net.Addr {
	if a.ln == nil {
		return nil
	}
	return a.ln.Addr()
}

// Pending returns the configured scopes that have not converged once yet,
// sorted by name, and "fleet" while the fleet source is not in sync with
// etcd: the agent is ready when there are none. A scope waiting for its
// namespace (phase waiting) is not pending: it has nothing to converge.
func (a *Agent) Pending() []string { return a.pending() }

func (a *Agent) pending() []string {
	p := a.unconverged()
	if a.fleet != nil && !a.fleet.synced() {
		p = append(p, "fleet (not in sync with etcd)")
	}
	return p
}

// Run spawns the configured scopes and serves until ctx is done, SIGINT or
// SIGTERM arrives (unless Options.NoSignals), or a server fails; SIGHUP
// calls Reload. Every scope is then stopped, without deleting anything
// from the kernel, and the actor system shut down. It returns nil after a
// signal or a done ctx, the error that ended the run otherwise (a scope
// the supervisor refused to spawn, the API failing to start, a server
// failing). Run may be called once.
func (a *Agent) Run(ctx context.Context) error {
	defer a.shutdown()
	// Signals are caught before anything starts: a SIGHUP (or SIGTERM)
	// arriving while the scopes spawn would otherwise take its default
	// action and kill the agent. They are acted on once everything runs.
	sigs := make(chan os.Signal, 4)
	if !a.opts.NoSignals {
		signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
		defer signal.Stop(sigs)
	}
	a.mu.Lock()
	scopes := slices.Clone(a.cfg.Scopes)
	apiCfg, stateDir := a.cfg.API, a.cfg.StateDir
	a.mu.Unlock()
	for _, s := range scopes {
		if err := a.spawn(s); err != nil {
			return err
		}
	}
	resumed := a.resume()
	if a.fleet != nil {
		// The cached desired state holds until etcd answers.
		a.fleet.resumeCache()
	}

	var g run.Group
	// The node: scopes stop when the group ends, first of all (the group
	// interrupts its members in order): stopping, they still report their
	// status to subscribers through the message API.
	stopNode := make(chan struct{})
	g.Add(func() error {
		<-stopNode
		return nil
	}, func(error) {
		a.stopScopes()
		close(stopNode)
	})

	if apiCfg.Listen != "" || apiCfg.Socket != "" {
		if a.opts.API == nil {
			a.logger.Warn("the message API is configured but this build has none; not serving it", "listen", apiCfg.Listen, "socket", apiCfg.Socket)
		} else {
			srv, err := a.opts.API(a.system, a.node, apiCfg, api.Options{
				Logger:     a.logger,
				Configured: a.configuredNamespace,
				Touched:    a.touch,
				Accepted:   a.recordAPI,
				Owned:      a.owned(),
				Observe:    a.metrics.ObserveAPI,
			})
			if err != nil {
				return fmt.Errorf("starting the message API: %w", err)
			}
			a.mu.Lock()
			a.api = srv
			a.mu.Unlock()
			done := make(chan struct{})
			g.Add(func() error {
				<-done
				return nil
			}, func(error) {
				if err := srv.Close(); err != nil {
					a.logger.Warn("closing the message API", "err", err)
				}
				close(done)
			})
		}
	}

	if a.fleet != nil {
		fctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		g.Add(func() error {
			defer close(done)
			return a.fleet.run(fctx)
		}, func(error) {
			cancel()
			<-done
		})
	}

	if a.ln != nil {
		srv := &http.Server{
			Handler:           Handler(a.metrics, a.pending, a.waiting, a.ready.degradedScopes),
			ReadHeaderTimeout: 10 * time.Second,
			ErrorLog:          slog.NewLogLogger(a.logger.Handler(), slog.LevelWarn),
		}
		a.logger.Info("serving metrics and health", "addr", a.ln.Addr().String())
		g.Add(func() error {
			if err := srv.Serve(a.ln); !errors.Is(err, http.ErrServerClosed) {
				return fmt.Errorf("metrics server: %w", err)
			}
			return nil
		}, func(error) {
			sctx, cancel := context.WithTimeout(context.Background(), ShutdownTimeout)
			defer cancel()
			_ = srv.Shutdown(sctx)
		})
	}

	// systemd: READY=1, watchdog pings, STOPPING=1.
	g.Add(a.notifyActor(a.opts.Notifier, a.opts.ReadyTimeout))

	// Signals and the context.
	quit := make(chan struct{})
	g.Add(func() error { return a.waitSignals(ctx, sigs, quit) }, func(error) { close(quit) })

	a.logger.Info("agent running", "scopes", len(scopes), "resumed", resumed, "state_dir", stateDir)
	err := g.Run()
	var stop stopSignal
	if errors.As(err, &stop) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		a.logger.Info("stopping", "reason", err.Error())
		err = nil
	} else if err != nil {
		a.logger.Error("stopping after a failure", "err", err)
	}
	if serr := a.shutdown(); serr != nil && err == nil {
		err = serr
	}
	return err
}

// stopSignal is how the signal actor ends the group on SIGINT or SIGTERM.
type stopSignal struct{ sig os.Signal }

func (s stopSignal) Error() string { return "received " + s.sig.String() }

// waitSignals returns a stopSignal on SIGINT or SIGTERM from ch, ctx's
// error when it is done, nil when quit is closed; it reloads on SIGHUP.
func (a *Agent) waitSignals(ctx context.Context, ch <-chan os.Signal, quit <-chan struct{}) error {
	for {
		select {
		case sig := <-ch:
			if sig == syscall.SIGHUP {
				if stop, err := a.reloadOnSignal(ctx, ch, quit); stop {
					return err
				}
				continue
			}
			return stopSignal{sig}
		case <-ctx.Done():
			return ctx.Err()
		case <-quit:
			return nil
		}
	}
}

// reloadOnSignal runs Reload for a SIGHUP while it goes on watching ch,
// ctx and quit: SIGINT or SIGTERM, ctx done or quit closed abandon the
// reading of the file (a large one takes seconds; the reload then changes
// nothing) and, once the reload has returned, stop reports true with what
// waitSignals returns. A SIGHUP meanwhile runs one more reload after it.
func (a *Agent) reloadOnSignal(ctx context.Context, ch <-chan os.Signal, quit <-chan struct{}) (stop bool, err error) {
	for again := true; again && !stop; {
		again = false
		a.logger.Info("SIGHUP: reloading the configuration", "path", a.opts.Path)
		rctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() {
			defer close(done)
			_ = a.reload(rctx)
		}()
		ctxDone, quitC := ctx.Done(), quit
	wait:
		for {
			select {
			case <-done:
				break wait
			case sig := <-ch:
				if sig == syscall.SIGHUP {
					again = true
					continue
				}
				stop, err = true, stopSignal{sig}
				cancel()
			case <-ctxDone:
				stop, err, ctxDone = true, ctx.Err(), nil
				cancel()
			case <-quitC:
				stop, err, quitC = true, nil, nil
				cancel()
			}
		}
		cancel()
		// What reading the file allocated is garbage now (a large file's is
		// tens of MB): hand it back to the system rather than keep it as
		// idle heap.
		debug.FreeOSMemory()
	}
	return stop, err
}

// stopScopes stops every scope, deleting nothing from the kernel; it runs
// once and returns the node's stop error.
func (a *Agent) stopScopes() error {
	a.stopping.Store(true)
	a.stopOnce.Do(func() { a.stopErr = a.node.Shutdown() })
	return a.stopErr
}

// shutdown stops every scope (if not done yet), then the actor system; it
// runs once and returns the node's stop error.
func (a *Agent) shutdown() error {
	err := a.stopScopes()
	a.shutdownOnce.Do(func() {
		a.system.Shutdown()
		if a.ln != nil {
			a.ln.Close()
		}
	})
	return err
}

// spawn starts scope s and expects it to converge.
func (a *Agent) spawn(s config.Scope) error {
	a.ready.expect(s.Name)
	a.recordPID(s)
	if err := a.node.Spawn(convert.SpecFromConfig(s)); err != nil {
		a.ready.drop(s.Name)
		return err // "spawning scope NAME: …"
	}
	a.logger.Info("scope spawned", "scope", s.Name, "netns", s.Namespace.String(), "interval", s.Interval, "protocol", uint8(s.Protocol))
	return nil
}

// spawnMessage spawns the scope a SpawnScope message describes (a durable
// record, the fleet), converted to the node's Go form once, here. It
// returns the conversion's error or the node's refusal, naming the scope.
func (a *Agent) spawnMessage(m *messages.SpawnScope) error {
	spec, err := convert.SpecFromProto(m)
	if err != nil {
		return fmt.Errorf("spawning scope %q: %w", m.GetName(), err)
	}
	return a.node.Spawn(spec)
}

// updateMessage gives scope name the desired state of a message, converted
// once, here. It returns the conversion's error or the node's refusal.
func (a *Agent) updateMessage(name string, m *messages.Desired) error {
	d, err := convert.DesiredForNode(m)
	if err != nil {
		return fmt.Errorf("updating scope %q: desired state: %w", name, err)
	}
	return a.node.Update(name, d)
}

// stop stops scope name and forgets it, and waits until its actors are
// gone (so that its ledger is closed and the name is free to spawn again).
// The node drops a forgotten scope's record only once its actors have
// terminated, so the wait is for the name to leave the list: a failed
// scope is marked failed before its actors (perhaps in a pass) have
// stopped. Kernel state is left as it is.
func (a *Agent) stop(name string) error {
	if err := a.node.Stop(name, true); err != nil {
		return fmt.Errorf("stopping scope %q: %w", name, err)
	}
	deadline := time.Now().Add(StopTimeout)
	for {
		list, err := a.node.List()
		if err != nil {
			return fmt.Errorf("stopping scope %q: %w", name, err)
		}
		i := slices.IndexFunc(list, func(s *messages.ScopeStatus) bool { return s.GetName() == name })
		if i < 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("stopping scope %q: still %v after %v", name, list[i].GetPhase(), StopTimeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Reload re-reads the configuration file and applies the scope changes
// (see the package documentation). An invalid file is refused: its
// problems are logged, nothing changes, and the *config.Error is returned.
// Otherwise it returns the failures of the individual changes, joined;
// the changes that succeeded stay applied. Once the agent has begun to stop
// its scopes (the end of Run), it changes nothing and returns an error
// wrapping ErrStopping; a reload already under way then fails to spawn or
// update scopes, as the node refuses to.
func (a *Agent) Reload() error {
	return a.reload(context.Background())
}

// reload is Reload that abandons reading the file when ctx is done (the
// agent is stopping): it then changes nothing and returns ctx's error,
// wrapped.
func (a *Agent) reload(ctx context.Context) error {
	if a.stopping.Load() {
		return a.refuseStopping()
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	// Checked again: stopping may have begun while an earlier reload held
	// the lock.
	if a.stopping.Load() {
		return a.refuseStopping()
	}
	if a.opts.Path == "" {
		return errors.New("reload: no configuration file")
	}
	cfg, err := config.LoadContext(ctx, a.opts.Path)
	if err != nil && ctx.Err() != nil {
		a.logger.Info("reload abandoned: the agent is stopping", "path", a.opts.Path)
		return err
	}
	if err != nil {
		a.metrics.reloads.WithLabelValues("refused").Inc()
		var ce *config.Error
		if errors.As(err, &ce) {
			for _, p := range ce.Problems {
				a.logger.Error("reload refused: configuration problem", "problem", p.String())
			}
		}
		a.logger.Error("reload refused: keeping the running configuration", "path", a.opts.Path, "err", err)
		return err
	}
	old := a.cfg
	rules := cfg.API.Authorization
	if cfg.StateDir != old.StateDir || !sameServing(cfg.API, old.API) || cfg.Metrics != old.Metrics || !reflect.DeepEqual(cfg.Fleet, old.Fleet) {
		a.logger.Warn("reload: state_dir, metrics, fleet and api (but its authorization) are read at start only; restart the agent to change them")
		cfg.StateDir, cfg.API, cfg.Metrics, cfg.Fleet = old.StateDir, old.API, old.Metrics, old.Fleet
	}
	cfg.API.Authorization = rules
	if a.api != nil {
		a.api.SetAuthorization(rules)
		a.logger.Info("reload: api.authorization re-read", "rules", len(rules))
	}
	next := cfg.Scopes
	ch := Diff(old.Scopes, next)
	// running holds, by name, the configuration each scope runs with once
	// the changes are made. Only it is kept as the running configuration:
	// a scope whose spawn failed is left out, so that the next reload
	// spawns it again, and one whose stop failed keeps its old entry.
	running := make(map[string]config.Scope, len(old.Scopes))
	for _, s := range old.Scopes {
		running[s.Name] = s
	}
	var errs []error
	for _, name := range ch.Stop {
		a.ready.drop(name)
		if err := a.stop(name); err != nil {
			errs = append(errs, err)
			continue
		}
		delete(running, name)
		// Only once its actors are gone: a pass in flight until then
		// would bring the series back.
		a.metrics.forget(name)
		a.logger.Info("scope stopped: removed from the configuration; its kernel state is left in place", "scope", name)
	}
	for _, s := range ch.Respawn {
		if err := a.respawn(running, ch.old[s.Name], s); err != nil {
			errs = append(errs, err)
		}
	}
	for _, s := range ch.Update {
		if err := a.node.Update(s.Name, s.Desired); err != nil {
			// A scope that failed or stopped cannot be updated: start it
			// afresh with the new desired state.
			a.logger.Warn("reload: update refused, spawning the scope again", "scope", s.Name, "err", err)
			if err := a.respawn(running, ch.old[s.Name], s); err != nil {
				errs = append(errs, err)
			}
			continue
		}
		running[s.Name] = s
		a.logger.Info("scope updated: new desired state", "scope", s.Name)
	}
	for _, s := range ch.Spawn {
		if err := a.spawn(s); err != nil {
			errs = append(errs, err)
			continue
		}
		running[s.Name] = s
	}
	// The file's scopes belong to the file: those the API changed since
	// the last reload (spawned again, updated, stopped) are put back as
	// the file says. The others that changed above were re-asserted too.
	// Those that stopped or failed on their own are spawned again: a
	// reload is how an operator says "try again".
	reasserted, restarted := 0, 0
	phases := a.phases()
	for _, name := range ch.Unchanged {
		s := running[name]
		if a.untouch(name) {
			if err := a.reassert(s); err != nil {
				errs = append(errs, err)
				a.touch(name)
				continue
			}
			reasserted++
			continue
		}
		if p := phases[name]; p != messages.Phase_PHASE_STOPPED && p != messages.Phase_PHASE_FAILED {
			continue
		}
		if why := a.revivable(s); why != "" {
			a.logger.Warn("reload: a stopped scope is left stopped: a pid: namespace whose process is gone never comes back", "scope", name, "reason", why)
			continue
		}
		if err := a.respawn(running, s, s); err != nil {
			errs = append(errs, err)
			continue
		}
		restarted++
		a.logger.Info("scope spawned again: it had stopped or failed", "scope", name, "was", phaseWord(phases[name]))
	}
	for _, s := range slices.Concat(ch.Spawn, ch.Respawn, ch.Update) {
		a.untouch(s.Name)
	}
	cfg.Scopes = runningScopes(cfg.Scopes, old.Scopes, running)
	a.cfg = cfg
	a.setConfigured(cfg.Scopes)
	// A configured scope that is not running has not converged: /readyz
	// names it until a reload spawns it. A scope no longer configured is
	// not waited for.
	configured := make(map[string]bool, len(next))
	for _, s := range next {
		configured[s.Name] = true
		if _, ok := running[s.Name]; !ok {
			a.ready.expect(s.Name)
		}
	}
	for _, name := range a.ready.pending() {
		if !configured[name] {
			a.ready.drop(name)
		}
	}
	err = errors.Join(errs...)
	if err != nil {
		a.metrics.reloads.WithLabelValues("failed").Inc()
		a.logger.Error("reload: some changes failed; they are tried again at the next reload", "err", err)
	} else {
		a.metrics.reloads.WithLabelValues("applied").Inc()
	}
	a.logger.Info("reload done", "spawned", len(ch.Spawn), "stopped", len(ch.Stop), "respawned", len(ch.Respawn),
		"updated", len(ch.Update), "unchanged", len(ch.Unchanged)-reasserted-restarted, "reasserted", reasserted,
		"restarted", restarted)
	return err
}

// refuseStopping logs and returns Reload's refusal once the agent stops.
func (a *Agent) refuseStopping() error {
	a.logger.Warn("reload refused: the agent is stopping", "path", a.opts.Path)
	return fmt.Errorf("reload: %w", ErrStopping)
}

// runningScopes returns the entries of running, those named in the new
// file first in its order, then those of old still running although the
// new file dropped them (their stop failed).
func runningScopes(next, old []config.Scope, running map[string]config.Scope) []config.Scope {
	out := make([]config.Scope, 0, len(running))
	listed := make(map[string]bool, len(next))
	for _, s := range next {
		listed[s.Name] = true
		if r, ok := running[s.Name]; ok {
			out = append(out, r)
		}
	}
	for _, s := range old {
		if r, ok := running[s.Name]; ok && !listed[s.Name] {
			out = append(out, r)
		}
	}
	return out
}

// respawn stops old and spawns s in its place, and records in running
// what runs afterwards: s, nothing (stopped but not spawned again), or old
// (not stopped). Each namespace has its own ledger file (see
// reconcile.OpenScopeLedger): when the namespace changed, the old ledger
// stays as it is, for the old namespace, and is taken back if the scope
// returns to it.
func (a *Agent) respawn(running map[string]config.Scope, old, s config.Scope) error {
	if err := a.stop(s.Name); err != nil {
		return err
	}
	delete(running, s.Name)
	if err := a.spawn(s); err != nil {
		return err
	}
	running[s.Name] = s
	return nil
}

// sameServing reports whether a and b serve the API alike: everything but
// the authorization rules, which a reload applies.
func sameServing(a, b config.API) bool {
	a.Authorization, b.Authorization = nil, nil
	return reflect.DeepEqual(a, b)
}

// setConfigured records the file's scopes and their namespaces for the API.
func (a *Agent) setConfigured(scopes []config.Scope) {
	m := make(map[string]*messages.Namespace, len(scopes))
	for _, s := range scopes {
		m[s.Name] = convert.NamespaceToProto(s.Namespace)
	}
	a.configured.Store(&m)
}

// configuredNamespace is the API's api.Options.Configured.
func (a *Agent) configuredNamespace(name string) (*messages.Namespace, bool) {
	m := a.configured.Load()
	if m == nil {
		return nil, false
	}
	ns, ok := (*m)[name]
	return ns, ok
}

// touch records that the API changed configured scope name.
func (a *Agent) touch(name string) {
	a.touchedMu.Lock()
	a.touched[name] = true
	a.touchedMu.Unlock()
	a.logger.Warn("a configured scope was changed through the message API; a reload (SIGHUP) puts back what the file says", "scope", name)
}

// untouch forgets that the API changed name, and reports whether it had.
func (a *Agent) untouch(name string) bool {
	a.touchedMu.Lock()
	defer a.touchedMu.Unlock()
	was := a.touched[name]
	delete(a.touched, name)
	return was
}

// reassert puts configured scope s back as the file says: whatever the
// API left running under its name is stopped (nothing is deleted from the
// kernel) and s spawned again, in the file's namespace with the file's
// desired state.
func (a *Agent) reassert(s config.Scope) error {
	list, err := a.node.List()
	if err != nil {
		return fmt.Errorf("re-asserting scope %q: %w", s.Name, err)
	}
	if slices.ContainsFunc(list, func(st *messages.ScopeStatus) bool { return st.GetName() == s.Name }) {
		if err := a.stop(s.Name); err != nil {
			return fmt.Errorf("re-asserting scope %q: %w", s.Name, err)
		}
	}
	if err := a.spawn(s); err != nil {
		return fmt.Errorf("re-asserting scope %q: %w", s.Name, err)
	}
	a.logger.Info("scope re-asserted: the API had changed it; back to what the file says", "scope", s.Name)
	return nil
}
