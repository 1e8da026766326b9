// Package remotestart starts and stops a protoactor remote endpoint, and
// parses what configures one (its listen address, the CA file of its mutual
// TLS): the agent's API server and the controller's client both need that,
// and neither imports the other.
package remotestart
