package api

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"

	"github.com/linx-net/linx/actors/supervisor"
	"github.com/linx-net/linx/api/authz"
	"github.com/linx-net/linx/config"
	"github.com/linx-net/linx/messages"
)

// Transports a request can arrive by, as audited.
const (
	TransportSocket = "socket"
	TransportTCP    = "tcp"
)

// Results of a request, as audited and counted in
// linx_api_requests_total{verb,result}.
const (
	ResultAccepted = "accepted" // the node accepted it
	ResultFailed   = "failed"   // authorized, but the node refused it
	ResultRefused  = "refused"  // the authorization rules refused it
	ResultLimited  = "limited"  // a rate or scope limit refused it
	ResultInvalid  = "invalid"  // not a request of the message API
)

// DefaultRequestTimeout bounds the wait for the node's answer to one
// forwarded request: the node answers from memory.
const DefaultRequestTimeout = 10 * time.Second

// Options are the agent's hooks into the message API. The zero value
// serves with the built-in authorization rules, no configured scopes,
// and slog.Default().
type Options struct {
	// Logger receives the API's logs and its audit lines; nil means
	// slog.Default().
	Logger *slog.Logger
	// Configured returns the namespace of the configuration file's scope
	// name, and false when the file has no such scope. Nil means none.
	Configured func(name string) (*messages.Namespace, bool)
	// Touched is told, after the node accepted it, of every spawn, update
	// or stop of a configured scope through the API, so that a reload can
	// re-assert the file. Nil ignores them.
	Touched func(name string)
	// Accepted is told, after the node accepted it, of every spawn, update
	// or stop through the API and the identity that made it (the agent
	// records them to resume the scopes after a restart). It runs on the
	// request's goroutine. Nil ignores them.
	Accepted func(identity string, m proto.Message)
	// Owned are the scopes an earlier run of the agent spawned through the
	// API and resumed: they stay their owners' (for the authorization of
	// an update or a stop, and the scope limits) as if spawned now.
	Owned []OwnedScope
	// Observe counts each request by verb and result (the agent's
	// linx_api_requests_total). Nil counts nothing.
	Observe func(verb, result string)
}

// OwnedScope is a scope spawned through the API by Identity, in
// Namespace; Stopped when it was stopped since (without being forgotten).
type OwnedScope struct {
	Name      string
	Identity  string
	Namespace *messages.Namespace
	Stopped   bool
}

// Peer is who sent a request: its identity and how it reached the agent.
type Peer struct {
	// Identity is the peer's name for authorization (uid:N on the socket,
	// the certificate's URI SAN or CN over TCP).
	Identity string
	// Transport is TransportSocket or TransportTCP.
	Transport string
	// Addr is the connection's source (a TCP address; pid:N on the socket).
	Addr string
}

// gate authorizes, limits, audits and forwards the requests of both
// transports to the node supervisor. A refused request never reaches the
// node. Its methods may be called from any goroutine.
type gate struct {
	system  *actor.ActorSystem
	node    *actor.PID
	limits  config.Limits
	opts    Options
	logger  *slog.Logger
	rules   atomic.Pointer[authz.Rules]
	timeout time.Duration
	now     func() time.Time

	mu      sync.Mutex
	owned   map[string]owned   // scopes spawned through the API, by name
	buckets map[string]*bucket // request budgets, by identity
}

// owned is a scope spawned through the API.
type owned struct {
	owner string
	ns    *messages.Namespace
	root  bool // root's on the socket, which no cap counts
	// stopped scopes keep their namespace (a stop again, a spawn in
	// their place) but no longer count against the caps.
	stopped bool
}

func newGate(system *actor.ActorSystem, node *supervisor.Node, cfg config.API, opts Options) *gate {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	g := &gate{
		system:  system,
		node:    node.PID(),
		limits:  cfg.Limits,
		opts:    opts,
		logger:  opts.Logger,
		timeout: DefaultRequestTimeout,
		now:     time.Now,
		owned:   map[string]owned{},
		buckets: map[string]*bucket{},
	}
	for _, o := range opts.Owned {
		// Root's scopes are root's on the socket, the only place uid:0
		// can come from.
		g.owned[o.Name] = owned{owner: o.Identity, ns: o.Namespace, root: o.Identity == "uid:0", stopped: o.Stopped}
	}
	g.rules.Store(authz.New(cfg.Authorization))
	return g
}

