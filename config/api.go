package config

import (
	"fmt"
	"net"
	"path"
	"path/filepath"
	"strconv"
	"time"
)

// Defaults of the message API, each in one place.
const (
	// DefaultSocket is the local control socket when api.socket is unset:
	// under /run, which only root can write, so nobody else can put a
	// socket of their own in its place.
	DefaultSocket = "/run/linx/linx.sock"
	// DefaultMaxMessageBytes caps one request: a SpawnScope of 100k
	// routes is about 4 MiB in protobuf, so 16 MiB leaves room without
	// letting one peer make the agent buffer gigabytes.
	DefaultMaxMessageBytes = 16 << 20
	// DefaultRequestsPerSecond and DefaultBurst bound each identity's
	// requests: a controller reacting to pod churn sends a few per second;
	// a burst of 50 absorbs a restart that re-spawns its scopes at once.
	DefaultRequestsPerSecond = 20
	DefaultBurst             = 50
	// DefaultMaxScopes caps the scopes spawned through the API in all,
	// and DefaultMaxScopesPerIdentity those of one identity: each scope
	// holds a netlink socket, a monitor socket and a ledger, so the caps
	// keep the descriptors they use far below the process's limit.
	DefaultMaxScopes            = 1024
	DefaultMaxScopesPerIdentity = 256
	// DefaultMaxConnections caps the API's open connections (socket and
	// TCP each), and DefaultMaxConnectionsPerSource those from one source
	// address (TCP) or one uid (socket): a controller needs one or two.
	DefaultMaxConnections          = 256
	DefaultMaxConnectionsPerSource = 16
	// DefaultHandshakeTimeout bounds a TCP connection's TLS handshake: a
	// peer that opens a connection and says nothing holds it that long.
	DefaultHandshakeTimeout = 5 * time.Second
	// DefaultMaxObjects caps the desired objects of one scope for a rule
	// that does not set max_objects: well above the 100k routes Linx is
	// benchmarked with, far below what would exhaust the agent's memory.
	DefaultMaxObjects = 250000
)

// API is the message API: a local Unix socket checked by peer credentials
// and, when Listen is set, TCP with mutual TLS.
type API struct {
	// Socket is the local control socket's path: DefaultSocket when unset,
	// "" when the file says "off". Its directory is made 0750 and the
	// socket 0660, owned by root and Group.
	Socket string
	// Group names the group (name or number) whose members may connect to
	// Socket besides root; "" means root only.
	Group string
	// Listen is host:port for TCP. TCP always requires TLS with a client
	// CA (mutual TLS); "" leaves it off.
	Listen string
	// Advertise is the host:port controllers dial, and the address the
	// agent names itself by in the messages it sends: protoactor routes
	// by it. Required when Listen's host is a wildcard (0.0.0.0, ::, or
	// empty), which no controller can dial; "" means Listen.
	Advertise string
	TLS       TLS
	// Authorization are the rules of who may do what, in file order: the
	// first rule whose identity matches decides (see package api/authz).
	Authorization []Grant
	// Limits bound what peers may cost the agent.
	Limits Limits
}

// Grant is one rule of api.authorization. Its zero value grants nothing.
type Grant struct {
	// Identity is an identity (a TLS certificate's URI SAN or CN, or
	// uid:N on the socket) or a glob of them (path.Match syntax).
	Identity string
	// Verbs are among status, spawn, update and stop; "*" is all four.
	Verbs []string
	// Host allows scopes in the agent's own namespace.
	Host bool
	// PID allows scopes in a process's namespace (pid:N).
	PID bool
	// Paths are globs of namespace files allowed (path:P).
	Paths []string
	// Scopes are globs of the scope names allowed; none means all.
	Scopes []string
	// Configured allows changing and stopping the scopes of the
	// configuration file (and spawning one of their names).
	Configured bool
	// MaxObjects caps the desired objects of a scope; 0 means
	// DefaultMaxObjects.
	MaxObjects int
	// ReplyAddresses are the hosts (or host:port) this identity may name
	// as its reply address besides those its certificate vouches for.
	ReplyAddresses []string
	// Line is where the rule starts in the file.
	Line int
}

// Limits bound what the API's peers may cost the agent. Zero fields take
// the defaults above; Parse fills them in.
type Limits struct {
	MaxMessageBytes         int
	RequestsPerSecond       float64
	Burst                   int
	MaxScopes               int
	MaxScopesPerIdentity    int
	MaxConnections          int
	MaxConnectionsPerSource int
	HandshakeTimeout        time.Duration
}

