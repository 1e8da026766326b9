// Package nstest makes throwaway network namespaces for tests and
// benchmarks that need the real kernel, and reads them back with iproute2
// as an independent reference.
//
// Every namespace it makes has a unique name starting with "linx-t-" and is
// removed in t.Cleanup, even when the test fails. Nothing here ever changes
// the host namespace: all commands run with `ip -n NAME` or inside the
// namespace.
package nstest
