package config

import (
	"encoding/json"
	"fmt"
	"net"
	"net/netip"

	"github.com/linx-net/linx/reconcile"
	"github.com/linx-net/linx/rtnl"
)

// The entries of the desired section as the file spells them; field order
// is the order written.
type (
	yamlDesired struct {
		Links      []yamlLink      `json:"links,omitempty"`
		Addresses  []yamlAddress   `json:"addresses,omitempty"`
		Routes     []yamlRoute     `json:"routes,omitempty"`
		Neighbours []yamlNeighbour `json:"neighbours,omitempty"`
		Rules      []yamlRule      `json:"rules,omitempty"`
		Nexthops   []yamlNexthop   `json:"nexthops,omitempty"`
	}
	yamlNexthop struct {
		ID              uint32              `json:"id"`
		Via             string              `json:"via,omitempty"`
		Dev             string              `json:"dev,omitempty"`
		Blackhole       bool                `json:"blackhole,omitempty"`
		Group           []yamlNexthopMember `json:"group,omitempty"`
		Type            string              `json:"type,omitempty"`
		Buckets         uint16              `json:"buckets,omitempty"`
		IdleTimer       string              `json:"idle_timer,omitempty"`
		UnbalancedTimer string              `json:"unbalanced_timer,omitempty"`
	}
	yamlNexthopMember struct {
		ID     uint32 `json:"id"`
		Weight uint32 `json:"weight,omitempty"`
	}
	yamlNextHop struct {
		Via    string `json:"via,omitempty"`
		Dev    string `json:"dev,omitempty"`
		Weight int    `json:"weight,omitempty"`
	}
	yamlLink struct {
		Name      string `json:"name"`
		Kind      string `json:"kind,omitempty"`
		Parent    string `json:"parent,omitempty"`
		Master    string `json:"master,omitempty"`
		MTU       int    `json:"mtu,omitempty"`
		MAC       string `json:"mac,omitempty"`
		Up        *bool  `json:"up,omitempty"`
		Peer      string `json:"peer,omitempty"`
		PeerNetns string `json:"peer_netns,omitempty"`
		Mode      string `json:"mode,omitempty"`
		ID        uint16 `json:"id,omitempty"`
		VNI       uint32 `json:"vni,omitempty"`
		Port      uint16 `json:"port,omitempty"`
		Local     string `json:"local,omitempty"`
		Remote    string `json:"remote,omitempty"`
		Group     string `json:"group,omitempty"`
		Learning  *bool  `json:"learning,omitempty"`
		Adopt     bool   `json:"adopt,omitempty"`
	}
	yamlAddress struct {
		Link    string `json:"link"`
		Address string `json:"address"`
	}
	yamlRoute struct {
		Dst string `json:"dst"`
		// Via is the gateway's text, or the paths ([]yamlNextHop) of a
		// multipath route.
		Via      any    `json:"via,omitempty"`
		Dev      string `json:"dev,omitempty"`
		Src      string `json:"src,omitempty"`
		From     string `json:"from,omitempty"`
		Nexthop  uint32 `json:"nexthop,omitempty"`
		Table    uint32 `json:"table,omitempty"`
		Metric   uint32 `json:"metric,omitempty"`
		Protocol string `json:"protocol,omitempty"`
		Type     string `json:"type,omitempty"`
	}
	yamlNeighbour struct {
		Link string `json:"link"`
		IP   string `json:"ip"`
		MAC  string `json:"mac"`
	}
	yamlRule struct {
		Priority uint32 `json:"priority"`
		Table    uint32 `json:"table"`
		Family   string `json:"family,omitempty"`
		From     string `json:"from,omitempty"`
		To       string `json:"to,omitempty"`
		IIF      string `json:"iif,omitempty"`
		OIF      string `json:"oif,omitempty"`
		FwMark   uint32 `json:"fwmark,omitempty"`
		FwMask   uint32 `json:"fwmask,omitempty"`
		TOS      uint8  `json:"tos,omitempty"`
		Action   string `json:"action,omitempty"`
		Invert   bool   `json:"invert,omitempty"`
		Protocol string `json:"protocol,omitempty"`
	}
)

