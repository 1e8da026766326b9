package convert

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"time"

	"github.com/linx-net/linx/internal/parts"
	"github.com/linx-net/linx/messages"
	"github.com/linx-net/linx/reconcile"
	"github.com/linx-net/linx/rtnl"
)

// DesiredFromProto converts the protobuf desired state into a
// reconcile.Desired (returned as any, to serve as supervisor.Config.Desired)
// and validates it. It returns every problem found at once, each naming
// its entry and quoting the bad value.
func DesiredFromProto(m *messages.Desired) (any, error) {
	d, err := desiredFromProto(m)
	if err != nil {
		return nil, err
	}
	if err := d.Validate(); err != nil {
		return nil, err
	}
	return d, nil
}

type problems []error

// entry names an entry of a list of the message (routes[3]) in an error;
// its name is built only then.
type entry struct {
	list  string
	index int
}

// String returns "routes[3]".
func (e entry) String() string { return e.list + "[" + strconv.Itoa(e.index) + "]" }

func (p *problems) addf(format string, args ...any) { *p = append(*p, fmt.Errorf(format, args...)) }

func (p *problems) prefix(e entry, field, s string) netip.Prefix {
	if s == "" {
		return netip.Prefix{}
	}
	if s == "default" {
		return netip.Prefix{} // resolved by the caller
	}
	v, err := netip.ParsePrefix(s)
	if err != nil {
		if a, aerr := netip.ParseAddr(s); aerr == nil {
			return netip.PrefixFrom(a, a.BitLen())
		}
		p.addf("%s.%s: %q is not a prefix", e, field, s)
	}
	return v
}

func (p *problems) addr(e entry, field, s string) netip.Addr {
	if s == "" {
		return netip.Addr{}
	}
	v, err := netip.ParseAddr(s)
	if err != nil {
		p.addf("%s.%s: %q is not an IP address", e, field, s)
	}
	return v
}

// route converts r, the route at index i of a message, into *route,
// which is zero: field by field, since copying a whole route into a
// large table while the garbage collector runs costs more than parsing
// it.
func (p *problems) route(i int, r *messages.Route, route *reconcile.Route) {
	e := entry{"routes", i} // named only in an error: a million names cost a third of the conversion
	route.Via, route.Dev, route.Table = p.addr(e, "via", r.GetVia()), r.GetDev(), r.GetTable()
	route.Metric, route.Protocol = r.GetMetric(), rtnl.Protocol(r.GetProtocol())
	route.Src, route.Nexthop = p.addr(e, "src", r.GetSrc()), r.GetNexthop()
	route.From = p.prefix(e, "from", r.GetFrom())
	if paths := r.GetPaths(); paths != nil {
		route.NextHops = make([]reconcile.NextHop, len(paths))
		for j, h := range paths {
			f := fmt.Sprintf("paths[%d]", j)
			if h.GetWeight() > 256 {
				p.addf("%s.%s.weight: %d out of range (1 to 256)", e, f, h.GetWeight())
			}
			route.NextHops[j] = reconcile.NextHop{Via: p.addr(e, f+".via", h.GetVia()), Dev: h.GetDev(), Weight: int(h.GetWeight())}
		}
	}
	if r.GetType() != "" {
		t, err := parseRouteType(r.GetType())
		if err != nil {
			p.addf("%s.type: %v", e, err)
		}
		route.Type = t
	}
	if r.GetProtocol() > 255 {
		p.addf("%s.protocol: %d out of range (0 to 255)", e, r.GetProtocol())
	}
	if r.GetDst() == "default" || r.GetDst() == "" {
		fam, err := family(r.GetFamily())
		if err != nil {
			p.addf("%s.family: %v", e, err)
		}
		route.Dst = reconcile.DefaultDst(fam, route.Via, route.Src)
	} else {
		route.Dst = p.prefix(e, "dst", r.GetDst())
	}
}

// family parses a message's family: empty means FamilyAll (unset).
func family(s string) (rtnl.Family, error) {
	if s == "" {
		return rtnl.FamilyAll, nil
	}
	return rtnl.ParseFamily(s)
}

