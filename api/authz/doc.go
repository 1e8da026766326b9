// Package authz decides who may do what through the Linx message API. It
// is pure: an identity, a verb, a scope and its namespace come in, a
// decision naming the rule that made it goes out.
//
// # Identities
//
// A peer over TCP is named by its client certificate (verified by mutual
// TLS): its first URI SAN ("spiffe://example.org/controller/cni"), or its
// subject's common name when it has none. A peer on the local socket is
// named by its uid as the kernel reports it (SO_PEERCRED): "uid:0",
// "uid:1000".
//
// # Rules
//
// The rules of api.authorization come first, in file order, then two
// built-in rules:
//
//  1. RuleRoot: uid:0 may do everything (every verb, every namespace, the
//     scopes of the configuration file). Root can rewrite the kernel's
//     state without the agent, so refusing it would protect nothing.
//  2. RuleDefault: any other identity may read statuses only (status,
//     list, subscribe).
//
// The first rule whose identity (exact, or a glob: path.Match, and a
// trailing "*" also spans slashes) matches decides: a refusal never falls
// through to a later rule, so a rule naming uid:0 narrows root too. A rule
// grants verbs (status, spawn, update, stop); for the verbs that change
// state, the namespaces (host only when host: true; pid:N only when pid:
// true; a path only when it is clean and matches one of the path globs),
// the scope names (globs; none means all), whether the scopes of the
// configuration file may be touched (configured: true), and a cap on the
// desired objects of one scope.
package authz
