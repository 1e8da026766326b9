package convert

import (
	"errors"
	"fmt"
	"net"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/linx-net/linx/messages"
	"github.com/linx-net/linx/reconcile"
	"github.com/linx-net/linx/rtnl"
)

// DesiredToProto returns the message form of d, the inverse of
// DesiredFromProto: for every d that passes d.Validate, converting the
// result back gives d again, field for field. d itself is not validated.
//
// It returns every value the message form cannot carry at once, each
// naming its entry (a negative MTU, a MAC that is not 6 bytes, settings of
// an unknown type, a family other than inet or inet6), and no message.
func DesiredToProto(d reconcile.Desired) (*messages.Desired, error) {
	var p problems
	m := &messages.Desired{}
	if len(d.Links) > 0 {
		m.Links = make([]*messages.Link, 0, len(d.Links))
	}
	for i, l := range d.Links {
		m.Links = append(m.Links, p.linkToProto(fmt.Sprintf("links[%d]", i), l))
	}
	if len(d.Addresses) > 0 {
		m.Addresses = make([]*messages.Address, 0, len(d.Addresses))
	}
	for _, a := range d.Addresses {
		m.Addresses = append(m.Addresses, &messages.Address{Link: a.Link, Address: text(a.Prefix)})
	}
	if len(d.Routes) > 0 {
		m.Routes = make([]*messages.Route, 0, len(d.Routes))
	}
	for _, r := range d.Routes {
		mr := &messages.Route{
			Dst: text(r.Dst), Via: text(r.Via), Dev: r.Dev, Table: r.Table,
			Metric: r.Metric, Protocol: uint32(r.Protocol), Src: text(r.Src),
			Nexthop: r.Nexthop, From: text(r.From),
		}
		if r.NextHops != nil {
			mr.Paths = make([]*messages.NextHop, len(r.NextHops))
			for j, h := range r.NextHops {
				mr.Paths[j] = &messages.NextHop{Via: text(h.Via), Dev: h.Dev, Weight: uint32(h.Weight)}
			}
		}
		if r.Type != rtnl.RouteTypeUnspec {
			mr.Type = r.Type.String()
		}
		m.Routes = append(m.Routes, mr)
	}
	for i, n := range d.Nexthops {
		mn := &messages.Nexthop{Id: n.ID, Via: text(n.Via), Dev: n.Dev, Blackhole: n.Blackhole,
			Buckets: uint32(n.Resilient.Buckets)}
		if n.Group != nil {
			mn.Group = make([]*messages.NexthopMember, len(n.Group))
			for j, mb := range n.Group {
				mn.Group[j] = &messages.NexthopMember{Id: mb.ID, Weight: mb.Weight}
			}
		}
		switch n.Type {
		case rtnl.NexthopGroupMultipath:
		case rtnl.NexthopGroupResilient:
			mn.Type = "resilient"
		default:
			p.addf("nexthops[%d].type: %s is not multipath or resilient", i, n.Type)
		}
		for _, t := range []struct {
			name string
			d    time.Duration
			dst  *uint64
		}{{"idle_timer", n.Resilient.IdleTimer, &mn.IdleTimerMs}, {"unbalanced_timer", n.Resilient.UnbalancedTimer, &mn.UnbalancedTimerMs}} {
			if t.d < 0 || t.d%time.Millisecond != 0 {
				p.addf("nexthops[%d].%s: %v is not a whole number of milliseconds", i, t.name, t.d)
			}
			*t.dst = uint64(t.d / time.Millisecond)
		}
		m.Nexthops = append(m.Nexthops, mn)
	}
	if len(d.Neighbours) > 0 {
		m.Neighbours = make([]*messages.Neighbour, 0, len(d.Neighbours))
	}
	for i, n := range d.Neighbours {
		if len(n.MAC) != 0 && len(n.MAC) != 6 {
			p.addf("neighbours[%d].mac: %q is not a 6-byte Ethernet address", i, n.MAC)
		}
		m.Neighbours = append(m.Neighbours, &messages.Neighbour{Link: n.Link, Ip: text(n.IP), Mac: macText(n.MAC)})
	}
	if len(d.Rules) > 0 {
		m.Rules = make([]*messages.Rule, 0, len(d.Rules))
	}
	for i, r := range d.Rules {
		mr := &messages.Rule{
			From: text(r.From), To: text(r.To), Fwmark: r.FwMark, Fwmask: r.FwMask,
			Iif: r.IIF, Oif: r.OIF, Priority: proto.Uint32(r.Priority), Table: r.Table,
			Tos: uint32(r.TOS), Invert: r.Invert, Protocol: uint32(r.Protocol),
		}
		switch r.Family {
		case rtnl.FamilyAll:
		case rtnl.FamilyV4, rtnl.FamilyV6:
			mr.Family = r.Family.String()
		default:
			p.addf("rules[%d].family: %s is not inet or inet6", i, r.Family)
		}
		if r.Action != 0 {
			mr.Action = r.Action.String()
		}
		m.Rules = append(m.Rules, mr)
	}
	if err := errors.Join(p...); err != nil {
		return nil, err
	}
	return m, nil
}

