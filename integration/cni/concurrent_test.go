package cni_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	types100 "github.com/containernetworking/cni/pkg/types/100"

	"github.com/linx-net/linx/internal/nstest"
)

// TestConcurrentAdd starts 50 pods at once, as a runtime does on a busy
// node: every ADD converges, no address is given twice, and the
// concurrent DELs leave nothing behind.
func TestConcurrentAdd(t *testing.T) {
	requirePlugins(t)
	const n = 50
	ctx := context.Background()
	ns := make([]*nstest.NS, n)
	for i := range n {
		ns[i] = nstest.New(t)
	}
	node := startNode(t)
	list := node.linxList(t, "busy")
	hostBefore := links(t, node.host)

	hostNSBefore := hostState(t)
	addrs := make([][]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range n {
		wg.Go(func() {
			r, err := node.cni.AddNetworkList(ctx, list, rt(i, ns[i]))
			if err != nil {
				errs[i] = err
				return
			}
			res, err := types100.NewResultFromResult(r)
			if err != nil || len(res.IPs) != 2 {
				errs[i] = fmt.Errorf("result %v: %v", r, err)
				return
			}
			for _, ip := range res.IPs {
				addrs[i] = append(addrs[i], ip.Address.String())
			}
		})
	}
	wg.Wait()
	t.Logf("%d concurrent ADDs took %v", n, time.Since(start).Round(time.Millisecond))
	for i, err := range errs {
		if err != nil {
			t.Errorf("ADD pod %d: %v", i, err)
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	seen := map[string]int{}
	for i, as := range addrs {
		got := ns[i].IP("addr", "show", "dev", "eth0")
		for _, a := range as {
			if j, dup := seen[a]; dup {
				t.Errorf("pods %d and %d both got %s", j, i, a)
			}
			seen[a] = i
			// What the kernel has, not only what the result says.
			if !strings.Contains(got, a) {
				t.Errorf("pod %d: eth0 lacks %s:\n%s", i, a, got)
			}
		}
		if err := node.cni.CheckNetworkList(ctx, list, rt(i, ns[i])); err != nil {
			t.Errorf("CHECK pod %d: %v", i, err)
		}
	}
	if len(seen) != 2*n {
		t.Errorf("%d addresses given to %d dual-stack pods", len(seen), n)
	}
	// The host side: every pod's veth is enslaved to the bridge and up.
	var ports []ipLink
	node.host.JSON(&ports, "link", "show", "master", "linx0")
	up := 0
	for _, p := range ports {
		if p.OperState == "UP" && strings.HasPrefix(p.IfName, "lx") {
			up++
		}
	}
	if up != n {
		t.Errorf("%d veths up on the bridge, want %d: %+v", up, n, ports)
	}

	for i := range n {
		wg.Go(func() {
			errs[i] = node.cni.DelNetworkList(ctx, list, rt(i, ns[i]))
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("DEL pod %d: %v", i, err)
		}
	}
	if got := scopes(t, node); !slices.Equal(got, []string{"cni-busy"}) {
		t.Errorf("scopes after DEL: %v; want the network's only", got)
	}
	if got, want := links(t, node.host), slices.Sorted(slices.Values(append(hostBefore, "linx0"))); !slices.Equal(got, want) {
		t.Errorf("host namespace links after DEL: %v; want %v", got, want)
	}
	if leases := ipamLeases(t, node.ipam); leases != 0 {
		t.Errorf("host-local holds %d addresses after DEL", leases)
	}
	if after := hostState(t); after != hostNSBefore {
		t.Errorf("the host namespace changed:\nbefore %s\nafter  %s", hostNSBefore, after)
	}
}
