// Package cni tests linx-cni the way container runtimes drive a CNI
// plugin: through github.com/containernetworking/cni/libcni (what
// containerd and CRI-O call), with a real network configuration list, a
// Linx agent started in the test, and throwaway namespaces standing in for
// the node's host namespace and for pods. The reference plugins
// (host-local for IPAM, bridge for the comparison) are built by
// `make cni-plugins` into bin/cni; without them the tests skip, saying so.
package cni
