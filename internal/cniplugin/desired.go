package cniplugin

import (
	"fmt"
	"net"
	"net/netip"

	"github.com/containernetworking/cni/pkg/types"
	types100 "github.com/containernetworking/cni/pkg/types/100"

	"github.com/linx-net/linx/messages"
)

// hostNamespace is where the bridge and the host ends of the veths live.
func (c *Config) hostNamespace() *messages.Namespace {
	if c.HostNetns == "" {
		return &messages.Namespace{Kind: &messages.Namespace_Host{Host: true}}
	}
	return &messages.Namespace{Kind: &messages.Namespace_Path{Path: c.HostNetns}}
}

func up() *bool { t := true; return &t }

// ipConfig is one address IPAM gave, as netip values.
type ipConfig struct {
	addr    netip.Prefix // the pod's address with its prefix length
	gateway netip.Addr   // invalid when IPAM gave none
}

// ipConfigs converts IPAM's addresses. It returns an error for an
// address that is not an IP network.
func ipConfigs(r *types100.Result) ([]ipConfig, error) {
	var out []ipConfig
	for _, ip := range r.IPs {
		a, ok := netip.AddrFromSlice(ip.Address.IP)
		if !ok {
			return nil, fmt.Errorf("IPAM address %q is not an IP address", ip.Address.String())
		}
		a = a.Unmap()
		ones, _ := ip.Address.Mask.Size()
		ic := ipConfig{addr: netip.PrefixFrom(a, ones)}
		if g, ok := netip.AddrFromSlice(ip.Gateway); ok {
			ic.gateway = g.Unmap()
		}
		out = append(out, ic)
	}
	return out, nil
}

// networkSpec is the network scope: the bridge and the gateways.
func (c *Config) networkSpec(ips []ipConfig) *messages.SpawnScope {
	d := &messages.Desired{Links: []*messages.Link{{Name: c.Bridge, Kind: "bridge", Mtu: uint32(c.MTU), Up: up()}}}
	for _, ic := range ips {
		if ic.gateway.IsValid() {
			d.Addresses = append(d.Addresses, &messages.Address{Link: c.Bridge,
				Address: netip.PrefixFrom(ic.gateway, ic.addr.Bits()).String()})
		}
	}
	return &messages.SpawnScope{Name: c.NetworkScope(), Namespace: c.hostNamespace(), Desired: d, Options: hostOptions()}
}

// hostOptions are the options of the scopes in the host namespace: they
// manage no routes, so that they claim no route protocol there (the node
// would refuse a second owner of one) and never touch the host's routes.
func hostOptions() *messages.ScopeOptions { return &messages.ScopeOptions{NoRoutes: true} }

// hostSpec is an attachment's host scope: the veth, its peer in netns.
func (c *Config) hostSpec(at Attachment, netns, ifname string) *messages.SpawnScope {
	return &messages.SpawnScope{Name: at.HostScope, Namespace: c.hostNamespace(), Desired: &messages.Desired{
		Links: []*messages.Link{{Name: at.HostVeth, Kind: "veth", Mtu: uint32(c.MTU), Master: c.Bridge, Up: up(),
			Settings: &messages.Link_Veth{Veth: &messages.Veth{Peer: ifname,
				PeerNamespace: &messages.Namespace{Kind: &messages.Namespace_Path{Path: netns}}}}}},
	}, Options: hostOptions()}
}

// podRoutes are the routes of the pod: IPAM's (through the gateway of
// their family when they name none, as the reference plugins do) and,
// with IsDefaultGateway, a default route through each family's gateway
// unless IPAM gave one.
func (c *Config) podRoutes(r *types100.Result, ips []ipConfig) ([]*types.Route, error) {
	gw := map[bool]netip.Addr{} // by "is IPv4"
	for _, ic := range ips {
		if ic.gateway.IsValid() && !gw[ic.gateway.Is4()].IsValid() {
			gw[ic.gateway.Is4()] = ic.gateway
		}
	}
	var out []*types.Route
	hasDefault := map[bool]bool{}
	for _, rt := range r.Routes {
		dst, ok := netip.AddrFromSlice(rt.Dst.IP)
		if !ok {
			return nil, fmt.Errorf("IPAM route %q has no destination", rt.Dst.String())
		}
		ones, _ := rt.Dst.Mask.Size()
		v4 := dst.Unmap().Is4()
		rr := *rt
		if rr.GW == nil && gw[v4].IsValid() {
			rr.GW = net.IP(gw[v4].AsSlice())
		}
		if ones == 0 {
			hasDefault[v4] = true
		}
		out = append(out, &rr)
	}
	if c.IsDefaultGateway {
		for _, v4 := range []bool{true, false} {
			g := gw[v4]
			if !g.IsValid() || hasDefault[v4] {
				continue
			}
			dst := net.IPNet{IP: net.IPv4zero.To4(), Mask: net.CIDRMask(0, 32)}
			if !v4 {
				dst = net.IPNet{IP: net.IPv6zero, Mask: net.CIDRMask(0, 128)}
			}
			out = append(out, &types.Route{Dst: dst, GW: net.IP(g.AsSlice())})
		}
	}
	return out, nil
}

// podSpec is an attachment's pod scope: the interface, its addresses and
// routes.
func (c *Config) podSpec(at Attachment, netns, ifname string, ips []ipConfig, routes []*types.Route) *messages.SpawnScope {
	d := &messages.Desired{Links: []*messages.Link{{Name: ifname, Mtu: uint32(c.MTU), Up: up()}}}
	for _, ic := range ips {
		d.Addresses = append(d.Addresses, &messages.Address{Link: ifname, Address: ic.addr.String()})
	}
	for _, rt := range routes {
		m := &messages.Route{Dst: rt.Dst.String(), Dev: ifname}
		if ones, _ := rt.Dst.Mask.Size(); ones == 0 {
			m.Dst = "default"
			m.Family = "inet"
			if rt.Dst.IP.To4() == nil {
				m.Family = "inet6"
			}
		}
		if rt.GW != nil {
			m.Via = rt.GW.String()
		}
		if rt.Priority > 0 {
			m.Metric = uint32(rt.Priority)
		}
		if rt.Table != nil && *rt.Table > 0 {
			m.Table = uint32(*rt.Table)
		}
		d.Routes = append(d.Routes, m)
	}
	return &messages.SpawnScope{Name: at.PodScope, Namespace: &messages.Namespace{Kind: &messages.Namespace_Path{Path: netns}}, Desired: d}
}
