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

// TestFollowProperty drives random puts, deletes and compactions, with
// the watch cut now and then, and checks that the follower always ends
// with the model's state: nothing is lost across re-lists.
func TestFollowProperty(t *testing.T) {
	etcd := startEtcd(t)
	ctx := context.Background()
	keys := Keys{}
	f := startFollower(t, etcd, "n1")
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 5 {
		model := map[string]*messages.SpawnScope{}
		cur, _, err := New(etcd, "").Get(ctx, "n1")
		if err != nil {
			t.Fatal(err)
		}
		maps.Copy(model, cur)
		for i := range 60 {
			name := fmt.Sprintf("s%d", rng.IntN(8))
			switch rng.IntN(5) {
			case 0:
				delete(model, name)
				if _, err := etcd.Delete(ctx, keys.Scope("n1", name)); err != nil {
					t.Fatal(err)
				}
			case 1:
				// Compact everything so far: a watch behind it must re-list.
				r, err := etcd.Get(ctx, "x")
				if err != nil {
					t.Fatal(err)
				}
				// Compacting a revision already compacted is refused.
				if _, err := etcd.Compact(ctx, r.Header.Revision); err != nil && !errors.Is(err, rpctypes.ErrCompacted) {
					t.Fatal(err)
				}
			default:
				s := scope(name, fmt.Sprintf("10.%d.%d.%d/32", round, i, rng.IntN(250)))
				model[name] = s
				v, _ := protoJSON(s)
				if _, err := etcd.Put(ctx, keys.Scope("n1", name), v); err != nil {
					t.Fatal(err)
				}
			}
		}
		eventually(t, fmt.Sprintf("round %d: the follower matches the model", round), func() bool { return f.equal(model) })
	}
}
