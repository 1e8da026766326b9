package reconcile_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/linx-net/linx/diff"
	"github.com/linx-net/linx/internal/nstest"
	"github.com/linx-net/linx/reconcile"
	"github.com/linx-net/linx/rtnl"
)

// ipIndex returns the ifindex `ip -j link show NAME` reports, 0 when there
// is no such link.
func ipIndex(t *testing.T, ns *nstest.NS, name string) int {
	t.Helper()
	var out []struct {
		Ifindex int    `json:"ifindex"`
		Ifname  string `json:"ifname"`
	}
	ns.JSON(&out, "link", "show")
	for _, l := range out {
		if l.Ifname == name {
			return l.Ifindex
		}
	}
	return 0
}

// savedLinks returns the links and link indices of the ledger file at path.
func savedLinks(t *testing.T, path string) ([]string, map[string]int) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Version   int            `json:"version"`
		Links     []string       `json:"links"`
		LinkIndex map[string]int `json:"link_index"`
	}
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatal(err)
	}
	if f.Version != 1 && f.Version != 2 {
		t.Fatalf("ledger file version %d, want 1 or 2", f.Version)
	}
	return f.Links, f.LinkIndex
}

// TestForeignLinkOfOwnedName checks that a link Linx created, deleted and
// recreated by another writer under the same name, is not Linx's: the pass
// that no longer desires the name leaves the foreign link in place and
// drops the name from the ledger, while an owned link still the one Linx
// created is deleted as before.
func TestForeignLinkOfOwnedName(t *testing.T) {
	ns := nstest.New(t)
	s := ns.Open()
	path := filepath.Join(t.TempDir(), "state", "scope.ledger")
	l, err := reconcile.OpenLedger(path)
	if err != nil {
		t.Fatal(err)
	}
	d := reconcile.Desired{Links: []reconcile.Link{
		{Name: "x0", Kind: "veth", Data: rtnl.Veth{Peer: "x1"}, State: reconcile.LinkStateUp},
		{Name: "y0", Kind: "bridge"},
	}}
	mustPass(t, s, d, l)
	x, y := diff.LinkKey{Name: "x0"}, diff.LinkKey{Name: "y0"}
	xIndex := ipIndex(t, ns, "x0")
	if got, ok := l.LinkIndex(x); !ok || got != xIndex || xIndex == 0 {
		t.Fatalf("ledger index of x0 = %d, %v; ip reports %d", got, ok, xIndex)
	}
	if got, ok := l.LinkIndex(y); !ok || got != ipIndex(t, ns, "y0") {
		t.Fatalf("ledger index of y0 = %d, %v; ip reports %d", got, ok, ipIndex(t, ns, "y0"))
	}
	if _, saved := savedLinks(t, path); saved["x0"] != xIndex {
		t.Fatalf("saved link indices %v, want x0 at %d", saved, xIndex)
	}

	// Another writer replaces x0 with a link of its own.
	ns.IP("link", "del", "x0")
	ns.IP("link", "add", "x0", "type", "bridge")
	foreign := ipIndex(t, ns, "x0")
	if foreign == 0 || foreign == xIndex {
		t.Fatalf("recreated x0 has index %d (was %d)", foreign, xIndex)
	}

	r := mustPass(t, s, reconcile.Desired{}, l)
	if len(r.Applied) != 1 || r.Applied[0].Action != diff.Delete || r.Applied[0].Kind != diff.KindLink || r.Applied[0].Link.Name != "y0" {
		t.Errorf("teardown applied %v, want y0 deleted alone", r.Applied)
	}
	if got := ipIndex(t, ns, "x0"); got != foreign {
		t.Errorf("foreign x0: ip reports index %d, want it left at %d", got, foreign)
	}
	if got := ipIndex(t, ns, "y0"); got != 0 {
		t.Errorf("owned y0 left at index %d", got)
	}
	if l.Owned().Links.Has(x) || l.Len() != 0 {
		t.Errorf("ledger still owns %v (%d keys)", l.Owned().Links, l.Len())
	}
	if links, saved := savedLinks(t, path); len(links) != 0 || len(saved) != 0 {
		t.Errorf("saved ledger: links %v, indices %v; want none", links, saved)
	}
	if r := mustPass(t, s, reconcile.Desired{}, l); len(r.Applied) != 0 {
		t.Errorf("next pass applied %v", r.Applied)
	}
}

