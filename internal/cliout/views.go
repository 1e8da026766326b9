package cliout

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/linx-net/linx/rtnl"
)

// LinkView is a link as the command line prints it.
type LinkView struct {
	Index int    `json:"index"`
	Name  string `json:"name"`
	// Kind is "" for a device without a kind (loopback, a physical NIC).
	Kind string `json:"kind"`
	MTU  int    `json:"mtu"`
	Up   bool   `json:"up"`
	// MAC is null for a link without a link-layer address.
	MAC *string `json:"mac"`
	// Master is the name of the bridge (or other master) the link is
	// enslaved to; null for none.
	Master      *string `json:"master"`
	MasterIndex int     `json:"master_index,omitempty"`
	ParentIndex int     `json:"parent_index,omitempty"`
	// LinkNetNSID is the id, in the link's namespace, of the namespace
	// that holds its parent (rtnl.Link.ParentNamespaceID), as `ip -j link`
	// prints it; absent when the parent, if any, is in the same namespace.
	// ParentIndex is then an index of that other namespace.
	LinkNetNSID *int32   `json:"link_netnsid,omitempty"`
	OperState   string   `json:"operstate"`
	Flags       []string `json:"flags"`
	TxQueueLen  int      `json:"txqlen"`

	// parent is the PARENT cell of the table: the parent's name when it is
	// local, "" for none.
	parent string
}

// Links returns the views of links; names resolves master indices and the
// indices of parents in the same namespace.
func Links(links []rtnl.Link, names Names) []LinkView {
	out := make([]LinkView, 0, len(links))
	for i := range links {
		out = append(out, LinkOf(&links[i], names))
	}
	return out
}

// LinkOf returns the view of one link, as Links does.
func LinkOf(l *rtnl.Link, names Names) LinkView {
	v := LinkView{
		Index:       l.Index,
		Name:        l.Name,
		Kind:        l.Kind,
		MTU:         l.MTU,
		Up:          l.Up(),
		MAC:         strPtr(l.HardwareAddr.String()),
		Master:      strPtr(names.Name(l.MasterIndex)),
		MasterIndex: l.MasterIndex,
		ParentIndex: l.ParentIndex,
		OperState:   l.OperState.String(),
		Flags:       []string{},
		TxQueueLen:  l.TxQueueLen,
	}
	if l.ParentElsewhere {
		id := l.ParentNamespaceID
		v.LinkNetNSID = &id
	} else {
		v.parent = names.Name(l.ParentIndex)
	}
	if l.Flags != 0 {
		v.Flags = strings.Split(strings.ToUpper(l.Flags.String()), "|")
	}
	return v
}

// Header implements Row.
func (LinkView) Header() []string {
	return []string{"INDEX", "NAME", "KIND", "STATE", "OPER", "MTU", "MAC", "MASTER", "PARENT"}
}

// Cells implements Row. The PARENT cell is the parent's name, or its
// index when the view was not made by Links; for a parent in another
// namespace it is "if2@nsid7" (index 2 in the namespace of id 7), after
// ip's "@if2" and "link-netnsid 7".
func (v LinkView) Cells() []string {
	state := "DOWN"
	if v.Up {
		state = "UP"
	}
	parent := v.parent
	switch {
	case v.ParentIndex == 0:
		parent = ""
	case v.LinkNetNSID != nil:
		parent = "if" + strconv.Itoa(v.ParentIndex) + "@nsid" + strconv.Itoa(int(*v.LinkNetNSID))
	case parent == "":
		parent = strconv.Itoa(v.ParentIndex)
	}
	return []string{strconv.Itoa(v.Index), v.Name, v.Kind, state, v.OperState,
		strconv.Itoa(v.MTU), deref(v.MAC), deref(v.Master), parent}
}

// AddressView is an interface address as the command line prints it.
type AddressView struct {
	Index  int    `json:"ifindex"`
	IfName string `json:"ifname"`
	// Address is the address with its prefix length, as "10.0.0.1/24".
	Address string `json:"address"`
	// Family is "inet" or "inet6".
	Family    string `json:"family"`
	Scope     string `json:"scope"`
	Peer      string `json:"peer,omitempty"`
	Broadcast string `json:"broadcast,omitempty"`
	Label     string `json:"label,omitempty"`
	Flags     uint32 `json:"flags"`
	// FlagNames are Flags by name, as AddressFlagNames returns them.
	FlagNames []string `json:"flag_names"`
	// Protocol is who installed the address (IFA_PROTO) as a number: 0
	// none, 1 to 3 the kernel (kernel_lo, kernel_ra, kernel_ll), another a
	// writer's own (Linx writes its scope's, 76 by default).
	Protocol uint8 `json:"protocol"`
}

