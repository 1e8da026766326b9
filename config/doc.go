// Package config reads the Linx agent's YAML configuration and turns it into
// validated scope specs: for each scope, the namespace it converges, its
// resync interval, the route protocol it owns (and whether it may adopt
// routes that protocol already marks), its event monitor's buffer size, and the desired links, addresses, routes, neighbours and rules,
// named by interface name.
//
// Load reads a file and Parse validates bytes. Neither stops at the first
// fault: an invalid file fails with an *Error that lists every Problem
// found, each with its file, line, column and the path of the offending
// field (scopes[0].desired.routes[2].via), so that one edit can fix them
// all. Defaults live in one place, the constants of this package, each with
// the reason for its value.
//
// examples/linx.yaml is a complete, commented configuration.
package config