func (p *problems) linkToProto(e string, l reconcile.Link) *messages.Link {
	ml := &messages.Link{
		Name: l.Name, Kind: l.Kind, Master: l.Master, Parent: l.Parent, Mac: macText(l.MAC),
		Adopt: l.Adopt,
	}
	if l.MTU < 0 || l.MTU > 1<<32-1 {
		p.addf("%s.mtu: %d out of range", e, l.MTU)
	}
	ml.Mtu = uint32(l.MTU)
	if l.MAC != nil && len(l.MAC) != 6 {
		p.addf("%s.mac: %q is not a 6-byte Ethernet address", e, l.MAC)
	}
	switch l.State {
	case reconcile.LinkStateAny:
	case reconcile.LinkStateUp:
		ml.Up = proto.Bool(true)
	case reconcile.LinkStateDown:
		ml.Up = proto.Bool(false)
	default:
		p.addf("%s.state: unknown link state %v", e, l.State)
	}
	switch v := l.Data.(type) {
	case nil:
	case rtnl.Macvlan:
		mv := &messages.Macvlan{Tap: v.Tap}
		if v.Mode != 0 {
			mv.Mode = v.Mode.String()
		}
		ml.Settings = &messages.Link_Macvlan{Macvlan: mv}
	case rtnl.IPVlan:
		ml.Settings = &messages.Link_Ipvlan{Ipvlan: &messages.IPVlan{Mode: v.Mode.String()}}
	case rtnl.VLAN:
		ml.Settings = &messages.Link_Vlan{Vlan: &messages.Vlan{Id: uint32(v.ID)}}
	case rtnl.Vxlan:
		mv := &messages.Vxlan{
			Vni: v.VNI, Port: uint32(v.Port),
			Local: text(v.Local), Remote: text(v.Remote), Group: text(v.Group),
		}
		if v.NoLearning {
			mv.Learning = proto.Bool(false)
		}
		ml.Settings = &messages.Link_Vxlan{Vxlan: mv}
	case rtnl.Veth:
		mv := &messages.Veth{Peer: v.Peer}
		if !v.PeerNamespace.IsHost() {
			mv.PeerNamespace = NamespaceToProto(v.PeerNamespace)
		}
		ml.Settings = &messages.Link_Veth{Veth: mv}
	default:
		p.addf("%s: settings of type %T have no message form", e, l.Data)
	}
	return ml
}

// NamespaceToProto returns the message form of ns, the inverse of
// NamespaceFromProto: host = true for the host namespace, pid for a
// process's namespace, path otherwise. It never returns nil.
func NamespaceToProto(ns rtnl.Namespace) *messages.Namespace {
	switch {
	case ns.IsHost():
		return &messages.Namespace{Kind: &messages.Namespace_Host{Host: true}}
	case ns.PID() != 0:
		return &messages.Namespace{Kind: &messages.Namespace_Pid{Pid: uint32(ns.PID())}}
	}
	return &messages.Namespace{Kind: &messages.Namespace_Path{Path: ns.Path()}}
}

// text returns v's text form, or "" when v is invalid (unset).
func text[T interface {
	IsValid() bool
	String() string
}](v T) string {
	if !v.IsValid() {
		return ""
	}
	return v.String()
}

func macText(mac net.HardwareAddr) string {
	if len(mac) == 0 {
		return ""
	}
	return mac.String()
}