// Addresses returns the views of addrs; names resolves interface indices.
func Addresses(addrs []rtnl.Address, names Names) []AddressView {
	out := make([]AddressView, 0, len(addrs))
	for i := range addrs {
		out = append(out, AddressOf(&addrs[i], names))
	}
	return out
}

// AddressOf returns the view of one address, as Addresses does.
func AddressOf(a *rtnl.Address, names Names) AddressView {
	return AddressView{
		Index:     a.Index,
		IfName:    names.Name(a.Index),
		Address:   a.Prefix.String(),
		Family:    a.Family().String(),
		Scope:     a.Scope.String(),
		Peer:      addrString(a.Peer),
		Broadcast: addrString(a.Broadcast),
		Label:     a.Label,
		Flags:     a.Flags,
		FlagNames: AddressFlagNames(a.Flags, a.Family()),
		Protocol:  uint8(a.Protocol),
	}
}

// Header implements Row.
func (AddressView) Header() []string {
	return []string{"IFINDEX", "DEV", "FAMILY", "ADDRESS", "SCOPE", "FLAGS", "PROTO"}
}

// Cells implements Row.
func (v AddressView) Cells() []string {
	addr := v.Address
	if v.Peer != "" {
		addr += " peer " + v.Peer
	}
	return []string{strconv.Itoa(v.Index), v.IfName, v.Family, addr, v.Scope, joinOr(v.FlagNames), rtnl.AddressProtocol(v.Protocol).String()}
}

// RouteView is a route as the command line prints it.
type RouteView struct {
	// Dst is the destination as a prefix; a default route is "0.0.0.0/0"
	// or "::/0".
	Dst string `json:"dst"`
	// Gateway is absent for a directly connected route.
	Gateway string `json:"gateway,omitempty"`
	// OIF is the outgoing interface's index, 0 for none; Dev its name.
	OIF   int    `json:"oif"`
	Dev   string `json:"dev,omitempty"`
	Table uint32 `json:"table"`
	// Protocol is rtm_protocol as a number (2 kernel, 3 boot, 4 static…);
	// ProtocolName is its name as `ip route` prints it (ProtocolName).
	Protocol     uint8  `json:"protocol"`
	ProtocolName string `json:"protocol_name"`
	Metric       uint32 `json:"metric"`
	Family       string `json:"family"`
	// Type and Scope are iproute2's names: "unicast", "global", "link"…
	Type     string        `json:"type"`
	Scope    string        `json:"scope"`
	PrefSrc  string        `json:"prefsrc,omitempty"`
	NextHops []NextHopView `json:"nexthops,omitempty"`
	// From is the source prefix of an IPv6 source route, absent for any.
	From string `json:"from,omitempty"`
	// NHID is the nexthop object the route uses, absent for none.
	NHID uint32 `json:"nhid,omitempty"`
}

// NextHopView is one path of a multipath route.
type NextHopView struct {
	Gateway string `json:"gateway,omitempty"`
	OIF     int    `json:"oif"`
	Dev     string `json:"dev,omitempty"`
	Weight  int    `json:"weight"`
}

// Routes returns the views of routes; names resolves interface indices.
func Routes(routes []rtnl.Route, names Names) []RouteView {
	out := make([]RouteView, 0, len(routes))
	for i := range routes {
		out = append(out, RouteOf(&routes[i], names))
	}
	return out
}

// RouteOf returns the view of one route, as Routes does.
func RouteOf(r *rtnl.Route, names Names) RouteView {
	v := RouteView{
		Dst:          r.Dst.String(),
		Gateway:      addrString(r.Gateway),
		OIF:          r.OIF,
		Dev:          names.Name(r.OIF),
		Table:        r.Table,
		Protocol:     uint8(r.Protocol),
		ProtocolName: ProtocolName(r.Protocol),
		Metric:       r.Metric,
		Family:       r.Family().String(),
		Type:         r.Type.String(),
		Scope:        r.Scope.String(),
		PrefSrc:      addrString(r.Src),
		NHID:         r.NHID,
	}
	if r.SrcPrefix.IsValid() {
		v.From = r.SrcPrefix.String()
	}
	for _, nh := range r.NextHops {
		v.NextHops = append(v.NextHops, NextHopView{
			Gateway: addrString(nh.Gateway), OIF: nh.OIF, Dev: names.Name(nh.OIF), Weight: nh.Weight,
		})
	}
	return v
}

