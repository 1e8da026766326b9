package fleet

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/linx-net/linx/messages"
)

// DefaultPrefix is the key prefix when none is given.
const DefaultPrefix = "/linx"

// ListTimeout bounds Follow's full read: an etcd that does not answer
// within it counts as unreachable, and the read is tried again after a
// backoff. Reading a node's scopes takes milliseconds.
const ListTimeout = 5 * time.Second

// Keys names the keys of one fleet under a prefix. The zero Keys uses
// DefaultPrefix.
type Keys struct{ Prefix string }

func (k Keys) prefix() string {
	if k.Prefix == "" {
		return DefaultPrefix
	}
	return strings.TrimSuffix(k.Prefix, "/")
}

// Scopes returns the prefix of node's desired scopes, ending in "/".
func (k Keys) Scopes(node string) string { return k.prefix() + "/v1/nodes/" + node + "/scopes/" }

// Scope returns the key of node's desired scope name.
func (k Keys) Scope(node, name string) string { return k.Scopes(node) + name }

// Status returns the key of the status of node's scope name.
func (k Keys) Status(node, name string) string { return k.prefix() + "/v1/status/" + node + "/" + name }

// Member returns the membership key of node.
func (k Keys) Member(node string) string { return k.prefix() + "/v1/members/" + node }

// Client writes and reads desired scopes for controllers. Its zero value
// is not usable; call New.
type Client struct {
	etcd *clientv3.Client
	keys Keys
}

// New returns a Client on an etcd client, under prefix ("" means
// DefaultPrefix).
func New(etcd *clientv3.Client, prefix string) *Client {
	return &Client{etcd: etcd, keys: Keys{Prefix: prefix}}
}

// Change is one change Apply makes: Op is "spawn", "update" or "stop".
type Change struct {
	Node, Scope, Op string
}

// String returns "node/scope: op".
func (c Change) String() string { return c.Node + "/" + c.Scope + ": " + c.Op }

// Plan returns the changes Apply would make to node's desired scopes so
// that they are exactly scopes, sorted by scope name, and the revision
// they were read at. It fails when etcd cannot be read or a scope has no
// name.
func (c *Client) Plan(ctx context.Context, node string, scopes []*messages.SpawnScope) ([]Change, int64, error) {
	cur, rev, err := c.Get(ctx, node)
	if err != nil {
		return nil, 0, err
	}
	want := map[string]*messages.SpawnScope{}
	for _, s := range scopes {
		if s.GetName() == "" || strings.ContainsAny(s.GetName(), "/ \t\n") {
			return nil, 0, fmt.Errorf("fleet: node %q: scope name %q: must be non-empty, without '/' or spaces", node, s.GetName())
		}
		want[s.GetName()] = s
	}
	var out []Change
	for _, name := range slices.Sorted(maps.Keys(want)) {
		old, ok := cur[name]
		switch {
		case !ok:
			out = append(out, Change{node, name, "spawn"})
		case !proto.Equal(old, want[name]):
			out = append(out, Change{node, name, "update"})
		}
	}
	for _, name := range slices.Sorted(maps.Keys(cur)) {
		if _, ok := want[name]; !ok {
			out = append(out, Change{node, name, "stop"})
		}
	}
	slices.SortStableFunc(out, func(a, b Change) int { return strings.Compare(a.Scope, b.Scope) })
	return out, rev, nil
}

// Apply makes node's desired scopes exactly scopes, in one transaction
// that fails if they changed since they were read, and returns the
// changes made (none when they were already so). It fails when etcd
// cannot be read or written, or another writer changed them meanwhile
// (ErrConflict; plan again).
func (c *Client) Apply(ctx context.Context, node string, scopes []*messages.SpawnScope) ([]Change, error) {
	changes, rev, err := c.Plan(ctx, node, scopes)
	if err != nil || len(changes) == 0 {
		return nil, err
	}
	byName := map[string]*messages.SpawnScope{}
	for _, s := range scopes {
		byName[s.GetName()] = s
	}
	ops := make([]clientv3.Op, 0, len(changes))
	for _, ch := range changes {
		if ch.Op == "stop" {
			ops = append(ops, clientv3.OpDelete(c.keys.Scope(node, ch.Scope)))
			continue
		}
		v, err := protojson.Marshal(byName[ch.Scope])
		if err != nil {
			return nil, fmt.Errorf("fleet: node %q scope %q: %w", node, ch.Scope, err)
		}
		ops = append(ops, clientv3.OpPut(c.keys.Scope(node, ch.Scope), string(v)))
	}
	// Nothing under the node's prefix changed after rev.
	cmp := clientv3.Compare(clientv3.ModRevision(c.keys.Scopes(node)).WithPrefix(), "<", rev+1)
	resp, err := c.etcd.Txn(ctx).If(cmp).Then(ops...).Commit()
	if err != nil {
		return nil, fmt.Errorf("fleet: applying node %q: %w", node, err)
	}
	if !resp.Succeeded {
		return nil, fmt.Errorf("fleet: applying node %q: %w", node, ErrConflict)
	}
	return changes, nil
}

// ErrConflict is Apply's error when another writer changed the node's
// scopes between the read and the write.
var ErrConflict = errors.New("the desired scopes changed meanwhile")

// Delete removes node's desired scope name (the agent stops it, leaving
// its kernel state owned); a missing one is success.
func (c *Client) Delete(ctx context.Context, node, name string) error {
	if _, err := c.etcd.Delete(ctx, c.keys.Scope(node, name)); err != nil {
		return fmt.Errorf("fleet: deleting node %q scope %q: %w", node, name, err)
	}
	return nil
}