// setRules replaces the authorization rules (a reload).
func (g *gate) setRules(grants []config.Grant) { g.rules.Store(authz.New(grants)) }

// handle judges m from p and, if allowed, forwards it to the node and
// returns the node's answer; otherwise it returns an Ack whose error says
// why. Every mutating request is audited, whatever its outcome.
func (g *gate) handle(p Peer, m proto.Message) proto.Message {
	verb, ok := authz.VerbOf(m)
	if !ok {
		if g.opts.Observe != nil {
			g.opts.Observe("unknown", ResultInvalid)
		}
		return &messages.Ack{Error: fmt.Sprintf("invalid request: %s is not a request of the message API", proto.MessageName(m))}
	}
	req := authz.Request{Identity: p.Identity, Verb: verb}
	if n, ok := m.(interface{ GetName() string }); ok {
		req.Scope = n.GetName()
	}
	var configuredNS *messages.Namespace
	if g.opts.Configured != nil && req.Scope != "" {
		configuredNS, req.Configured = g.opts.Configured(req.Scope)
	}
	switch m := m.(type) {
	case *messages.SpawnScope:
		req.Namespace = m.GetNamespace()
		if req.Namespace == nil {
			req.Namespace = &messages.Namespace{Kind: &messages.Namespace_Host{Host: true}}
		}
		req.Objects = authz.Objects(m.GetDesired())
		req.Reaches = authz.PeerNamespaces(m.GetDesired())
	case *messages.UpdateDesired, *messages.StopScope:
		if u, ok := m.(*messages.UpdateDesired); ok {
			req.Objects = authz.Objects(u.GetDesired())
			req.Reaches = authz.PeerNamespaces(u.GetDesired())
		}
		g.mu.Lock()
		o, ok := g.owned[req.Scope]
		g.mu.Unlock()
		switch {
		case ok:
			req.Namespace = o.ns
		case req.Configured:
			req.Namespace = configuredNS
		}
	}

	// Root on the socket is the operator: the limits protect the agent
	// from its peers, and root can stop the agent anyway.
	root := p.Transport == TransportSocket && p.Identity == "uid:0"
	if p.Transport != TransportSocket && strings.HasPrefix(p.Identity, "uid:") {
		// uid:N names local users, whose credentials the kernel vouches
		// for on the socket; a certificate may not claim one.
		return g.finish(p, req, ResultRefused, fmt.Sprintf("permission denied: a certificate may not name itself %q: uid:N identities are the local socket's", p.Identity), "")
	}
	if !root && !g.allow(p.Identity) {
		err := fmt.Sprintf("rate limited: %q has made more than %g requests per second (burst %d); try again later",
			p.Identity, g.limits.RequestsPerSecond, g.limits.Burst)
		return g.finish(p, req, ResultLimited, err, "")
	}
	d := g.rules.Load().Decide(req)
	if !d.Allowed {
		return g.finish(p, req, ResultRefused, d.Err(req).Error(), d.Rule)
	}
	if verb == authz.Spawn && !root {
		if err := g.reserve(p.Identity, req.Scope); err != "" {
			return g.finish(p, req, ResultLimited, err, d.Rule)
		}
	}
	reply, err := g.system.Root.RequestFuture(g.node, m, g.timeout).Result()
	if err != nil {
		return g.finish(p, req, ResultFailed, fmt.Sprintf("the node did not answer: %v", err), d.Rule)
	}
	msg, ok := reply.(proto.Message)
	if !ok {
		return g.finish(p, req, ResultFailed, fmt.Sprintf("the node answered %T", reply), d.Rule)
	}
	if a, ok := msg.(*messages.Ack); ok && a.GetError() != "" {
		g.finish(p, req, ResultFailed, a.GetError(), d.Rule)
		return msg
	}
	if verb.Mutating() {
		s, _ := m.(*messages.StopScope)
		g.record(p.Identity, root, req, s.GetForget())
		if req.Configured && g.opts.Touched != nil {
			g.opts.Touched(req.Scope)
		}
		if g.opts.Accepted != nil {
			g.opts.Accepted(p.Identity, m)
		}
	}
	g.finish(p, req, ResultAccepted, "", d.Rule)
	return msg
}