// Header implements Row.
func (RouteView) Header() []string {
	return []string{"DST", "GATEWAY", "DEV", "TABLE", "PROTO", "METRIC", "TYPE", "SCOPE"}
}

// Cells implements Row. A default route prints as "default", as `ip`
// prints it, and a source prefix follows the destination ("fd07::/64 from
// fd00::/64"); the paths of a multipath route go in the gateway column,
// after "nhid N" for a route through a nexthop object.
func (v RouteView) Cells() []string {
	dst := v.Dst
	if strings.HasSuffix(dst, "/0") {
		dst = "default"
	}
	if v.From != "" {
		dst += " from " + v.From
	}
	gw, dev := v.Gateway, v.Dev
	if len(v.NextHops) > 0 {
		var hops []string
		for _, nh := range v.NextHops {
			hops = append(hops, fmt.Sprintf("%s@%s*%d", nh.Gateway, nh.Dev, nh.Weight))
		}
		gw = strings.Join(hops, ",")
	}
	if v.NHID != 0 {
		gw = strings.TrimSpace(fmt.Sprintf("nhid %d %s", v.NHID, gw))
	}
	return []string{dst, gw, dev, TableName(v.Table), ProtocolName(rtnl.Protocol(v.Protocol)),
		strconv.FormatUint(uint64(v.Metric), 10), v.Type, v.Scope}
}

// NeighbourView is an ARP or NDP entry as the command line prints it.
type NeighbourView struct {
	Index  int    `json:"ifindex"`
	IfName string `json:"ifname"`
	IP     string `json:"ip"`
	// MAC is null for an entry without a link-layer address (INCOMPLETE,
	// FAILED).
	MAC *string `json:"mac"`
	// State is the NUD state as iproute2 prints it: "PERMANENT",
	// "REACHABLE", "STALE"…
	State  string `json:"state"`
	Family string `json:"family"`
	Flags  uint8  `json:"flags"`
	// Protocol is who installed the entry (NDA_PROTOCOL) as a number, in
	// a route's numbering; 0 for none.
	Protocol uint8 `json:"protocol"`
}

// Neighbours returns the views of neighs; names resolves interface
// indices.
func Neighbours(neighs []rtnl.Neighbour, names Names) []NeighbourView {
	out := make([]NeighbourView, 0, len(neighs))
	for i := range neighs {
		out = append(out, NeighbourOf(&neighs[i], names))
	}
	return out
}

// NeighbourOf returns the view of one entry, as Neighbours does.
func NeighbourOf(n *rtnl.Neighbour, names Names) NeighbourView {
	return NeighbourView{
		Index:    n.Index,
		IfName:   names.Name(n.Index),
		IP:       addrString(n.IP),
		MAC:      strPtr(n.HardwareAddr.String()),
		State:    n.State.String(),
		Family:   n.Family().String(),
		Flags:    n.Flags,
		Protocol: uint8(n.Protocol),
	}
}

// Header implements Row.
func (NeighbourView) Header() []string { return []string{"IP", "DEV", "MAC", "STATE", "PROTO"} }

// Cells implements Row.
func (v NeighbourView) Cells() []string {
	return []string{v.IP, v.IfName, deref(v.MAC), v.State, ProtocolName(rtnl.Protocol(v.Protocol))}
}

