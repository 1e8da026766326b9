package rtnl_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/linx-net/linx/internal/nstest"
	"github.com/linx-net/linx/rtnl"
)

// diStable is how many addresses the interrupted-dump tests keep on di0:
// enough for the address dump to span many datagrams, so that a change
// made while it runs falls between two of them.
const diStable = 3000

// diChurn is the address the tests add and delete while dumps run.
var diChurn = netip.MustParsePrefix("10.99.0.1/32")

// diSetup returns a namespace whose veth di0 holds diStable IPv4
// addresses (10.1.x.y/32), the socket that installed them, and di0's index.
func diSetup(t *testing.T) (*nstest.NS, *rtnl.Socket, int) {
	t.Helper()
	ns := nstest.New(t)
	ns.IP("link", "add", "di0", "type", "veth", "peer", "name", "di1")
	s := ns.Open()
	l, err := s.LinkByName("di0")
	if err != nil {
		t.Fatal(err)
	}
	var b rtnl.Batch
	for i := range diStable {
		b.AddressAdd(rtnl.Address{Index: l.Index, Prefix: diStableAddr(i)})
	}
	if err := s.Apply(&b); err != nil {
		t.Fatalf("installing %d addresses: %v", diStable, err)
	}
	return ns, s, l.Index
}

func diStableAddr(i int) netip.Prefix {
	return netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)}), 32)
}

// diCheck requires addrs to hold each stable address of di0 exactly once,
// the churn address at most once, and nothing else on di0: what one state
// of the table holds, never a mix of two.
func diCheck(addrs []rtnl.Address, index int) error {
	seen := map[netip.Prefix]int{}
	for _, a := range addrs {
		if a.Index != index {
			continue
		}
		seen[a.Prefix]++
		if seen[a.Prefix] > 1 {
			return fmt.Errorf("address %v listed twice", a.Prefix)
		}
	}
	for i := range diStable {
		if seen[diStableAddr(i)] != 1 {
			return fmt.Errorf("address %v missing (%d addresses on di0 listed)", diStableAddr(i), len(seen))
		}
		delete(seen, diStableAddr(i))
	}
	delete(seen, diChurn)
	for p := range seen {
		return fmt.Errorf("address %v listed, which di0 never held", p)
	}
	return nil
}

// diCrossCheck compares a listing with ip's addresses of di0.
func diCrossCheck(t *testing.T, ns *nstest.NS, addrs []rtnl.Address, index int) {
	t.Helper()
	var ip []struct {
		AddrInfo []struct {
			Local     string `json:"local"`
			PrefixLen int    `json:"prefixlen"`
		} `json:"addr_info"`
	}
	ns.JSON(&ip, "-4", "addr", "show", "dev", "di0")
	want := map[string]bool{}
	for _, l := range ip {
		for _, a := range l.AddrInfo {
			want[fmt.Sprintf("%s/%d", a.Local, a.PrefixLen)] = true
		}
	}
	got := 0
	for _, a := range addrs {
		if a.Index != index {
			continue
		}
		got++
		if !want[a.Prefix.String()] {
			t.Fatalf("listed %v, which ip does not show on di0", a.Prefix)
		}
	}
	if got != len(want) {
		t.Fatalf("listed %d addresses on di0, ip shows %d", got, len(want))
	}
}

// TestDumpInterruptedRetried lists addresses while another socket adds and
// deletes one at a random moment of each listing: the kernel then marks
// some dumps NLM_F_DUMP_INTR, and each of those must be restarted and
// yield one consistent state of the table, never an error, a missing or a
// doubled address. Each listing races two changes only, so it is
// interrupted at most twice, well under the retry bound.
func TestDumpInterruptedRetried(t *testing.T) {
	ns, s, index := diSetup(t)
	w := ns.Open()

	// Spread the changes over the length of a dump.
	start := time.Now()
	if _, err := s.Addresses(); err != nil {
		t.Fatal(err)
	}
	span := time.Since(start)

	run := make(chan struct{})
	done := make(chan error)
	defer close(run)
	go func() {
		for range run {
			time.Sleep(rand.N(span))
			err := w.AddressAdd("di0", diChurn)
			if err == nil {
				err = w.AddressDelete("di0", diChurn)
			}
			done <- err
		}
	}()

	const (
		maxDumps    = 1000
		maxDuration = 4 * time.Second
		enough      = 5
	)
	before := rtnl.DumpRestarts(s)
	deadline := time.Now().Add(maxDuration)
	dumps := 0
	for dumps < maxDumps && time.Now().Before(deadline) && rtnl.DumpRestarts(s)-before < enough {
		run <- struct{}{}
		addrs, err := s.Addresses()
		if werr := <-done; werr != nil {
			t.Fatalf("changing addresses: %v", werr)
		}
		dumps++
		if err != nil {
			t.Fatalf("listing %d: %v", dumps, err)
		}
		if err := diCheck(addrs, index); err != nil {
			t.Fatalf("listing %d: %v", dumps, err)
		}
	}
	restarts := rtnl.DumpRestarts(s) - before
	if restarts == 0 {
		t.Fatalf("the kernel marked none of %d address dumps interrupted (NLM_F_DUMP_INTR) in %v: the retry was never exercised", dumps, time.Since(deadline.Add(-maxDuration)).Round(time.Millisecond))
	}
	t.Logf("%d listings, %d restarted after NLM_F_DUMP_INTR", dumps, restarts)
	// Each listing raced the churn address's add and delete, so it may hold
	// it (a consistent table of the moment between them); one taken now,
	// with the churn over, is the table ip shows.
	still, err := s.Addresses()
	if err != nil {
		t.Fatal(err)
	}
	diCrossCheck(t, ns, still, index)
}