// finish audits and counts a request, and returns the Ack a refusal
// answers with (errText "" for success).
func (g *gate) finish(p Peer, req authz.Request, result, errText, rule string) proto.Message {
	if g.opts.Observe != nil {
		g.opts.Observe(req.Verb.String(), result)
	}
	if req.Verb.Mutating() || result == ResultRefused || result == ResultLimited {
		level := slog.LevelInfo
		if result == ResultRefused || result == ResultLimited {
			level = slog.LevelWarn
		}
		attrs := []any{
			"identity", p.Identity, "transport", p.Transport, "peer", p.Addr,
			"verb", req.Verb.String(), "scope", req.Scope, "namespace", nsText(req.Namespace),
			"objects", req.Objects, "configured", req.Configured, "result", result,
		}
		if rule != "" {
			attrs = append(attrs, "rule", rule)
		}
		if errText != "" {
			attrs = append(attrs, "err", errText)
		}
		g.logger.Log(context.Background(), level, "api audit", attrs...)
	}
	return &messages.Ack{Error: errText}
}

// nsText names a namespace as the configuration does.
func nsText(ns *messages.Namespace) string {
	switch k := ns.GetKind().(type) {
	case nil:
		return ""
	case *messages.Namespace_Host:
		return "host"
	case *messages.Namespace_Pid:
		return fmt.Sprintf("pid:%d", k.Pid)
	case *messages.Namespace_Path:
		return "path:" + k.Path
	}
	return "unknown"
}

// reserve checks the scope caps for a spawn of name by identity; it
// returns why it is refused, "" when it may go on. A name already owned
// (a stopped scope spawned again) does not count twice, nor do root's.
func (g *gate) reserve(identity, name string) string {
	g.mu.Lock()
	defer g.mu.Unlock()
	if o, ok := g.owned[name]; ok && !o.stopped {
		return "" // the node refuses a running name anyway
	}
	all, n := 0, 0
	for _, o := range g.owned {
		if o.root || o.stopped {
			continue
		}
		all++
		if o.owner == identity {
			n++
		}
	}
	if all >= g.limits.MaxScopes {
		return fmt.Sprintf("scope limit: %d scopes spawned through the API already (api.limits.max_scopes)", all)
	}
	if n >= g.limits.MaxScopesPerIdentity {
		return fmt.Sprintf("scope limit: %q has spawned %d scopes already (api.limits.max_scopes_per_identity)", identity, n)
	}
	return ""
}

// record notes what an accepted request changed in the scopes the API
// owns: a spawn records its owner and namespace, a stop marks it stopped
// (forget drops it, as the node does).
func (g *gate) record(identity string, root bool, req authz.Request, forget bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	switch req.Verb {
	case authz.Spawn:
		g.owned[req.Scope] = owned{owner: identity, ns: req.Namespace, root: root}
	case authz.Stop:
		if forget {
			// The node forgets it too: a spawn of the name is a new scope.
			delete(g.owned, req.Scope)
		} else if o, ok := g.owned[req.Scope]; ok {
			o.stopped = true
			g.owned[req.Scope] = o
		}
	}
}

// allow takes one request from identity's budget.
func (g *gate) allow(identity string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	b := g.buckets[identity]
	now := g.now()
	if b == nil {
		// Budgets are kept per identity; an identity that made no
		// request for a while is forgotten, so that a flood of names
		// cannot grow the map without bound.
		if len(g.buckets) > 4096 {
			for id, old := range g.buckets {
				if now.Sub(old.last) > time.Minute {
					delete(g.buckets, id)
				}
			}
		}
		b = &bucket{tokens: float64(g.limits.Burst), last: now}
		g.buckets[identity] = b
	}
	return b.take(now, g.limits.RequestsPerSecond, float64(g.limits.Burst))
}

// bucket is a token bucket: rate tokens a second up to burst.
type bucket struct {
	tokens float64
	last   time.Time
}

func (b *bucket) take(now time.Time, rate, burst float64) bool {
	b.tokens = min(burst, b.tokens+now.Sub(b.last).Seconds()*rate)
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}