// TestForeignLinkOfOwnedNameNotRecreated checks that a foreign link that
// took an owned name is treated as foreign while still desired: settings it
// cannot take in place are a conflict, not a delete and create.
func TestForeignLinkOfOwnedNameNotRecreated(t *testing.T) {
	ns := nstest.New(t)
	s := ns.Open()
	l := reconcile.NewLedger()
	d := reconcile.Desired{Links: []reconcile.Link{{Name: "x0", Kind: "bridge"}}}
	mustPass(t, s, d, l)
	ns.IP("link", "del", "x0")
	ns.IP("link", "add", "x0", "type", "veth", "peer", "name", "x1")
	foreign := ipIndex(t, ns, "x0")

	r, err := reconcile.Pass(s, d, l, reconcile.Options{})
	if err != nil {
		t.Fatalf("pass: %v (applied %v)", err, r.Applied)
	}
	if r.Converged || len(r.Applied) != 0 || len(r.Conflicts) != 1 || r.Conflicts[0].Kind != diff.KindLink {
		t.Fatalf("pass: converged=%v applied=%v conflicts=%v; want one link conflict", r.Converged, r.Applied, r.Conflicts)
	}
	if got := ipIndex(t, ns, "x0"); got != foreign {
		t.Errorf("foreign x0: ip reports index %d, want it left at %d", got, foreign)
	}
	if l.Len() != 0 {
		t.Errorf("ledger still holds %d keys: %v", l.Len(), l.Owned().Links)
	}
}

// TestLedgerWithoutLinkIndices checks that a ledger saved before link
// indices were recorded loads and owns its links by name, as it did: an
// owned name no longer desired is deleted, and a kept one gets the index
// of the link seen, saved in the file.
func TestLedgerWithoutLinkIndices(t *testing.T) {
	ns := nstest.New(t)
	s := ns.Open()
	ns.IP("link", "add", "x0", "type", "bridge")
	ns.IP("link", "add", "y0", "type", "bridge")
	path := filepath.Join(t.TempDir(), "scope.ledger")
	old := `{
  "version": 1,
  "links": ["x0", "y0"],
  "addresses": [],
  "neighbours": [],
  "rules": []
}
`
	if err := os.WriteFile(path, []byte(old), 0o600); err != nil {
		t.Fatal(err)
	}
	l, err := reconcile.OpenLedger(path)
	if err != nil {
		t.Fatalf("opening a ledger without link indices: %v", err)
	}
	x, y := diff.LinkKey{Name: "x0"}, diff.LinkKey{Name: "y0"}
	if !l.Owned().Links.Has(x) || !l.Owned().Links.Has(y) {
		t.Fatalf("loaded links %v, want x0 and y0", l.Owned().Links)
	}
	if _, ok := l.LinkIndex(x); ok {
		t.Fatal("an index recorded for x0 before any pass")
	}

	// A plan records nothing.
	if _, err := reconcile.Plan(s, reconcile.Desired{}, l, reconcile.Options{}); err != nil {
		t.Fatal(err)
	}
	if _, saved := savedLinks(t, path); len(saved) != 0 {
		t.Fatalf("a plan saved link indices %v", saved)
	}

	r := mustPass(t, s, reconcile.Desired{Links: []reconcile.Link{{Name: "y0", Kind: "bridge"}}}, l)
	if len(r.Applied) != 1 || r.Applied[0].Action != diff.Delete || r.Applied[0].Kind != diff.KindLink || r.Applied[0].Link.Name != "x0" {
		t.Errorf("pass applied %v, want owned x0 deleted alone", r.Applied)
	}
	if got := ipIndex(t, ns, "x0"); got != 0 {
		t.Errorf("owned x0 left at index %d", got)
	}
	yIndex := ipIndex(t, ns, "y0")
	if got, ok := l.LinkIndex(y); !ok || got != yIndex {
		t.Errorf("ledger index of y0 = %d, %v; ip reports %d", got, ok, yIndex)
	}
	links, saved := savedLinks(t, path)
	if len(links) != 1 || links[0] != "y0" || len(saved) != 1 || saved["y0"] != yIndex {
		t.Errorf("saved ledger: links %v, indices %v; want y0 at %d", links, saved, yIndex)
	}
}
