package supervisor

import (
	"errors"
	"log/slog"
	"time"

	"github.com/linx-net/linx/actors/reconciler"
	"github.com/linx-net/linx/actors/socket"
	"github.com/linx-net/linx/actors/source"
	"github.com/linx-net/linx/messages"
)

// Defaults for Config's zero fields, in one place. The loop's own defaults
// (interval 30 s, debounce 2 ms, 10 passes/s, burst 3, pass timeout 30 s)
// are documented in packages reconciler and socket.
const (
	// DefaultName is the node supervisor's actor name.
	DefaultName = "linx"
	// DefaultMaxRestarts and DefaultRestartWindow: a scope that crashes more
	// than 10 times within a minute is not healing itself by restarting
	// (each restart already re-opened everything and resynchronised), so it
	// is marked failed for an operator to look at instead of burning CPU.
	DefaultMaxRestarts   = 10
	DefaultRestartWindow = time.Minute
	// DefaultRequestTimeout bounds the Node helpers' requests. The node
	// answers from memory, so only an overloaded system comes near it.
	DefaultRequestTimeout = 5 * time.Second
	// DefaultShutdownMargin is added to the longest pass timeout of the
	// node's scopes to bound Node.Shutdown when Config.ShutdownTimeout is
	// zero. A scope stops between passes, so stopping may first wait for
	// a pass to end (at most its pass timeout); the margin covers closing
	// an abandoned pass's handle and the actors' own stopping.
	DefaultShutdownMargin = 10 * time.Second
	// DefaultWaitRetry and DefaultWaitRetryMax: a scope waiting for its
	// namespace (phase waiting) tries again after 100 ms, doubling up to
	// 1 s. A try is one failed stat of a path, so waiting for a namespace
	// that never comes costs one syscall or so a second; 1 s bounds how
	// long a namespace that appears unannounced (Config.Appear saw
	// nothing) waits to be converged.
	DefaultWaitRetry    = 100 * time.Millisecond
	DefaultWaitRetryMax = time.Second
)

// Config configures a node supervisor. NewSource is required.
type Config struct {
	// Name is the node supervisor's actor name; empty means DefaultName.
	Name string
	// NewSource builds the Source of a scope being spawned. It is called
	// once per spawn, after the spec's desired state has been validated
	// and its claim checked; the Source lives until the scope stops or
	// fails, across every restart in between, and is closed then if it
	// implements io.Closer. An error rejects the spawn, except one
	// wrapping source.ErrScopeAbsent: the scope then waits (see the
	// package documentation) and NewSource is called again later.
	NewSource func(spec Spec) (source.Source, error)
	// Spec converts a SpawnScope message that reaches the node as such
	// (from the message API or another actor) into the Spec it spawns,
	// once, where it arrives; its desired state is validated by the node
	// afterwards. An error rejects the message. Nil uses MessageSpec with
	// the desired state converted by Desired, and the message itself as
	// Spec.Source.
	Spec func(m *messages.SpawnScope) (Spec, error)
	// Desired converts the desired state of an UpdateDesired message (and
	// of a SpawnScope message when Spec is nil) into what the Source's
	// Pass expects, without validating it (the node does, once). An
	// error rejects the request. Nil passes the *messages.Desired itself.
	Desired func(d *messages.Desired) (any, error)
	// Check validates a desired state, once per spawn or update, and
	// returns the form the Source's Pass is then given every pass (for
	// package rtnlsource, rtnlsource.Check returns a reconcile.Validated,
	// so that passes do not validate it again). An error refuses the
	// spawn or update. Nil calls the value's own Validate() error method,
	// if it has one, and keeps the value as it is.
	Check func(desired any) (any, error)
	// Claim returns what a scope with spec (its desired state current)
	// owns exclusively. The node refuses a spawn or an update whose claim
	// overlaps another running scope's, naming that scope, whichever way
	// each arrived (configuration, API, records, fleet). An error rejects
	// the request. Nil claims nothing.
	Claim func(spec Spec) (Claim, error)
	// Appear, when set, watches for a waiting scope's namespace (for
	// package rtnlsource, rtnlsource.Appear): the channel it returns is
	// closed when the scope may have appeared, and the node tries
	// NewSource again at once instead of at the end of its backoff. stop
	// releases what it holds and returns once it has; the node calls it
	// exactly once per call of Appear. Nil means the backoff alone.
	Appear func(spec Spec) (appeared <-chan struct{}, stop func())
	// WaitRetry is the first delay between the tries of a waiting scope
	// (see ErrScopeAbsent in package source), doubling up to WaitRetryMax;
	// zero means DefaultWaitRetry and DefaultWaitRetryMax.
	WaitRetry, WaitRetryMax time.Duration
	// MaxRestarts restarts of one scope within RestartWindow are allowed;
	// one more marks the scope failed. Zero means DefaultMaxRestarts;
	// negative means a scope is never restarted.
	MaxRestarts   int
	RestartWindow time.Duration // zero means DefaultRestartWindow
	// Loop defaults for scopes whose Spec.Loop leaves them unset; zero
	// fields take the reconciler's and socket's defaults.
	Interval    time.Duration
	Debounce    time.Duration
	Rate        float64
	Burst       int
	PassTimeout time.Duration
	// RequestTimeout bounds Node's helper calls; zero means
	// DefaultRequestTimeout.
	RequestTimeout time.Duration
	// ShutdownTimeout bounds Node.Shutdown's wait for every scope to stop.
	// Zero means the longest pass timeout of any scope spawned so far (or
	// PassTimeout, if longer) plus DefaultShutdownMargin: a slow pass in
	// flight then delays the shutdown instead of failing it.
	ShutdownTimeout time.Duration
	// Logger receives the actors' logs; nil means slog.Default().
	Logger *slog.Logger
}

