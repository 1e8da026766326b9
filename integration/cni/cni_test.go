package cni_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/containernetworking/cni/libcni"
	"github.com/containernetworking/cni/pkg/types"
	types100 "github.com/containernetworking/cni/pkg/types/100"

	"github.com/linx-net/linx/internal/nstest"
)

const pods = 20

// TestLibcniLifecycle drives linx-cni through libcni as a runtime does:
// ADD and CHECK for 20 pods, the same pods through the reference bridge
// plugin with their container sides compared, an address and a route
// deleted by hand and restored by Linx (and not by the reference), GC of
// half the pods, DEL (twice, and once with the namespace gone), and
// nothing left behind.
func TestLibcniLifecycle(t *testing.T) {
	requirePlugins(t)
	hostBefore := hostState(t)
	ctx := context.Background()

	// Namespaces first: they are removed after the agent stops.
	linxPods := make([]*nstest.NS, pods)
	refPods := make([]*nstest.NS, pods)
	for i := range pods {
		linxPods[i], refPods[i] = nstest.New(t), nstest.New(t)
	}
	refHost := nstest.New(t)
	n := startNode(t)
	list := n.linxList(t, "linxnet")
	hostLinksBefore := links(t, n.host)

	start := time.Now()
	for i, ns := range linxPods {
		r, err := n.cni.AddNetworkList(ctx, list, rt(i, ns))
		if err != nil {
			t.Fatalf("ADD pod %d: %v", i, err)
		}
		res, err := types100.NewResultFromResult(r)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.IPs) != 2 || res.IPs[0].Interface == nil || *res.IPs[0].Interface != 2 || *res.IPs[1].Interface != 2 ||
			len(res.Interfaces) != 3 || res.Interfaces[2].Name != "eth0" || res.Interfaces[2].Sandbox != ns.Path() ||
			res.Interfaces[2].Mac == "" || res.Interfaces[0].Name != "linx0" {
			t.Fatalf("ADD pod %d: result %s", i, r)
		}
		for j, want := range []string{fmt.Sprintf("10.22.0.%d/24", i+2), fmt.Sprintf("fd22::%x/64", i+2)} {
			if got := res.IPs[j].Address.String(); got != want {
				t.Errorf("ADD pod %d: address %s, want %s", i, got, want)
			}
		}
	}
	linxAdd := time.Since(start)
	for i, ns := range linxPods {
		if err := n.cni.CheckNetworkList(ctx, list, rt(i, ns)); err != nil {
			t.Errorf("CHECK pod %d: %v", i, err)
		}
	}
	if err := n.cni.GetStatusNetworkList(ctx, list); err != nil {
		t.Errorf("STATUS: %v", err)
	}

	// The reference bridge plugin acts in the namespace it runs in: run
	// libcni from a thread inside refHost.
	refCNI := newCNI([]string{pluginDir}, filepath.Join(t.TempDir(), "cache"))
	ref := refList(t, filepath.Join(t.TempDir(), "ipam"))
	start = time.Now()
	inNamespace(t, refHost.Path(), func() {
		for i, ns := range refPods {
			if _, err := refCNI.AddNetworkList(ctx, ref, rt(i, ns)); err != nil {
				t.Errorf("reference ADD pod %d: %v", i, err)
				return
			}
		}
	})
	// Figures, not assertions: ADD through the agent against the
	// reference plugin's one-shot configuration, on the same machine.
	t.Logf("ADD of %d pods in a row: linx-cni %v (%v a pod), bridge %v (%v a pod)",
		pods, linxAdd.Round(time.Millisecond), (linxAdd / pods).Round(time.Millisecond),
		time.Since(start).Round(time.Millisecond), (time.Since(start) / pods).Round(time.Millisecond))
	for i := range pods {
		l, r := podSide(t, linxPods[i]), podSide(t, refPods[i])
		if l != r {
			t.Errorf("pod %d: the container sides differ\nlinx:\n%s\nbridge:\n%s", i, l, r)
		}
		if i == 0 {
			t.Logf("pod 0's container side (both plugins):\n%s", l)
		}
	}

	// Self-heal: an address deleted in pod 0, a route in pod 1, by hand.
	for _, ns := range []*nstest.NS{linxPods[0], refPods[0]} {
		ns.IP("addr", "del", "10.22.0.2/24", "dev", "eth0")
	}
	for _, ns := range []*nstest.NS{linxPods[1], refPods[1]} {
		ns.IP("route", "del", "192.0.2.0/24")
		ns.IP("-6", "route", "del", "default")
	}
	start = time.Now()
	eventually(t, "Linx restores pod 0's address and routes", func() bool {
		return strings.Contains(linxPods[0].IP("-4", "addr", "show", "dev", "eth0"), "10.22.0.2/24") &&
			strings.Contains(linxPods[0].IP("-4", "route"), "default via 10.22.0.1")
	})
	eventually(t, "Linx restores pod 1's route", func() bool {
		return strings.Contains(linxPods[1].IP("-4", "route"), "192.0.2.0/24 via 10.22.0.1") &&
			strings.Contains(linxPods[1].IP("-6", "route"), "default via fd22::1")
	})
	t.Logf("Linx restored the deleted address and routes in %v", time.Since(start).Round(time.Millisecond))
	for i := range 2 {
		if l, r := podSide(t, linxPods[i]), podSide(t, refPods[i]); l == r {
			t.Errorf("pod %d: the reference pod healed too?\n%s", i, r)
		}
		t.Logf("pod %d after the hand deletion: Linx's is whole again, the reference's stays broken:\n%s", i, podSide(t, refPods[i]))
	}
	if got := refPods[0].IP("-4", "addr", "show", "dev", "eth0"); strings.Contains(got, "10.22.0.2") {
		t.Errorf("the reference pod's address came back: %s", got)
	}
	if got := refPods[1].IP("route") + refPods[1].IP("-6", "route"); strings.Contains(got, "192.0.2.0/24") || strings.Contains(got, "default via fd22::1") {
		t.Errorf("the reference pod's routes came back: %s", got)
	}
	for i := range 2 {
		if err := n.cni.CheckNetworkList(ctx, list, rt(i, linxPods[i])); err != nil {
			t.Errorf("CHECK pod %d after healing: %v", i, err)
		}
	}

	// GC from a runtime that lost its cache: only the plugin's GC can find
	// pods 10..19, absent from the valid attachments.
	var valid []types.GCAttachment
	for i := range pods / 2 {
		valid = append(valid, types.GCAttachment{ContainerID: fmt.Sprintf("pod-%02d", i), IfName: "eth0"})
	}
	gcCNI := newCNI([]string{linxCNIDir, pluginDir}, filepath.Join(t.TempDir(), "cache"))
	if err := gcCNI.GCNetworkList(ctx, list, &libcni.GCArgs{ValidAttachments: valid}); err != nil {
		t.Fatalf("GC: %v", err)
	}
	for i := range pods {
		_, err := linxPods[i].TryIP("link", "show", "dev", "eth0")
		if gone := err != nil; gone != (i >= pods/2) {
			t.Errorf("after GC pod %d has eth0: %v; want %v", i, !gone, i < pods/2)
		}
	}
	if got := scopes(t, n); len(got) != 1+2*pods/2 {
		t.Errorf("scopes after GC: %v; want the network's and 10 pods'", got)
	}
	// host-local v1.9.0 has no GC of its own (a FIXME in its main.go): the
	// GC'd pods' addresses stay leased until their DEL below.
	t.Logf("host-local holds %d addresses after GC (its GC is a no-op)", ipamLeases(t, n.ipam))

	// DEL: every pod, twice; pod 9's namespace removed first.
	if out, err := execIP("netns", "del", linxPods[9].Name); err != nil {
		t.Fatalf("removing pod 9's namespace: %v %s", err, out)
	}
	if out, err := execIP("netns", "add", linxPods[9].Name); err != nil { // for nstest's cleanup
		t.Fatalf("%v %s", err, out)
	}
	for round := range 2 {
		for i, ns := range linxPods {
			if err := n.cni.DelNetworkList(ctx, list, rt(i, ns)); err != nil {
				t.Errorf("DEL pod %d (round %d): %v", i, round, err)
			}
		}
	}
	if got := scopes(t, n); !slices.Equal(got, []string{"cni-linxnet"}) {
		t.Errorf("scopes after DEL: %v; want the network's only", got)
	}
	if got, want := links(t, n.host), append(slices.Clone(hostLinksBefore), "linx0"); !slices.Equal(got, slices.Sorted(slices.Values(want))) {
		t.Errorf("host namespace links after DEL: %v; want %v", got, want)
	}
	for i, ns := range linxPods {
		if _, err := ns.TryIP("link", "show", "dev", "eth0"); err == nil {
			t.Errorf("pod %d still has eth0", i)
		}
	}
	if leases := ipamLeases(t, n.ipam); leases != 0 {
		t.Errorf("host-local holds %d addresses after DEL", leases)
	}
	ledgers, _ := filepath.Glob(filepath.Join(n.state, "cni-linxnet-*.ledger"))
	t.Logf("the agent's state directory keeps %d ledgers of forgotten pod scopes (forgetting a scope leaves its ledger)", len(ledgers))
	inNamespace(t, refHost.Path(), func() {
		for i, ns := range refPods {
			if err := refCNI.DelNetworkList(ctx, ref, rt(i, ns)); err != nil {
				t.Errorf("reference DEL pod %d: %v", i, err)
			}
		}
	})
	if after := hostState(t); after != hostBefore {
		t.Errorf("the host namespace changed:\nbefore %s\nafter  %s", hostBefore, after)
	}
}

