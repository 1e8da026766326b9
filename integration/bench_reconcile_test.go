package integration

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/linx-net/linx/internal/nstest"
	"github.com/linx-net/linx/reconcile"
	"github.com/linx-net/linx/rtnl"
)

// reconcileDesired is the install benchmark's routes as desired state.
func reconcileDesired() reconcile.Desired {
	d := reconcile.Desired{Routes: make([]reconcile.Route, installRoutes)}
	for i := range d.Routes {
		d.Routes[i] = reconcile.Route{Dst: installDst(i), Via: installGateway}
	}
	return d
}

// rawOwnedDump times a raw dump of the routes of protocol installProto,
// filtered in the kernel as the pass asks for them: bytes read, nothing
// decoded. It fails b unless the dump holds exactly want routes.
func rawOwnedDump(b *testing.B, ns *nstest.NS, want int) time.Duration {
	fd := rawSocket(b, ns)
	defer unix.Close(fd)
	_ = unix.SetsockoptInt(fd, unix.SOL_NETLINK, unix.NETLINK_GET_STRICT_CHK, 1)
	n, d := dumpRaw(b, fd, make([]byte, 64<<10), 1, installProto)
	if n != want {
		b.Fatalf("raw dump of protocol %d read %d routes, want %d", installProto, n, want)
	}
	return d
}

// BenchmarkReconcile measures a pass installing 100,000 routes from empty
// against a raw batched install (the best of installRounds runs of each),
// and a converged (no-op) pass over them, as the agent runs it (its
// desired state validated once, reconcile.PassValidated), against a raw
// dump of the owned routes, with no foreign routes and then with 200,000
// routes of other protocols in other tables.
func BenchmarkReconcile(b *testing.B) {
	if testing.Short() {
		b.Skip("100k-route benchmark skipped under -short")
	}
	nstest.RequireRoot(b)
	d := reconcileDesired()
	for range b.N {
		// The raw install and the pass run in turn, installRounds times,
		// each in a fresh namespace; the best of each is compared. The last
		// namespace serves the no-op passes.
		install, rawInstallTime := time.Duration(1<<62), time.Duration(1<<62)
		var (
			ns *nstest.NS
			s  *rtnl.Socket
			l  *reconcile.Ledger
		)
		for range installRounds {
			raw, _ := rawInstall(b)
			rawInstallTime = min(rawInstallTime, raw)

			ns = installNS(b)
			s = ns.Open()
			l = reconcile.NewLedger()
			start := time.Now()
			r, err := reconcile.Pass(s, d, l, reconcile.Options{Protocol: installProto})
			install = min(install, time.Since(start))
			if err != nil || !r.Converged || len(r.Applied) != installRoutes {
				b.Fatalf("install pass: err=%v converged=%v applied=%d", err, r.Converged, len(r.Applied))
			}
		}
		fmt.Printf("reconcile_install_100k: linx=%.1f raw_batched=%.1f ratio=%.2f\n",
			msOf(install), msOf(rawInstallTime), float64(install)/float64(rawInstallTime))

		// The agent validates a desired state once, when it is spawned or
		// updated, and each of its passes takes it validated.
		v, err := d.Validated()
		if err != nil {
			b.Fatal(err)
		}
		noop := func(foreign int) {
			best, bestRaw := time.Duration(1<<62), time.Duration(1<<62)
			for range 5 {
				start := time.Now()
				r, err := reconcile.PassValidated(s, v, l, reconcile.Options{Protocol: installProto})
				el := time.Since(start)
				if err != nil || !r.Converged || len(r.Applied) != 0 {
					b.Fatalf("no-op pass: err=%v converged=%v applied=%d", err, r.Converged, len(r.Applied))
				}
				best = min(best, el)
				bestRaw = min(bestRaw, rawOwnedDump(b, ns, installRoutes))
			}
			fmt.Printf("reconcile_noop_100k: linx=%.1f raw_dump=%.1f ratio=%.2f foreign=%d\n",
				msOf(best), msOf(bestRaw), float64(best)/float64(bestRaw), foreign)
		}
		noop(0)
		var batch strings.Builder
		for i := range 200_000 {
			fmt.Fprintf(&batch, "route add blackhole 11.%d.%d.0/24 table %d proto static\n", i>>8&0xff, i&0xff, 200+i>>16)
		}
		ns.Batch(batch.String())
		noop(200_000)
	}
}

func msOf(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
