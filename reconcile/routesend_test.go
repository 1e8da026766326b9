package reconcile_test

import (
	"errors"
	"net/netip"
	"sync"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/linx-net/linx/diff"
	"github.com/linx-net/linx/reconcile"
	"github.com/linx-net/linx/reconcile/fakekernel"
	"github.com/linx-net/linx/rtnl"
)

// pipeKernel is a fake kernel that counts the route batches it is given
// (from any goroutine), can fail one of them, and is an AppliedObserver
// that keeps what the pass tells it.
type pipeKernel struct {
	*fakekernel.Kernel
	// fail, when set, is the outcome of route batch n (from 1) instead of
	// applying it; nil applies it.
	fail func(n int, b *rtnl.Batch) error

	mu       sync.Mutex
	batches  int
	observed []diff.Op
}

func (k *pipeKernel) ApplyWith(b *rtnl.Batch, o rtnl.ApplyOptions) error {
	routes := false
	for _, e := range b.Entries() {
		routes = e.Type == unix.RTM_NEWROUTE
		break
	}
	if routes {
		k.mu.Lock()
		k.batches++
		n := k.batches
		k.mu.Unlock()
		if k.fail != nil {
			if err := k.fail(n, b); err != nil {
				return err
			}
		}
	}
	return k.Kernel.ApplyWith(b, o)
}

func (k *pipeKernel) Applied(ops []diff.Op) { k.observed = append(k.observed, ops...) }

func (k *pipeKernel) sent() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.batches
}

// pipeRoutes is how many routes the pipeline tests desire: seven chunks
// of 8192, the last short, more than the pass queues ahead.
const pipeRoutes = 6*8192 + 100

func ownRoutes(t *testing.T, k *fakekernel.Kernel) int {
	t.Helper()
	rs, err := k.RoutesFiltered(rtnl.RouteFilter{Protocol: rtnl.DefaultProtocol})
	if err != nil {
		t.Fatal(err)
	}
	return len(rs)
}

// TestRoutePipeline: a large route install goes to the kernel chunk by
// chunk and is reported whole, in key order, with the AppliedObserver
// told of exactly the ops of Report.Applied.
func TestRoutePipeline(t *testing.T) {
	k := &pipeKernel{Kernel: fakekernel.New(rtnl.Host(), rtnl.NamespaceID{Dev: 1, Inode: 1})}
	rep, err := reconcile.Pass(k, validatedDesired(pipeRoutes), reconcile.NewLedger(), reconcile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := ownRoutes(t, k.Kernel); got != pipeRoutes {
		t.Fatalf("kernel holds %d routes, want %d", got, pipeRoutes)
	}
	if k.sent() != 7 {
		t.Errorf("%d route batches, want 7", k.sent())
	}
	var routes []diff.Op
	for _, op := range rep.Applied {
		if op.Kind == diff.KindRoute {
			if op.Action != diff.Create {
				t.Fatalf("route op %v, want a create", op)
			}
			routes = append(routes, op)
		}
	}
	if len(routes) != pipeRoutes {
		t.Fatalf("report lists %d route ops, want %d", len(routes), pipeRoutes)
	}
	for i := 1; i < len(routes); i++ {
		if diff.KeyOfRoute(*routes[i-1].Route).Compare(diff.KeyOfRoute(*routes[i].Route)) >= 0 {
			t.Fatalf("route ops %d and %d out of key order: %v, %v", i-1, i, routes[i-1].Route, routes[i].Route)
		}
	}
	if len(k.observed) != len(rep.Applied) {
		t.Fatalf("observer told of %d ops, report lists %d", len(k.observed), len(rep.Applied))
	}
	for i := range k.observed {
		if k.observed[i].Action != rep.Applied[i].Action || k.observed[i].Key() != rep.Applied[i].Key() {
			t.Fatalf("observed op %d is %v, report's is %v", i, k.observed[i], rep.Applied[i])
		}
	}
}

// TestRoutePipelineStops: a route batch that fails as a whole (the socket
// broke) fails the pass, and one cut short ends the sending: either way
// no later chunk is sent, though the pass had built some ahead, what was
// applied before is reported, and the next pass sends the rest.
func TestRoutePipelineStops(t *testing.T) {
	broke := errors.New("socket broke")
	for _, c := range []struct {
		name string
		fail func(n int, b *rtnl.Batch) error
		err  error
	}{
		{"broken", func(n int, _ *rtnl.Batch) error {
			if n == 3 {
				return broke
			}
			return nil
		}, broke},
		{"cut short", func(n int, b *rtnl.Batch) error {
			if n == 3 {
				return &rtnl.BatchError{Done: 0, Len: b.Len()}
			}
			return nil
		}, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			k := &pipeKernel{Kernel: fakekernel.New(rtnl.Host(), rtnl.NamespaceID{Dev: 1, Inode: 1}), fail: c.fail}
			l := reconcile.NewLedger()
			d := validatedDesired(pipeRoutes)
			rep, err := reconcile.Pass(k, d, l, reconcile.Options{})
			if !errors.Is(err, c.err) || (c.err == nil) != (err == nil) {
				t.Fatalf("pass error %v, want %v", err, c.err)
			}
			if k.sent() != 3 {
				t.Errorf("%d route batches sent, want 3: none after the one that failed", k.sent())
			}
			if got := ownRoutes(t, k.Kernel); got != 2*8192 {
				t.Errorf("kernel holds %d routes, want the first two chunks' %d", got, 2*8192)
			}
			routes := 0
			for _, op := range rep.Applied {
				if op.Kind == diff.KindRoute {
					routes++
				}
			}
			if routes != 2*8192 {
				t.Errorf("report lists %d route ops, want %d", routes, 2*8192)
			}

			k.fail = nil
			if _, err := reconcile.Pass(k, d, l, reconcile.Options{}); err != nil {
				t.Fatal(err)
			}
			if got := ownRoutes(t, k.Kernel); got != pipeRoutes {
				t.Fatalf("after the next pass the kernel holds %d routes, want %d", got, pipeRoutes)
			}
		})
	}
}

