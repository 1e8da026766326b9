package main

import (
	"strconv"
	"strings"
	"testing"

	"github.com/linx-net/linx/internal/nstest"
)

// A link whose parent is in another namespace: show links prints
// link_netnsid (and parent_index as that namespace's index) exactly where
// `ip -N -j link` does, and the table names the parent as if<index>@nsid<id>.
func TestShowLinksParentElsewhere(t *testing.T) {
	a, b := nstest.New(t), nstest.New(t)
	a.IP("netns", "set", b.Name, "7") // a non-zero id, so 0 cannot pass by default
	a.Batch(`link add loc0 type veth peer name loc1
link add mv0 type veth peer name mv1
`)
	a.IP("link", "set", "mv1", "netns", b.Name)
	netns := "path:" + a.Path()

	var ipLinks []struct {
		Name      string `json:"ifname"`
		LinkIndex int    `json:"link_index"`
		NetNSID   *int   `json:"link_netnsid"`
	}
	a.JSON(&ipLinks, "link", "show")
	links := showJSON(t, "links", "--netns", netns)
	if len(links) != len(ipLinks) {
		t.Fatalf("%d links, ip shows %d", len(links), len(ipLinks))
	}
	foreign := 0
	for _, want := range ipLinks {
		got := one(t, "links", links, "name", want.Name)
		id, has := got["link_netnsid"]
		switch {
		case want.NetNSID == nil && has:
			t.Errorf("%s: link_netnsid %v, ip prints none", want.Name, id)
		case want.NetNSID != nil:
			foreign++
			expect(t, want.Name, got, map[string]any{
				"link_netnsid": float64(*want.NetNSID), "parent_index": float64(want.LinkIndex)})
		}
	}
	if foreign != 1 {
		t.Errorf("ip shows %d links with link_netnsid, want 1 (mv0)", foreign)
	}
	expect(t, "mv0", one(t, "links", links, "name", "mv0"), map[string]any{"link_netnsid": 7.0})

	var peer []struct {
		Index int `json:"ifindex"`
	}
	b.JSON(&peer, "link", "show", "dev", "mv1")
	if len(peer) != 1 {
		t.Fatalf("mv1 in %s: %v", b.Name, peer)
	}
	code, out, errs := runCLI(t, "show", "links", "--netns", netns)
	if code != exitOK {
		t.Fatalf("show links: exit %d: %s", code, errs)
	}
	cells := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Fields(line)
		cells[f[1]] = f
	}
	if h := cells["NAME"]; len(h) == 0 || h[len(h)-1] != "PARENT" {
		t.Fatalf("table header %v, want PARENT last\n%s", h, out)
	}
	for name, want := range map[string]string{
		"mv0": "if" + strconv.Itoa(peer[0].Index) + "@nsid7", "loc0": "loc1", "loc1": "loc0", "lo": "-",
	} {
		if f := cells[name]; len(f) == 0 || f[len(f)-1] != want {
			t.Errorf("table row of %s = %v, want PARENT %s\n%s", name, f, want, out)
		}
	}
}

// show links IFNAME prints that link once, in both formats, whether named
// by its name, through the alias or by an alternative name, with the
// master and parent columns ip prints for it.
func TestShowLinksIfname(t *testing.T) {
	ns := nstest.New(t)
	ns.Batch(`link add v0 type veth peer name v1
link add br0 type bridge
link set v0 master br0
link property add dev v0 altname alt0
`)
	netns := "path:" + ns.Path()
	var ip []struct {
		Index  int    `json:"ifindex"`
		Name   string `json:"ifname"`
		Master string `json:"master"`
		Link   string `json:"link"`
	}
	ns.JSON(&ip, "link", "show", "dev", "v0")
	if len(ip) != 1 {
		t.Fatalf("ip link show dev v0: %d links", len(ip))
	}
	want := ip[0]
	for _, args := range [][]string{{"links", "v0"}, {"link", "v0"}, {"links", "alt0"}} {
		what := "show " + strings.Join(args, " ")
		rows := showJSON(t, append(args, "--netns", netns)...)
		if len(rows) != 1 {
			t.Errorf("%s -o json: %d objects, want v0 once: %v", what, len(rows), rows)
		} else {
			expect(t, what, rows[0], map[string]any{"index": float64(want.Index), "name": "v0", "master": want.Master})
		}

		code, out, errs := runCLI(t, append(append([]string{"show"}, args...), "--netns", netns)...)
		if code != exitOK {
			t.Fatalf("%s: exit %d: %s", what, code, errs)
		}
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if len(lines) != 2 {
			t.Errorf("%s: %d lines, want a header and v0 once:\n%s", what, len(lines), out)
			continue
		}
		f := strings.Fields(lines[1])
		if len(f) < 2 || f[0] != strconv.Itoa(want.Index) || f[1] != "v0" || f[len(f)-2] != want.Master || f[len(f)-1] != want.Link {
			t.Errorf("%s: row %q, want index %d, v0, master %s, parent %s", what, lines[1], want.Index, want.Master, want.Link)
		}
	}
}
