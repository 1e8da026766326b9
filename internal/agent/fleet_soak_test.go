//go:build soak

package agent

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/linx-net/linx/fleet"
	"github.com/linx-net/linx/fleet/fleettest"
	"github.com/linx-net/linx/internal/nstest"
	"github.com/linx-net/linx/messages"
)

// TestSoakFleetOutage stops etcd for 30 s under three agents while their
// objects are deleted by hand every 5 s: every agent heals each deletion
// on its own, and once etcd is back every status is written again.
func TestSoakFleetOutage(t *testing.T) {
	srv := fleettest.New(t)
	etcd, err := srv.Client()
	if err != nil {
		t.Fatal(err)
	}
	defer etcd.Close()
	fc := fleet.New(etcd, "")
	var spaces []*nstest.NS
	var agents []*Agent
	for _, node := range []string{"n1", "n2", "n3"} {
		ns := nstest.New(t)
		spaces = append(spaces, ns)
		dir := t.TempDir()
		path := filepath.Join(dir, "linx.yaml")
		body := "state_dir: " + filepath.Join(dir, "state") + "\nmetrics: {listen: \"127.0.0.1:0\"}\napi: {socket: off}\n" +
			"fleet: {endpoints: [\"" + srv.Endpoint + "\"], node: " + node + "}\nscopes: []\n"
		if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		a := newAgent(t, path)
		runAgent(t, a)
		agents = append(agents, a)
		if _, err := fc.Apply(context.Background(), node, []*messages.SpawnScope{{
			Name: "edge", Namespace: &messages.Namespace{Kind: &messages.Namespace_Path{Path: ns.Path()}},
			Desired: &messages.Desired{Addresses: []*messages.Address{{Link: "lo", Address: "10.30.0.1/32"}}},
		}}); err != nil {
			t.Fatal(err)
		}
	}
	converged := func() bool {
		for i, node := range []string{"n1", "n2", "n3"} {
			st := fleetStatus(etcd, node, "edge")
			if st == nil || st.GetPhase() != messages.Phase_PHASE_CONVERGED || !slices.Contains(addrs(spaces[i], "lo"), "10.30.0.1/32") {
				return false
			}
		}
		return true
	}
	eventually(t, "every node converged", converged)

	srv.Stop()
	start := time.Now()
	heals := 0
	for time.Since(start) < 30*time.Second {
		for _, ns := range spaces {
			ns.IP("addr", "del", "10.30.0.1/32", "dev", "lo")
		}
		eventually(t, "every agent healed during the outage", func() bool {
			for _, ns := range spaces {
				if !slices.Contains(addrs(ns, "lo"), "10.30.0.1/32") {
					return false
				}
			}
			return true
		})
		heals++
		time.Sleep(5 * time.Second)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	back := time.Now()
	eventually(t, "statuses caught up, every agent in sync", func() bool {
		for _, a := range agents {
			if len(a.Pending()) > 0 {
				return false
			}
		}
		return converged()
	})
	t.Logf("soak fleet_outage: seconds=%.0f heals=%d catch_up_ms=%d", time.Since(start).Seconds(), heals, time.Since(back).Milliseconds())
}
