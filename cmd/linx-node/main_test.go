package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/linx-net/linx/internal/nstest"
)

// runCLI runs linx-node in-process and returns its exit code, standard
// output and standard error.
func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return code, out.String(), errb.String()
}

// showJSON runs `linx-node show ARGS -o json` and decodes the array.
func showJSON(t *testing.T, args ...string) []map[string]any {
	t.Helper()
	code, out, errs := runCLI(t, append(append([]string{"show"}, args...), "-o", "json")...)
	if code != exitOK {
		t.Fatalf("linx-node show %s: exit %d: %s", strings.Join(args, " "), code, errs)
	}
	var v []map[string]any
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("linx-node show %s: not a JSON array of objects: %v\n%s", strings.Join(args, " "), err, out)
	}
	return v
}

// find returns the objects of rows whose key k equals v.
func find(rows []map[string]any, k string, v any) []map[string]any {
	var out []map[string]any
	for _, r := range rows {
		if r[k] == v {
			out = append(out, r)
		}
	}
	return out
}

// one returns the single object of rows whose key k equals v.
func one(t *testing.T, what string, rows []map[string]any, k string, v any) map[string]any {
	t.Helper()
	m := find(rows, k, v)
	if len(m) != 1 {
		t.Fatalf("%s: %d objects with %s=%v, want 1: %v", what, len(m), k, v, rows)
	}
	return m[0]
}

func expect(t *testing.T, what string, m map[string]any, want map[string]any) {
	t.Helper()
	for k, v := range want {
		if got, ok := m[k]; !ok {
			t.Errorf("%s: key %q missing in %v", what, k, m)
		} else if got != v {
			t.Errorf("%s: %s = %#v, want %#v", what, k, got, v)
		}
	}
}

// populate fills ns with the objects the tests read back.
func populate(ns *nstest.NS) {
	ns.Batch(`link add v0a type veth peer name v0b
link add br0 type bridge
link set v0b master br0
link set v0a mtu 1400 address 02:00:00:00:0a:0a up
link set v0b up
link set br0 up
address add 10.0.42.1/24 dev v0a
address add fd00:42::1/64 dev v0a nodad
route add 10.50.0.0/24 via 10.0.42.254 dev v0a table 100 metric 50 proto static
route add default via 10.0.42.254 dev v0a
route add fd00:99::/64 via fd00:42::fe dev v0a table 1000 proto 76
neigh add 10.0.42.9 lladdr 02:aa:bb:cc:dd:ee dev v0a nud permanent
neigh add fd00:42::9 lladdr 02:aa:bb:cc:dd:ef dev v0a nud permanent
rule add from 10.0.42.0/24 table 100 priority 200
rule add fwmark 0x1/0xff table 100 priority 201
`)
	ns.IP("-6", "rule", "add", "to", "fd00:99::/64", "table", "1000", "priority", "300")
}

