package reconcile_test

import (
	"context"
	"log"
	"net/netip"
	"os/signal"
	"syscall"
	"time"

	"github.com/linx-net/linx/reconcile"
	"github.com/linx-net/linx/rtnl"
	"github.com/linx-net/linx/rtnl/monitor"
)

// The long-lived loop of a controller, in Go types only: desired state is
// a reconcile.Desired, the kernel's events only wake the loop, a timer is
// the safety net, and each pass re-reads what it owns. Nothing here
// touches the message API or protobuf; the node agent runs the same loop
// under supervision (package actors/reconciler). It needs root.
func ExamplePass_loop() {
	ns := rtnl.NamespaceAt("/var/run/netns/blue")
	s, err := rtnl.Open(ns)
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	m, err := monitor.Open(ns)
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	ledger, err := reconcile.OpenScopeLedger("/var/lib/linx", "blue", ns)
	if err != nil {
		log.Fatal(err)
	}
	desired := reconcile.Desired{
		Links:     []reconcile.Link{{Name: "br0", Kind: "bridge", State: reconcile.LinkStateUp}},
		Addresses: []reconcile.Address{{Link: "br0", Prefix: netip.MustParsePrefix("10.0.42.1/24")}},
		Routes:    []reconcile.Route{{Dst: netip.MustParsePrefix("10.50.0.0/24"), Via: netip.MustParseAddr("10.0.42.254")}},
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	tick := time.NewTicker(30 * time.Second)
	defer tick.Stop()
	for {
		r, err := reconcile.Pass(s, desired, ledger, reconcile.Options{})
		switch {
		case err != nil:
			log.Printf("pass: %v", err) // the next wake-up tries again
		case !r.Converged:
			log.Printf("conflicts: %v", r.Conflicts)
		}
		select {
		case <-ctx.Done():
			return // what the passes created stays, owned through the ledger
		case <-m.Wake():
		case <-tick.C:
		}
	}
}
