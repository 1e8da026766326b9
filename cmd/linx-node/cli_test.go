package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/goccy/go-yaml"

	"github.com/linx-net/linx/internal/cliout"
	"github.com/linx-net/linx/internal/nstest"
	"github.com/linx-net/linx/rtnl"
)

// The tests of this file run the built binary, as a shell runs it.

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// TestMain removes the binary the tests built.
func TestMain(m *testing.M) {
	code := m.Run()
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

// cliBinary builds linx-node once for the tests of this package.
func cliBinary(t testing.TB) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "linx-node-test-")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "linx-node")
		if out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput(); err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// execCLI runs the built linx-node with args and returns its exit status,
// standard output and standard error.
func execCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(cliBinary(t), args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		return ee.ExitCode(), stdout.String(), stderr.String()
	case err != nil:
		t.Fatal(err)
	}
	return 0, stdout.String(), stderr.String()
}

// execOK runs the built linx-node and fails the test unless it exits 0
// with nothing on standard error.
func execOK(t *testing.T, args ...string) string {
	t.Helper()
	code, out, errs := execCLI(t, args...)
	if code != 0 || errs != "" {
		t.Fatalf("linx-node %s: exit %d, stderr %q", strings.Join(args, " "), code, errs)
	}
	return out
}

// execJSON runs `linx-node ARGS -o json` and decodes the array.
func execJSON(t *testing.T, args ...string) []map[string]any {
	t.Helper()
	out := execOK(t, append(args, "-o", "json")...)
	var v []map[string]any
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("linx-node %s -o json: not a JSON array: %v\n%s", strings.Join(args, " "), err, out)
	}
	return v
}

// filterNS builds a namespace for the filters: two veths up with
// addresses of both families, routes in three tables of four protocols
// and three types, nested prefixes, neighbours of every kind and rules of
// both families.
func filterNS(t *testing.T) *nstest.NS {
	ns := nstest.New(t)
	ns.Batch(`link add v0 type veth peer name v1
link add w0 type veth peer name w1
link set v0 up
link set v1 up
link set w0 up
link set w1 up
address add 10.0.0.1/24 dev v0 noprefixroute
address add 10.0.1.1/24 dev w0
address add fd00::1/64 dev v0 nodad
address add fd01::1/64 dev w0 nodad
route add 10.0.0.0/24 dev v0 proto kernel scope link src 10.0.0.1
route add 10.1.0.0/16 via 10.0.0.2 dev v0 proto static
route add 10.1.2.0/24 via 10.0.0.2 dev v0 proto bird
route add 10.1.2.128/25 via 10.0.1.2 dev w0 proto bird table 100
route add 10.1.0.0/24 via 10.0.1.2 dev w0 proto static table 100
route add 10.2.0.0/16 via 10.0.1.2 dev w0 proto 76 table 100 metric 20
route add blackhole 10.3.0.0/16 proto static
route add unreachable 10.4.0.0/16 table 100
route add default via 10.0.0.2 dev v0
route add fd02::/64 via fd00::2 dev v0 proto bird
route add fd03::/64 via fd01::2 dev w0 proto static table 100
route add blackhole fd04::/64 table 200
neigh add 10.0.0.9 lladdr 02:00:00:00:00:09 dev v0 nud permanent
neigh add 10.0.1.9 lladdr 02:00:00:00:00:19 dev w0 nud reachable
neigh add 10.0.0.10 lladdr 02:00:00:00:00:10 dev v0 nud noarp
neigh add fd00::9 lladdr 02:00:00:00:00:29 dev v0 nud permanent
neigh add fd01::9 lladdr 02:00:00:00:00:39 dev w0 nud stale
rule add from 10.0.0.0/24 table 100 priority 100
rule add fwmark 7 table 200 priority 200
`)
	ns.IP("-6", "rule", "add", "to", "fd02::/64", "table", "100", "priority", "300")
	settle(t, ns)
	return ns
}

