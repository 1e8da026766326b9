package fleet

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/linx-net/linx/messages"
)

// Member is an agent's membership: its key lives as long as the agent
// keeps its lease alive.
type Member struct {
	Version string    `json:"version"`
	Started time.Time `json:"started"`
	// Address is where the agent's message API answers ("" when off).
	Address string `json:"address,omitempty"`
}

// Members returns the live agents by node name. A value that does not
// parse is returned zero.
func (c *Client) Members(ctx context.Context) (map[string]Member, error) {
	prefix := c.keys.prefix() + "/v1/members/"
	resp, err := c.etcd.Get(ctx, prefix, clientv3.WithPrefix())
	if err != nil {
		return nil, fmt.Errorf("fleet: reading members: %w", err)
	}
	out := make(map[string]Member, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		var m Member
		_ = json.Unmarshal(kv.Value, &m)
		out[strings.TrimPrefix(string(kv.Key), prefix)] = m
	}
	return out, nil
}

// Statuses returns every scope status agents have written, by node and
// scope name. A value that does not parse is left out.
func (c *Client) Statuses(ctx context.Context) (map[string]map[string]*messages.ScopeStatus, error) {
	prefix := c.keys.prefix() + "/v1/status/"
	resp, err := c.etcd.Get(ctx, prefix, clientv3.WithPrefix())
	if err != nil {
		return nil, fmt.Errorf("fleet: reading statuses: %w", err)
	}
	out := map[string]map[string]*messages.ScopeStatus{}
	for _, kv := range resp.Kvs {
		node, scope, ok := strings.Cut(strings.TrimPrefix(string(kv.Key), prefix), "/")
		st := &messages.ScopeStatus{}
		if !ok || protojson.Unmarshal(kv.Value, st) != nil {
			continue
		}
		if out[node] == nil {
			out[node] = map[string]*messages.ScopeStatus{}
		}
		out[node][scope] = st
	}
	return out, nil
}

// Desired returns every node's desired scopes, by node and scope name. A
// value that does not parse fails it, naming the key.
func (c *Client) Desired(ctx context.Context) (map[string]map[string]*messages.SpawnScope, error) {
	prefix := c.keys.prefix() + "/v1/nodes/"
	resp, err := c.etcd.Get(ctx, prefix, clientv3.WithPrefix())
	if err != nil {
		return nil, fmt.Errorf("fleet: reading desired scopes: %w", err)
	}
	out := map[string]map[string]*messages.SpawnScope{}
	for _, kv := range resp.Kvs {
		node, scope, ok := strings.Cut(strings.TrimPrefix(string(kv.Key), prefix), "/scopes/")
		if !ok {
			continue
		}
		s, err := parse(kv.Value)
		if err != nil {
			return nil, fmt.Errorf("fleet: %s: %w", kv.Key, err)
		}
		if out[node] == nil {
			out[node] = map[string]*messages.SpawnScope{}
		}
		out[node][scope] = s
	}
	return out, nil
}

// WatchStatuses calls fn with each status an agent writes from now on
// (nil when its key was deleted: the scope is gone or the agent's lease
// expired), until ctx is done or the watch fails; it returns why it
// ended.
func (c *Client) WatchStatuses(ctx context.Context, fn func(node, scope string, st *messages.ScopeStatus)) error {
	prefix := c.keys.prefix() + "/v1/status/"
	for wr := range c.etcd.Watch(clientv3.WithRequireLeader(ctx), prefix, clientv3.WithPrefix()) {
		if err := wr.Err(); err != nil {
			return fmt.Errorf("fleet: watching statuses: %w", err)
		}
		for _, ev := range wr.Events {
			node, scope, ok := strings.Cut(strings.TrimPrefix(string(ev.Kv.Key), prefix), "/")
			if !ok {
				continue
			}
			if ev.Type == clientv3.EventTypeDelete {
				fn(node, scope, nil)
				continue
			}
			st := &messages.ScopeStatus{}
			if protojson.Unmarshal(ev.Kv.Value, st) == nil {
				fn(node, scope, st)
			}
		}
	}
	return ctx.Err()
}
