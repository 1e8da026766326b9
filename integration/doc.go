// Package integration holds Linx's end-to-end tests and benchmarks against
// the live kernel. Everything here runs as root inside network namespaces
// the test creates and removes (see internal/nstest); nothing touches the
// host namespace. Tests skip, saying why, without root; benchmarks also
// skip under -short.
//
// Each benchmark prints one line in a fixed format (`name: linx=… baseline=…
// ratio=…`), measuring its baselines in the same run.
package integration