func desiredFromProto(m *messages.Desired) (reconcile.Desired, error) {
	var d reconcile.Desired
	var p problems
	for i, l := range m.GetLinks() {
		e := entry{"links", i}
		link := reconcile.Link{
			Name: l.GetName(), Kind: l.GetKind(), Parent: l.GetParent(),
			Master: l.GetMaster(), MTU: int(l.GetMtu()), Adopt: l.GetAdopt(),
		}
		if l.Up != nil {
			link.State = reconcile.LinkStateDown
			if l.GetUp() {
				link.State = reconcile.LinkStateUp
			}
		}
		if l.GetMac() != "" {
			mac, err := rtnl.ParseMAC(l.GetMac())
			if err != nil {
				p.addf("%s.mac: %v", e, err)
			}
			link.MAC = mac
		}
		switch s := l.GetSettings().(type) {
		case *messages.Link_Macvlan:
			mode, err := rtnl.ParseMacvlanMode(s.Macvlan.GetMode())
			if err != nil && s.Macvlan.GetMode() != "" {
				p.addf("%s.macvlan.mode: %v", e, err)
			}
			link.Data = rtnl.Macvlan{Mode: mode, Tap: s.Macvlan.GetTap() || l.GetKind() == "macvtap"}
		case *messages.Link_Ipvlan:
			mode, err := rtnl.ParseIPVlanMode(s.Ipvlan.GetMode())
			if err != nil && s.Ipvlan.GetMode() != "" {
				p.addf("%s.ipvlan.mode: %v", e, err)
			}
			link.Data = rtnl.IPVlan{Mode: mode}
		case *messages.Link_Vlan:
			if s.Vlan.GetId() > 4094 {
				p.addf("%s.vlan.id: %d out of range (1 to 4094)", e, s.Vlan.GetId())
			}
			link.Data = rtnl.VLAN{ID: uint16(s.Vlan.GetId())}
		case *messages.Link_Vxlan:
			v := s.Vxlan
			if v.GetPort() > 65535 {
				p.addf("%s.vxlan.port: %d out of range", e, v.GetPort())
			}
			link.Data = rtnl.Vxlan{
				VNI: v.GetVni(), Port: uint16(v.GetPort()),
				Local:  p.addr(e, "vxlan.local", v.GetLocal()),
				Remote: p.addr(e, "vxlan.remote", v.GetRemote()),
				Group:  p.addr(e, "vxlan.group", v.GetGroup()),
				// Unset means the kernel's default, learning on.
				NoLearning: v.Learning != nil && !v.GetLearning(),
			}
		case *messages.Link_Veth:
			ns, err := NamespaceFromProto(s.Veth.GetPeerNamespace())
			if err != nil {
				p.addf("%s.veth.peer_namespace: %v", e, err)
			}
			link.Data = rtnl.Veth{Peer: s.Veth.GetPeer(), PeerNamespace: ns}
		}
		d.Links = append(d.Links, link)
	}
	for i, a := range m.GetAddresses() {
		e := entry{"addresses", i}
		pfx, err := netip.ParsePrefix(a.GetAddress())
		if err != nil {
			p.addf("%s.address: %q is not an address with a prefix length (10.0.0.2/24)", e, a.GetAddress())
		}
		d.Addresses = append(d.Addresses, reconcile.Address{Link: a.GetLink(), Prefix: pfx})
	}
	// Sized once: a scope holds its routes for as long as it lives. A
	// large table is converted in parts, one per processor: parsing a
	// million routes is most of the work of taking them in, done before
	// the scope can send the first.
	if routes := m.GetRoutes(); len(routes) > 0 {
		d.Routes = make([]reconcile.Route, len(routes))
		n := parts.Of(len(routes))
		found := make([]problems, n)
		parts.Run(len(routes), n, func(k, lo, hi int) bool {
			for i := lo; i < hi; i++ {
				found[k].route(i, routes[i], &d.Routes[i])
			}
			return true
		})
		for _, q := range found {
			p = append(p, q...) // in the order of the routes
		}
	}
	for i, n := range m.GetNeighbours() {
		e := entry{"neighbours", i}
		mac, err := rtnl.ParseMAC(n.GetMac())
		if err != nil {
			p.addf("%s.mac: %v", e, err)
		}
		d.Neighbours = append(d.Neighbours, reconcile.Neighbour{Link: n.GetLink(), IP: p.addr(e, "ip", n.GetIp()), MAC: mac})
	}
	for i, r := range m.GetRules() {
		e := entry{"rules", i}
		fam, err := family(r.GetFamily())
		if err != nil {
			p.addf("%s.family: %v", e, err)
		}
		if r.GetTos() > 255 {
			p.addf("%s.tos: %d out of range (0 to 255)", e, r.GetTos())
		}
		if r.GetProtocol() > 255 {
			p.addf("%s.protocol: %d out of range (0 to 255)", e, r.GetProtocol())
		}
		var action rtnl.RuleAction
		if r.GetAction() != "" {
			if action, err = rtnl.ParseRuleAction(r.GetAction()); err != nil {
				p.addf("%s.action: %v", e, err)
			}
		}
		d.Rules = append(d.Rules, reconcile.Rule{
			Family: fam, Priority: r.GetPriority(), Table: r.GetTable(),
			From: p.prefix(e, "from", r.GetFrom()), To: p.prefix(e, "to", r.GetTo()),
			FwMark: r.GetFwmark(), FwMask: r.GetFwmask(), IIF: r.GetIif(), OIF: r.GetOif(),
			TOS: uint8(r.GetTos()), Action: action, Invert: r.GetInvert(),
			Protocol: rtnl.Protocol(r.GetProtocol()),
		})
	}
	for i, n := range m.GetNexthops() {
		e := entry{"nexthops", i}
		nh := reconcile.Nexthop{ID: n.GetId(), Via: p.addr(e, "via", n.GetVia()), Dev: n.GetDev(), Blackhole: n.GetBlackhole()}
		if g := n.GetGroup(); g != nil {
			nh.Group = make([]rtnl.NexthopMember, len(g))
			for j, mb := range g {
				nh.Group[j] = rtnl.NexthopMember{ID: mb.GetId(), Weight: mb.GetWeight()}
			}
		}
		switch n.GetType() {
		case "", "multipath":
		case "resilient":
			nh.Type = rtnl.NexthopGroupResilient
		default:
			p.addf("%s.type: %q is not multipath or resilient", e, n.GetType())
		}
		if n.GetBuckets() > 65535 {
			p.addf("%s.buckets: %d out of range (0 to 65535)", e, n.GetBuckets())
		}
		const maxTimerMS = (1<<32 - 1) * 10 // clock ticks of 10 ms in 32 bits
		for _, t := range []struct {
			name string
			ms   uint64
			dst  *time.Duration
		}{{"idle_timer_ms", n.GetIdleTimerMs(), &nh.Resilient.IdleTimer}, {"unbalanced_timer_ms", n.GetUnbalancedTimerMs(), &nh.Resilient.UnbalancedTimer}} {
			if t.ms > maxTimerMS {
				p.addf("%s.%s: %d out of range (0 to %d)", e, t.name, t.ms, uint64(maxTimerMS))
				continue
			}
			*t.dst = time.Duration(t.ms) * time.Millisecond
		}
		nh.Resilient.Buckets = uint16(n.GetBuckets())
		d.Nexthops = append(d.Nexthops, nh)
	}
	return d, errors.Join(p...)
}

// parseRouteType parses a route type's name ("blackhole") or number.
func parseRouteType(s string) (rtnl.RouteType, error) {
	if t, err := rtnl.ParseRouteType(s); err == nil {
		return t, nil
	}
	if n, err := strconv.ParseUint(s, 10, 8); err == nil {
		return rtnl.RouteType(n), nil
	}
	return 0, fmt.Errorf("route type %q is not unicast, blackhole, unreachable, prohibit or a number", s)
}
