package rtnlsource

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/linx-net/linx/actors/source"
	"github.com/linx-net/linx/actors/supervisor"
	"github.com/linx-net/linx/diff"
	"github.com/linx-net/linx/reconcile"
	"github.com/linx-net/linx/rtnl"
	"github.com/linx-net/linx/rtnl/monitor"
)

// Source drives one namespace. It is safe for concurrent use; its zero
// value is not usable (call New).
type Source struct {
	ns      rtnl.Namespace
	ledger  *reconcile.Ledger
	options reconcile.Options
	monitor []monitor.Option
	logger  *slog.Logger
	// observe, when set, sees every pass's full report (see OnPass).
	observe atomic.Pointer[func(reconcile.Report, error)]
	// fights sees every pass's ops; only the scope's socket actor runs
	// passes, one at a time.
	fights fights
	// id is the namespace's identity when New ran (zero if unknown): a
	// path or pid that names another one since then is gone (see alive).
	id rtnl.NamespaceID
	// retries is the per-object backoff of the scope's passes, and
	// standing the failures and conflicts of the last pass, to log each
	// when it appears and when it clears; both are used by one pass at a
	// time.
	retries  *reconcile.Retries
	retryCap time.Duration
	standing map[standingKey]string
	// name is the scope's, for the log ("" outside a node).
	name string

	// mu guards journal, watching and live: the watch goroutine feeds the
	// journal with the kernel's events, and each pass takes it.
	mu      sync.Mutex
	journal reconcile.Journal
	// watching counts the live watches: a journal is whole only while one
	// is.
	watching int
	// live is the monitor of the latest live watch, muted around a bulk
	// batch of the pass's own routes (see passKernel); nil when none.
	live *monitor.Monitor
	// narrowing and lastOK are the passes' own (one at a time): what a
	// narrowed pass needs of the pass before, and whether that pass
	// reached its end without error.
	narrowing reconcile.Narrowing
	lastOK    bool
}

// Option tunes a Source.
type Option func(*Source)

// WithMonitor passes opts to monitor.Open each time the Source opens its
// watch: monitor.WithReceiveBuffer for a node whose namespaces change in
// bursts larger than the default buffer holds, say.
func WithMonitor(opts ...monitor.Option) Option {
	return func(s *Source) { s.monitor = append(s.monitor, opts...) }
}

// WithRetryCap caps the backoff of an object that keeps failing at d,
// the scope's pass interval (Factory gives each scope its own); zero or
// less keeps reconcile.DefaultRetryMax, the default interval.
func WithRetryCap(d time.Duration) Option {
	return func(s *Source) { s.retryCap = d }
}

// New returns a Source for namespace ns that records what it creates in
// ledger (which must not be nil) and owns routes as o says. Its passes
// hold back only what depends on a failure (o.FailFast is ignored) and
// keep a per-object backoff (reconcile.Retries, from
// reconcile.DefaultRetryFirst up to the cap of WithRetryCap).
func New(ns rtnl.Namespace, ledger *reconcile.Ledger, o reconcile.Options, opts ...Option) (*Source, error) {
	if ledger == nil {
		return nil, errors.New("rtnlsource: nil ledger")
	}
	s := &Source{ns: ns, ledger: ledger, options: o}
	s.id, _ = ns.ID() // zero if unknown: alive then checks the name only
	for _, opt := range opts {
		opt(s)
	}
	s.options.FailFast = false
	s.retries = reconcile.NewRetries(reconcile.DefaultRetryFirst, s.retryCap)
	s.options.Retries = s.retries
	return s, nil
}