// RuleView is a policy rule as the command line prints it.
type RuleView struct {
	Priority uint32 `json:"priority"`
	Table    uint32 `json:"table"`
	Family   string `json:"family"`
	// From and To are prefixes; each is absent when the rule matches any
	// source (destination).
	From   string `json:"from,omitempty"`
	To     string `json:"to,omitempty"`
	FwMark uint32 `json:"fwmark"`
	FwMask uint32 `json:"fwmask"`
	IIF    string `json:"iif,omitempty"`
	OIF    string `json:"oif,omitempty"`
	// Action is "to_tbl" (look up Table), "blackhole", "unreachable"…
	Action   string `json:"action"`
	Invert   bool   `json:"invert,omitempty"`
	Protocol uint8  `json:"protocol"`
	// The selectors below are absent when the rule does not select by
	// them. Ports and uids print as "443" or "1000-2000".
	TOS     uint8  `json:"tos,omitempty"`
	IPProto uint8  `json:"ipproto,omitempty"`
	SPort   string `json:"sport,omitempty"`
	DPort   string `json:"dport,omitempty"`
	UIDs    string `json:"uidrange,omitempty"`
	TunID   uint64 `json:"tun_id,omitempty"`
	Realms  uint32 `json:"realms,omitempty"`
	L3MDev  bool   `json:"l3mdev,omitempty"`
	// Goto is the target priority of a goto rule.
	Goto uint32 `json:"goto,omitempty"`
	// SuppressPrefixLen and SuppressIfGroup are absent when unset (0 is a
	// value: suppress_prefixlength 0 ignores default routes).
	SuppressPrefixLen *uint32 `json:"suppress_prefixlength,omitempty"`
	SuppressIfGroup   *uint32 `json:"suppress_ifgroup,omitempty"`
	// SPortMask and DPortMask are a single port's mask, absent when the
	// whole port is compared.
	SPortMask uint16 `json:"sport_mask,omitempty"`
	DPortMask uint16 `json:"dport_mask,omitempty"`
	// DSCP is "46", or "8/0x38" with a partial mask; absent when unset.
	DSCP string `json:"dscp,omitempty"`
	// Unmodelled lists the selectors Linx does not model, as
	// rtnl.UnmodelledAttrs (`26:00012340,27:000ffff0`); absent when none.
	Unmodelled string `json:"unmodelled,omitempty"`
}

// Rules returns the views of rules.
func Rules(rules []rtnl.Rule) []RuleView {
	out := make([]RuleView, 0, len(rules))
	for i := range rules {
		out = append(out, RuleOf(&rules[i]))
	}
	return out
}

// RuleOf returns the view of one rule, as Rules does.
func RuleOf(r *rtnl.Rule) RuleView {
	v := RuleView{
		Priority: r.Priority,
		Table:    r.Table,
		Family:   r.Family.String(),
		FwMark:   r.FwMark,
		FwMask:   r.FwMask,
		IIF:      r.IIF,
		OIF:      r.OIF,
		Action:   r.Action.String(),
		Invert:   r.Invert,
		Protocol: uint8(r.Protocol),
		TOS:      r.TOS,
		IPProto:  r.IPProto,
		SPort:    r.SPort.String(),
		DPort:    r.DPort.String(),
		UIDs:     r.UIDRange.String(),
		TunID:    r.TunID,
		Realms:   r.Realms,
		L3MDev:   r.L3MDev,
		Goto:     r.Goto,

		SPortMask:  r.SPortMask,
		DPortMask:  r.DPortMask,
		DSCP:       r.DSCP.String(),
		Unmodelled: string(r.Unmodelled),
	}
	if r.SPortMask == 0xffff {
		v.SPortMask = 0
	}
	if r.DPortMask == 0xffff {
		v.DPortMask = 0
	}
	if r.SuppressPrefixLen.Set {
		v.SuppressPrefixLen = &r.SuppressPrefixLen.Value
	}
	if r.SuppressIfGroup.Set {
		v.SuppressIfGroup = &r.SuppressIfGroup.Value
	}
	if r.From.IsValid() {
		v.From = r.From.String()
	}
	if r.To.IsValid() {
		v.To = r.To.String()
	}
	return v
}

// Header implements Row.
func (RuleView) Header() []string {
	return []string{"PRIORITY", "FAMILY", "FROM", "TO", "FWMARK", "IIF", "OIF", "ACTION"}
}

