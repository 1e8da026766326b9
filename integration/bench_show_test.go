package integration

import (
	"bytes"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/linx-net/linx/internal/nstest"
	"github.com/linx-net/linx/rtnl"
)

// showRounds is how many times each command lists the table; the best
// time of each is printed, as for the dump benchmark.
const showRounds = 3

// showNS returns a namespace holding n unicast /32 routes through a
// gateway on veth s0 (so that every line names a gateway and a device),
// installed with rtnl.Batch in chunks.
func showNS(b *testing.B, n int) *nstest.NS {
	b.Helper()
	ns := nstest.New(b)
	s := ns.Open()
	for _, err := range []error{
		s.CreateVeth("s0", "s1"), s.LinkSetUp("s0"), s.LinkSetUp("s1"),
		s.AddressAdd("s0", netip.MustParsePrefix("10.0.0.1/24")),
	} {
		if err != nil {
			b.Fatal(err)
		}
	}
	gw := netip.MustParseAddr("10.0.0.2")
	var batch rtnl.Batch
	for i := range n {
		batch.RouteAdd(rtnl.Route{
			Dst:      netip.PrefixFrom(netip.AddrFrom4([4]byte{11 + byte(i>>24), byte(i >> 16), byte(i >> 8), byte(i)}), 32),
			Gateway:  gw,
			Protocol: rtnl.ProtocolStatic,
		})
		if batch.Len() == 100_000 || i == n-1 {
			if err := s.Apply(&batch); err != nil {
				b.Fatal(err)
			}
			batch.Reset()
		}
	}
	return ns
}

// lineCounter counts the lines written to it and drops them, as a reader
// at the end of a pipe (`| wc -l`) would.
type lineCounter struct{ n int }

func (c *lineCounter) Write(p []byte) (int, error) {
	c.n += bytes.Count(p, []byte{'\n'})
	return len(p), nil
}

// gnuTime is GNU time, which reports the peak RSS of the command it runs.
const gnuTime = "/usr/bin/time"

// timeCmd runs name with args, its output read to the end, and returns
// the wall time (process start included, as a user pays it), the peak
// RSS of the process in MB, and the number of lines it printed.
//
// The peak RSS is the one GNU time reports, when installed: the rusage
// of a child of this process overstates it, since Go starts children with
// vfork and the kernel carries the parent's peak, as it stood at the
// exec, into the child's ru_maxrss (fs/exec.c, setmax_mm_hiwater_rss).
// Without GNU time that inflated figure is returned.
func timeCmd(b *testing.B, name string, args ...string) (time.Duration, float64, int) {
	b.Helper()
	var out lineCounter
	var stderr bytes.Buffer
	rssFile := filepath.Join(b.TempDir(), "rss")
	cmd := exec.Command(name, args...)
	if _, err := os.Stat(gnuTime); err == nil {
		cmd = exec.Command(gnuTime, append([]string{"-f", "%M", "-o", rssFile, name}, args...)...)
	}
	cmd.Stdout, cmd.Stderr = &out, &stderr
	start := time.Now()
	err := cmd.Run()
	d := time.Since(start)
	if err != nil {
		b.Fatalf("%s %v: %v: %s", name, args, err, bytes.TrimSpace(stderr.Bytes()))
	}
	if data, err := os.ReadFile(rssFile); err == nil {
		kb, err := strconv.ParseFloat(strings.TrimSpace(string(data)), 64)
		if err != nil {
			b.Fatalf("%s: peak RSS %q: %v", gnuTime, data, err)
		}
		return d, kb / 1024, out.n
	}
	ru, _ := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	rss := 0.0
	if ru != nil {
		rss = float64(ru.Maxrss) / 1024 // kB
	}
	return d, rss, out.n
}

// benchShowRoutes lists n routes with the built linx-node (table and
// JSON) and with ip (text and JSON) in the same run, showRounds times in
// turn, and prints the best time of each (in seconds), the peak RSS of
// linx-node over all its runs, the ratios of Linx's times to ip's, and
// ip's peak RSS:
//
//	show_routes_<label>: table_s=<s> json_s=<s> ip_s=<s> ip_json_s=<s> peak_rss=<MB> ratio_table=<x> ratio_json=<x> ip_peak_rss=<MB>
func benchShowRoutes(b *testing.B, bin string, n int, label string) {
	ns := showNS(b, n)
	cmds := [][]string{
		{bin, "show", "routes", "--netns", ns.Name},
		{bin, "show", "routes", "--netns", ns.Name, "-o", "json"},
		{"ip", "-n", ns.Name, "route", "show", "table", "all"},
		{"ip", "-n", ns.Name, "-j", "route", "show", "table", "all"},
	}
	var times [4][]time.Duration
	var lines [4]int
	peak, ipPeak := 0.0, 0.0
	for range showRounds {
		for k, c := range cmds {
			d, rss, l := timeCmd(b, c[0], c[1:]...)
			times[k] = append(times[k], d)
			lines[k] = l
			if k < 2 {
				peak = max(peak, rss)
			} else {
				ipPeak = max(ipPeak, rss)
			}
		}
	}
	// The table has a header line; the JSON array one line per route
	// plus its brackets; ip prints one line per route. The kernel's own
	// routes may come and go between two listings (IPv6 ones as duplicate
	// address detection ends): a few lines of difference are allowed, a
	// missing share of the table is not.
	near := func(a, b int) bool { return a-b <= 16 && b-a <= 16 }
	if !near(lines[0]-1, lines[2]) || !near(lines[1]-2, lines[2]) || lines[0]-1 < n || lines[1]-2 < n || lines[2] < n {
		b.Fatalf("%s: linx printed %d table and %d JSON lines, ip %d lines, for %d routes", label, lines[0], lines[1], lines[2], n)
	}
	best := func(k int) float64 { return slices.Min(times[k]).Seconds() }
	fmt.Printf("show_routes_%s: table_s=%.2f json_s=%.2f ip_s=%.2f ip_json_s=%.2f peak_rss=%.1f ratio_table=%.2f ratio_json=%.2f ip_peak_rss=%.1f\n",
		label, best(0), best(1), best(2), best(3), peak, best(0)/best(2), best(1)/best(3), ipPeak)
	b.ReportMetric(best(0), "table-s")
	b.ReportMetric(peak, "peak-rss-MB")
}

// BenchmarkShowRoutes runs `linx-node show routes`, as built, beside
// `ip route show table all` on the same table of 100,000 and then of
// 1,000,000 routes (see benchShowRoutes for the lines it prints). The
// targets: Linx's times no more than ip's, and a peak RSS of at most
// 64 MB whatever the table's size.
func BenchmarkShowRoutes(b *testing.B) {
	if testing.Short() {
		b.Skip("SKIPPED: installs 1,000,000 routes; not under -short")
	}
	nstest.RequireRoot(b)
	bin := filepath.Join(b.TempDir(), "linx-node")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/linx-node").CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	for b.Loop() {
		benchShowRoutes(b, bin, 100_000, "100k")
		benchShowRoutes(b, bin, 1_000_000, "1m")
	}
}
