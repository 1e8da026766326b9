package agent

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/linx-net/linx/client"
	"github.com/linx-net/linx/internal/nstest"
	"github.com/linx-net/linx/internal/scopestore"
	"github.com/linx-net/linx/messages"
)

// TestDurableScopesResume runs an agent, changes scopes through the
// message API, restarts the agent and checks what it resumes: a spawned
// and updated scope with its last desired state (which it converges again
// after a hand deletion), a stopped one listed as stopped, a forgotten one
// gone, a pid: scope whose process died listed as stopped with that
// reason, and a recorded scope the file now names replaced by the file's.
func TestDurableScopesResume(t *testing.T) {
	nsA, nsP, nsQ, nsS := nstest.New(t), nstest.New(t), nstest.New(t), nstest.New(t)
	dir := t.TempDir()
	sock := filepath.Join(dir, "run", "linx.sock")
	path := filepath.Join(dir, "linx.yaml")
	head := "state_dir: " + filepath.Join(dir, "state") + "\nmetrics: {listen: \"127.0.0.1:0\"}\napi: {socket: " + sock + "}\nscopes:\n" +
		"  - name: a\n    netns: path:" + nsA.Path() + "\n    interval: 1h\n    desired: {addresses: [{link: lo, address: 10.1.0.1/32}]}\n"
	if err := os.WriteFile(path, []byte(head), 0o600); err != nil {
		t.Fatal(err)
	}
	start := func() (*Agent, *client.Client, func()) {
		a := newAPIAgent(t, path)
		stop := runAgent(t, a)
		eventually(t, "the agent serving", func() bool {
			_, err := os.Stat(sock)
			return len(a.Pending()) == 0 && err == nil
		})
		c, err := client.DialSocket(context.Background(), sock)
		if err != nil {
			t.Fatal(err)
		}
		return a, c, func() { c.Close(); stop() }
	}
	ctx := context.Background()
	addr := func(a string) *messages.Desired {
		return &messages.Desired{Addresses: []*messages.Address{{Link: "lo", Address: a}}}
	}
	at := func(ns *nstest.NS) *messages.Namespace {
		return &messages.Namespace{Kind: &messages.Namespace_Path{Path: ns.Path()}}
	}

	_, c, stop := start()
	pid, kill := processIn(t, nsQ)
	for _, spec := range []*messages.SpawnScope{
		{Name: "p", Namespace: at(nsP), Desired: addr("10.2.0.1/32")},
		{Name: "q", Namespace: &messages.Namespace{Kind: &messages.Namespace_Pid{Pid: uint32(pid)}}, Desired: addr("10.3.0.1/32")},
		{Name: "s", Namespace: at(nsS), Desired: addr("10.4.0.1/32")},
		{Name: "f", Namespace: at(nsS), Desired: addr("10.5.0.1/32"), Protocol: 77},
		{Name: "later", Namespace: at(nsS), Desired: addr("10.6.0.1/32"), Protocol: 78},
	} {
		if err := c.Spawn(ctx, spec); err != nil {
			t.Fatalf("spawning %s: %v", spec.GetName(), err)
		}
	}
	if err := c.Update(ctx, "p", addr("10.2.0.2/32")); err != nil {
		t.Fatal(err)
	}
	if err := c.Stop(ctx, "s"); err != nil {
		t.Fatal(err)
	}
	if err := c.Forget(ctx, "f"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "p updated", func() bool { return slices.Contains(addrs(nsP, "lo"), "10.2.0.2/32") })
	store, err := scopestore.Open(filepath.Join(dir, "state"))
	if err != nil {
		t.Fatal(err)
	}
	if r, ok, err := store.Get("p"); !ok || err != nil || r.Owner != "uid:0" || r.Spec.GetDesired().GetAddresses()[0].GetAddress() != "10.2.0.2/32" {
		t.Errorf("record of p: %+v, %v, %v; want its owner and last desired state", r, ok, err)
	}
	stop()

	// While the agent is down: q's process dies, p's address is deleted
	// by hand, and the file takes the name "later" for a scope of its own.
	kill()
	nsP.IP("addr", "del", "10.2.0.2/32", "dev", "lo")
	body := head + "  - name: later\n    netns: path:" + nsA.Path() + "\n    interval: 1h\n    protocol: 79\n    desired: {addresses: [{link: lo, address: 10.1.0.9/32}]}\n"
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}

	a, c, stop := start()
	defer stop()
	eventually(t, "p resumed with its last desired state", func() bool {
		return slices.Contains(addrs(nsP, "lo"), "10.2.0.2/32") && !slices.Contains(addrs(nsP, "lo"), "10.2.0.1/32")
	})
	list, err := a.Node().List()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]*messages.ScopeStatus{}
	for _, st := range list {
		got[st.GetName()] = st
	}
	if _, ok := got["f"]; ok || len(got) != 5 {
		t.Errorf("scopes after the restart: %v; want a, later, p, q, s", list)
	}
	if st := got["q"]; st.GetPhase() != messages.Phase_PHASE_STOPPED || !strings.Contains(st.GetReason(), "is gone") {
		t.Errorf("q: %v; want stopped, its process gone", st)
	}
	if st := got["s"]; st.GetPhase() != messages.Phase_PHASE_STOPPED || st.GetReason() != "stopped by request" {
		t.Errorf("s: %v; want listed as stopped by request", st)
	}
	eventually(t, "the file's scope later", func() bool { return slices.Contains(addrs(nsA, "lo"), "10.1.0.9/32") })

	// --forget removes the record of a resumed scope.
	if err := c.Forget(ctx, "s"); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := store.Get("s"); ok || err != nil {
		t.Errorf("record of s after --forget: %v, %v; want none", ok, err)
	}
}
