package agent

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/linx-net/linx/fleet"
	"github.com/linx-net/linx/fleet/fleettest"
	"github.com/linx-net/linx/internal/nstest"
	"github.com/linx-net/linx/messages"
)

// fleetStatus reads node's status of scope from etcd; nil when absent or
// etcd does not answer.
func fleetStatus(etcd *clientv3.Client, node, scope string) *messages.ScopeStatus {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	r, err := etcd.Get(ctx, fleet.Keys{}.Status(node, scope))
	if err != nil || len(r.Kvs) == 0 {
		return nil
	}
	st := &messages.ScopeStatus{}
	if protojson.Unmarshal(r.Kvs[0].Value, st) != nil {
		return nil
	}
	return st
}

// TestFleetAgent drives one agent from an embedded etcd on a real
// namespace: an apply converges and its status reaches etcd; an update
// converges; with etcd stopped, the agent keeps healing what is deleted
// by hand, and a restarted agent resumes the cached desired state; once
// etcd is back the statuses catch up; a delete stops the scope and leaves
// its kernel state.
func TestFleetAgent(t *testing.T) {
	ns := nstest.New(t)
	srv := fleettest.New(t)
	etcd, err := srv.Client()
	if err != nil {
		t.Fatal(err)
	}
	defer etcd.Close()
	dir := t.TempDir()
	path := filepath.Join(dir, "linx.yaml")
	body := "state_dir: " + filepath.Join(dir, "state") + "\nmetrics: {listen: \"127.0.0.1:0\"}\napi: {socket: off}\n" +
		"fleet: {endpoints: [\"" + srv.Endpoint + "\"], node: n1}\nscopes: []\n"
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	fc := fleet.New(etcd, "")
	spec := func(addr string) []*messages.SpawnScope {
		return []*messages.SpawnScope{{
			Name: "edge", Namespace: &messages.Namespace{Kind: &messages.Namespace_Path{Path: ns.Path()}},
			Desired: &messages.Desired{Addresses: []*messages.Address{{Link: "lo", Address: addr}}},
		}}
	}
	converged := func(want string) func() bool {
		return func() bool {
			st := fleetStatus(etcd, "n1", "edge")
			return slices.Contains(addrs(ns, "lo"), want) && st != nil && st.GetPhase() == messages.Phase_PHASE_CONVERGED
		}
	}

	a := newAgent(t, path)
	stop := runAgent(t, a)
	if _, err := fc.Apply(ctx, "n1", spec("10.20.0.1/32")); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the apply converged, its status in etcd", converged("10.20.0.1/32"))
	eventually(t, "the agent ready", func() bool { return len(a.Pending()) == 0 })
	if r, err := etcd.Get(ctx, fleet.Keys{}.Member("n1")); err != nil || len(r.Kvs) != 1 || r.Kvs[0].Lease == 0 {
		t.Fatalf("membership: %v, %v; want one key under a lease", r, err)
	}
	if _, err := fc.Apply(ctx, "n1", spec("10.20.0.2/32")); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the update converged", converged("10.20.0.2/32"))

	// A scope the node refuses (it would share edge's protocol in the
	// same namespace) says why in its status; dropped, its status goes.
	clash := append(spec("10.20.0.2/32"), &messages.SpawnScope{
		Name: "clash", Namespace: &messages.Namespace{Kind: &messages.Namespace_Path{Path: ns.Path()}},
	})
	if _, err := fc.Apply(ctx, "n1", clash); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the refused scope's status says why", func() bool {
		st := fleetStatus(etcd, "n1", "clash")
		return st != nil && st.GetPhase() == messages.Phase_PHASE_STOPPED && strings.Contains(st.GetReason(), `scope "edge" already owns route protocol 76`)
	})
	if _, err := fc.Apply(ctx, "n1", spec("10.20.0.2/32")); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the dropped scope's status gone", func() bool { return fleetStatus(etcd, "n1", "clash") == nil })

	// etcd away: the agent heals on its own and says it is not in sync.
	srv.Stop()
	ns.IP("addr", "del", "10.20.0.2/32", "dev", "lo")
	eventually(t, "healed during the outage", func() bool { return slices.Contains(addrs(ns, "lo"), "10.20.0.2/32") })
	eventually(t, "not ready while etcd is away", func() bool {
		return len(a.Pending()) > 0 && testutil.ToFloat64(a.fleet.connected) == 0
	})
	// Restarted during the outage, it resumes the cached desired state.
	stop()
	ns.IP("addr", "del", "10.20.0.2/32", "dev", "lo")
	a = newAgent(t, path)
	stop = runAgent(t, a)
	eventually(t, "resumed from the cache during the outage", func() bool { return slices.Contains(addrs(ns, "lo"), "10.20.0.2/32") })

	// etcd back: in sync again, statuses written again.
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	eventually(t, "in sync again, status caught up", func() bool {
		return len(a.Pending()) == 0 && converged("10.20.0.2/32")()
	})

	// A delete stops the scope; its kernel state stays.
	if err := fc.Delete(ctx, "n1", "edge"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the scope stopped and its status gone", func() bool {
		l, err := a.Node().List()
		return err == nil && len(l) == 0 && fleetStatus(etcd, "n1", "edge") == nil
	})
	if !slices.Contains(addrs(ns, "lo"), "10.20.0.2/32") {
		t.Errorf("the deleted scope's address went away: %v", addrs(ns, "lo"))
	}
	stop()
}