// settle waits until no address of ns is tentative (DAD done), so that
// addresses and routes hold still between two listings.
func settle(t *testing.T, ns *nstest.NS) {
	t.Helper()
	for range 200 {
		if !strings.Contains(ns.IP("address", "show"), "tentative") {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("addresses still tentative:\n%s", ns.IP("address", "show"))
}

// routeKey is what identifies a route in both listings: family, table,
// destination, protocol, metric, type and device.
func routeKey(family, dst string, table, proto, metric int, typ, dev string) string {
	if dst == "default" {
		dst = map[string]string{"inet": "0.0.0.0/0", "inet6": "::/0"}[family]
	} else if !strings.Contains(dst, "/") {
		dst = netip.MustParseAddr(dst).String() + "/" + strconv.Itoa(netip.MustParseAddr(dst).BitLen())
	}
	return fmt.Sprintf("%s %s table %d proto %d metric %d %s dev %s", family, dst, table, proto, metric, typ, dev)
}

// num reads a JSON value of ip -N -j (a number, or a number as a string)
// as an int; def when absent.
func num(t *testing.T, v any, def int) int {
	t.Helper()
	switch v := v.(type) {
	case nil:
		return def
	case float64:
		return int(v)
	case string:
		n, err := strconv.Atoi(v)
		if err != nil {
			t.Fatalf("not a number: %q", v)
		}
		return n
	}
	t.Fatalf("not a number: %v", v)
	return 0
}

// ipRouteTypes are rtm_type's names by number, as linx-node prints them.
var ipRouteTypes = map[int]string{1: "unicast", 2: "local", 3: "broadcast", 4: "anycast", 5: "multicast", 6: "blackhole", 7: "unreachable", 8: "prohibit", 9: "throw", 10: "nat"}

// ipRoutes returns the keys of the routes `ip -N -j [-4|-6] route show
// ARGS` lists, both families unless args start with -4 or -6. ip leaves
// out the fields it filters on (table, proto, dev, type): they are filled
// in from args.
func ipRoutes(t *testing.T, ns *nstest.NS, args ...string) []string {
	t.Helper()
	families := []string{"-4", "-6"}
	if len(args) > 0 && (args[0] == "-4" || args[0] == "-6") {
		families, args = args[:1], args[1:]
	}
	filtered := map[string]any{}
	for i := 0; i+1 < len(args); i++ {
		switch args[i] {
		case "table":
			if tb, err := cliout.ParseTable(args[i+1]); err == nil && tb != 0 {
				filtered["table"] = float64(tb)
			}
		case "proto":
			p, err := cliout.ParseProtocol(args[i+1])
			if err != nil {
				t.Fatal(err)
			}
			filtered["protocol"] = float64(p)
		case "dev":
			filtered["dev"] = args[i+1]
		case "type":
			rt, err := rtnl.ParseRouteType(args[i+1])
			if err != nil {
				t.Fatal(err)
			}
			filtered["type"] = float64(rt)
		}
	}
	var out []string
	for _, f := range families {
		family := map[string]string{"-4": "inet", "-6": "inet6"}[f]
		var routes []map[string]any
		ns.JSON(&routes, append([]string{f, "route", "show"}, args...)...)
		for _, r := range routes {
			for k, v := range filtered {
				if _, ok := r[k]; !ok {
					r[k] = v
				}
			}
			typ := ipRouteTypes[num(t, r["type"], 1)]
			dev, _ := r["dev"].(string)
			out = append(out, routeKey(family, r["dst"].(string), num(t, r["table"], 254), num(t, r["protocol"], 3), num(t, r["metric"], 0), typ, dev))
		}
	}
	slices.Sort(out)
	return out
}

// linxRoutes returns the keys of the routes `linx-node show routes ARGS
// -o json` lists.
func linxRoutes(t *testing.T, ns *nstest.NS, args ...string) []string {
	t.Helper()
	var out []string
	for _, r := range execJSON(t, append([]string{"show", "routes", "-n", ns.Name}, args...)...) {
		dev, _ := r["dev"].(string)
		out = append(out, routeKey(r["family"].(string), r["dst"].(string), num(t, r["table"], -1), num(t, r["protocol"], -1), num(t, r["metric"], -1), r["type"].(string), dev))
	}
	slices.Sort(out)
	return out
}

// Each route filter lists what ip's own filter lists, on a namespace
// built for them; the kernel filters what it can (the table, protocol,
// type, interface and family).
func TestShowRoutesFiltersAgreeWithIP(t *testing.T) {
	ns := filterNS(t)
	for _, tc := range []struct{ linx, ip []string }{
		{nil, []string{"table", "all"}},
		{[]string{"table", "all"}, []string{"table", "all"}},
		{[]string{"table", "0"}, []string{"table", "all"}},
		{[]string{"table", "100"}, []string{"table", "100"}},
		{[]string{"table", "main"}, []string{"table", "main"}},
		{[]string{"table", "local", "-4"}, []string{"-4", "table", "local"}},
		{[]string{"proto", "bird"}, []string{"table", "all", "proto", "bird"}},
		{[]string{"proto", "76"}, []string{"table", "all", "proto", "76"}},
		{[]string{"protocol", "static", "table", "100"}, []string{"table", "100", "proto", "static"}},
		{[]string{"dev", "w0"}, []string{"table", "all", "dev", "w0"}},
		{[]string{"w0"}, []string{"table", "all", "dev", "w0"}},
		{[]string{"type", "blackhole"}, []string{"table", "all", "type", "blackhole"}},
		{[]string{"type", "unreachable", "-4"}, []string{"-4", "table", "all", "type", "unreachable"}},
		{[]string{"-4"}, []string{"-4", "table", "all"}},
		{[]string{"-6"}, []string{"-6", "table", "all"}},
		{[]string{"root", "10.1.0.0/16"}, []string{"-4", "table", "all", "root", "10.1.0.0/16"}},
		{[]string{"match", "10.1.2.200"}, []string{"-4", "table", "all", "match", "10.1.2.200"}},
		{[]string{"match", "10.1.2.0/24", "table", "main"}, []string{"-4", "table", "main", "match", "10.1.2.0/24"}},
		{[]string{"exact", "10.1.0.0/16"}, []string{"-4", "table", "all", "exact", "10.1.0.0/16"}},
		{[]string{"10.1.0.0/24"}, []string{"-4", "table", "all", "10.1.0.0/24"}},
		{[]string{"root", "fd00::/8", "-6"}, []string{"-6", "table", "all", "root", "fd00::/8"}},
		{[]string{"default", "-4"}, []string{"-4", "table", "all", "default"}},
		{[]string{"table", "100", "proto", "bird", "dev", "w0", "type", "unicast", "-4"}, []string{"-4", "table", "100", "proto", "bird", "dev", "w0", "type", "unicast"}},
	} {
		// Link-local addresses and their routes come as DAD ends: list
		// again until the two listings agree.
		var got, want []string
		for range 50 {
			got, want = linxRoutes(t, ns, tc.linx...), ipRoutes(t, ns, tc.ip...)
			if slices.Equal(got, want) {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		if !slices.Equal(got, want) {
			t.Errorf("show routes %s:\n%s\nip route show %s:\n%s", strings.Join(tc.linx, " "), strings.Join(got, "\n"),
				strings.Join(tc.ip, " "), strings.Join(want, "\n"))
		}
		if len(want) == 0 {
			t.Errorf("ip route show %s lists nothing: the namespace does not test this filter", strings.Join(tc.ip, " "))
		}
	}
	// Both families' default routes when neither -4 nor -6 is given.
	for _, r := range execJSON(t, "show", "routes", "-n", ns.Name, "default") {
		if !strings.HasSuffix(r["dst"].(string), "/0") {
			t.Errorf("show routes default lists %v", r)
		}
	}
	for _, args := range [][]string{{"table", "x"}, {"proto", "nope"}, {"type", "odd"}, {"root", "10.0.0.0/99"}, {"table"}, {"-4", "-6"}, {"root", "fd00::/8", "-4"}} {
		code, out, errs := execCLI(t, append([]string{"show", "routes", "-n", ns.Name}, args...)...)
		if code != exitUsage || out != "" || errs == "" {
			t.Errorf("show routes %s: exit %d, stdout %q, stderr %q; want a usage error", strings.Join(args, " "), code, out, errs)
		}
	}
}

// The address, neighbour and rule filters agree with ip's.
func TestShowFiltersAgreeWithIP(t *testing.T) {
	ns := filterNS(t)
	addrKeys := func(rows []map[string]any) []string {
		var out []string
		for _, a := range rows {
			out = append(out, fmt.Sprint(a["ifname"], " ", a["address"]))
		}
		slices.Sort(out)
		return out
	}
	for _, tc := range []struct{ linx, ip []string }{
		{nil, nil},
		{[]string{"dev", "v0"}, []string{"dev", "v0"}},
		{[]string{"w0"}, []string{"dev", "w0"}},
		{[]string{"-4"}, []string{"-4"}},
		{[]string{"-6", "dev", "w0"}, []string{"-6", "dev", "w0"}},
	} {
		var ip []struct {
			Name string `json:"ifname"`
			Info []struct {
				Local string `json:"local"`
				Len   int    `json:"prefixlen"`
			} `json:"addr_info"`
		}
		args := []string{"address", "show"}
		if len(tc.ip) > 0 && strings.HasPrefix(tc.ip[0], "-") {
			args = append([]string{tc.ip[0]}, append(args, tc.ip[1:]...)...)
		} else {
			args = append(args, tc.ip...)
		}
		ns.JSON(&ip, args...)
		var want []string
		for _, l := range ip {
			for _, a := range l.Info {
				want = append(want, fmt.Sprintf("%s %s/%d", l.Name, a.Local, a.Len))
			}
		}
		slices.Sort(want)
		got := addrKeys(execJSON(t, append([]string{"show", "addresses", "-n", ns.Name}, tc.linx...)...))
		if !slices.Equal(got, want) || len(want) == 0 {
			t.Errorf("show addresses %v = %v; ip %v lists %v", tc.linx, got, args, want)
		}
	}

	neighKeys := func(rows []map[string]any, ipKeys bool) []string {
		var out []string
		for _, n := range rows {
			if ipKeys {
				out = append(out, fmt.Sprint(n["dev"], " ", n["dst"], " ", n["lladdr"]))
			} else {
				out = append(out, fmt.Sprint(n["ifname"], " ", n["ip"], " ", n["mac"]))
			}
		}
		slices.Sort(out)
		return out
	}
	// The kernel adds IPv6 multicast entries (NOARP) of its own as the
	// links come up: compare until two listings agree.
	for _, tc := range []struct{ linx, ip []string }{
		{nil, nil},
		{[]string{"nud", "all"}, []string{"nud", "all"}},
		{[]string{"nud", "noarp"}, []string{"nud", "noarp"}},
		{[]string{"nud", "permanent", "nud", "stale"}, []string{"nud", "permanent", "nud", "stale"}},
		{[]string{"dev", "v0"}, []string{"dev", "v0"}},
		{[]string{"w0", "nud", "all"}, []string{"dev", "w0", "nud", "all"}},
		{[]string{"-4"}, []string{"-4"}},
		{[]string{"-6", "dev", "w0"}, []string{"-6", "dev", "w0"}},
	} {
		var got, want []string
		for range 50 {
			args := []string{"neigh", "show"}
			if len(tc.ip) > 0 && strings.HasPrefix(tc.ip[0], "-") {
				args = append([]string{tc.ip[0]}, append(args, tc.ip[1:]...)...)
			} else {
				args = append(args, tc.ip...)
			}
			var ip []map[string]any
			ns.JSON(&ip, args...)
			for _, n := range ip {
				if i := slices.Index(args, "dev"); i >= 0 && n["dev"] == nil {
					n["dev"] = args[i+1] // ip leaves out what it filters on
				}
			}
			want = neighKeys(ip, true)
			got = neighKeys(execJSON(t, append([]string{"show", "neighbours", "-n", ns.Name}, tc.linx...)...), false)
			if slices.Equal(got, want) {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		if !slices.Equal(got, want) || len(want) == 0 {
			t.Errorf("show neighbours %v = %v; ip lists %v", tc.linx, got, want)
		}
	}
	// By default the NOARP entry 10.0.0.10 is hidden, as ip hides it.
	for _, n := range execJSON(t, "show", "neighbours", "-n", ns.Name) {
		if n["state"] == "NOARP" {
			t.Errorf("show neighbours lists a NOARP entry: %v", n)
		}
	}

	for _, f := range []string{"-4", "-6"} {
		var ip []map[string]any
		ns.JSON(&ip, f, "rule", "show")
		var want, got []string
		for _, r := range ip {
			want = append(want, fmt.Sprint(num(t, r["priority"], 0), " ", num(t, r["table"], 0)))
		}
		for _, r := range execJSON(t, "show", "rules", "-n", ns.Name, f) {
			got = append(got, fmt.Sprint(num(t, r["priority"], 0), " ", num(t, r["table"], 0)))
		}
		if !slices.Equal(got, want) || len(want) < 3 {
			t.Errorf("show rules %s = %v; ip lists %v", f, got, want)
		}
	}
}

// Every view's streamed JSON decodes and holds what `ip -N -j` lists.
func TestStreamedJSONEqualsIP(t *testing.T) {
	ns := filterNS(t)
	if got, want := linxRoutes(t, ns), ipRoutes(t, ns, "table", "all"); !slices.Equal(got, want) {
		t.Errorf("routes:\n%s\nip:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	var links []struct {
		Index int    `json:"ifindex"`
		Name  string `json:"ifname"`
		MTU   int    `json:"mtu"`
		MAC   string `json:"address"`
	}
	ns.JSON(&links, "link", "show")
	var want, got, gotStats []string
	for _, l := range links {
		want = append(want, fmt.Sprint(l.Index, l.Name, l.MTU, l.MAC))
	}
	for _, l := range execJSON(t, "show", "links", "-n", ns.Name) {
		got = append(got, fmt.Sprint(num(t, l["index"], 0), l["name"], num(t, l["mtu"], 0), l["mac"]))
	}
	for _, s := range execJSON(t, "show", "stats", "-n", ns.Name) {
		gotStats = append(gotStats, fmt.Sprint(num(t, s["ifindex"], 0), s["name"]))
	}
	if !slices.Equal(got, want) {
		t.Errorf("links %v; ip lists %v", got, want)
	}
	if len(gotStats) != len(want) {
		t.Errorf("stats of %d links, ip lists %d", len(gotStats), len(want))
	}

	// Addresses: ip's flags by name are linx-node's flag_names.
	var addrs []struct {
		Name string           `json:"ifname"`
		Info []map[string]any `json:"addr_info"`
	}
	ns.JSON(&addrs, "address", "show")
	ipFlags := map[string][]string{}
	for _, l := range addrs {
		for _, a := range l.Info {
			var fl []string
			for _, f := range []string{"nodad", "noprefixroute", "tentative", "deprecated"} {
				if a[f] == true {
					fl = append(fl, f)
				}
			}
			if a["dynamic"] != true {
				fl = append(fl, "permanent")
			}
			slices.Sort(fl)
			ipFlags[fmt.Sprintf("%s %s/%v", l.Name, a["local"], a["prefixlen"])] = fl
		}
	}
	rows := execJSON(t, "show", "addresses", "-n", ns.Name)
	if len(rows) != len(ipFlags) {
		t.Errorf("%d addresses, ip lists %d", len(rows), len(ipFlags))
	}
	for _, a := range rows {
		key := fmt.Sprint(a["ifname"], " ", a["address"])
		wantFl, ok := ipFlags[key]
		var fl []string
		for _, f := range a["flag_names"].([]any) {
			fl = append(fl, f.(string))
		}
		slices.Sort(fl)
		if !ok || !slices.Equal(fl, wantFl) {
			t.Errorf("address %s: flag_names %v; ip prints %v (listed: %v)", key, fl, wantFl, ok)
		}
	}
}

// Each habit of ip and kubectl, through the binary.
func TestHabits(t *testing.T) {
	ns := filterNS(t)
	path := "path:" + ns.Path()

	t.Run("version", func(t *testing.T) {
		out := execOK(t, "--version")
		if !strings.HasPrefix(out, "linx-node ") || !strings.Contains(out, "go1.") || strings.Count(out, "\n") != 1 {
			t.Errorf("--version printed %q", out)
		}
		if v := execOK(t, "version"); v != out {
			t.Errorf("version %q, --version %q", v, out)
		}
	})

	t.Run("netns name", func(t *testing.T) {
		byPath := execOK(t, "show", "links", "--netns", path, "-o", "json")
		for _, args := range [][]string{{"--netns", ns.Name}, {"-n", ns.Name}} {
			if got := execOK(t, append([]string{"show", "links", "-o", "json"}, args...)...); got != byPath {
				t.Errorf("show links %v:\n%s\nwant, as by path:\n%s", args, got, byPath)
			}
		}
		if code, _, errs := execCLI(t, "show", "links", "-n", "linx-t-no-such-ns"); code != exitUsage || !strings.Contains(errs, `"linx-t-no-such-ns"`) {
			t.Errorf("unknown netns name: exit %d, %q", code, errs)
		}
	})

	t.Run("prefixes", func(t *testing.T) {
		for _, tc := range []struct {
			full     string
			prefixes []string
		}{
			{"addresses", []string{"a", "ad", "addr", "address"}},
			{"routes", []string{"r", "ro", "rou", "route"}},
			{"rules", []string{"ru", "rul", "rule"}},
			{"neighbours", []string{"n", "ne", "neigh", "neighbor", "neighbors"}},
			{"links", []string{"l", "li", "link"}},
			{"stats", []string{"s", "st", "stat", "statistics"}},
		} {
			// Counters and the kernel's own neighbour entries move between
			// two listings: compare what names the objects.
			ids := func(args ...string) string {
				var out []string
				for _, o := range execJSON(t, args...) {
					out = append(out, fmt.Sprint(o["index"], o["ifindex"], o["name"], o["dst"], o["address"], o["ip"], o["priority"]))
				}
				slices.Sort(out)
				return strings.Join(out, "\n")
			}
			want := ids("show", tc.full, "-n", ns.Name)
			for _, p := range tc.prefixes {
				// The flags may come before the object, too.
				if got := ids("show", "-n", ns.Name, p); got != want || got == "" {
					t.Errorf("show %s differs from show %s:\n%s\n%s", p, tc.full, got, want)
				}
			}
		}
		if code, _, errs := execCLI(t, "show", "x"); code != exitUsage || !strings.Contains(errs, `unknown object "x"`) {
			t.Errorf("show x: exit %d, %q", code, errs)
		}
	})

	t.Run("yaml", func(t *testing.T) {
		for _, view := range []string{"links", "addresses", "routes", "neighbours", "rules", "stats"} {
			// The kernel adds link-local addresses and their routes as DAD
			// ends: list again until the two listings hold as many.
			var js, ys []map[string]any
			for range 50 {
				js = execJSON(t, "show", view, "-n", ns.Name)
				out := execOK(t, "show", view, "-n", ns.Name, "-o", "yaml")
				ys = nil
				if err := yaml.Unmarshal([]byte(out), &ys); err != nil {
					t.Fatalf("show %s -o yaml: %v\n%s", view, err, out)
				}
				if len(ys) == len(js) {
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
			if len(ys) != len(js) {
				t.Errorf("show %s: %d YAML items, %d JSON objects", view, len(ys), len(js))
				continue
			}
			for i := range ys {
				for k, v := range js[i] {
					if view == "stats" || view == "neighbours" {
						break // counters and kernel entries move between listings
					}
					if k == "flags" || k == "flag_names" || k == "operstate" {
						continue // DAD and carrier move on between listings
					}
					if fmt.Sprint(ys[i][k]) != fmt.Sprint(v) && !(v == nil && ys[i][k] == nil) {
						if _, isNum := v.(float64); !isNum || fmt.Sprint(ys[i][k]) != strconv.FormatFloat(v.(float64), 'f', -1, 64) {
							t.Errorf("show %s item %d: %s = %v in YAML, %v in JSON", view, i, k, ys[i][k], v)
						}
					}
				}
			}
		}
	})

	t.Run("protocol names", func(t *testing.T) {
		ipText := ns.IP("route", "show", "10.1.2.0/24")
		if !strings.Contains(ipText, "proto bird") {
			t.Fatalf("ip route show: %q", ipText)
		}
		table := execOK(t, "show", "routes", "-n", ns.Name, "10.1.2.0/24")
		if lines := strings.Split(strings.TrimSpace(table), "\n"); len(lines) != 2 || !slices.Contains(strings.Fields(lines[1]), "bird") {
			t.Errorf("show routes 10.1.2.0/24:\n%s\nwant PROTO bird", table)
		}
		r := execJSON(t, "show", "routes", "-n", ns.Name, "10.1.2.0/24")
		if len(r) != 1 || r[0]["protocol"] != 12.0 || r[0]["protocol_name"] != "bird" {
			t.Errorf("show routes 10.1.2.0/24 -o json = %v", r)
		}
	})

	t.Run("config default", func(t *testing.T) {
		if _, err := os.Stat(defaultConfig); err == nil {
			t.Skipf("SKIPPED: %s exists on this machine", defaultConfig)
		}
		for _, c := range []string{"plan", "apply", "run"} {
			code, _, errs := execCLI(t, c)
			if code != exitUsage || !strings.Contains(errs, defaultConfig) || !strings.Contains(errs, "--config") {
				t.Errorf("%s without --config: exit %d, %q; want it to read %s", c, code, errs, defaultConfig)
			}
		}
	})

	t.Run("completion", func(t *testing.T) {
		for _, sh := range []string{"bash", "zsh", "fish"} {
			if out := execOK(t, "completion", sh); !strings.Contains(out, "linx-node") {
				t.Errorf("completion %s: %q", sh, out[:min(len(out), 200)])
			}
		}
		complete := func(args ...string) []string {
			code, out, errs := execCLI(t, append([]string{"__complete"}, args...)...)
			if code != 0 {
				t.Fatalf("__complete %v: exit %d, %s", args, code, errs)
			}
			var words []string
			for _, l := range strings.Split(out, "\n") {
				if l != "" && !strings.HasPrefix(l, ":") && !strings.HasPrefix(l, "Completion ended") {
					words = append(words, strings.SplitN(l, "\t", 2)[0])
				}
			}
			return words
		}
		if got := complete("show", "links", "-o", ""); !slices.Equal(got, []string{"table", "json", "yaml"}) {
			t.Errorf("-o completes to %v", got)
		}
		if got := complete("show", "links", "--netns", ""); !slices.Contains(got, "host") || !slices.Contains(got, ns.Name) || !slices.Contains(got, "pid:") {
			t.Errorf("--netns completes to %v, want host, pid:, path: and %s", got, ns.Name)
		}
		for _, args := range [][]string{{"show", "links", "-n", ns.Name, ""}, {"show", "routes", "-n", ns.Name, "dev", ""}, {"show", "addresses", "-n", ns.Name, ""}} {
			if got := complete(args...); !slices.Contains(got, "v0") || !slices.Contains(got, "w1") {
				t.Errorf("%v completes to %v, want the interface names", args, got)
			}
		}
		if got := complete("show", "routes", "-n", ns.Name, "table", ""); !slices.Contains(got, "main") {
			t.Errorf("table completes to %v", got)
		}
	})
}

// monitorLines runs `linx-node monitor ARGS`, makes changes with change
// until a line that done accepts appears (or 10 s pass), stops it with
// SIGINT and returns its lines.
func monitorLines(t *testing.T, change func(), done func([]string) bool, args ...string) []string {
	t.Helper()
	cmd := exec.Command(cliBinary(t), append([]string{"monitor"}, args...)...)
	var out syncBuffer
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	var lines []string
	for {
		change()
		time.Sleep(50 * time.Millisecond)
		lines = strings.Split(strings.TrimSpace(out.String()), "\n")
		if done(lines) || time.Now().After(deadline) {
			break
		}
	}
	_ = cmd.Process.Signal(os.Interrupt)
	if err := cmd.Wait(); err != nil {
		t.Errorf("monitor %v: %v: %s", args, err, stderr.String())
	}
	return strings.Split(strings.TrimSpace(out.String()), "\n")
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// monitor prints timestamps with -t, only the objects asked for, the
// interface names beside their indices, and a JSON op of new or del.
func TestMonitorHabits(t *testing.T) {
	ns := nstest.New(t)
	ns.Batch("link add m0 type veth peer name m1\nlink set m0 up\nlink set m1 up\naddress add 10.9.0.1/24 dev m0\n")
	s := ns.Open()
	m0, err := s.LinkByName("m0")
	if err != nil {
		t.Fatal(err)
	}
	i := 0
	change := func() {
		i++
		dst := fmt.Sprintf("10.99.%d.0/24", i)
		ns.IP("route", "add", dst, "via", "10.9.0.2", "dev", "m0", "proto", "bird")
		ns.IP("address", "add", fmt.Sprintf("10.8.%d.1/32", i), "dev", "m1")
		ns.IP("route", "del", dst, "via", "10.9.0.2", "dev", "m0")
	}
	hasDel := func(lines []string) bool {
		return slices.ContainsFunc(lines, func(l string) bool { return strings.Contains(l, "del route 10.99.") })
	}
	lines := monitorLines(t, change, hasDel, "route", "-t", "-n", ns.Name)
	if !hasDel(lines) {
		t.Fatalf("monitor route -t printed no route deletion:\n%s", strings.Join(lines, "\n"))
	}
	for _, l := range lines {
		stamp, rest, ok := strings.Cut(l, "] ")
		if !ok || !strings.HasPrefix(stamp, "[") {
			t.Errorf("line without a timestamp: %q", l)
			continue
		}
		if _, err := time.Parse("2006-01-02T15:04:05.000000Z", stamp[1:]); err != nil {
			t.Errorf("timestamp %q: %v", stamp, err)
		}
		if !strings.HasPrefix(rest, "new route ") && !strings.HasPrefix(rest, "del route ") {
			t.Errorf("monitor route printed %q", rest)
		}
		if strings.Contains(rest, "10.99.") && !strings.Contains(rest, fmt.Sprintf("dev m0 (%d)", m0.Index)) ||
			strings.Contains(rest, "10.99.") && !strings.Contains(rest, "proto bird") {
			t.Errorf("route line %q lacks dev m0 (%d) or proto bird", rest, m0.Index)
		}
	}

	// The first change may come before the monitor subscribed: wait for
	// a route's creation and a route's deletion both.
	hasAddrDel := func(lines []string) bool {
		has := func(op string) bool {
			return slices.ContainsFunc(lines, func(l string) bool {
				return strings.Contains(l, `"op":"`+op+`"`) && strings.Contains(l, `"object":"route"`)
			})
		}
		return has("new") && has("del")
	}
	lines = monitorLines(t, change, hasAddrDel, "-n", ns.Name, "-o", "json", "-t")
	ops := map[string]bool{}
	for _, l := range lines {
		var ev map[string]any
		if err := json.Unmarshal([]byte(l), &ev); err != nil {
			t.Fatalf("not a JSON line: %q", l)
		}
		op, _ := ev["op"].(string)
		ops[op] = true
		if op != "new" && op != "del" && op != "resync" {
			t.Errorf("op %q, want new, del or resync: %s", op, l)
		}
		if obj, _ := ev["object"].(string); ev[obj] == nil || ev["deleted"] != (op == "del") || ev["time"] == nil {
			t.Errorf("event %s", l)
		}
	}
	if !ops["new"] || !ops["del"] {
		t.Errorf("ops seen %v, want new and del", ops)
	}
	if code, _, errs := execCLI(t, "monitor", "bogus", "-n", ns.Name); code != exitUsage || !strings.Contains(errs, `"bogus"`) {
		t.Errorf("monitor bogus: exit %d, %q", code, errs)
	}
}

// A reader that closes early (| head -n 1) ends linx-node with status 0
// and nothing on standard error, in every format.
func TestHeadClosesEarly(t *testing.T) {
	ns := nstest.New(t)
	s := ns.Open()
	if err := s.CreateVeth("h0", "h1"); err != nil {
		t.Fatal(err)
	}
	for _, err := range []error{s.LinkSetUp("h0"), s.AddressAdd("h0", netip.MustParsePrefix("10.0.0.1/24"))} {
		if err != nil {
			t.Fatal(err)
		}
	}
	// Enough routes that the output overflows a pipe's buffer many times.
	var b rtnl.Batch
	for i := range 20_000 {
		b.RouteAdd(rtnl.Route{Dst: netip.PrefixFrom(netip.AddrFrom4([4]byte{11, 0, byte(i >> 8), byte(i)}), 32), Gateway: netip.MustParseAddr("10.0.0.2")})
	}
	if err := s.Apply(&b); err != nil {
		t.Fatal(err)
	}
	bin := cliBinary(t)
	for _, format := range []string{"table", "json", "yaml"} {
		errFile := filepath.Join(t.TempDir(), "stderr")
		script := fmt.Sprintf(`%s show routes -n %s -o %s 2>%s | head -n 1; echo "${PIPESTATUS[0]}"`, bin, ns.Name, format, errFile)
		out, err := exec.Command("bash", "-c", script).Output()
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		errs, _ := os.ReadFile(errFile)
		if len(lines) != 2 || lines[1] != "0" || len(errs) != 0 {
			t.Errorf("-o %s | head -n 1: printed %q, exit status %s, stderr %q; want one line, 0 and nothing", format, lines[0], lines[len(lines)-1], errs)
		}
	}
	// Read to its end, the JSON is whole.
	if rows := execJSON(t, "show", "routes", "-n", ns.Name, "root", "11.0.0.0/16"); len(rows) != 20_000 {
		t.Errorf("%d routes in the JSON array, want 20000", len(rows))
	}
}

// monitor reports nexthop objects: `monitor nexthop` in text, with the
// device by name, and in JSON under "nexthop".
func TestMonitorNexthops(t *testing.T) {
	ns := nstest.New(t)
	ns.Batch("link add m0 type veth peer name m1\nlink set m0 up\nlink set m1 up\naddress add 10.9.0.1/24 dev m0\n")
	i := 0
	change := func() {
		i++
		id := strconv.Itoa(100 + i)
		ns.IP("nexthop", "add", "id", id, "via", "10.9.0.2", "dev", "m0", "proto", "bird")
		ns.IP("nexthop", "del", "id", id)
	}
	both := func(newLine, delLine string) func([]string) bool {
		return func(lines []string) bool {
			return slices.ContainsFunc(lines, func(l string) bool { return strings.Contains(l, newLine) }) &&
				slices.ContainsFunc(lines, func(l string) bool { return strings.Contains(l, delLine) })
		}
	}
	lines := monitorLines(t, change, both("new nexthop id ", "del nexthop id "), "nexthop", "-n", ns.Name)
	for _, l := range lines {
		if !strings.HasPrefix(l, "new nexthop id ") && !strings.HasPrefix(l, "del nexthop id ") {
			t.Errorf("monitor nexthop printed %q", l)
		} else if strings.HasPrefix(l, "new") && !strings.Contains(l, "via 10.9.0.2 dev m0") {
			t.Errorf("nexthop line %q lacks via 10.9.0.2 dev m0", l)
		}
	}
	lines = monitorLines(t, change, both(`"op":"new"`, `"op":"del"`), "nexthop", "-n", ns.Name, "-o", "json")
	for _, l := range lines {
		var ev struct {
			Object  string          `json:"object"`
			Nexthop json.RawMessage `json:"nexthop"`
		}
		if err := json.Unmarshal([]byte(l), &ev); err != nil || ev.Object != "nexthop" || len(ev.Nexthop) == 0 {
			t.Errorf("JSON line %q: %v", l, err)
		}
	}
}
