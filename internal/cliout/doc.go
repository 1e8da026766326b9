// Package cliout renders rtnl values for the linx-node command line: as
// aligned tables that read like iproute2's output, or as JSON arrays whose
// keys are a stable interface for scripts.
//
// The JSON views (LinkView, AddressView, RouteView, NeighbourView, RuleView,
// StatsView) are plain structs built from rtnl values by the View functions
// (Routes for a slice, RouteOf for one value, …); Write renders a slice of
// any of them in a Format, and Stream writes them one at a time, as a dump
// delivers them, in bounded memory (see Stream for how its table sizes its
// columns). Interface indices are
// turned into names through a Names table, which the caller fills from the
// same namespace (see NamesOf). Nothing here talks to the kernel, so every
// function is testable without privileges.
package cliout
