// Package integration holds Linx's end-to-end tests and benchmarks against
// the live kernel. Everything here runs as root inside network namespaces
// the test creates and removes (see internal/nstest); nothing touches the
// host namespace. Tests skip, saying why, without root; benchmarks also
// skip under -short.
//
// Each benchmark prints one line in the format its issue fixed, such as
// `route_dump_100k: linx=<ms> raw=<ms> vishvananda=<ms> ratio_raw=<x>`:
// Linx's figure first, then each baseline measured in the same run, then
// the ratios.
package integration
