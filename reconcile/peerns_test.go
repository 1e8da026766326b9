package reconcile_test

import (
	"testing"

	"github.com/linx-net/linx/internal/nstest"
	"github.com/linx-net/linx/reconcile"
	"github.com/linx-net/linx/rtnl"
)

// TestVethPeerElsewhere: a veth whose peer is created in another
// namespace (a pod's) converges beside other links, a second pass has
// nothing to do, and a pass without it deletes it, its peer with it.
func TestVethPeerElsewhere(t *testing.T) {
	host, pod := nstest.New(t), nstest.New(t)
	s := host.Open()
	l := reconcile.NewLedger()
	d := reconcile.Desired{Links: []reconcile.Link{
		{Name: "br0", Kind: "bridge", State: reconcile.LinkStateUp},
		{Name: "lxpod", Kind: "veth", Master: "br0", MTU: 1400, State: reconcile.LinkStateUp,
			Data: rtnl.Veth{Peer: "eth0", PeerNamespace: pod.Namespace()}},
	}}
	r := mustPass(t, s, d, l)
	if len(r.Applied) == 0 {
		t.Fatal("first pass applied nothing")
	}
	if _, err := pod.TryIP("link", "show", "dev", "eth0"); err != nil {
		t.Fatalf("the peer is not in the pod: %v", err)
	}
	var ls []struct {
		Master string `json:"master"`
		MTU    int    `json:"mtu"`
	}
	host.JSON(&ls, "link", "show", "dev", "lxpod")
	if len(ls) != 1 || ls[0].Master != "br0" || ls[0].MTU != 1400 {
		t.Errorf("lxpod: %+v; want master br0, mtu 1400", ls)
	}
	if r := mustPass(t, s, d, l); len(r.Applied) != 0 {
		t.Errorf("second pass applied %v; want nothing", r.Applied)
	}
	d.Links = d.Links[:1]
	mustPass(t, s, d, l)
	if _, err := host.TryIP("link", "show", "dev", "lxpod"); err == nil {
		t.Error("lxpod is still there")
	}
	if _, err := pod.TryIP("link", "show", "dev", "eth0"); err == nil {
		t.Error("the peer is still in the pod")
	}
}