// scopes lists the names of the agent's scopes.
func scopes(t *testing.T, n *node) []string {
	t.Helper()
	l, err := n.agent.Node().List()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, st := range l {
		names = append(names, st.GetName())
	}
	slices.Sort(names)
	return names
}

// ipamLeases counts the addresses host-local has handed out.
func ipamLeases(t *testing.T, dir string) int {
	t.Helper()
	n := 0
	entries, _ := filepath.Glob(filepath.Join(dir, "*", "*"))
	for _, e := range entries {
		base := filepath.Base(e)
		if strings.Count(base, ".") == 3 || strings.Contains(base, ":") {
			if !strings.HasPrefix(base, "last_reserved_ip") {
				n++
			}
		}
	}
	return n
}

func execIP(args ...string) (string, error) {
	out, err := osexec("ip", args...)
	return out, err
}

// TestErrors: the CNI error codes of an invalid configuration, a missing
// namespace and an unreachable agent.
func TestErrors(t *testing.T) {
	requirePlugins(t)
	ctx := context.Background()
	pod := nstest.New(t)
	n := startNode(t)
	code := func(err error) uint {
		var te *types.Error
		if errors.As(err, &te) {
			return te.Code
		}
		t.Fatalf("not a CNI error: %T %v", err, err)
		return 0
	}

	bad := parseList(t, `{"cniVersion": "1.1.0", "name": "linxnet", "plugins": [{"type": "linx-cni", "mtu": 12, "ipam": {"type": "host-local"}}]}`)
	if _, err := n.cni.AddNetworkList(ctx, bad, rt(0, pod)); err == nil || code(err) != types.ErrInvalidNetworkConfig || !strings.Contains(err.Error(), "mtu 12") {
		t.Errorf("ADD with mtu 12: %v; want code 7 naming the mtu", err)
	}

	list := n.linxList(t, "linxnet")
	gone := &libcni.RuntimeConf{ContainerID: "gone", NetNS: "/var/run/netns/linx-t-missing", IfName: "eth0"}
	if _, err := n.cni.AddNetworkList(ctx, list, gone); err == nil || code(err) != types.ErrUnknownContainer {
		t.Errorf("ADD into a missing namespace: %v; want code 3", err)
	}
	if err := n.cni.DelNetworkList(ctx, list, gone); err != nil {
		t.Errorf("DEL of a missing namespace never added: %v; want success", err)
	}

	away := parseList(t, strings.Replace(string(list.Bytes), n.socket, filepath.Join(t.TempDir(), "none.sock"), 1))
	if _, err := n.cni.AddNetworkList(ctx, away, rt(0, pod)); err == nil || code(err) != types.ErrTryAgainLater {
		t.Errorf("ADD with no agent: %v; want code 11", err)
	}
	if err := n.cni.GetStatusNetworkList(ctx, away); err == nil || code(err) != 50 {
		t.Errorf("STATUS with no agent: %v; want code 50", err)
	}
	if err := n.cni.CheckNetworkList(ctx, list, rt(0, pod)); err == nil || code(err) != 101 || !strings.Contains(err.Error(), "cni-linxnet-") {
		t.Errorf("CHECK of a pod never added: %v; want code 101 naming the scope", err)
	}

	noIPAM := parseList(t, strings.Replace(string(list.Bytes), `"type": "host-local"`, `"type": "no-such-ipam"`, 1))
	if _, err := n.cni.AddNetworkList(ctx, noIPAM, rt(0, pod)); err == nil || code(err) != 100 || !strings.Contains(err.Error(), "no-such-ipam") {
		t.Errorf("ADD with a missing IPAM plugin: %v; want code 100 naming it", err)
	}

	// A link named like the bridge that is no bridge: the host scope
	// cannot enslave the veth to it and never converges. ADD fails with
	// the scope's last error, and undoes what it did.
	n.host.IP("link", "add", "linx0", "type", "veth", "peer", "name", "linx0p")
	short := parseList(t, strings.Replace(string(list.Bytes), `"mtu": 1400`, `"mtu": 1400, "timeout": "2s"`, 1))
	_, err := n.cni.AddNetworkList(ctx, short, rt(0, pod))
	if err == nil || code(err) != 101 || !strings.Contains(err.Error(), "cni-linxnet-") {
		t.Errorf("ADD that cannot converge: %v; want code 101 naming the scope", err)
	}
	t.Logf("ADD that cannot converge: %v", err)
	if got := scopes(t, n); !slices.Equal(got, []string{"cni-linxnet"}) {
		t.Errorf("scopes after the failed ADD: %v; want the network's only", got)
	}
	if got := links(t, n.host); !slices.Equal(got, []string{"linx0", "linx0p", "lo"}) {
		t.Errorf("host links after the failed ADD: %v", got)
	}
	if _, err := pod.TryIP("link", "show", "dev", "eth0"); err == nil {
		t.Error("the pod kept eth0 after the failed ADD")
	}
	if _, err := os.Stat(n.ipam); err == nil {
		if leases := ipamLeases(t, n.ipam); leases != 0 {
			t.Errorf("host-local holds %d addresses after failed ADDs", leases)
		}
	}
}