// Factory returns a supervisor NewSource function: each scope's ledger is
// kept under stateDir, one file per scope and namespace
// (reconcile.OpenScopeLedger; "" keeps ledgers in memory only, lost when
// the agent exits). The spec's Desired is a reconcile.Desired (already
// validated by the node) and its Source an rtnlsource.Settings (nil means
// the defaults). The function fails, creating nothing, on a namespace
// that is not there (for a path: namespace that may still come, an error
// wrapping source.ErrScopeAbsent: the node waits for it), one that is not
// a network namespace (a path naming a FIFO or a regular file with
// content is refused at once, never opened), a protocol belonging to another
// writer (see reconcile.CheckProtocol), a ledger it cannot open, or a
// protocol that already marks routes in the namespace that the scope did
// not create, unless Settings.AdoptProtocol is set (see
// reconcile.CheckClaim). A ledger file that could not be parsed is moved
// aside and logged (see WithLogger). Every Source it makes is given opts,
// and the receive buffer Settings.MonitorBuffer asks for.
func Factory(stateDir string, opts ...Option) func(spec supervisor.Spec) (source.Source, error) {
	return func(spec supervisor.Spec) (source.Source, error) {
		set, err := settingsOf(spec)
		if err != nil {
			return nil, err
		}
		d, err := desiredOf(spec)
		if err != nil {
			return nil, err
		}
		ns := spec.Namespace
		if set.Protocol != 0 {
			if err := reconcile.CheckProtocol(set.Protocol); err != nil {
				return nil, fmt.Errorf("scope %q: %w", spec.Name, err)
			}
		}
		// A path: namespace that is not there yet fails with an error
		// wrapping source.ErrScopeAbsent (see absent): the node waits.
		if _, err := ns.ID(); err != nil {
			return nil, fmt.Errorf("scope %q: %w", spec.Name, absent(ns, err))
		}
		ledger := reconcile.NewLedger()
		if stateDir != "" {
			if ledger, err = reconcile.OpenScopeLedger(stateDir, spec.Name, ns); err != nil {
				return nil, fmt.Errorf("opening the ledger of scope %q: %w", spec.Name, absent(ns, err))
			}
		}
		o := reconcile.Options{Protocol: set.Protocol, AdoptProtocol: set.AdoptProtocol, NoRoutes: set.NoRoutes}
		if err := checkClaim(ns, d, ledger, o); err != nil {
			return nil, fmt.Errorf("scope %q: %w", spec.Name, absent(ns, err))
		}
		scopeOpts := opts // per call: the closure's opts are shared by every scope
		if n := set.MonitorBuffer; n > 0 {
			scopeOpts = append(opts[:len(opts):len(opts)], WithMonitor(monitor.WithReceiveBuffer(n)))
		}
		if d := spec.Loop.Interval; d > 0 {
			scopeOpts = append(scopeOpts[:len(scopeOpts):len(scopeOpts)], WithRetryCap(d))
		}
		src, err := New(ns, ledger, o, scopeOpts...)
		if err != nil {
			return nil, err
		}
		src.name = spec.Name
		if dmg := ledger.Damaged(); dmg != nil && src.logger != nil {
			src.logger.Warn("ledger damaged: moved aside, the scope starts with an empty ledger",
				"scope", spec.Name, "ledger", dmg.Path, "moved_to", dmg.MovedTo, "err", dmg.Err)
		}
		return src, nil
	}
}

// checkClaim refuses, before the scope starts, a protocol the scope would
// take although it marks routes the scope did not create.
func checkClaim(ns rtnl.Namespace, d reconcile.Desired, ledger *reconcile.Ledger, o reconcile.Options) error {
	sock, err := rtnl.Open(ns)
	if err != nil {
		return err
	}
	defer sock.Close()
	return reconcile.CheckClaim(sock, d, ledger, o)
}

// WithLogger gives the Source a logger for what it must tell although no
// pass fails: a ledger file moved aside as damaged. Without it, nothing
// is logged.
func WithLogger(l *slog.Logger) Option {
	return func(s *Source) { s.logger = l }
}

// Namespace returns the namespace the source drives.
func (s *Source) Namespace() rtnl.Namespace { return s.ns }

// Ledger returns the source's ledger.
func (s *Source) Ledger() *reconcile.Ledger { return s.ledger }