// MarshalDesired returns d as the value of a scope's desired key, in
// YAML's flow form (which is also JSON): reading it back gives d again,
// field for field, for every d that passes Validate and that the file can
// carry. The file cannot carry a link of kind macvlan, macvtap, ipvlan,
// vlan, vxlan or veth without its settings (the reader gives each its
// defaults), a macvlan or macvtap of mode 0 (the file's default is
// bridge), a rule selector Linx does not write (ipproto, ports, uid
// range, …), nor a veth peer in a namespace without a name: each is an
// error naming the entry, and nothing is returned.
func MarshalDesired(d reconcile.Desired) ([]byte, error) {
	var out yamlDesired
	for i, l := range d.Links {
		y, err := linkYAML(l)
		if err != nil {
			return nil, fmt.Errorf("links[%d]: %w", i, err)
		}
		out.Links = append(out.Links, y)
	}
	for _, a := range d.Addresses {
		out.Addresses = append(out.Addresses, yamlAddress{Link: a.Link, Address: a.Prefix.String()})
	}
	for _, r := range d.Routes {
		y := yamlRoute{Dst: r.Dst.String(), Dev: r.Dev, Src: text(r.Src), From: text(r.From), Nexthop: r.Nexthop,
			Table: r.Table, Metric: r.Metric}
		switch {
		case r.NextHops != nil:
			hops := make([]yamlNextHop, len(r.NextHops))
			for i, h := range r.NextHops {
				hops[i] = yamlNextHop{Via: text(h.Via), Dev: h.Dev, Weight: h.Weight}
			}
			y.Via = hops
		case r.Via.IsValid():
			y.Via = r.Via.String()
		}
		if r.Protocol != 0 {
			y.Protocol = r.Protocol.String()
		}
		if r.Type != rtnl.RouteTypeUnspec {
			y.Type = r.Type.String()
		}
		out.Routes = append(out.Routes, y)
	}
	for _, n := range d.Neighbours {
		out.Neighbours = append(out.Neighbours, yamlNeighbour{Link: n.Link, IP: text(n.IP), MAC: macText(n.MAC)})
	}
	for i, r := range d.Rules {
		written := rtnl.Rule{Family: r.Family, Priority: r.Priority, Table: r.Table, From: r.From, To: r.To,
			FwMark: r.FwMark, FwMask: r.FwMask, IIF: r.IIF, OIF: r.OIF, TOS: r.TOS, Action: r.Action,
			Invert: r.Invert, Protocol: r.Protocol}
		if r != written {
			return nil, fmt.Errorf("rules[%d]: %s has selectors the file does not carry", i, r)
		}
		y := yamlRule{Priority: r.Priority, Table: r.Table, From: text(r.From), To: text(r.To), IIF: r.IIF, OIF: r.OIF,
			FwMark: r.FwMark, FwMask: r.FwMask, TOS: r.TOS, Invert: r.Invert}
		switch r.Family {
		case rtnl.FamilyAll:
		case rtnl.FamilyV4, rtnl.FamilyV6:
			y.Family = r.Family.String()
		default:
			return nil, fmt.Errorf("rules[%d].family: %s is not inet or inet6", i, r.Family)
		}
		if r.Action != 0 {
			y.Action = r.Action.String()
		}
		if r.Protocol != 0 {
			y.Protocol = r.Protocol.String()
		}
		out.Rules = append(out.Rules, y)
	}
	for _, n := range d.Nexthops {
		y := yamlNexthop{ID: n.ID, Via: text(n.Via), Dev: n.Dev, Blackhole: n.Blackhole,
			Buckets: n.Resilient.Buckets}
		if n.Group != nil {
			y.Group = make([]yamlNexthopMember, len(n.Group))
			for i, m := range n.Group {
				y.Group[i] = yamlNexthopMember{ID: m.ID, Weight: m.Weight}
			}
		}
		if n.Type == rtnl.NexthopGroupResilient {
			y.Type = "resilient"
		}
		if t := n.Resilient.IdleTimer; t != 0 {
			y.IdleTimer = t.String()
		}
		if t := n.Resilient.UnbalancedTimer; t != 0 {
			y.UnbalancedTimer = t.String()
		}
		out.Nexthops = append(out.Nexthops, y)
	}
	return json.Marshal(out)
}

func linkYAML(l reconcile.Link) (yamlLink, error) {
	y := yamlLink{Name: l.Name, Kind: l.Kind, Parent: l.Parent, Master: l.Master, MTU: l.MTU, MAC: macText(l.MAC), Adopt: l.Adopt}
	switch l.State {
	case reconcile.LinkStateUp, reconcile.LinkStateDown:
		up := l.State == reconcile.LinkStateUp
		y.Up = &up
	}
	switch v := l.Data.(type) {
	case nil:
		switch l.Kind {
		case "macvlan", "macvtap", "ipvlan", "vlan", "vxlan", "veth":
			return y, fmt.Errorf("a %s link without its settings: the file gives it defaults", l.Kind)
		}
	case rtnl.Veth:
		y.Peer = v.Peer
		switch {
		case v.PeerNamespace.IsHost():
		case v.PeerNamespace.PID() != 0, v.PeerNamespace.Path() != "":
			y.PeerNetns = v.PeerNamespace.String()
		default:
			return y, fmt.Errorf("veth peer namespace %s has no name the file can carry", v.PeerNamespace)
		}
	case rtnl.Macvlan:
		if v.Mode == 0 {
			return y, fmt.Errorf("macvlan mode 0: the file's default is bridge")
		}
		y.Mode = v.Mode.String()
	case rtnl.IPVlan:
		y.Mode = v.Mode.String()
	case rtnl.VLAN:
		y.ID = v.ID
	case rtnl.Vxlan:
		y.VNI, y.Port, y.Local, y.Remote, y.Group = v.VNI, v.Port, text(v.Local), text(v.Remote), text(v.Group)
		if v.NoLearning {
			f := false
			y.Learning = &f
		}
	default:
		return y, fmt.Errorf("settings of type %T: the file does not carry them", l.Data)
	}
	return y, nil
}

// text returns v's text form, or "" when v is invalid (unset).
func text[T netip.Addr | netip.Prefix](v T) string {
	switch x := any(v).(type) {
	case netip.Addr:
		if x.IsValid() {
			return x.String()
		}
	case netip.Prefix:
		if x.IsValid() {
			return x.String()
		}
	}
	return ""
}

func macText(mac net.HardwareAddr) string {
	if len(mac) == 0 {
		return ""
	}
	return mac.String()
}
