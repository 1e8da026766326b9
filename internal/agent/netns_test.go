package agent

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/linx-net/linx/internal/nstest"
	"github.com/linx-net/linx/messages"
)

// TestNetnsTypoRoundTrip reloads a scope whose netns is mistyped, first
// as a path that does not exist (the scope waits for it), then as another
// namespace, and back, in
// two round trips. The ledger of the original namespace is never moved
// or overwritten: back there, the scope takes it again and deletes what
// it owns that is no longer desired. The other namespace's own objects
// stay byte-for-byte as they were.
func TestNetnsTypoRoundTrip(t *testing.T) {
	nsA, nsB := nstest.New(t), nstest.New(t)
	dir := t.TempDir()
	state := filepath.Join(dir, "state")
	path := filepath.Join(dir, "linx.yaml")
	write := func(netns, desired string) {
		t.Helper()
		body := "state_dir: " + state + "\nmetrics: {listen: \"off\"}\nscopes:\n" +
			"  - name: a\n    netns: " + netns + "\n    interval: 1h\n    desired: " + desired + "\n"
		if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	const (
		owning = "{addresses: [{link: lo, address: 10.7.0.1/32}], rules: [{from: 10.7.0.0/24, table: 1007, priority: 277}]}"
		empty  = "{}"
	)
	nsB.IP("rule", "add", "from", "10.7.0.0/24", "table", "1007", "priority", "277")
	nsB.IP("addr", "add", "10.7.0.1/32", "dev", "lo")
	snapB := func() string {
		return nsB.IP("-j", "addr", "show") + nsB.IP("-j", "rule", "show")
	}
	beforeB := snapB()

	write("path:"+nsA.Path(), owning)
	a := newAgent(t, path)
	runAgent(t, a)
	eventually(t, "a converged in A", func() bool {
		return len(a.Pending()) == 0 && slices.Contains(addrs(nsA, "lo"), "10.7.0.1/32")
	})
	ledgerA := ledgerPath(t, state, "a", nsA)
	for round := 0; round < 2; round++ {
		// A typo naming nothing: the scope waits for that namespace,
		// the ledger of A stays.
		write("path:"+nsA.Path()+"x", owning)
		if err := a.Reload(); err != nil {
			t.Fatalf("round %d: Reload with a missing netns = %v", round, err)
		}
		eventually(t, "a waiting", func() bool {
			st, err := a.Node().Status("a")
			return err == nil && st.GetPhase() == messages.Phase_PHASE_WAITING &&
				strings.Contains(st.GetReason(), "no such network namespace path")
		})
		// A typo naming another namespace: the scope runs there with a
		// ledger of its own, and owns nothing of B's.
		write("path:"+nsB.Path(), empty)
		if err := a.Reload(); err != nil {
			t.Fatalf("round %d: Reload into B: %v", round, err)
		}
		eventually(t, "a converged in B", func() bool { return len(a.Pending()) == 0 })
		if got := snapB(); got != beforeB {
			t.Fatalf("round %d: the scope changed B's own objects:\nbefore %s\nafter  %s", round, beforeB, got)
		}
		if _, err := os.Stat(ledgerA); err != nil {
			t.Fatalf("round %d: the ledger of A is gone: %v", round, err)
		}
		// Fixed, with the objects dropped: the scope deletes them in A.
		write("path:"+nsA.Path(), empty)
		if err := a.Reload(); err != nil {
			t.Fatalf("round %d: Reload back into A: %v", round, err)
		}
		eventually(t, "A's owned objects deleted", func() bool {
			return len(a.Pending()) == 0 && !slices.Contains(addrs(nsA, "lo"), "10.7.0.1/32") &&
				!strings.Contains(nsA.IP("rule", "show"), "277")
		})
		// Desired again, for the second round trip.
		write("path:"+nsA.Path(), owning)
		if err := a.Reload(); err != nil {
			t.Fatal(err)
		}
		eventually(t, "a converged in A again", func() bool {
			return len(a.Pending()) == 0 && slices.Contains(addrs(nsA, "lo"), "10.7.0.1/32")
		})
	}
	if got := snapB(); got != beforeB {
		t.Fatalf("B's own objects changed:\nbefore %s\nafter  %s", beforeB, got)
	}
}