// TestDumpInterruptedBounded interrupts chosen attempts of a dump by
// changing an address after each attempt's first datagram: the dump is
// restarted once per interrupted attempt and returns the state after the
// changes; when every attempt is interrupted it gives up after
// rtnl.MaxDumpAttempts attempts with EINTR, and the socket keeps working.
func TestDumpInterruptedBounded(t *testing.T) {
	ns, s, index := diSetup(t)
	w := ns.Open()
	toggle := func() {
		t.Helper()
		if err := w.AddressAdd("di0", diChurn); err != nil {
			t.Fatal(err)
		}
		if err := w.AddressDelete("di0", diChurn); err != nil {
			t.Fatal(err)
		}
	}

	for _, interrupted := range []int{1, 3, rtnl.MaxDumpAttempts - 1} {
		before := rtnl.DumpRestarts(s)
		attempts := 0
		addrs, err := rtnl.AddressesDuring(s, func(attempt int) {
			attempts++
			if attempt != attempts {
				t.Errorf("attempt numbered %d, want %d", attempt, attempts)
			}
			if attempt <= interrupted {
				toggle()
			}
		})
		if err != nil {
			t.Fatalf("%d attempts interrupted: %v", interrupted, err)
		}
		if attempts != interrupted+1 {
			t.Fatalf("%d attempts interrupted: the dump ran %d attempts, want %d", interrupted, attempts, interrupted+1)
		}
		if got := rtnl.DumpRestarts(s) - before; got != uint64(interrupted) {
			t.Fatalf("%d attempts interrupted: %d restarts counted", interrupted, got)
		}
		if err := diCheck(addrs, index); err != nil {
			t.Fatalf("%d attempts interrupted: %v", interrupted, err)
		}
		diCrossCheck(t, ns, addrs, index)
	}

	before := rtnl.DumpRestarts(s)
	attempts := 0
	addrs, err := rtnl.AddressesDuring(s, func(int) {
		attempts++
		toggle()
	})
	var e *rtnl.Error
	if !errors.As(err, &e) || !errors.Is(err, unix.EINTR) || e.Errno != unix.EINTR {
		t.Fatalf("every attempt interrupted: err = %v (%T), want an *rtnl.Error with EINTR", err, err)
	}
	want := fmt.Sprintf("netlink EINTR (4): dump interrupted by concurrent changes %d times in a row; giving up", rtnl.MaxDumpAttempts)
	if e.Error() != want || e.Op != "address list" {
		t.Errorf("error %q (op %q), want %q (op \"address list\")", e.Error(), e.Op, want)
	}
	if addrs != nil {
		t.Errorf("a failed dump returned %d addresses, want nil", len(addrs))
	}
	if attempts != rtnl.MaxDumpAttempts {
		t.Errorf("the dump ran %d attempts, want %d", attempts, rtnl.MaxDumpAttempts)
	}
	if got := rtnl.DumpRestarts(s) - before; got != rtnl.MaxDumpAttempts-1 {
		t.Errorf("%d restarts counted, want %d", got, rtnl.MaxDumpAttempts-1)
	}

	// The socket is not left mid-dump: the public verbs work.
	addrs, err = s.Addresses()
	if err != nil {
		t.Fatalf("Addresses after a dump gave up: %v", err)
	}
	if err := diCheck(addrs, index); err != nil {
		t.Fatalf("Addresses after a dump gave up: %v", err)
	}
	diCrossCheck(t, ns, addrs, index)
	if out := ns.IP("-4", "addr", "show", "dev", "di0"); strings.Contains(out, diChurn.Addr().String()+"/") {
		t.Fatalf("the churn address is still on di0:\n%s", out)
	}
}
