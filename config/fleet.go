package config

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// DefaultFleetPrefix is fleet.prefix when unset.
const DefaultFleetPrefix = "/linx"

// Fleet makes etcd a source of desired scopes: the agent follows
// <prefix>/v1/nodes/<node>/scopes/ and reports to <prefix>/v1/status and
// <prefix>/v1/members. Its zero value (no endpoints) leaves it off.
type Fleet struct {
	// Endpoints are the etcd client URLs (http://host:2379, or https://
	// with TLS).
	Endpoints []string
	// Node is this agent's name in the fleet; the host name when unset.
	Node string
	// Prefix is the key prefix; DefaultFleetPrefix when unset.
	Prefix string
	// TLS authenticates the agent to etcd and etcd to the agent; all
	// empty means none.
	TLS FleetTLS
}

// FleetTLS are the PEM files of a TLS connection to etcd.
type FleetTLS struct {
	// Cert and Key are the agent's client certificate and key.
	Cert, Key string
	// CA verifies etcd's certificate; empty means the system's roots.
	CA string
}

// Enabled reports whether any endpoint is set.
func (f Fleet) Enabled() bool { return len(f.Endpoints) > 0 }

func (r *reader) fleet(n *node, p string, f *Fleet) {
	r.fields(n, p, map[string]func(*node, string){
		"endpoints": func(n *node, p string) {
			r.list(n, p, func(n *node, p string) {
				s, ok := r.scalar(n, p)
				if !ok {
					return
				}
				if u, err := url.Parse(s); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
					r.fail(n, p, "want an etcd client URL such as https://10.0.0.1:2379, got %q", s)
					return
				}
				f.Endpoints = append(f.Endpoints, s)
			})
		},
		"node":   r.str(&f.Node),
		"prefix": r.str(&f.Prefix),
		"tls": func(n *node, p string) {
			r.fields(n, p, map[string]func(*node, string){
				"cert": r.str(&f.TLS.Cert), "key": r.str(&f.TLS.Key), "ca": r.str(&f.TLS.CA),
			})
		},
	})
	if f.Node == "" {
		f.Node, _ = os.Hostname()
	}
	if strings.ContainsAny(f.Node, "/ \t\n") || f.Node == "" {
		r.fail(n, join(p, "node"), "want a node name without '/' or spaces, got %q", f.Node)
	}
	if f.Prefix == "" {
		f.Prefix = DefaultFleetPrefix
	} else if !strings.HasPrefix(f.Prefix, "/") {
		r.fail(n, join(p, "prefix"), "want a key prefix starting with '/', got %q", f.Prefix)
	}
	if (f.TLS.Cert == "") != (f.TLS.Key == "") {
		r.fail(n, join(p, "tls"), "want both cert and key, or neither")
	}
	for _, file := range []string{f.TLS.Cert, f.TLS.Key, f.TLS.CA} {
		if file != "" && !filepath.IsAbs(file) {
			r.fail(n, join(p, "tls"), "want absolute paths, got %q", file)
		}
	}
}

// FleetFile is what `linx-node fleet apply` writes to etcd: scopes, given
// as in the configuration file, for each of the listed nodes.
type FleetFile struct {
	// Nodes are the nodes whose desired scopes become Scopes.
	Nodes []string
	// Scopes are the desired scopes, in file order.
	Scopes []Scope
}

// ParseFleet validates a fleet file's data, naming it file in messages.
// It returns an *Error listing every problem found, each with file:line,
// or the FleetFile.
func ParseFleet(file string, data []byte) (*FleetFile, error) {
	r := &reader{file: file}
	out := &FleetFile{}
	if r.document(data, "nodes and scopes", func(n *node) {
		r.fields(n, "", map[string]func(*node, string){
			"nodes": func(n *node, p string) {
				r.list(n, p, func(n *node, p string) {
					s, ok := r.scalar(n, p)
					if ok && (s == "" || strings.ContainsAny(s, "/ \t\n")) {
						r.fail(n, p, "want a node name without '/' or spaces, got %q", s)
					} else if ok {
						out.Nodes = append(out.Nodes, s)
					}
				})
			},
			"scopes": func(n *node, p string) {
				r.list(n, p, func(n *node, p string) { out.Scopes = append(out.Scopes, r.scope(n, p)) })
			},
		}, "nodes")
	}) {
		names := map[string]bool{}
		for i, s := range out.Scopes {
			if names[s.Name] {
				r.problems = append(r.problems, Problem{File: file, Line: s.Line, Path: fmt.Sprintf("scopes[%d].name", i),
					Message: fmt.Sprintf("scope name %q used twice", s.Name)})
			}
			names[s.Name] = true
		}
	}
	if len(r.problems) > 0 {
		slices.SortStableFunc(r.problems, func(a, b Problem) int { return a.Line - b.Line })
		return nil, &Error{Problems: r.problems}
	}
	return out, nil
}
