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
// # Reading large and hostile files
//
// The reader converts the YAML event stream (internal/yamlevent) into the
// model as it goes, with no syntax tree: its memory grows with the nesting
// depth of the file, not its size, and a loaded Config keeps only the
// model. Every problem, a YAML syntax error included, is reported as
// FILE:LINE:COL. Three limits make a bad file cheap to refuse:
//
//  1. MaxFileSize (128 MiB): Load and ReadFile refuse a larger file before
//     reading it; Parse refuses larger data.
//  2. MaxDepth (64 levels of mappings and lists; the schema needs 8): the
//     first level too deep is refused with its position, after a few
//     dozen events, whatever follows.
//  3. Aliases (*name) are refused with their position, never expanded, so
//     no input grows beyond its size; anchors (&name) are ignored.
//
// After a syntax or limit error that problem is the only one reported,
// since what was read before it may be cut short. LoadContext and
// ParseContext give up when their context is done.
//
// examples/linx.yaml is a complete, commented configuration.
package config
