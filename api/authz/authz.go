package authz

import (
	"fmt"
	"net"
	"path"
	"strings"

	"github.com/linx-net/linx/config"
	"github.com/linx-net/linx/messages"
)

// Verb is what a request does. The zero value is Status.
type Verb uint8

// The verbs of the message API.
const (
	// Status reads: GetStatus, ListScopes, Subscribe, Unsubscribe.
	Status Verb = iota
	// Spawn starts a scope: SpawnScope.
	Spawn
	// Update replaces a scope's desired state: UpdateDesired.
	Update
	// Stop stops a scope: StopScope.
	Stop
)

// String returns the verb's name as api.authorization spells it.
func (v Verb) String() string {
	switch v {
	case Status:
		return "status"
	case Spawn:
		return "spawn"
	case Update:
		return "update"
	case Stop:
		return "stop"
	}
	return fmt.Sprintf("verb(%d)", uint8(v))
}

// Mutating reports whether v changes the agent's state (and is audited).
func (v Verb) Mutating() bool { return v != Status }

// VerbOf returns the verb of a message of package messages, and false for
// any other message.
func VerbOf(m any) (Verb, bool) {
	switch m.(type) {
	case *messages.GetStatus, *messages.ListScopes, *messages.Subscribe, *messages.Unsubscribe:
		return Status, true
	case *messages.SpawnScope:
		return Spawn, true
	case *messages.UpdateDesired:
		return Update, true
	case *messages.StopScope:
		return Stop, true
	}
	return 0, false
}

// Request is what Rules.Decide judges. Its zero value is a status request
// by the empty identity.
type Request struct {
	// Identity is the requester: a certificate's URI SAN or CN, or uid:N.
	Identity string
	// Verb is what it asks.
	Verb Verb
	// Scope is the scope's name ("" for a list or a subscription).
	Scope string
	// Namespace is where the scope lives: the one a SpawnScope names, or
	// the one the scope was spawned in for an update or a stop. Nil (or
	// unset) is the host namespace, and a scope whose namespace is not
	// known is judged as the host's.
	Namespace *messages.Namespace
	// Reaches lists the other namespaces the desired state makes objects
	// in: the peer namespaces of its veths (PeerNamespaces). Each must be
	// granted as Namespace is.
	Reaches []*messages.Namespace
	// Objects counts the desired objects a spawn or update carries.
	Objects int
	// Configured reports whether Scope is one of the configuration file's.
	Configured bool
}

// Decision is Rules.Decide's answer. Its zero value refuses, naming no
// rule.
type Decision struct {
	// Allowed reports whether the request may go on.
	Allowed bool
	// Rule names the rule that decided: "api.authorization[2] (line 14)",
	// or one of the built-in rules.
	Rule string
	// Reason says why a request was refused; "" when allowed.
	Reason string
	// MaxObjects is the decisive rule's cap on desired objects per scope.
	MaxObjects int
}

// Err returns nil for an allowed decision, and otherwise an error naming
// the identity, the verb, the reason and the rule.
func (d Decision) Err(r Request) error {
	if d.Allowed {
		return nil
	}
	return fmt.Errorf("permission denied: %s may not %s %s: %s (rule %s)", quoteID(r.Identity), r.Verb, scopeText(r), d.Reason, d.Rule)
}

func quoteID(id string) string {
	if id == "" {
		return "an unnamed peer"
	}
	return fmt.Sprintf("%q", id)
}

func scopeText(r Request) string {
	if r.Scope == "" {
		return "scopes"
	}
	return fmt.Sprintf("scope %q", r.Scope)
}

// Names of the built-in rules, which apply after those of the file.
const (
	// RuleRoot lets uid 0 on the local socket do everything: root can
	// rewrite the kernel's state without the agent anyway.
	RuleRoot = "built-in root (uid:0 may do everything)"
	// RuleDefault lets any other admitted peer read statuses only.
	RuleDefault = "built-in default (an identity no rule names may read statuses only)"
)

// rule is a Grant ready to match.
type rule struct {
	name  string
	grant config.Grant
	verbs map[Verb]bool
	// anyPath allows every namespace path (the root rule's).
	anyPath bool
}

// Rules are the authorization rules of the message API: those of
// api.authorization in file order, then RuleRoot and RuleDefault. The first
// rule whose identity matches a request's decides it. The zero value (and
// a nil *Rules) holds the built-in rules only. Rules are immutable and safe
// for concurrent use.
type Rules struct {
	rules []rule
}

// New returns the rules of grants followed by the built-in ones. It does
// not fail: config.Parse has checked the grants.
func New(grants []config.Grant) *Rules {
	r := &Rules{}
	for i, g := range grants {
		name := fmt.Sprintf("api.authorization[%d]", i)
		if g.Line > 0 {
			name = fmt.Sprintf("%s (line %d, identity %q)", name, g.Line, g.Identity)
		}
		r.rules = append(r.rules, newRule(name, g))
	}
	return r
}

func newRule(name string, g config.Grant) rule {
	ru := rule{name: name, grant: g, verbs: map[Verb]bool{}}
	for _, v := range g.Verbs {
		switch v {
		case "*":
			for _, all := range []Verb{Status, Spawn, Update, Stop} {
				ru.verbs[all] = true
			}
		case "status":
			ru.verbs[Status] = true
		case "spawn":
			ru.verbs[Spawn] = true
		case "update":
			ru.verbs[Update] = true
		case "stop":
			ru.verbs[Stop] = true
		}
	}
	return ru
}