// Cells implements Row. An unset selector prints as "all", as `ip rule`
// prints it.
func (v RuleView) Cells() []string {
	from, to := v.From, v.To
	if from == "" {
		from = "all"
	}
	if to == "" {
		to = "all"
	}
	if v.Invert {
		from = "not " + from
	}
	mark := ""
	if v.FwMark != 0 || v.FwMask != 0 {
		mark = fmt.Sprintf("%#x/%#x", v.FwMark, v.FwMask)
	}
	action := v.Action
	switch {
	case v.Goto != 0:
		action = "goto " + strconv.FormatUint(uint64(v.Goto), 10)
	case v.L3MDev && (action == rtnl.RuleToTable.String() || action == "0"):
		action = "lookup [l3mdev-table]"
	case action == rtnl.RuleToTable.String() || action == "0":
		action = "lookup " + TableName(v.Table)
	}
	// The other selectors precede the action, as `ip rule` prints them.
	var sel []string
	add := func(name, val string) {
		if val != "" {
			sel = append(sel, name+" "+val)
		}
	}
	if v.TOS != 0 {
		add("tos", fmt.Sprintf("%#x", v.TOS))
	}
	if v.IPProto != 0 {
		add("ipproto", strconv.Itoa(int(v.IPProto)))
	}
	port := func(p string, mask uint16) string {
		if p == "" || mask == 0 {
			return p
		}
		return fmt.Sprintf("%s/%#x", p, mask)
	}
	add("sport", port(v.SPort, v.SPortMask))
	add("dport", port(v.DPort, v.DPortMask))
	add("uidrange", v.UIDs)
	if v.TunID != 0 {
		add("tun_id", strconv.FormatUint(v.TunID, 10))
	}
	if v.Realms != 0 {
		add("realms", fmt.Sprintf("%d/%d", v.Realms>>16, v.Realms&0xffff))
	}
	add("dscp", v.DSCP)
	add("unmodelled", v.Unmodelled)
	sel = append(sel, action)
	if v.SuppressPrefixLen != nil {
		add("suppress_prefixlength", strconv.FormatUint(uint64(*v.SuppressPrefixLen), 10))
	}
	if v.SuppressIfGroup != nil {
		add("suppress_ifgroup", strconv.FormatUint(uint64(*v.SuppressIfGroup), 10))
	}
	action = strings.Join(sel, " ")
	return []string{strconv.FormatUint(uint64(v.Priority), 10), v.Family, from, to, mark, v.IIF, v.OIF, action}
}

// StatsView is one interface's counters as the command line prints them.
type StatsView struct {
	Index int    `json:"ifindex"`
	Name  string `json:"name"`
	// Link holds all 25 counters of struct rtnl_link_stats64 under the
	// kernel's field names (rx_packets, …, rx_otherhost_dropped).
	Link rtnl.LinkStats64 `json:"link"`
}

// AllStats returns the views of stats.
func AllStats(stats []rtnl.Stats) []StatsView {
	out := make([]StatsView, 0, len(stats))
	for _, s := range stats {
		out = append(out, StatsView{Index: s.Index, Name: s.Name, Link: s.Link})
	}
	return out
}

// Header implements Row.
func (StatsView) Header() []string {
	return []string{"IFINDEX", "NAME", "RX_PACKETS", "RX_BYTES", "RX_ERRORS", "RX_DROPPED",
		"TX_PACKETS", "TX_BYTES", "TX_ERRORS", "TX_DROPPED"}
}

// Cells implements Row.
func (v StatsView) Cells() []string {
	u := func(n uint64) string { return strconv.FormatUint(n, 10) }
	s := v.Link
	return []string{strconv.Itoa(v.Index), v.Name, u(s.RxPackets), u(s.RxBytes), u(s.RxErrors), u(s.RxDropped),
		u(s.TxPackets), u(s.TxBytes), u(s.TxErrors), u(s.TxDropped)}
}

// NexthopView is a nexthop object as the command line prints it, with
// the keys `ip -j nexthop` uses.
type NexthopView struct {
	ID uint32 `json:"id"`
	// Gateway, Dev and Index are a single nexthop's; absent otherwise.
	Gateway string `json:"gateway,omitempty"`
	Index   int    `json:"ifindex,omitempty"`
	Dev     string `json:"dev,omitempty"`
	// Scope is "link" for a gateway, "host" for a device alone; absent
	// for a blackhole or a group.
	Scope string `json:"scope,omitempty"`
	// Protocol is who installed the nexthop, as a number in a route's
	// numbering.
	Protocol  uint8 `json:"protocol"`
	Blackhole bool  `json:"blackhole,omitempty"`
	FDB       bool  `json:"fdb,omitempty"`
	// Group lists a group's members; absent for a single nexthop.
	Group []NexthopMemberView `json:"group,omitempty"`
	// Type is "resilient" for a resilient group; absent otherwise.
	Type string `json:"type,omitempty"`
	// Resilient holds a resilient group's settings, timers in seconds as
	// ip prints them.
	Resilient *ResilientView `json:"resilient_args,omitempty"`
	// Flags are the RTNH_F_* flags by name: "dead", "linkdown",
	// "onlink"…; never null.
	Flags []string `json:"flags"`
}