// gone wraps err with source.ErrScopeGone when it says the namespace no
// longer exists: ESRCH (no such process) or ENOENT (no such path; with
// source.ErrScopeAbsent too: a namespace of that path may come again).
func (s *Source) gone(err error) error {
	if err == nil {
		return nil
	}
	if s.ns.PID() != 0 && errors.Is(err, unix.ESRCH) {
		return fmt.Errorf("namespace %s: %w: %w", s.ns, source.ErrScopeGone, err)
	}
	if s.ns.Path() != "" && errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("namespace %s: %w (%w): %w", s.ns, source.ErrScopeGone, source.ErrScopeAbsent, err)
	}
	return err
}

// Open implements source.Source: a socket inside the namespace.
func (s *Source) Open(context.Context) (source.Handle, error) {
	sock, err := rtnl.Open(s.ns)
	if err != nil {
		return nil, s.gone(err)
	}
	return sock, nil
}

// Pass implements source.Source with reconcile.Pass. desired is a
// reconcile.Desired, a *reconcile.Desired or nil (nothing desired: delete
// what the ledger owns), validated by every pass; or a reconcile.Validated
// (see Check), which the pass does not validate again.
//
// With a reconcile.Validated, a pass of source.TriggerEvents is narrowed
// (reconcile.Narrowing.Pass) to the route keys the source's watch saw
// change since the pass before, unless the journal of events cannot be
// trusted: no watch ran all along, events were lost, or one came that
// says routes may have gone silently. A pass of source.TriggerCheck that
// applies operations although no event came since the pass before (which
// ended without error) reports them as Report.Drift.
func (s *Source) Pass(ctx context.Context, h source.Handle, desired any) source.Report {
	sock, ok := h.(*rtnl.Socket)
	if !ok {
		return source.Report{Err: fmt.Errorf("rtnlsource: handle is %T, not *rtnl.Socket", h)}
	}
	var (
		d         reconcile.Desired
		valid     reconcile.Validated
		validated bool
	)
	switch v := desired.(type) {
	case nil:
	case reconcile.Validated:
		valid, validated = v, true
	case reconcile.Desired:
		d = v
	case *reconcile.Desired:
		if v != nil {
			d = *v
		}
	default:
		return source.Report{Err: fmt.Errorf("rtnlsource: desired state is %T, not reconcile.Desired", desired)}
	}
	if err := s.alive(); err != nil {
		return source.Report{Err: err}
	}
	var (
		rep reconcile.Report
		err error
	)
	why := source.TriggerOf(ctx)
	s.mu.Lock()
	j := s.journal.Take()
	live := s.watching > 0
	s.mu.Unlock()
	if !live {
		j.Lost("no watch")
	}
	s.fights.begin(time.Now())
	k := passKernel{sock, s}
	switch {
	case validated && why == source.TriggerEvents:
		rep, err = s.narrowing.Pass(k, valid, s.ledger, s.options, &j)
	case validated:
		rep, err = s.narrowing.Full(k, valid, s.ledger, s.options)
	default:
		s.narrowing.Invalidate()
		rep, err = reconcile.Pass(k, d, s.ledger, s.options)
	}
	if validated {
		d = valid.Desired()
	}
	var drift map[string]int
	if why == source.TriggerCheck && s.lastOK && j.Empty() && len(rep.Applied) > 0 {
		drift = make(map[string]int)
		for i := range rep.Applied {
			drift[rep.Applied[i].Kind.String()]++
		}
	}
	s.lastOK = err == nil
	fight := s.fights.end()
	if fight != nil && err == nil {
		// Converged, but only for now: report the fight instead.
		rep.Converged, err = false, fight
	}
	if fn := s.observe.Load(); fn != nil {
		(*fn)(rep, err)
	}
	out := source.Report{
		Converged: rep.Converged && err == nil,
		Applied:   len(rep.Applied),
		Conflicts: len(rep.Conflicts),
		Err:       err,
		Duration:  rep.Duration,
		Narrowed:  rep.Narrowed,
		Drift:     drift,
	}
	var failure *reconcile.Failure
	if err == nil || errors.As(err, &failure) {
		// The pass ran to its end: what did not converge is per object.
		objects := rep.Objects()
		out.Objects, out.Counts = objectsOf(objects), countsOf(d, objects)
		s.logStanding(objects)
		if next, ok := s.retries.Next(); ok {
			out.RetryIn = max(time.Until(next), time.Millisecond)
		}
		if len(objects) > 0 {
			out.Err = degraded(objects)
		}
	}
	if out.Err != nil {
		// The kernel answers ordinary requests with ENOENT and ESRCH too (a
		// route that just vanished): only a fresh look at the namespace
		// says whether it is gone.
		if goneErr := s.alive(); goneErr != nil {
			out.Err = fmt.Errorf("%w (pass: %w)", goneErr, err)
		}
	}
	return out
}

