package fleet

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/protobuf/proto"

	"github.com/linx-net/linx/fleet/fleettest"
	"github.com/linx-net/linx/messages"
)

// startEtcd starts an embedded etcd and returns a client of it.
func startEtcd(t testing.TB) *clientv3.Client {
	t.Helper()
	c, err := fleettest.New(t).Client()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func scope(name, addr string) *messages.SpawnScope {
	return &messages.SpawnScope{Name: name, Desired: &messages.Desired{Addresses: []*messages.Address{{Link: "lo", Address: addr}}}}
}

// follower runs Follow and keeps the last state it was handed.
type follower struct {
	mu       sync.Mutex
	state    map[string]*messages.SpawnScope
	restarts int
}

func (f *follower) equal(want map[string]*messages.SpawnScope) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return maps.EqualFunc(f.state, want, func(a, b *messages.SpawnScope) bool { return proto.Equal(a, b) })
}

func startFollower(t *testing.T, c *clientv3.Client, node string) *follower {
	f := &follower{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = Follow(ctx, c, Keys{}, node, func(d map[string]*messages.SpawnScope) {
			f.mu.Lock()
			f.state = d
			f.mu.Unlock()
		}, func(error) {
			f.mu.Lock()
			f.restarts++
			f.mu.Unlock()
		})
	}()
	t.Cleanup(func() { cancel(); <-done })
	return f
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestApplyPlanAndFollow(t *testing.T) {
	etcd := startEtcd(t)
	ctx := context.Background()
	fc := New(etcd, "")
	f := startFollower(t, etcd, "n1")
	changes, err := fc.Apply(ctx, "n1", []*messages.SpawnScope{scope("a", "10.0.0.1/32"), scope("b", "10.0.0.2/32")})
	if err != nil || fmt.Sprint(changes) != "[n1/a: spawn n1/b: spawn]" {
		t.Fatalf("Apply: %v, %v", changes, err)
	}
	changes, err = fc.Apply(ctx, "n1", []*messages.SpawnScope{scope("a", "10.0.0.9/32")})
	if err != nil || fmt.Sprint(changes) != "[n1/a: update n1/b: stop]" {
		t.Fatalf("second Apply: %v, %v", changes, err)
	}
	if changes, err := fc.Apply(ctx, "n1", []*messages.SpawnScope{scope("a", "10.0.0.9/32")}); err != nil || len(changes) != 0 {
		t.Fatalf("Apply of the same: %v, %v; want no change", changes, err)
	}
	want := map[string]*messages.SpawnScope{"a": scope("a", "10.0.0.9/32")}
	eventually(t, "the follower sees a alone", func() bool { return f.equal(want) })
	if err := fc.Delete(ctx, "n1", "a"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the follower sees nothing", func() bool { return f.equal(map[string]*messages.SpawnScope{}) })
}

// model is the desired scopes a test wrote, written to etcd and to
// itself under one lock so that both see the same order.
type model struct {
	mu     sync.Mutex
	etcd   *clientv3.Client
	scopes map[string]*messages.SpawnScope
	rng    *rand.Rand
	n      int
}

// step makes one random change: a put or a delete of one of 8 scopes;
// with put, always a put (which always makes a revision).
func (m *model) step(t *testing.T, put bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	ctx := context.Background()
	name := fmt.Sprintf("s%d", m.rng.IntN(8))
	m.n++
	if !put && m.rng.IntN(4) == 0 {
		delete(m.scopes, name)
		if _, err := m.etcd.Delete(ctx, Keys{}.Scope("n1", name)); err != nil {
			t.Error(err)
		}
		return
	}
	s := scope(name, fmt.Sprintf("10.%d.%d.%d/32", m.n/250%250, m.n%250, m.rng.IntN(250)))
	m.scopes[name] = s
	v, _ := protoJSON(s)
	if _, err := m.etcd.Put(ctx, Keys{}.Scope("n1", name), v); err != nil {
		t.Error(err)
	}
}

// compact compacts etcd's history up to now.
func (m *model) compact(t *testing.T) {
	m.mu.Lock()
	defer m.mu.Unlock()
	ctx := context.Background()
	r, err := m.etcd.Get(ctx, "x")
	if err != nil {
		t.Error(err)
		return
	}
	// Compacting a revision already compacted is refused.
	if _, err := m.etcd.Compact(ctx, r.Header.Revision); err != nil && !errors.Is(err, rpctypes.ErrCompacted) {
		t.Error(err)
	}
}

func (m *model) snapshot() map[string]*messages.SpawnScope {
	m.mu.Lock()
	defer m.mu.Unlock()
	return maps.Clone(m.scopes)
}

// TestFollowProperty is a property test against a model of the desired
// scopes: for several seeds, random puts and deletes, with compactions
// made right after the follower's full read (so that its watch starts
// below the compacted revision and must read everything again) and at
// random moments; every time, the follower ends with the model's state,
// and each forced compaction made it read again.
func TestFollowProperty(t *testing.T) {
	etcd := startEtcd(t)
	for seed := range uint64(4) {
		m := &model{etcd: etcd, scopes: map[string]*messages.SpawnScope{}, rng: rand.New(rand.NewPCG(seed, 7))}
		// Each seed starts from an empty node.
		if _, err := etcd.Delete(context.Background(), Keys{}.Scopes("n1"), clientv3.WithPrefix()); err != nil {
			t.Fatal(err)
		}
		var force sync.Mutex
		forced := 0
		pending := 2 + int(seed)
		f := &follower{}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			defer close(done)
			_ = followWith(ctx, etcd, Keys{}, "n1", func(d map[string]*messages.SpawnScope) {
				f.mu.Lock()
				f.state = d
				f.mu.Unlock()
			}, func(error) {
				f.mu.Lock()
				f.restarts++
				f.mu.Unlock()
			}, func() {
				force.Lock()
				defer force.Unlock()
				if pending == 0 {
					return
				}
				pending--
				// Revisions past the read's, then compacted: the
				// watch from the read's next revision is refused.
				for range 5 {
					m.step(t, true)
				}
				m.compact(t)
				forced++
			})
		}()
		for i := range 200 {
			m.step(t, false)
			if i%37 == 0 {
				m.compact(t)
			}
		}
		eventually(t, fmt.Sprintf("seed %d: every forced compaction done, the follower matches the model", seed), func() bool {
			force.Lock()
			p, n := pending, forced
			force.Unlock()
			f.mu.Lock()
			r := f.restarts
			f.mu.Unlock()
			ok := p == 0 && r >= n && f.equal(m.snapshot())
			return ok
		})
		f.mu.Lock()
		restarts := f.restarts
		f.mu.Unlock()
		force.Lock()
		if restarts < forced {
			t.Errorf("seed %d: %d re-reads for %d compactions under the watch", seed, restarts, forced)
		}
		force.Unlock()
		cancel()
		<-done
	}
}
