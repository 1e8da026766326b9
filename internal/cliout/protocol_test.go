package cliout

import (
	"encoding/json"
	"strconv"
	"testing"

	"github.com/linx-net/linx/internal/nstest"
)

// TestNeighbourProtocolMatchesIP cross-checks the neighbour view's
// protocol with iproute2's: `ip -j neigh` names the key "protocol" too, and
// prints the number as a string, only when set.
func TestNeighbourProtocolMatchesIP(t *testing.T) {
	ns := nstest.New(t)
	s := ns.Open()
	ns.IP("link", "add", "br0", "type", "bridge")
	ns.IP("neighbour", "add", "10.0.0.7", "lladdr", "02:00:00:00:00:07", "dev", "br0", "nud", "permanent", "proto", "76")
	ns.IP("neighbour", "add", "10.0.0.8", "lladdr", "02:00:00:00:00:08", "dev", "br0", "nud", "permanent")
	var ip []map[string]any
	ns.JSON(&ip, "neighbour", "show", "dev", "br0")
	want := make(map[string]string)
	for _, n := range ip {
		p, _ := n["protocol"].(string)
		want[n["dst"].(string)] = p
	}
	neighs, err := s.NeighboursOf("br0")
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(Neighbours(neighs, nil))
	if err != nil {
		t.Fatal(err)
	}
	var views []map[string]any
	if err := json.Unmarshal(b, &views); err != nil {
		t.Fatal(err)
	}
	seen := 0
	for _, v := range views {
		exp, ok := want[v["ip"].(string)]
		if !ok {
			continue // the kernel's multicast entries, which ip hides
		}
		seen++
		got := v["protocol"].(float64)
		if exp == "" && got != 0 || exp != "" && strconv.Itoa(int(got)) != exp {
			t.Errorf("neighbour %v: protocol %v, ip -j says %q", v["ip"], got, exp)
		}
	}
	if seen != 2 {
		t.Errorf("%d of ip's 2 neighbours in the views: %v", seen, views)
	}
}
