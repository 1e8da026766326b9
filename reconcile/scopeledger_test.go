package reconcile_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/linx-net/linx/internal/nstest"
	"github.com/linx-net/linx/reconcile"
)

// A version 1 ledger (SCOPE.ledger, no namespace, no claims) is taken by
// the first namespace that opens the scope's ledger: renamed to that
// namespace's file, bound by the first pass, and its routes of the
// scope's protocol resumed without adopt_protocol (they are the scope's
// from before). Another namespace opening the same scope then starts
// empty, and never sees the file.
func TestOpenScopeLedgerTakesVersion1(t *testing.T) {
	a, b := nstest.New(t), nstest.New(t)
	sa := a.Open()
	dir := t.TempDir()
	a.IP("link", "add", "x0", "type", "bridge")
	a.IP("route", "add", "blackhole", "10.77.0.0/24", "proto", "76")
	old := `{"version": 1, "links": ["x0"], "addresses": [], "neighbours": [], "rules": []}`
	if err := os.WriteFile(filepath.Join(dir, "s.ledger"), []byte(old), 0o600); err != nil {
		t.Fatal(err)
	}
	// Read only, the file stays where it is.
	if p, err := reconcile.ScopeLedgerFile(dir, "s", a.Namespace()); err != nil || p != filepath.Join(dir, "s.ledger") {
		t.Fatalf("ScopeLedgerFile = %s, %v; want the version 1 file", p, err)
	}
	l, err := reconcile.OpenScopeLedger(dir, "s", a.Namespace())
	if err != nil {
		t.Fatal(err)
	}
	if p, err := reconcile.ScopeLedgerFile(dir, "s", a.Namespace()); err != nil || p != l.Path() {
		t.Fatalf("ScopeLedgerFile = %s, %v; want %s", p, err, l.Path())
	}
	if _, err := os.Stat(filepath.Join(dir, "s.ledger")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the version 1 file is still at its old name: %v", err)
	}
	if l.Len() != 1 {
		t.Fatalf("ledger holds %d keys, want x0", l.Len())
	}
	// Nothing desired: the scope deletes its x0 and its route of 76.
	if _, err := reconcile.Pass(sa, reconcile.Desired{}, l, reconcile.Options{}); err != nil {
		t.Fatalf("pass on a version 1 ledger: %v", err)
	}
	if strings.Contains(a.IP("link", "show"), "x0") || strings.Contains(a.IP("route", "show", "proto", "76"), "10.77.0.0") {
		t.Fatalf("owned objects left:\n%s%s", a.IP("link", "show"), a.IP("route", "show", "proto", "76"))
	}
	var f struct {
		Version   int `json:"version"`
		Namespace struct {
			Name  string `json:"name"`
			Inode uint64 `json:"inode"`
		} `json:"namespace"`
		Protocols []int `json:"protocols"`
	}
	data, err := os.ReadFile(l.Path())
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &f); err != nil || f.Version != 2 || f.Namespace.Name != "path:"+a.Path() || fmt.Sprint(f.Protocols) != "[76]" {
		t.Fatalf("saved ledger: %v\n%s", err, data)
	}

	lb, err := reconcile.OpenScopeLedger(dir, "s", b.Namespace())
	if err != nil || lb.Len() != 0 || lb.Path() == l.Path() {
		t.Fatalf("scope s in B: %v, %d keys at %s", err, lb.Len(), lb.Path())
	}
}

// A ledger written for a namespace whose inode the kernel has since given
// to another (told by the cookie) starts afresh: its keys named objects
// gone with their namespace, and the namespace there now keeps its own.
func TestLedgerOfReusedInode(t *testing.T) {
	ns := nstest.New(t)
	s := ns.Open()
	ns.IP("link", "add", "y0", "type", "veth", "peer", "name", "y1")
	ns.IP("addr", "add", "10.8.0.1/24", "dev", "y0")
	ns.IP("rule", "add", "from", "10.8.0.0/24", "table", "1008", "priority", "288")
	idx := ipIndex(t, ns, "y0")
	id := s.NamespaceID()
	path := filepath.Join(t.TempDir(), "s.ledger")
	stale := fmt.Sprintf(`{"version": 2, "namespace": {"name": "pid:1234", "dev": %d, "inode": %d, "cookie": %d},
  "links": ["y0"], "addresses": ["index=%d prefix=10.8.0.1/24"], "neighbours": [],
  "rules": ["family=inet priority=288 from=10.8.0.0/24 to= fwmark=0x0 fwmask=0x0 iif= oif= tos=0 invert=false action=to_tbl table=1008"],
  "index_links": {"%d": "y0"}, "protocols": [76]}`, id.Dev, id.Inode, id.Cookie+1, idx, idx)
	if err := os.WriteFile(path, []byte(stale), 0o600); err != nil {
		t.Fatal(err)
	}
	l, err := reconcile.OpenLedger(path)
	if err != nil || l.Len() != 3 {
		t.Fatalf("OpenLedger: %v, %d keys", err, l.Len())
	}
	before := ipSnap(ns, []string{"link", "show"}, []string{"addr", "show"}, []string{"rule", "show"})
	for _, run := range []func(reconcile.Kernel, reconcile.Desired, *reconcile.Ledger, reconcile.Options) (reconcile.Report, error){reconcile.Plan, reconcile.Pass} {
		r, err := run(s, reconcile.Desired{}, l, reconcile.Options{})
		if err != nil || len(r.Applied) != 0 {
			t.Fatalf("pass on the ledger of a namespace gone: %v, applied %v", err, r.Applied)
		}
	}
	if after := ipSnap(ns, []string{"link", "show"}, []string{"addr", "show"}, []string{"rule", "show"}); after != before {
		t.Fatalf("namespace changed:\nbefore %s\nafter  %s", before, after)
	}
	name, got := l.Namespace()
	if l.Len() != 0 || got != id || name != "path:"+ns.Path() {
		t.Fatalf("ledger after the pass: %d keys, namespace %s %v; want empty, bound to %v", l.Len(), name, got, id)
	}
}
