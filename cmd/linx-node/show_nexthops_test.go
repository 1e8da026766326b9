package main

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/linx-net/linx/internal/nstest"
)

// nexthopLine renders the fields of one nexthop that ip -j nexthop and
// linx-node show nexthops -o json both print, from either's decoded JSON:
// id, gateway, dev, protocol, blackhole, the members and their weights
// (1 when ip leaves the weight out), the group type and bucket count.
func nexthopLine(t *testing.T, n map[string]any) string {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "id=%d", num(t, n["id"], 0))
	if gw, ok := n["gateway"]; ok {
		fmt.Fprintf(&b, " via=%v", gw)
	}
	if dev, ok := n["dev"]; ok {
		fmt.Fprintf(&b, " dev=%v", dev)
	}
	fmt.Fprintf(&b, " proto=%d", num(t, n["protocol"], 0))
	if _, ok := n["blackhole"]; ok {
		b.WriteString(" blackhole")
	}
	if g, ok := n["group"].([]any); ok {
		b.WriteString(" group")
		for _, m := range g {
			m := m.(map[string]any)
			fmt.Fprintf(&b, " %d*%d", num(t, m["id"], 0), num(t, m["weight"], 1))
		}
	}
	if typ, ok := n["type"]; ok {
		fmt.Fprintf(&b, " type=%v", typ)
	}
	if r, ok := n["resilient_args"].(map[string]any); ok {
		fmt.Fprintf(&b, " buckets=%d idle=%d", num(t, r["buckets"], 0), num(t, r["idle_timer"], 0))
	}
	return b.String()
}

// TestShowNexthopsAgreesWithIP checks show nexthops -o json against ip -j
// nexthop on single nexthops of both families, a blackhole, a weighted
// group and a resilient group.
func TestShowNexthopsAgreesWithIP(t *testing.T) {
	ns := nstest.New(t)
	ns.Batch(`link set lo up
link add v0 type veth peer name v1
link set v0 up
link set v1 up
address add 10.0.0.1/24 dev v0
address add fd00::1/64 dev v0 nodad
nexthop add id 1 via 10.0.0.2 dev v0
nexthop add id 2 via 10.0.0.3 dev v0 proto 76
nexthop add id 3 blackhole
nexthop add id 4 dev v0 proto static
nexthop add id 5 via fd00::2 dev v0
nexthop add id 10 group 1/2,3 proto 76
nexthop add id 11 group 1,2/2 type resilient buckets 8 idle_timer 60`)
	var ip []map[string]any
	ns.JSON(&ip, "nexthop", "show")
	var want, got []string
	for _, n := range ip {
		want = append(want, nexthopLine(t, n))
	}
	for _, n := range execJSON(t, "show", "nexthops", "-n", ns.Name) {
		got = append(got, nexthopLine(t, n))
	}
	if len(want) != 7 {
		t.Fatalf("ip lists %d nexthops, want 7:\n%s", len(want), strings.Join(want, "\n"))
	}
	if !slices.Equal(got, want) {
		t.Errorf("show nexthops:\n%s\nip:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// The table, and ip's shortening of the object.
	table := execOK(t, "show", "nex", "-n", ns.Name)
	for _, w := range []string{"ID", "10.0.0.2", "blackhole", "group 1/2,3", "type resilient"} {
		if !strings.Contains(table, w) {
			t.Errorf("table lacks %q:\n%s", w, table)
		}
	}
}