var builtins = func() []rule {
	root := newRule(RuleRoot, config.Grant{Identity: "uid:0", Verbs: []string{"*"}, Host: true, PID: true, Configured: true})
	root.anyPath = true
	return []rule{root, newRule(RuleDefault, config.Grant{Identity: "*", Verbs: []string{"status"}})}
}()

// match returns the rule that decides for identity.
func (rs *Rules) match(identity string) rule {
	var rules []rule
	if rs != nil {
		rules = rs.rules
	}
	for _, list := range [][]rule{rules, builtins} {
		for _, r := range list {
			if globMatch(r.grant.Identity, identity) {
				return r
			}
		}
	}
	// Unreachable: the default rule matches every identity but "".
	return builtins[len(builtins)-1]
}

// globMatch matches s against pattern, "*" matching any s (slashes
// included, as identities are URIs).
func globMatch(pattern, s string) bool {
	if pattern == "*" || pattern == s {
		return true
	}
	ok, err := path.Match(pattern, s)
	if ok && err == nil {
		return true
	}
	// A trailing "*" also spans slashes: spiffe://example.org/tenant/*
	// names every identity below that path.
	if p, found := strings.CutSuffix(pattern, "*"); found && !strings.ContainsAny(p, "*?[\\") {
		return strings.HasPrefix(s, p)
	}
	return false
}

// Decide judges r by the first rule whose identity matches it. A refusal
// names that rule and says what it lacks; it never falls through to a
// later rule.
func (rs *Rules) Decide(r Request) Decision {
	ru := rs.match(r.Identity)
	g := ru.grant
	d := Decision{Rule: ru.name, MaxObjects: g.MaxObjects}
	if d.MaxObjects == 0 {
		d.MaxObjects = config.DefaultMaxObjects
	}
	refuse := func(format string, args ...any) Decision {
		d.Reason = fmt.Sprintf(format, args...)
		return d
	}
	if !ru.verbs[r.Verb] {
		return refuse("the verb %s is not granted", r.Verb)
	}
	if r.Verb == Status {
		d.Allowed = true
		return d
	}
	if !scopeAllowed(g.Scopes, r.Scope) {
		return refuse("the scope name is outside %q", g.Scopes)
	}
	if r.Configured && !g.Configured {
		return refuse("the scope belongs to the configuration file and the rule does not grant configured: true")
	}
	// An unknown namespace (a scope the API did not spawn and the file
	// does not name) is judged as the host's, the most privileged.
	if reason := namespaceRefused(ru, r.Namespace); reason != "" {
		return refuse("%s", reason)
	}
	// A veth's peer lands in its own namespace: creating it there is
	// acting there, so it needs the same grant.
	for _, ns := range r.Reaches {
		if reason := namespaceRefused(ru, ns); reason != "" {
			return refuse("a veth's peer namespace: %s", reason)
		}
	}
	if r.Objects > d.MaxObjects {
		return refuse("%d desired objects exceed the rule's cap of %d", r.Objects, d.MaxObjects)
	}
	d.Allowed = true
	return d
}

func scopeAllowed(globs []string, name string) bool {
	if len(globs) == 0 {
		return true
	}
	for _, g := range globs {
		if globMatch(g, name) {
			return true
		}
	}
	return false
}

// namespaceRefused says why ru does not allow ns ("" when it does). An
// unset namespace, or host, is the agent's own.
func namespaceRefused(ru rule, ns *messages.Namespace) string {
	g := ru.grant
	switch k := ns.GetKind().(type) {
	case nil, *messages.Namespace_Host:
		if !g.Host {
			return "the host namespace needs an explicit grant (namespaces: {host: true})"
		}
	case *messages.Namespace_Pid:
		if !g.PID {
			return fmt.Sprintf("namespace pid:%d: process namespaces are not granted (namespaces: {pid: true})", k.Pid)
		}
	case *messages.Namespace_Path:
		p := path.Clean(k.Path)
		if p != k.Path || !path.IsAbs(p) {
			return fmt.Sprintf("namespace path %q is not a clean absolute path", k.Path)
		}
		if ru.anyPath {
			return ""
		}
		for _, glob := range g.Paths {
			if ok, err := path.Match(glob, p); ok && err == nil {
				return ""
			}
		}
		return fmt.Sprintf("namespace path %q is outside the granted paths %q", k.Path, g.Paths)
	default:
		return fmt.Sprintf("namespace %T is not known", k)
	}
	return ""
}

// PeerNamespaces returns the namespaces d's veths put their peers in,
// other than the scope's own (a Veth whose peer_namespace is unset).
func PeerNamespaces(d *messages.Desired) []*messages.Namespace {
	var out []*messages.Namespace
	for _, l := range d.GetLinks() {
		if ns := l.GetVeth().GetPeerNamespace(); ns != nil {
			out = append(out, ns)
		}
	}
	return out
}

// Objects counts the desired objects of d.
func Objects(d *messages.Desired) int {
	return len(d.GetLinks()) + len(d.GetAddresses()) + len(d.GetRoutes()) + len(d.GetNeighbours()) + len(d.GetRules())
}

// ReplyAllowed reports whether identity may name host (the host of the
// reply address it declares) because a rule lists it in reply_addresses:
// the first rule matching identity decides, as for Decide.
func (rs *Rules) ReplyAllowed(identity, addr string) bool {
	ru := rs.match(identity)
	host := addr
	if h, _, err := net.SplitHostPort(addr); err == nil {
		host = h
	}
	for _, a := range ru.grant.ReplyAddresses {
		if a == addr || a == host {
			return true
		}
	}
	return false
}