// Watch implements source.Source with rtnl/monitor, plus a pidfd of the
// namespace's process when it is named by one.
func (s *Source) Watch(context.Context) (source.Watch, error) {
	w := &watch{
		src:    s,
		ch:     make(chan source.Event, 1),
		done:   make(chan struct{}),
		stop:   make(chan struct{}),
		waited: make(chan struct{}),
	}
	if pid := s.ns.PID(); pid != 0 {
		fd, err := unix.PidfdOpen(pid, unix.PIDFD_NONBLOCK)
		if err != nil {
			return nil, s.gone(fmt.Errorf("watching process %d: %w", pid, os.NewSyscallError("pidfd_open", err)))
		}
		w.pidfd = os.NewFile(uintptr(fd), "pidfd:"+strconv.Itoa(pid))
		w.pid = pid
	}
	m, err := monitor.Open(s.ns, s.monitor...)
	if err != nil {
		if w.pidfd != nil {
			w.pidfd.Close()
		}
		return nil, s.gone(err)
	}
	w.m = m
	w.file = s.watchFile()
	s.mu.Lock()
	s.watching++
	s.live = m
	// What happened before the subscription is not in the journal.
	s.journal.Lost("watch started")
	s.mu.Unlock()
	go w.run()
	return w, nil
}

// record feeds the journal with ev.
func (s *Source) record(ev monitor.Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	j := &s.journal
	switch {
	case ev.Op == monitor.ResyncNeeded:
		j.Lost("events lost")
	case ev.Err != nil:
		j.Lost("an event could not be decoded")
	case ev.Route != nil:
		j.Route(*ev.Route, ev.Op.IsDelete())
	case ev.Address != nil:
		j.Address(*ev.Address, ev.Op.IsDelete())
	case ev.Link != nil:
		j.Link(*ev.Link, ev.Op.IsDelete())
	case ev.Nexthop != nil:
		j.Nexthop()
	case ev.Neighbour != nil, ev.Rule != nil:
		j.Other()
	default:
		j.Lost("an event of an unknown kind")
	}
}

// passKernel is the Kernel of a pass: the scope's socket, as a
// reconcile.RouteMuter that mutes the live watch's monitor and a
// reconcile.AppliedObserver that feeds the fight detector.
type passKernel struct {
	*rtnl.Socket
	s *Source
}

// MuteRoutes implements reconcile.RouteMuter with the monitor of the live
// watch: the pass's own bulk batch brings no notification, and the unmute
// a ResyncNeeded, which marks the journal lost (record) and wakes the
// scope for a full pass that sees what else changed meanwhile. Without a
// live watch, or if the monitor cannot mute, the batch is sent as it is:
// hearing its echo is only slower.
func (k passKernel) MuteRoutes() (unmute func()) {
	s := k.s
	s.mu.Lock()
	m := s.live
	s.mu.Unlock()
	if m != nil {
		if unmute, err := m.MuteRoutes(); err == nil {
			return unmute
		}
	}
	return func() {}
}

// Applied implements reconcile.AppliedObserver: the fight detector
// takes in each batch the pass applied, a bulk install's while the
// kernel applies the next.
func (k passKernel) Applied(ops []diff.Op) { k.s.fights.add(ops) }