// WithDefaults returns l with its zero fields set to the defaults.
func (l Limits) WithDefaults() Limits {
	set := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	set(&l.MaxMessageBytes, DefaultMaxMessageBytes)
	set(&l.Burst, DefaultBurst)
	set(&l.MaxScopes, DefaultMaxScopes)
	set(&l.MaxScopesPerIdentity, DefaultMaxScopesPerIdentity)
	set(&l.MaxConnections, DefaultMaxConnections)
	set(&l.MaxConnectionsPerSource, DefaultMaxConnectionsPerSource)
	if l.RequestsPerSecond == 0 {
		l.RequestsPerSecond = DefaultRequestsPerSecond
	}
	if l.HandshakeTimeout == 0 {
		l.HandshakeTimeout = DefaultHandshakeTimeout
	}
	return l
}

// TLS names PEM files for the API's mutual TLS.
type TLS struct {
	Cert, Key, ClientCA string
}

// Enabled reports whether all three files are set.
func (t TLS) Enabled() bool { return t.Cert != "" && t.Key != "" && t.ClientCA != "" }

// Verbs of api.authorization.
var verbs = map[string]bool{"status": true, "spawn": true, "update": true, "stop": true, "*": true}

// api reads the api section into a.
func (r *reader) api(n *node, p string, a *API) {
	socket := ""
	socketSet := false
	r.fields(n, p, map[string]func(*node, string){
		"socket":    func(n *node, p string) { socketSet = true; r.str(&socket)(n, p) },
		"group":     r.str(&a.Group),
		"listen":    r.str(&a.Listen),
		"advertise": r.str(&a.Advertise),
		"tls": func(n *node, p string) {
			r.fields(n, p, map[string]func(*node, string){
				"cert": r.str(&a.TLS.Cert), "key": r.str(&a.TLS.Key),
				"client_ca": r.str(&a.TLS.ClientCA),
			})
		},
		"authorization": func(n *node, p string) {
			r.list(n, p, func(n *node, p string) { a.Authorization = append(a.Authorization, r.grant(n, p)) })
		},
		"limits": func(n *node, p string) { r.limits(n, p, &a.Limits) },
	})
	switch {
	case !socketSet:
		a.Socket = DefaultSocket
	case socket == "off":
		a.Socket = ""
	case !filepath.IsAbs(socket):
		r.fail(n, join(p, "socket"), "want an absolute path or off, got %q", socket)
	default:
		a.Socket = socket
	}
}

func (r *reader) grant(n *node, p string) Grant {
	var g Grant
	g.Line = int(n.at.line)
	strs := func(dst *[]string, check func(string) error) func(*node, string) {
		return func(n *node, p string) {
			r.list(n, p, func(n *node, p string) {
				s, ok := r.scalar(n, p)
				if !ok {
					return
				}
				if err := check(s); err != nil {
					r.fail(n, p, "%v", err)
					return
				}
				*dst = append(*dst, s)
			})
		}
	}
	glob := func(s string) error {
		if _, err := path.Match(s, ""); err != nil || s == "" {
			return fmt.Errorf("want a glob such as tenant-*, got %q", s)
		}
		return nil
	}
	r.fields(n, p, map[string]func(*node, string){
		"identity": func(n *node, p string) {
			r.str(&g.Identity)(n, p)
			if err := glob(g.Identity); err != nil {
				r.fail(n, p, "want an identity (a certificate's URI SAN or CN, uid:N) or a glob of them, got %q", g.Identity)
			}
		},
		"verbs": strs(&g.Verbs, func(s string) error {
			if !verbs[s] {
				return fmt.Errorf("want status, spawn, update, stop or *, got %q", s)
			}
			return nil
		}),
		"namespaces": func(n *node, p string) {
			r.fields(n, p, map[string]func(*node, string){
				"host": r.boolean("true or false", func(v bool) { g.Host = v }),
				"pid":  r.boolean("true or false", func(v bool) { g.PID = v }),
				"paths": strs(&g.Paths, func(s string) error {
					if err := glob(s); err != nil || !filepath.IsAbs(s) {
						return fmt.Errorf("want an absolute path glob such as /var/run/netns/tenant-*, got %q", s)
					}
					return nil
				}),
			})
		},
		"scopes":     strs(&g.Scopes, glob),
		"configured": r.boolean("true or false", func(v bool) { g.Configured = v }),
		"max_objects": func(n *node, p string) {
			if v, ok := r.number(n, p, 1<<30, "a number of objects"); ok {
				g.MaxObjects = int(v)
			}
		},
		"reply_addresses": strs(&g.ReplyAddresses, func(s string) error {
			host := s
			if h, _, err := net.SplitHostPort(s); err == nil {
				host = h
			}
			if host == "" {
				return fmt.Errorf("want a host or host:port, got %q", s)
			}
			return nil
		}),
	}, "identity", "verbs")
	return g
}