// TestRoutePipelineFailFast: with FailFast, a route the kernel refuses
// fails the pass; the chunks already sent are reported, and the pass
// sends no more once it has the failure.
func TestRoutePipelineFailFast(t *testing.T) {
	k := &pipeKernel{Kernel: fakekernel.New(rtnl.Host(), rtnl.NamespaceID{Dev: 1, Inode: 1})}
	d := validatedDesired(pipeRoutes)
	bad := d.Routes[10].Dst
	k.SetFault(func(op string, obj any) *rtnl.Error {
		if r, ok := obj.(rtnl.Route); ok && r.Dst == bad {
			return fakekernel.Refuse(op, unix.EINVAL, "invalid argument")
		}
		return nil
	})
	rep, err := reconcile.Pass(k, d, reconcile.NewLedger(), reconcile.Options{FailFast: true})
	var f *reconcile.Failure
	if !errors.As(err, &f) || f.Op.Route == nil || f.Op.Route.Dst != bad {
		t.Fatalf("pass error %v, want the failure of the route to %s", err, bad)
	}
	if k.sent() >= 7 {
		t.Errorf("%d route batches sent: FailFast sent them all", k.sent())
	}
	routes := 0
	for _, op := range rep.Applied {
		if op.Kind == diff.KindRoute {
			routes++
		}
	}
	if got := ownRoutes(t, k.Kernel); got != routes {
		t.Errorf("kernel holds %d routes, the report lists %d applied", got, routes)
	}
}

// TestRoutePipelineRefusals: routes the kernel refuses in several chunks
// are reported as failures, each once, and Report.Applied lists exactly
// the routes the kernel holds, in key order.
func TestRoutePipelineRefusals(t *testing.T) {
	k := &pipeKernel{Kernel: fakekernel.New(rtnl.Host(), rtnl.NamespaceID{Dev: 1, Inode: 1})}
	d := validatedDesired(pipeRoutes)
	bad := map[netip.Prefix]bool{}
	for _, i := range []int{0, 8191, 8192, 20000, 20001, pipeRoutes - 1} {
		bad[d.Routes[i].Dst] = true
	}
	k.SetFault(func(op string, obj any) *rtnl.Error {
		if r, ok := obj.(rtnl.Route); ok && bad[r.Dst] {
			return fakekernel.Refuse(op, unix.EINVAL, "invalid argument")
		}
		return nil
	})
	rep, err := reconcile.Pass(k, d, reconcile.NewLedger(), reconcile.Options{})
	var f *reconcile.Failure
	if !errors.As(err, &f) {
		t.Fatalf("pass error %v, want a *Failure", err)
	}
	failed := map[netip.Prefix]int{}
	for _, f := range rep.Failures {
		failed[f.Op.Route.Dst]++
	}
	if len(failed) != len(bad) {
		t.Errorf("failures %v, want one for each of %v", failed, bad)
	}
	for dst, n := range failed {
		if !bad[dst] || n != 1 {
			t.Errorf("route to %s failed %d times; refused: %v", dst, n, bad[dst])
		}
	}
	held, err := k.RoutesFiltered(rtnl.RouteFilter{Protocol: rtnl.DefaultProtocol})
	if err != nil {
		t.Fatal(err)
	}
	inKernel := map[netip.Prefix]bool{}
	for _, r := range held {
		inKernel[r.Dst] = true
	}
	var last *rtnl.Route
	applied := 0
	for _, op := range rep.Applied {
		if op.Kind != diff.KindRoute {
			continue
		}
		applied++
		if !inKernel[op.Route.Dst] {
			t.Fatalf("report lists %v, which the kernel does not hold", op)
		}
		if last != nil && diff.KeyOfRoute(*last).Compare(diff.KeyOfRoute(*op.Route)) >= 0 {
			t.Fatalf("route ops out of key order: %v, %v", last, op.Route)
		}
		last = op.Route
	}
	if applied != len(held) || len(held) != pipeRoutes-len(bad) {
		t.Errorf("report lists %d route ops, kernel holds %d, want %d", applied, len(held), pipeRoutes-len(bad))
	}
}