// unwatched records that the watch of m ended: until another starts, the
// journal misses events.
func (s *Source) unwatched(m *monitor.Monitor) {
	s.mu.Lock()
	if s.live == m {
		s.live = nil
	}
	s.watching--
	s.journal.Lost("watch ended")
	s.mu.Unlock()
}

// watch adapts a *monitor.Monitor (and a pidfd) to source.Watch.
type watch struct {
	src   *Source
	m     *monitor.Monitor
	pidfd *os.File
	pid   int
	ch    chan source.Event
	stop  chan struct{}
	done  chan struct{}
	// waited is closed when the pidfd waiter goroutine has returned.
	waited chan struct{}
	// file ends the watch when a path: namespace's file goes (nil for
	// other namespaces).
	file *fileWatch

	mu     sync.Mutex
	err    error
	closed bool
	once   sync.Once
	cerr   error
}

func (w *watch) run() {
	defer close(w.done)
	defer close(w.ch)
	defer w.src.unwatched(w.m)
	exited := make(chan struct{})
	if w.pidfd != nil {
		go func() {
			defer close(w.waited)
			if waitReadable(w.pidfd) {
				close(exited)
			}
		}()
	} else {
		close(w.waited)
	}
	for {
		select {
		case ev, ok := <-w.m.Events():
			if !ok {
				// Only Close closes the monitor, and Close sets closed
				// first, so this fail is a no-op then. Anything else is a
				// subscription that died: Err must say so, or the monitor
				// actor would take the end for a normal one.
				w.fail(errors.New("rtnetlink monitor ended unexpectedly"))
				return
			}
			w.src.record(ev)
			out := source.Wake
			if ev.Op == monitor.ResyncNeeded {
				out = source.Resync
			}
			w.deliver(out)
		case <-exited:
			w.fail(fmt.Errorf("process %d exited: %w", w.pid, source.ErrScopeGone))
			return
		case err := <-w.file.vanished():
			w.fail(err)
			return
		case <-w.stop:
			return
		}
	}
}

// deliver queues ev without blocking: a pending Wake absorbs later Wakes,
// and a Resync replaces a pending Wake (it covers it).
func (w *watch) deliver(ev source.Event) {
	select {
	case w.ch <- ev:
		return
	default:
	}
	if ev == source.Resync {
		select {
		case old := <-w.ch:
			if old == source.Resync {
				ev = old
			}
		default:
		}
		select {
		case w.ch <- ev:
		default:
		}
	}
}

func (w *watch) fail(err error) {
	w.mu.Lock()
	if !w.closed {
		w.err = err
	}
	w.mu.Unlock()
}

// waitReadable blocks until f (a pidfd) is readable, which happens when the
// process exits, and reports true; it reports false when f is closed.
func waitReadable(f *os.File) bool {
	rc, err := f.SyscallConn()
	if err != nil {
		return false
	}
	ready := false
	err = rc.Read(func(fd uintptr) bool {
		p := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		n, _ := unix.Poll(p, 0)
		ready = n > 0
		return ready
	})
	return err == nil && ready
}

func (w *watch) Events() <-chan source.Event { return w.ch }

func (w *watch) Err() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

func (w *watch) Overruns() uint64 { return w.m.Overruns() }

// Close stops the monitor and the pidfd waiter and waits for them.
func (w *watch) Close() error {
	w.once.Do(func() {
		w.mu.Lock()
		w.closed, w.err = true, nil
		w.mu.Unlock()
		close(w.stop)
		w.cerr = w.m.Close()
		<-w.done
		if err := w.file.close(); err != nil && w.cerr == nil {
			w.cerr = err
		}
		if w.pidfd != nil {
			// Closing the pidfd wakes its waiter goroutine.
			if err := w.pidfd.Close(); err != nil && w.cerr == nil {
				w.cerr = err
			}
		}
		<-w.waited
	})
	return w.cerr
}
