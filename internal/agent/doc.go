// Package agent wires the Linx node agent together: the process that
// `linx-node run` starts. It owns nothing of the mechanism (rtnl, diff,
// reconcile) or the loop (actors/...); it connects them to a configuration
// file, to signals, to logs and to an HTTP endpoint for metrics and health.
//
// A run, in order:
//
//  1. The caller loads the configuration (config.Load); an invalid file
//     stops everything before anything starts.
//  2. New creates the state directory (mode 0700; each scope's ledger, one
//     per namespace it runs in, is a 0600 file in it: see
//     reconcile.OpenScopeLedger), starts a protoactor actor system whose own logs go
//     to the agent's slog logger, starts the node supervisor with
//     rtnlsource sources and binds the metrics listener.
//  3. Run spawns one scope per configured scope and runs, as one
//     github.com/oklog/run group, the actor system, the message API (when
//     Options.API is set and the file enables a socket or a listen
//     address; the API learns the file's scopes through api.Options and
//     counts its requests in linx_api_requests_total), the HTTP server and
//     the signal handler. The first to end ends
//     them all: SIGINT or SIGTERM, a cancelled context, a server failure.
//  4. On the way out every scope is stopped. Stopping a scope deletes
//     nothing from the kernel: what it created stays as it is, owned
//     through the ledger on disk, and the next run carries on from there.
//
// SIGHUP (or Reload) re-reads the file. An invalid file is refused with
// its problems logged and the running state is kept; SIGINT or SIGTERM
// while a SIGHUP reload still reads the file abandons it (nothing
// changes) and stops the agent at once. Otherwise scopes are
// compared by name: a new name is spawned; a name that is gone is stopped
// (its kernel state is left in place, its ledger kept on disk so that a
// later configuration naming it again takes ownership back); a scope whose
// namespace, protocol, adopt_protocol or interval changed is stopped and
// spawned again (a namespace has its own ledger: the old one is kept for
// the old namespace and taken back if the scope returns to it);
// one whose desired state changed gets it with UpdateDesired; the others
// are not touched, except those the message API changed since the last
// reload (api.Options.Touched): the file's scopes belong to the file, so each
// of those is stopped and spawned again as the file says; and those that
// stopped or failed, which are spawned again (a reload is how an operator
// says "try again"), but for a pid: scope whose process is gone or whose
// pid now names another namespace: that one stays stopped, logged. The
// reload's log line counts each kind. api's
// authorization rules are re-read (APIServer.SetAuthorization); the rest
// of api, state_dir and metrics are read at start only: a change to them
// is logged and needs a restart. Once the scopes are being
// stopped on the way out, a reload is refused and changes nothing.
//
// Scopes come from three places besides the file. Those the message API
// spawns, updates or stops are recorded in state_dir/scopes (package
// scopestore) and resumed by Run after the file's: one recorded as
// stopped, or a pid: scope whose process is gone, is listed as stopped
// with the reason; the file wins over a record of the same name (logged);
// the API keeps judging a resumed scope by its recorded owner and
// namespace. With a fleet section, the node's scopes in etcd are followed
// (package fleet), cached in state_dir/fleet so that a restart during an
// outage resumes them, and their statuses and the agent's membership are
// written back under one lease. Whichever way a scope arrives, the node
// refuses one whose route protocols another running scope owns in the
// same namespace (supervisor.Config.Claim).
//
// A scope whose path: namespace does not exist (not created yet, or
// deleted while the agent runs) waits for it in phase waiting and
// converges it as soon as it appears (supervisor.Config.Appear is
// rtnlsource.Appear); a namespace made again under the same name is a new
// one, with a ledger of its own.
//
// Metrics are served from a private Prometheus registry on metrics.listen:
// /metrics, /healthz (200 while the process runs) and /readyz (200 once
// every configured scope has run a pass to its end at least once and the
// fleet source, if any, is in sync with etcd; 503 naming what is not,
// before). A scope waiting for its namespace counts as ready and is named
// on a line of its own: it has nothing to converge, and an agent whose
// configuration names a namespace nobody made yet (the example's, on a
// fresh install) must still become ready; once the namespace appears the
// scope is pending again until a pass has run. A degraded scope, whose
// pass left some objects failed, blocked or in conflict, counts as ready
// too: waiting would not fix them, and /readyz names it and why, while
// linx_objects counts its objects by state for alerts.
package agent
