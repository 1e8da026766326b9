package scopestore

import (
	"os"
	"path/filepath"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/linx-net/linx/messages"
	"github.com/linx-net/linx/rtnl"
)

func TestStoreRoundTrip(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	spec := &messages.SpawnScope{Name: "b", Protocol: 77, Namespace: &messages.Namespace{Kind: &messages.Namespace_Pid{Pid: 42}},
		Desired: &messages.Desired{Addresses: []*messages.Address{{Link: "lo", Address: "10.0.0.1/32"}}}}
	if err := s.Put(Record{Spec: spec, Namespace: rtnl.NamespaceID{Dev: 4, Inode: 5}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(Record{Spec: &messages.SpawnScope{Name: "a"}, Stopped: true, Reason: "stopped by request"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(Record{Spec: &messages.SpawnScope{Name: "../x"}}); err == nil {
		t.Error("a name with a slash was recorded")
	}
	// A damaged file is reported and left in place; the others load.
	bad := filepath.Join(dir, Dir, "c.json")
	if err := os.WriteFile(bad, []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := s.Load()
	if err == nil {
		t.Error("Load: no error for the damaged record")
	}
	if len(got) != 2 || got[0].Name() != "a" || !got[0].Stopped || got[1].Name() != "b" {
		t.Fatalf("Load: %v", got)
	}
	if !proto.Equal(got[1].Spec, spec) || got[1].Namespace != (rtnl.NamespaceID{Dev: 4, Inode: 5}) {
		t.Errorf("b read back as %v", got[1])
	}
	if fi, err := os.Stat(filepath.Join(dir, Dir, "b.json")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("record file: %v, %v; want mode 0600", fi, err)
	}
	if err := s.Delete("b"); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete("b"); err != nil {
		t.Errorf("deleting a missing record: %v", err)
	}
	if _, ok, err := s.Get("b"); ok || err != nil {
		t.Errorf("Get after Delete: %v, %v", ok, err)
	}
	if _, err := os.Stat(bad); err != nil {
		t.Errorf("the damaged record was not left in place: %v", err)
	}
}