func TestShowNamespace(t *testing.T) {
	ns := nstest.New(t)
	populate(ns)
	netns := "path:" + ns.Path()

	var ipLinks []struct {
		Index  int    `json:"ifindex"`
		Name   string `json:"ifname"`
		MTU    int    `json:"mtu"`
		Addr   string `json:"address"`
		Master string `json:"master"`
	}
	ns.JSON(&ipLinks, "link", "show")
	index := map[string]float64{}
	t.Run("links", func(t *testing.T) {
		links := showJSON(t, "links", "--netns", netns)
		if len(links) != len(ipLinks) {
			t.Fatalf("%d links, ip shows %d", len(links), len(ipLinks))
		}
		for _, want := range ipLinks {
			got := one(t, "links", links, "name", want.Name)
			var master any
			if want.Master != "" {
				master = want.Master
			}
			expect(t, want.Name, got, map[string]any{"index": float64(want.Index), "mtu": float64(want.MTU), "mac": want.Addr, "master": master})
			index[want.Name] = float64(want.Index)
		}
		expect(t, "v0a", one(t, "links", links, "name", "v0a"), map[string]any{"kind": "veth", "up": true, "mtu": 1400.0, "mac": "02:00:00:00:0a:0a"})
		expect(t, "br0", one(t, "links", links, "name", "br0"), map[string]any{"kind": "bridge", "up": true})
		expect(t, "v0b", one(t, "links", links, "name", "v0b"), map[string]any{"master": "br0"})

		only := showJSON(t, "links", "v0b", "--netns", netns)
		if len(only) != 1 || only[0]["name"] != "v0b" || only[0]["master"] != "br0" {
			t.Errorf("show links v0b = %v, want v0b alone, enslaved to br0", only)
		}
	})

	t.Run("addresses", func(t *testing.T) {
		addrs := showJSON(t, "addresses", "--netns", netns)
		var ipAddrs []struct {
			Name string `json:"ifname"`
			Info []struct {
				Local     string `json:"local"`
				PrefixLen int    `json:"prefixlen"`
			} `json:"addr_info"`
		}
		ns.JSON(&ipAddrs, "address", "show")
		n := 0
		for _, l := range ipAddrs {
			n += len(l.Info)
		}
		if len(addrs) != n {
			t.Errorf("%d addresses, ip shows %d: %v", len(addrs), n, addrs)
		}
		expect(t, "v4", one(t, "addresses", addrs, "address", "10.0.42.1/24"), map[string]any{"ifindex": index["v0a"], "family": "inet"})
		expect(t, "v6", one(t, "addresses", addrs, "address", "fd00:42::1/64"), map[string]any{"ifindex": index["v0a"], "family": "inet6"})

		of := showJSON(t, "addresses", "v0a", "--netns", netns)
		for _, a := range of {
			if a["ifindex"] != index["v0a"] {
				t.Errorf("show addresses v0a lists %v", a)
			}
		}
		if len(find(of, "address", "10.0.42.1/24")) != 1 || len(find(of, "address", "fd00:42::1/64")) != 1 {
			t.Errorf("show addresses v0a = %v, want both addresses", of)
		}
	})

	t.Run("routes", func(t *testing.T) {
		routes := showJSON(t, "routes", "--netns", netns)
		var ip4, ip6 []map[string]any
		ns.JSON(&ip4, "-4", "route", "show", "table", "all")
		ns.JSON(&ip6, "-6", "route", "show", "table", "all")
		if len(routes) != len(ip4)+len(ip6) {
			t.Errorf("%d routes, ip shows %d+%d", len(routes), len(ip4), len(ip6))
		}
		r := one(t, "routes", routes, "dst", "10.50.0.0/24")
		expect(t, "table 100", r, map[string]any{"gateway": "10.0.42.254", "oif": index["v0a"], "table": 100.0,
			"protocol": 4.0, "metric": 50.0, "family": "inet", "type": "unicast", "scope": "global"})
		def := one(t, "routes", find(routes, "table", 254.0), "dst", "0.0.0.0/0")
		expect(t, "default", def, map[string]any{"gateway": "10.0.42.254", "protocol": 3.0, "family": "inet"})
		expect(t, "v6", one(t, "routes", routes, "dst", "fd00:99::/64"), map[string]any{"gateway": "fd00:42::fe", "table": 1000.0, "protocol": 76.0, "family": "inet6"})
		conn := one(t, "routes", find(routes, "table", 254.0), "dst", "10.0.42.0/24")
		if _, ok := conn["gateway"]; ok {
			t.Errorf("connected route has a gateway: %v", conn)
		}
		expect(t, "connected", conn, map[string]any{"scope": "link", "protocol": 2.0})

		// The table reads like ip's, with names for tables and interfaces.
		code, out, errs := runCLI(t, "show", "routes", "--netns", netns)
		if code != exitOK {
			t.Fatalf("show routes: exit %d: %s", code, errs)
		}
		if !slices.ContainsFunc(strings.Split(out, "\n"), func(l string) bool {
			return slices.Equal(strings.Fields(l), []string{"10.50.0.0/24", "10.0.42.254", "v0a", "100", "static", "50", "unicast", "global"})
		}) {
			t.Errorf("show routes table lacks the table-100 route:\n%s", out)
		}

		// With IFNAME, only the routes leaving through it.
		for _, r := range showJSON(t, "routes", "br0", "--netns", netns) {
			if r["oif"] != index["br0"] {
				t.Errorf("show routes br0 lists %v", r)
			}
		}
	})

	t.Run("neighbours", func(t *testing.T) {
		// The kernel adds and ages entries of its own (IPv6 neighbour
		// discovery on the new links) between two listings: compare again
		// until two listings, one by each, agree.
		var neighs, ipNeighs []map[string]any
		for range 50 {
			neighs = showJSON(t, "neighbours", "nud", "all", "--netns", netns)
			ns.JSON(&ipNeighs, "neigh", "show", "nud", "all")
			if len(neighs) == len(ipNeighs) {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		if len(neighs) != len(ipNeighs) {
			t.Errorf("%d neighbours, ip shows %d", len(neighs), len(ipNeighs))
		}
		expect(t, "v4", one(t, "neighbours", neighs, "ip", "10.0.42.9"), map[string]any{"ifindex": index["v0a"], "mac": "02:aa:bb:cc:dd:ee", "state": "PERMANENT"})
		expect(t, "v6", one(t, "neighbours", neighs, "ip", "fd00:42::9"), map[string]any{"ifindex": index["v0a"], "mac": "02:aa:bb:cc:dd:ef", "state": "PERMANENT"})
		of, want := showJSON(t, "neighbours", "br0", "nud", "all", "--netns", netns), ipNeighsByDev(ns, "br0")
		for i := 0; i < 50 && len(of) != len(want); i++ {
			time.Sleep(20 * time.Millisecond)
			of, want = showJSON(t, "neighbours", "br0", "nud", "all", "--netns", netns), ipNeighsByDev(ns, "br0")
		}
		if len(of) != len(want) {
			t.Errorf("show neighbours br0 = %v; ip shows %v", of, want)
		}
	})

	t.Run("rules", func(t *testing.T) {
		rules := showJSON(t, "rules", "--netns", netns)
		var ip4, ip6 []map[string]any
		ns.JSON(&ip4, "-4", "rule", "show")
		ns.JSON(&ip6, "-6", "rule", "show")
		if len(rules) != len(ip4)+len(ip6) {
			t.Errorf("%d rules, ip shows %d+%d", len(rules), len(ip4), len(ip6))
		}
		from := one(t, "rules", rules, "priority", 200.0)
		expect(t, "from", from, map[string]any{"from": "10.0.42.0/24", "table": 100.0, "family": "inet", "fwmark": 0.0, "fwmask": 0.0})
		if _, ok := from["to"]; ok {
			t.Errorf("rule matching any destination has a to: %v", from)
		}
		expect(t, "fwmark", one(t, "rules", rules, "priority", 201.0), map[string]any{"fwmark": 1.0, "fwmask": 255.0, "table": 100.0})
		expect(t, "v6", one(t, "rules", rules, "priority", 300.0), map[string]any{"to": "fd00:99::/64", "table": 1000.0, "family": "inet6"})
	})

	t.Run("stats", func(t *testing.T) {
		stats := showJSON(t, "stats", "--netns", netns)
		if len(stats) != len(ipLinks) {
			t.Errorf("%d stats, %d links", len(stats), len(ipLinks))
		}
		only := showJSON(t, "stats", "v0a", "--netns", netns)
		if len(only) != 1 {
			t.Fatalf("show stats v0a = %v, want one object", only)
		}
		expect(t, "v0a", only[0], map[string]any{"ifindex": index["v0a"], "name": "v0a"})
		link, _ := only[0]["link"].(map[string]any)
		if len(link) != 25 {
			t.Errorf("stats link has %d counters, want 25: %v", len(link), link)
		}
		for _, k := range []string{"rx_packets", "tx_packets", "rx_bytes", "tx_bytes", "rx_nohandler", "rx_otherhost_dropped"} {
			if _, ok := link[k]; !ok {
				t.Errorf("stats link lacks %q", k)
			}
		}
		var ipStats []struct {
			Stats struct {
				TX struct {
					Packets float64 `json:"packets"`
				} `json:"tx"`
			} `json:"stats64"`
		}
		ns.JSON(&ipStats, "-s", "link", "show", "v0a")
		// v0a is up with IPv6: it may send (DAD, router solicitations) between
		// the two reads, so the count may only have grown.
		if got, ipSaw := link["tx_packets"].(float64), ipStats[0].Stats.TX.Packets; got > ipSaw {
			t.Errorf("tx_packets = %v, but ip read %v afterwards", got, ipSaw)
		}
	})
}

// ipNeighsByDev returns ip's neighbour entries on dev.
func ipNeighsByDev(ns *nstest.NS, dev string) []map[string]any {
	var v []map[string]any
	ns.JSON(&v, "neigh", "show", "dev", dev, "nud", "all")
	return v
}

func TestShowByPID(t *testing.T) {
	pid := nstest.Process(t)
	links := showJSON(t, "links", "--netns", "pid:"+strconv.Itoa(pid))
	if len(links) != 1 || links[0]["name"] != "lo" {
		t.Errorf("a fresh namespace shows %v, want lo alone", links)
	}
}

func TestShowErrors(t *testing.T) {
	ns := nstest.New(t)
	netns := "path:" + ns.Path()
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"show", "links", "nope0", "--netns", netns}, exitRuntime, `netlink ENODEV (19): no such interface "nope0"`},
		{[]string{"show", "addresses", "nope0", "--netns", netns}, exitRuntime, `netlink ENODEV (19): no such interface "nope0"`},
		{[]string{"show", "stats", "nope0", "--netns", netns, "-o", "json"}, exitRuntime, `netlink ENODEV (19): no such interface "nope0"`},
		{[]string{"show", "links", "--netns", "path:/var/run/netns/linx-t-absent"}, exitRuntime, "netlink ENOENT (2)"},
		{[]string{"show", "links", "--netns", "sideways"}, exitUsage, `"sideways"`},
		{[]string{"show", "links", "-o", "yml", "--netns", netns}, exitUsage, `"yml"`},
		{[]string{"show", "bogus"}, exitUsage, `unknown object "bogus"`},
		{[]string{"show"}, exitUsage, "missing what to show"},
		{[]string{"show", "rules", "extra"}, exitUsage, "takes no arguments"},
		{[]string{"show", "links", "a", "b"}, exitUsage, "at most one interface"},
		{[]string{"show", "links", "--bogus"}, exitUsage, "unknown flag"},
		{[]string{"frobnicate"}, exitUsage, `unknown command "frobnicate"`},
	} {
		code, out, errs := runCLI(t, tc.args...)
		if code != tc.code || !strings.Contains(errs, tc.want) {
			t.Errorf("linx-node %s: exit %d, stderr %q; want exit %d and %q", strings.Join(tc.args, " "), code, errs, tc.code, tc.want)
		}
		if out != "" {
			t.Errorf("linx-node %s: printed %q on stdout on failure", strings.Join(tc.args, " "), out)
		}
	}
}

