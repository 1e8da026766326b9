package config

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"slices"
	"time"

	"github.com/linx-net/linx/reconcile"
	"github.com/linx-net/linx/rtnl"
)

// Defaults, each in one place.
const (
	// DefaultStateDir holds the ownership ledgers when state_dir is unset.
	DefaultStateDir = "/var/lib/linx"
	// DefaultInterval is the safety-net resync period of a scope: events
	// wake a pass within milliseconds, so the timer only has to catch what
	// an overrun lost.
	DefaultInterval = 30 * time.Second
	// DefaultMetricsListen serves /metrics, /healthz and /readyz on
	// loopback only unless told otherwise.
	DefaultMetricsListen = "127.0.0.1:9476"
	// MinInterval keeps a mistyped interval ("1ms") from turning the safety
	// net into a busy loop.
	MinInterval = 100 * time.Millisecond
	// MaxMonitorBuffer bounds a scope's monitor_buffer.
	MaxMonitorBuffer = 1 << 30
	// MaxFileSize bounds a configuration (and a fleet file): 128 MiB holds
	// a full Internet table (about 1.25M routes at some 50 bytes each) with
	// room to spare, and keeps a mistaken or hostile file from being read
	// at all. A larger file is refused before it is read.
	MaxFileSize = 128 << 20
	// MaxDepth bounds how deeply mappings and lists may nest. The deepest
	// place in the schema (scopes, a scope, desired, routes, a route, via,
	// a hop, under the top mapping) is 8 levels down; 64 leaves room for
	// layout while refusing, after a few dozen events, input built to make
	// a parser work hard.
	MaxDepth = 64
)

// Config is a validated agent configuration.
type Config struct {
	// StateDir is where each scope's ledger is kept (created 0700).
	StateDir string
	// API configures the message API; its zero value leaves it off.
	API API
	// Metrics configures the HTTP metrics and health endpoint.
	Metrics Metrics
	// Fleet makes etcd a source of desired scopes; its zero value leaves
	// it off.
	Fleet Fleet
	// Scopes are the namespaces to converge, in file order.
	Scopes []Scope
}

// Metrics is the HTTP endpoint for /metrics, /healthz and /readyz.
type Metrics struct {
	// Listen is host:port; "" uses DefaultMetricsListen, "off" disables.
	Listen string
}

// Scope is one namespace the agent converges.
type Scope struct {
	// Name identifies the scope (and names its ledger file).
	Name string
	// Namespace is where the scope's state lives.
	Namespace rtnl.Namespace
	// Interval is the resync period.
	Interval time.Duration
	// Protocol tags (and owns) the scope's routes.
	Protocol rtnl.Protocol
	// AdoptProtocol lets the scope take its protocols (Protocol and the
	// desired routes' overrides) although they already mark routes in the
	// namespace that the scope did not create: those routes become its own
	// and are deleted unless desired. Without it the scope is refused (see
	// reconcile.Pass). YAML: adopt_protocol.
	AdoptProtocol bool
	// NoRoutes makes a scope that manages no routes (it may desire none,
	// and claims no protocol; see reconcile.Options.NoRoutes). YAML:
	// no_routes.
	NoRoutes bool
	// MonitorBuffer is the kernel receive buffer of the scope's event
	// monitor, in bytes; 0 means the default (rtnl/monitor's
	// DefaultReceiveBuffer).
	MonitorBuffer int
	// Desired is the state to converge onto.
	Desired reconcile.Desired
	// Line is where the scope starts in the file (for messages).
	Line int
}

// Load reads and validates the file at path. It returns an *Error listing
// every problem with its line, or an error from reading the file. A file
// larger than MaxFileSize is refused (an *Error) without being read.
func Load(path string) (*Config, error) {
	return LoadContext(context.Background(), path)
}

// LoadContext is Load that gives up when ctx is done, returning ctx's
// error wrapped: reading a large file takes a while (about a second for
// 100,000 routes), and an agent told to stop meanwhile should not wait.
func LoadContext(ctx context.Context, path string) (*Config, error) {
	data, err := ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseContext(ctx, path, data)
}

// ReadFile reads the file at path for Parse or ParseFleet. A file larger
// than MaxFileSize is refused with an *Error naming the limit, before
// anything is read; any other failure is wrapped ("reading config: …").
func ReadFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading config: %w", err)
	}
	defer f.Close()
	tooBig := func(size int64) error {
		return &Error{Problems: []Problem{{File: path,
			Message: fmt.Sprintf("the file is %d bytes, more than the %d MiB limit (MaxFileSize)", size, MaxFileSize>>20)}}}
	}
	if st, err := f.Stat(); err == nil && st.Size() > MaxFileSize {
		return nil, tooBig(st.Size())
	}
	// A file that grows while read (or a pipe) is cut at the limit plus one
	// byte, which Parse then refuses.
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("reading config: %w", err)
	}
	if len(data) > MaxFileSize {
		return nil, tooBig(int64(len(data)))
	}
	return data, nil
}

// Parse validates data, naming it file in messages. It returns an *Error
// listing every problem found, each with file:line, or the Config.
func Parse(file string, data []byte) (*Config, error) {
	return ParseContext(context.Background(), file, data)
}

// ParseContext is Parse that gives up when ctx is done, returning ctx's
// error wrapped ("reading FILE: context canceled").
func ParseContext(ctx context.Context, file string, data []byte) (*Config, error) {
	r := &reader{file: file, ctx: ctx}
	cfg := r.config(data)
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("reading %s: %w", file, err)
	}
	if len(r.problems) > 0 {
		slices.SortStableFunc(r.problems, func(a, b Problem) int { return a.Line - b.Line })
		return nil, &Error{Problems: r.problems}
	}
	return cfg, nil
}

// isWildcard reports whether listen's host (host:port) is one no peer can
// dial: empty, 0.0.0.0 or ::.
func isWildcard(listen string) bool {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return false
	}
	a, err := netip.ParseAddr(host)
	return host == "" || (err == nil && a.IsUnspecified())
}