func (r *reader) limits(n *node, p string, l *Limits) {
	count := func(dst *int, what string) func(*node, string) {
		return func(n *node, p string) {
			if v, ok := r.number(n, p, 1<<30, what); ok {
				if v == 0 {
					r.fail(n, p, "want %s of at least 1, got 0", what)
					return
				}
				*dst = int(v)
			}
		}
	}
	r.fields(n, p, map[string]func(*node, string){
		"max_message_bytes": func(n *node, p string) {
			s, ok := r.scalar(n, p)
			if !ok {
				return
			}
			v, err := parseSize(s)
			if err != nil || v < 1024 {
				r.fail(n, p, "want a size of at least 1KiB such as 16MiB, got %q", s)
				return
			}
			l.MaxMessageBytes = v
		},
		"requests_per_second": func(n *node, p string) {
			s, ok := r.scalar(n, p)
			if !ok {
				return
			}
			v, err := strconv.ParseFloat(s, 64)
			if err != nil || !(v > 0) || v > 1e6 {
				r.fail(n, p, "want a rate above 0 such as 20, got %q", s)
				return
			}
			l.RequestsPerSecond = v
		},
		"burst":                      count(&l.Burst, "a burst"),
		"max_scopes":                 count(&l.MaxScopes, "a number of scopes"),
		"max_scopes_per_identity":    count(&l.MaxScopesPerIdentity, "a number of scopes"),
		"max_connections":            count(&l.MaxConnections, "a number of connections"),
		"max_connections_per_source": count(&l.MaxConnectionsPerSource, "a number of connections"),
		"handshake_timeout": func(n *node, p string) {
			s, ok := r.scalar(n, p)
			if !ok {
				return
			}
			d, err := time.ParseDuration(s)
			if err != nil || d < 100*time.Millisecond || d > time.Minute {
				r.fail(n, p, "want a duration from 100ms to 1m such as 5s, got %q", s)
				return
			}
			l.HandshakeTimeout = d
		},
	})
}

// checkAPI checks the api section as a whole once read (n is its node,
// nil when the file has none) and fills in the defaults.
func (r *reader) checkAPI(n *node, a *API) {
	if n == nil {
		a.Socket = DefaultSocket
	}
	a.Limits = a.Limits.WithDefaults()
	if a.Listen != "" {
		if host, _, err := net.SplitHostPort(a.Listen); err != nil || host == "" {
			r.fail(n, "api.listen", "want host:port with a host (0.0.0.0 or [::] for every address), got %q", a.Listen)
		} else if !a.TLS.Enabled() {
			r.fail(n, "api.listen", "%q without tls: the message API over TCP always requires mutual TLS (tls.cert, tls.key, tls.client_ca), loopback included; for local control use api.socket (default %s), checked by peer credentials", a.Listen, DefaultSocket)
		} else if isWildcard(a.Listen) && a.Advertise == "" {
			r.fail(n, "api.advertise", "listen %q is on every address, which no controller can dial: set advertise to the host:port they dial", a.Listen)
		}
	}
	if ad := a.Advertise; ad != "" {
		if _, port, err := net.SplitHostPort(ad); err != nil || port == "0" || isWildcard(ad) {
			r.fail(n, "api.advertise", "want the host:port controllers dial (no wildcard host, no port 0), got %q", ad)
		} else if a.Listen == "" {
			r.fail(n, "api.advertise", "advertise without listen: the message API over TCP is off")
		}
	}
	t := a.TLS
	if (t.Cert != "" || t.Key != "" || t.ClientCA != "") && !t.Enabled() {
		r.fail(n, "api.tls", "cert, key and client_ca go together; set all three")
	}
}
