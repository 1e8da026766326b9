package supervisor_test

import (
	"fmt"
	"log/slog"
	"net/netip"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/linx-net/linx/actors/rtnlsource"
	"github.com/linx-net/linx/actors/supervisor"
	"github.com/linx-net/linx/messages"
	"github.com/linx-net/linx/reconcile"
	"github.com/linx-net/linx/rtnl"
)

// A program embeds the node and keeps a namespace converged in Go types
// only: no protobuf message is built. (It needs root, so it is compiled
// but not run.) The namespace /run/netns/blue need not exist yet: the
// scope waits for it (phase waiting) and converges it once `ip netns add
// blue` has made it.
func Example_rtnetlink() {
	logger := slog.Default()
	system := actor.NewActorSystem(actor.WithLoggerFactory(supervisor.LoggerFactory(logger)))
	node, err := supervisor.Start(system, supervisor.Config{
		NewSource: rtnlsource.Factory("/var/lib/linx", rtnlsource.WithLogger(logger)),
		Check:     rtnlsource.Check,
		Claim:     rtnlsource.Claim,
		Appear:    rtnlsource.Appear, // a waiting scope starts as soon as its namespace appears
		Logger:    logger,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer node.Shutdown()

	desired := reconcile.Desired{
		Links:     []reconcile.Link{{Name: "br0", Kind: "bridge", State: reconcile.LinkStateUp}},
		Addresses: []reconcile.Address{{Link: "br0", Prefix: netip.MustParsePrefix("10.0.42.1/24")}},
		Routes:    []reconcile.Route{{Dst: netip.MustParsePrefix("10.50.0.0/24"), Via: netip.MustParseAddr("10.0.42.254")}},
	}
	err = node.Spawn(supervisor.Spec{
		Name:      "blue",
		Namespace: rtnl.NamespaceAt("/run/netns/blue"),
		Desired:   desired,
		Loop:      supervisor.Loop{Interval: time.Minute},
		Source:    rtnlsource.Settings{Protocol: 77},
	})
	if err != nil {
		fmt.Println(err) // an invalid desired state wraps a *reconcile.InvalidError
		return
	}
	// Later: a new desired state, validated once and applied at once.
	desired.Routes = append(desired.Routes, reconcile.Route{Dst: netip.MustParsePrefix("10.51.0.0/24"), Via: netip.MustParseAddr("10.0.42.254")})
	if err := node.Update("blue", desired); err != nil {
		fmt.Println(err)
		return
	}
	for {
		st, err := node.Status("blue")
		if err != nil {
			fmt.Println(err)
			return
		}
		if st.GetPhase() == messages.Phase_PHASE_CONVERGED {
			fmt.Println("converged, ops applied:", st.GetOpsApplied())
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}