// Get returns node's desired scopes by name and the revision they were
// read at. A value that does not parse fails it, naming the key.
func (c *Client) Get(ctx context.Context, node string) (map[string]*messages.SpawnScope, int64, error) {
	resp, err := c.etcd.Get(ctx, c.keys.Scopes(node), clientv3.WithPrefix())
	if err != nil {
		return nil, 0, fmt.Errorf("fleet: reading node %q: %w", node, err)
	}
	out := make(map[string]*messages.SpawnScope, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		s, err := parse(kv.Value)
		if err != nil {
			return nil, 0, fmt.Errorf("fleet: %s: %w", kv.Key, err)
		}
		out[strings.TrimPrefix(string(kv.Key), c.keys.Scopes(node))] = s
	}
	return out, resp.Header.Revision, nil
}

func parse(v []byte) (*messages.SpawnScope, error) {
	s := &messages.SpawnScope{}
	if err := protojson.Unmarshal(v, s); err != nil {
		return nil, err
	}
	return s, nil
}

// Target receives the whole desired set of a node each time it may have
// changed; it converges the running scopes onto it (spawning, updating
// and stopping by name). It is called from one goroutine at a time.
type Target func(desired map[string]*messages.SpawnScope)

// Follow hands target node's desired scopes, from a full read at a
// revision and then after every watched change, until ctx is done. A
// compaction past the watched revision, a broken watch or an unreachable
// etcd makes it read everything again (after backoff, up to maxBackoff)
// and hand target the whole set again: target must be level-triggered.
// Keys whose value does not parse are left out (onError is told).
// restarts, when not nil, is told why, each time the watch ended and a
// new read follows.
// It returns ctx's error.
func Follow(ctx context.Context, etcd *clientv3.Client, keys Keys, node string, target Target, restarts func(error)) error {
	return followWith(ctx, etcd, keys, node, target, restarts, nil)
}

// followWith is Follow with afterList, when not nil, called between each
// full read and the watch that follows it (tests compact there).
func followWith(ctx context.Context, etcd *clientv3.Client, keys Keys, node string, target Target, restarts func(error), afterList func()) error {
	prefix := keys.Scopes(node)
	const minBackoff, maxBackoff = 50 * time.Millisecond, 5 * time.Second
	backoff := minBackoff
	for ctx.Err() == nil {
		listed, err := follow(ctx, etcd, prefix, target, afterList)
		if ctx.Err() != nil {
			break
		}
		if listed {
			// etcd answered: a compaction or a broken watch is retried
			// soon; only an unreachable etcd backs off further.
			backoff = minBackoff
		}
		if restarts != nil {
			restarts(err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, maxBackoff)
	}
	return ctx.Err()
}

// follow reads everything, then watches until the watch breaks, handing
// target every state; it returns whether the read succeeded, and why it
// ended.
func follow(ctx context.Context, etcd *clientv3.Client, prefix string, target Target, afterList func()) (bool, error) {
	gctx, cancel := context.WithTimeout(ctx, ListTimeout)
	resp, err := etcd.Get(gctx, prefix, clientv3.WithPrefix())
	cancel()
	if err != nil {
		return false, fmt.Errorf("listing %s: %w", prefix, err)
	}
	state := map[string]*messages.SpawnScope{}
	for _, kv := range resp.Kvs {
		if s, err := parse(kv.Value); err == nil {
			state[strings.TrimPrefix(string(kv.Key), prefix)] = s
		}
	}
	target(maps.Clone(state))
	if afterList != nil {
		afterList()
	}
	wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
	defer cancel()
	for wr := range etcd.Watch(wctx, prefix, clientv3.WithPrefix(), clientv3.WithRev(resp.Header.Revision+1)) {
		if wr.CompactRevision != 0 {
			return true, fmt.Errorf("watch compacted at revision %d", wr.CompactRevision)
		}
		if err := wr.Err(); err != nil {
			return true, fmt.Errorf("watching %s: %w", prefix, err)
		}
		for _, ev := range wr.Events {
			name := strings.TrimPrefix(string(ev.Kv.Key), prefix)
			if ev.Type == clientv3.EventTypeDelete {
				delete(state, name)
				continue
			}
			if s, err := parse(ev.Kv.Value); err == nil {
				state[name] = s
			} else {
				delete(state, name)
			}
		}
		target(maps.Clone(state))
	}
	return true, errors.New("watch closed")
}

// protoJSON returns s in protobuf JSON, the form of the scope values.
func protoJSON(s *messages.SpawnScope) (string, error) {
	v, err := protojson.Marshal(s)
	return string(v), err
}

// ApplyConcurrency is how many nodes ApplyNodes writes at once: enough to
// hide etcd's round trip behind the others, few enough not to crowd out
// the agents' own writes.
const ApplyConcurrency = 16

// ApplyNodes is Apply for each of nodes, ApplyConcurrency at a time, each
// node in its own transaction. It returns the changes made per node and
// the failures, joined; the nodes that succeeded stay applied.
func (c *Client) ApplyNodes(ctx context.Context, nodes []string, scopes []*messages.SpawnScope) (map[string][]Change, error) {
	out := make(map[string][]Change, len(nodes))
	var mu sync.Mutex
	var errs []error
	sem := make(chan struct{}, ApplyConcurrency)
	var wg sync.WaitGroup
	for _, node := range nodes {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			ch, err := c.Apply(ctx, node, scopes)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
				return
			}
			out[node] = ch
		}()
	}
	wg.Wait()
	return out, errors.Join(errs...)
}