// NexthopMemberView is a member of a group and its weight (1 to 256).
type NexthopMemberView struct {
	ID     uint32 `json:"id"`
	Weight uint32 `json:"weight"`
}

// ResilientView is a resilient group's settings; the timers are in
// seconds.
type ResilientView struct {
	Buckets         uint16 `json:"buckets"`
	IdleTimer       uint64 `json:"idle_timer"`
	UnbalancedTimer uint64 `json:"unbalanced_timer"`
	UnbalancedTime  uint64 `json:"unbalanced_time"`
}

// NexthopOf returns the view of one nexthop; names resolves interface
// indices.
func NexthopOf(n *rtnl.Nexthop, names Names) NexthopView {
	v := NexthopView{ID: n.ID, Protocol: uint8(n.Protocol), Blackhole: n.Blackhole, FDB: n.FDB, Flags: []string{}}
	if n.IsGroup() {
		v.Group = make([]NexthopMemberView, len(n.Group))
		for i, m := range n.Group {
			v.Group[i] = NexthopMemberView{ID: m.ID, Weight: max(m.Weight, 1)}
		}
		if n.GroupType == rtnl.NexthopGroupResilient {
			v.Type = n.GroupType.String()
			if r := n.Resilient; r != nil {
				v.Resilient = &ResilientView{Buckets: r.Buckets,
					IdleTimer: uint64(r.IdleTimer / time.Second), UnbalancedTimer: uint64(r.UnbalancedTimer / time.Second),
					UnbalancedTime: uint64(r.UnbalancedTime / time.Second)}
			}
		}
	} else if !n.Blackhole {
		v.Gateway = addrString(n.Gateway)
		v.Index, v.Dev = n.OIF, names.Name(n.OIF)
		v.Scope = n.Scope.String()
	}
	for _, f := range []struct {
		bit  uint32
		name string
	}{{unix.RTNH_F_DEAD, "dead"}, {unix.RTNH_F_PERVASIVE, "pervasive"}, {unix.RTNH_F_ONLINK, "onlink"},
		{unix.RTNH_F_OFFLOAD, "offload"}, {unix.RTNH_F_LINKDOWN, "linkdown"}, {unix.RTNH_F_UNRESOLVED, "unresolved"}, {unix.RTNH_F_TRAP, "trap"}} {
		if n.Flags&f.bit != 0 {
			v.Flags = append(v.Flags, f.name)
		}
	}
	return v
}

// Header implements Row.
func (NexthopView) Header() []string {
	return []string{"ID", "NEXTHOP", "DEV", "PROTO", "FLAGS"}
}

// Cells implements Row. The NEXTHOP column holds the gateway, "blackhole",
// or a group as `ip nexthop` writes it ("group 1/2,3": member 2 of weight
// 3), with its type when not multipath.
func (v NexthopView) Cells() []string {
	hop := v.Gateway
	switch {
	case v.Blackhole:
		hop = "blackhole"
	case v.Group != nil:
		var b strings.Builder
		b.WriteString("group ")
		for i, m := range v.Group {
			if i > 0 {
				b.WriteByte('/')
			}
			b.WriteString(strconv.FormatUint(uint64(m.ID), 10))
			if m.Weight > 1 {
				b.WriteString("," + strconv.FormatUint(uint64(m.Weight), 10))
			}
		}
		if v.Type != "" {
			b.WriteString(" type " + v.Type)
		}
		hop = b.String()
	case hop == "":
		hop = "-"
	}
	dev := v.Dev
	if dev == "" {
		dev = "-"
	}
	flags := strings.Join(v.Flags, ",")
	if flags == "" {
		flags = "-"
	}
	return []string{strconv.FormatUint(uint64(v.ID), 10), hop, dev, ProtocolName(rtnl.Protocol(v.Protocol)), flags}
}
