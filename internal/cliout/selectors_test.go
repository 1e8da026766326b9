package cliout

import (
	"net/netip"
	"reflect"
	"strings"
	"testing"

	"github.com/linx-net/linx/rtnl"
)

// TestRuleSelectors checks that a rule's selectors beyond address, mark
// and interface are shown, so that a rule and its twin without them do
// not print alike.
func TestRuleSelectors(t *testing.T) {
	rules := []rtnl.Rule{
		{Family: rtnl.FamilyV4, Priority: 330, Table: 13, Action: rtnl.RuleToTable},
		{Family: rtnl.FamilyV4, Priority: 330, Table: 13, Action: rtnl.RuleToTable, IPProto: 6, DPort: rtnl.PortRange{Start: 443, End: 443}, UIDRange: rtnl.UIDRange{Start: 100, End: 200, Set: true}},
		{Family: rtnl.FamilyV4, Priority: 360, Table: 254, Action: rtnl.RuleToTable, SuppressPrefixLen: rtnl.Suppress{Set: true}},
		{Family: rtnl.FamilyV4, Priority: 380, Action: rtnl.RuleToTable, L3MDev: true},
		{Family: rtnl.FamilyV4, Priority: 390, Action: rtnl.RuleGoto, Goto: 400},
		{Family: rtnl.FamilyV4, Priority: 395, Table: 16, Action: rtnl.RuleToTable, TunID: 7, TOS: 0x10, SPort: rtnl.PortRange{Start: 1000, End: 2000}, Realms: 1<<16 | 2},
		{Family: rtnl.FamilyV4, Priority: 330, Table: 13, Action: rtnl.RuleToTable, DSCP: rtnl.DSCP{Value: 10, Mask: rtnl.DSCPMaskFull, Set: true}, DPort: rtnl.PortRange{Start: 256, End: 256}, DPortMask: 0xff00},
		{Family: rtnl.FamilyV6, Priority: 330, Table: 13, Action: rtnl.RuleToTable, DSCP: rtnl.DSCP{Value: 8, Mask: 0x38, Set: true}, Unmodelled: "26:00012340"},
	}
	v := Rules(rules)
	out := render(t, v)
	absent(t, "plain", out[0], "ipproto", "sport", "dport", "uidrange", "suppress_prefixlength", "suppress_ifgroup", "l3mdev", "goto", "tun_id", "realms", "tos")
	wantKeys(t, "tcp", out[1], map[string]any{"ipproto": 6.0, "dport": "443", "uidrange": "100-200"})
	wantKeys(t, "suppress", out[2], map[string]any{"suppress_prefixlength": 0.0})
	absent(t, "suppress", out[2], "suppress_ifgroup")
	wantKeys(t, "l3mdev", out[3], map[string]any{"l3mdev": true})
	wantKeys(t, "goto", out[4], map[string]any{"goto": 400.0, "action": "goto"})
	wantKeys(t, "tun", out[5], map[string]any{"tun_id": 7.0, "tos": 16.0, "sport": "1000-2000", "realms": 65538.0})
	absent(t, "plain", out[0], "dscp", "unmodelled", "sport_mask", "dport_mask")
	wantKeys(t, "dscp", out[6], map[string]any{"dscp": "10", "dport": "256", "dport_mask": 65280.0})
	wantKeys(t, "unmodelled", out[7], map[string]any{"dscp": "8/0x38", "unmodelled": "26:00012340"})

	var actions []string
	for _, row := range v {
		c := row.Cells()
		actions = append(actions, c[len(c)-1])
	}
	want := []string{
		"lookup 13",
		"ipproto 6 dport 443 uidrange 100-200 lookup 13",
		"lookup main suppress_prefixlength 0",
		"lookup [l3mdev-table]",
		"goto 400",
		"tos 0x10 sport 1000-2000 tun_id 7 realms 1/2 lookup 16",
		"dport 256/0xff00 dscp 10 lookup 13",
		"dscp 8/0x38 unmodelled 26:00012340 lookup 13",
	}
	if !reflect.DeepEqual(actions, want) {
		t.Errorf("action cells:\n%s\nwant:\n%s", strings.Join(actions, "\n"), strings.Join(want, "\n"))
	}
}

// TestRouteSourceAndNHID checks that a route's source prefix and nexthop
// object are shown.
func TestRouteSourceAndNHID(t *testing.T) {
	routes := []rtnl.Route{
		{Dst: netip.MustParsePrefix("fd07::/64"), SrcPrefix: netip.MustParsePrefix("fd00::/64"), Gateway: netip.MustParseAddr("fd00::2"), OIF: 2, Table: 254, Metric: 1024, Type: rtnl.RouteTypeUnicast},
		{Dst: netip.MustParsePrefix("172.16.0.0/16"), NHID: 5, Gateway: netip.MustParseAddr("10.0.0.2"), OIF: 2, Table: 254, Type: rtnl.RouteTypeUnicast},
		{Dst: netip.MustParsePrefix("10.1.0.0/16"), OIF: 2, Table: 254, Type: rtnl.RouteTypeUnicast},
	}
	v := Routes(routes, testNames)
	out := render(t, v)
	wantKeys(t, "from", out[0], map[string]any{"from": "fd00::/64"})
	absent(t, "from", out[0], "nhid")
	wantKeys(t, "nhid", out[1], map[string]any{"nhid": 5.0, "gateway": "10.0.0.2"})
	absent(t, "plain", out[2], "nhid", "from")
	if c := v[0].Cells(); c[0] != "fd07::/64 from fd00::/64" {
		t.Errorf("dst cell %q", c[0])
	}
	if c := v[1].Cells(); c[1] != "nhid 5 10.0.0.2" {
		t.Errorf("gateway cell %q", c[1])
	}
	if c := v[2].Cells(); c[1] != "" {
		t.Errorf("gateway cell %q for a route with none", c[1])
	}
}