func TestHelpAndVersion(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"show", "--help"}, {"show", "routes", "--help"}, {"version", "--help"}} {
		code, out, errs := runCLI(t, args...)
		if code != exitOK || !strings.Contains(out, "Usage:") {
			t.Errorf("linx-node %s: exit %d, stdout %q, stderr %q; want usage on stdout", strings.Join(args, " "), code, out, errs)
		}
	}
	code, out, _ := runCLI(t, "version")
	if code != exitOK || !strings.HasPrefix(out, "linx-node ") || !strings.Contains(out, "go1.") {
		t.Errorf("linx-node version: exit %d, %q", code, out)
	}
}

// TestBinary builds linx-node and checks what a shell sees: the exit
// status and the kernel's error text on standard error.
func TestBinary(t *testing.T) {
	ns := nstest.New(t)
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("SKIPPED: the go command is not on PATH")
	}
	bin := filepath.Join(t.TempDir(), "linx-node")
	if out, err := exec.Command(goTool, "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	for _, tc := range []struct {
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{[]string{"show", "links", "lo", "--netns", "path:" + ns.Path()}, 0, "lo", ""},
		{[]string{"show", "links", "nope0", "--netns", "path:" + ns.Path()}, 1, "", `netlink ENODEV (19): no such interface "nope0"`},
		{[]string{"show", "nothing"}, 2, "", "unknown object"},
	} {
		cmd := exec.Command(bin, tc.args...)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		code := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		if code != tc.code || !strings.Contains(stdout.String(), tc.stdout) || !strings.Contains(stderr.String(), tc.stderr) {
			t.Errorf("linx-node %s: exit %d, stdout %q, stderr %q; want exit %d, %q, %q",
				strings.Join(tc.args, " "), code, stdout.String(), stderr.String(), tc.code, tc.stdout, tc.stderr)
		}
	}
	_ = os.Remove(bin)
}