func (c Config) withDefaults() (Config, error) {
	if c.NewSource == nil {
		return c, errors.New("supervisor: Config.NewSource is nil")
	}
	if c.Name == "" {
		c.Name = DefaultName
	}
	if c.MaxRestarts == 0 {
		c.MaxRestarts = DefaultMaxRestarts
	}
	if c.RestartWindow <= 0 {
		c.RestartWindow = DefaultRestartWindow
	}
	if c.Interval <= 0 {
		c.Interval = reconciler.DefaultInterval
	}
	if c.Debounce == 0 {
		c.Debounce = reconciler.DefaultDebounce
	}
	if c.Rate <= 0 {
		c.Rate = reconciler.DefaultRate
	}
	if c.Burst <= 0 {
		c.Burst = reconciler.DefaultBurst
	}
	if c.PassTimeout <= 0 {
		c.PassTimeout = socket.DefaultPassTimeout
	}
	if c.WaitRetry <= 0 {
		c.WaitRetry = DefaultWaitRetry
	}
	if c.WaitRetryMax <= 0 {
		c.WaitRetryMax = DefaultWaitRetryMax
	}
	c.WaitRetryMax = max(c.WaitRetryMax, c.WaitRetry)
	if c.RequestTimeout <= 0 {
		c.RequestTimeout = DefaultRequestTimeout
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c, nil
}

// loopFor merges a Spec's loop settings over the node's defaults.
func (c Config) loopFor(spec Spec) loopConfig {
	l := loopConfig{
		interval:    c.Interval,
		debounce:    c.Debounce,
		passTimeout: c.PassTimeout,
		rate:        c.Rate,
		burst:       c.Burst,
		noMonitor:   spec.Loop.NoMonitor,
	}
	if d := spec.Loop.Interval; d > 0 {
		l.interval = d
	}
	if d := spec.Loop.Debounce; d != 0 {
		l.debounce = d
	}
	if d := spec.Loop.PassTimeout; d > 0 {
		l.passTimeout = d
	}
	if r := spec.Loop.Rate; r > 0 {
		l.rate = r
	}
	if b := spec.Loop.Burst; b > 0 {
		l.burst = b
	}
	return l
}
