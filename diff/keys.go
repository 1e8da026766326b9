package diff

import (
	"cmp"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/linx-net/linx/rtnl"
)

// ipv6DefaultMetric is the metric the kernel gives an IPv6 route installed
// with metric 0 (IP6_RT_PRIO_USER in include/net/ip6_route.h).
const ipv6DefaultMetric = 1024

// LinkKey is the identity of a link: its name. Desired links are named by
// the caller, so the key never depends on a kernel-assigned index.
//
// The zero LinkKey (empty name) matches no valid link.
type LinkKey struct {
	Name string
}

// KeyOfLink returns l's key, its Name.
func KeyOfLink(l rtnl.Link) LinkKey { return LinkKey{Name: l.Name} }

// String returns the name itself, as `veth0`.
func (k LinkKey) String() string { return k.Name }

// Compare orders keys by name, byte-wise; it returns -1, 0 or +1.
func (k LinkKey) Compare(o LinkKey) int { return strings.Compare(k.Name, o.Name) }

// MarshalText implements encoding.TextMarshaler with String. It fails only
// for a name the kernel could not hold (see rtnl.CheckLinkName), which
// UnmarshalText would refuse.
func (k LinkKey) MarshalText() ([]byte, error) {
	if err := checkLinkName("LinkKey.MarshalText", k.Name); err != nil {
		return nil, err
	}
	return []byte(k.Name), nil
}

// UnmarshalText implements encoding.TextUnmarshaler. It fails, quoting the
// input, on a name the kernel could not hold.
func (k *LinkKey) UnmarshalText(b []byte) error {
	s := string(b)
	if err := checkLinkName("LinkKey.UnmarshalText", s); err != nil {
		return err
	}
	k.Name = s
	return nil
}

// checkLinkName refuses, with rtnl.CheckLinkName, a name no interface can
// have.
func checkLinkName(fn, s string) error {
	if err := rtnl.CheckLinkName(s); err != nil {
		return fmt.Errorf("diff: %s: %w", fn, err)
	}
	return nil
}

// AddressKey is the identity of an interface address: the interface index
// and the address with its prefix length, host bits kept (10.0.0.5/24 and
// 10.0.0.6/24 are two addresses).
//
// The zero AddressKey (index 0, invalid prefix) matches no valid address.
type AddressKey struct {
	Index  int
	Prefix netip.Prefix
}

// KeyOfAddress returns a's key: its Index and Prefix as the kernel stores
// it, an IPv4-mapped IPv6 address (::ffff:10.0.0.5/120) as the IPv4
// address it names (10.0.0.5/24) and without an IPv6 zone; the host bits
// are kept.
func KeyOfAddress(a rtnl.Address) AddressKey {
	return AddressKey{Index: a.Index, Prefix: unmapPrefix(a.Prefix)}
}

// unmapPrefix returns p with an IPv4-mapped address as the IPv4 address
// it names (the prefix length less 96) and no zone, as rtnl sends it; an
// invalid p, or a mapped one shorter than /96, is returned as is.
func unmapPrefix(p netip.Prefix) netip.Prefix {
	if !p.IsValid() {
		return p
	}
	a := p.Addr()
	switch {
	case a.Is4In6() && p.Bits() >= 96:
		return netip.PrefixFrom(a.Unmap(), p.Bits()-96)
	case a.Zone() != "":
		return netip.PrefixFrom(a.WithZone(""), p.Bits())
	}
	return p
}

// String returns `index=2 prefix=10.0.0.5/24`; an invalid prefix prints
// as an empty value (`prefix=`).
func (k AddressKey) String() string {
	var b strings.Builder
	b.Grow(40)
	b.WriteString("index=")
	b.WriteString(strconv.Itoa(k.Index))
	b.WriteString(" prefix=")
	b.WriteString(prefixText(k.Prefix))
	return b.String()
}

// Compare orders keys by index, then prefix (netip.Prefix.Compare); it
// returns -1, 0 or +1.
func (k AddressKey) Compare(o AddressKey) int {
	if c := cmp.Compare(k.Index, o.Index); c != 0 {
		return c
	}
	return k.Prefix.Compare(o.Prefix)
}

// MarshalText implements encoding.TextMarshaler with String; it never fails.
func (k AddressKey) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler, parsing String's
// form. A missing or malformed field fails with an error quoting the input.
func (k *AddressKey) UnmarshalText(b []byte) error {
	f, err := fields("AddressKey", string(b), "index", "prefix")
	if err != nil {
		return err
	}
	var out AddressKey
	if out.Index, err = parseIndex(f, 0); err != nil {
		return err
	}
	if out.Prefix, err = parsePrefix(f, 1); err != nil {
		return err
	}
	*k = out
	return nil
}

// RouteKey is the kernel's identity of a route: family, table, destination
// prefix, TOS, metric and source prefix (IPv6 source-specific routes;
// invalid, the zero Prefix, for none). Two routes with the same key cannot both be
// installed with replace; the kernel's replace swaps one for the other
// whatever their protocols.
//
// KeyOfRoute normalises as the kernel does, so that a desired route and the
// route the kernel reports for it share a key.
type RouteKey struct {
	Family rtnl.Family
	Table  uint32
	Dst    netip.Prefix
	TOS    uint8
	Metric uint32
	Src    netip.Prefix
}

// KeyOfRoute returns r's key. Table 0 becomes main (254), Dst and the
// source prefix are masked to their prefix lengths, and an IPv6 route's metric 0 becomes 1024, the
// kernel's default; the family comes from Dst.
func KeyOfRoute(r rtnl.Route) RouteKey {
	k := RouteKey{
		Family: r.Family(),
		Table:  r.Table,
		Dst:    r.Dst.Masked(),
		TOS:    r.TOS,
		Metric: r.Metric,
		Src:    maskedSrc(r.SrcPrefix),
	}
	if k.Table == rtnl.TableUnspec {
		k.Table = rtnl.TableMain
	}
	if k.Family == rtnl.FamilyV6 && k.Metric == 0 {
		k.Metric = ipv6DefaultMetric
	}
	return k
}

// String returns `family=inet table=254 dst=10.50.0.0/24 tos=0 metric=0`.
func (k RouteKey) String() string {
	var b strings.Builder
	b.Grow(64)
	b.WriteString("family=")
	b.WriteString(k.Family.String())
	b.WriteString(" table=")
	b.WriteString(strconv.FormatUint(uint64(k.Table), 10))
	b.WriteString(" dst=")
	b.WriteString(prefixText(k.Dst))
	b.WriteString(" tos=")
	b.WriteString(strconv.Itoa(int(k.TOS)))
	b.WriteString(" metric=")
	b.WriteString(strconv.FormatUint(uint64(k.Metric), 10))
	if k.Src.IsValid() {
		b.WriteString(" from=")
		b.WriteString(prefixText(k.Src))
	}
	return b.String()
}

// Compare orders keys by family, table, source prefix (none first, then
// as netip.Prefix.Compare orders them), destination, TOS and metric; it
// returns -1, 0 or +1.
func (k RouteKey) Compare(o RouteKey) int {
	if c := cmp.Compare(k.Family, o.Family); c != 0 {
		return c
	}
	if c := cmp.Compare(k.Table, o.Table); c != 0 {
		return c
	}
	if c := k.Src.Compare(o.Src); c != 0 {
		return c
	}
	if c := k.Dst.Compare(o.Dst); c != 0 {
		return c
	}
	if c := cmp.Compare(k.TOS, o.TOS); c != 0 {
		return c
	}
	return cmp.Compare(k.Metric, o.Metric)
}

// MarshalText implements encoding.TextMarshaler with String; it never fails.
func (k RouteKey) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler, parsing String's
// form. A missing or malformed field fails with an error quoting the input.
func (k *RouteKey) UnmarshalText(b []byte) error {
	text, from, hasFrom := strings.Cut(string(b), " from=")
	f, err := fields("RouteKey", text, "family", "table", "dst", "tos", "metric")
	if err != nil {
		return err
	}
	var out RouteKey
	if hasFrom {
		if out.Src, err = netip.ParsePrefix(from); err != nil {
			return fmt.Errorf("RouteKey %q: from: %w", b, err)
		}
	}
	if out.Family, err = parseFamily(f, 0); err != nil {
		return err
	}
	if out.Table, err = parseUint32(f, 1); err != nil {
		return err
	}
	if out.Dst, err = parsePrefix(f, 2); err != nil {
		return err
	}
	if out.TOS, err = parseUint8(f, 3); err != nil {
		return err
	}
	if out.Metric, err = parseUint32(f, 4); err != nil {
		return err
	}
	*k = out
	return nil
}

// NeighbourKey is the identity of a neighbour entry: interface index and
// IP address.
type NeighbourKey struct {
	Index int
	IP    netip.Addr
}

// KeyOfNeighbour returns n's key: its Index and IP as the kernel stores
// it, an IPv4-mapped IPv6 address as the IPv4 address it names and
// without an IPv6 zone.
func KeyOfNeighbour(n rtnl.Neighbour) NeighbourKey {
	return NeighbourKey{Index: n.Index, IP: n.IP.Unmap().WithZone("")}
}

// String returns `index=2 ip=10.0.0.1`; an invalid IP prints as an empty
// value.
func (k NeighbourKey) String() string {
	ip := ""
	if k.IP.IsValid() {
		ip = k.IP.String()
	}
	return "index=" + strconv.Itoa(k.Index) + " ip=" + ip
}

// Compare orders keys by index, then IP (netip.Addr.Compare); it returns
// -1, 0 or +1.
func (k NeighbourKey) Compare(o NeighbourKey) int {
	if c := cmp.Compare(k.Index, o.Index); c != 0 {
		return c
	}
	return k.IP.Compare(o.IP)
}

// MarshalText implements encoding.TextMarshaler with String; it never fails.
func (k NeighbourKey) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler, parsing String's
// form. A missing or malformed field fails with an error quoting the input.
func (k *NeighbourKey) UnmarshalText(b []byte) error {
	f, err := fields("NeighbourKey", string(b), "index", "ip")
	if err != nil {
		return err
	}
	var out NeighbourKey
	if out.Index, err = parseIndex(f, 0); err != nil {
		return err
	}
	if f.vals[1] != "" {
		if out.IP, err = netip.ParseAddr(f.vals[1]); err != nil {
			return f.fail(1, err)
		}
	}
	*k = out
	return nil
}

// RuleKey is the identity of a policy rule: every selector, the priority,
// the action and the table or goto target. The kernel holds no other attribute a rule
// could be updated in place by, so a rule either matches a key or not.
//
// KeyOfRule normalises the defaults the kernel (and `ip rule`) fill in.
type RuleKey struct {
	Family   rtnl.Family
	Priority uint32
	From, To netip.Prefix
	FwMark   uint32
	FwMask   uint32
	IIF, OIF string
	TOS      uint8
	Invert   bool
	Action   rtnl.RuleAction
	Table    uint32
	// The selectors below were added after the fields above; a key's
	// text without them (12 fields) parses with them unset.
	IPProto           uint8
	SPort, DPort      rtnl.PortRange
	UIDRange          rtnl.UIDRange
	SuppressPrefixLen rtnl.Suppress
	SuppressIfGroup   rtnl.Suppress
	L3MDev            bool
	Goto              uint32
	TunID             uint64
	Realms            uint32
	// The fields below were added later still; their text is written
	// only when set (sport_mask=…, dport_mask=…, dscp=…, unmodelled=…).
	SPortMask, DPortMask uint16
	DSCP                 rtnl.DSCP
	// Unmodelled is the rule's selectors Linx does not model: a rule
	// holding any never has the key of a rule without them, so the diff
	// neither owns it by mistake nor takes it for a copy of an owned rule.
	Unmodelled rtnl.UnmodelledAttrs
}

// KeyOfRule returns r's key. A FamilyAll rule takes its family from From
// or To, IPv4 when neither is set; a zero Action is to-table; a to-table
// rule with table 0 looks up main (254), as `ip rule add` sends it,
// unless it is an l3mdev rule, whose table is 0; a non-zero FwMark with a
// zero FwMask has mask 0xffffffff; a UIDRange or Suppress that is not Set
// is zero, as is an unset DSCP; a port mask of 0xffff is 0. A From or To
// of length 0 (0.0.0.0/0, ::/0) is unset, as the kernel stores it: it
// selects nothing, and the kernel keeps no such selector; the family is
// taken from it first. Otherwise From and To are kept as given (an
// IPv4-mapped address as the IPv4 address it names): the kernel stores a
// rule's prefixes with their host bits. Every selector is part of the key,
// so two rules differing in any (ipproto, ports, uid range, …) are two
// keys.
func KeyOfRule(r rtnl.Rule) RuleKey {
	k := RuleKey{
		Family:   r.Family,
		Priority: r.Priority,
		From:     r.From,
		To:       r.To,
		FwMark:   r.FwMark,
		FwMask:   r.FwMask,
		IIF:      r.IIF,
		OIF:      r.OIF,
		TOS:      r.TOS,
		Invert:   r.Invert,
		Action:   r.Action,
		Table:    r.Table,

		IPProto:           r.IPProto,
		SPort:             r.SPort,
		DPort:             r.DPort,
		UIDRange:          r.UIDRange,
		SuppressPrefixLen: r.SuppressPrefixLen,
		SuppressIfGroup:   r.SuppressIfGroup,
		L3MDev:            r.L3MDev,
		Goto:              r.Goto,
		TunID:             r.TunID,
		Realms:            r.Realms,
		SPortMask:         r.SPortMask,
		DPortMask:         r.DPortMask,
		DSCP:              r.DSCP,
		Unmodelled:        r.Unmodelled,
	}
	from, to := unmapPrefix(r.From), unmapPrefix(r.To)
	if k.Family == rtnl.FamilyAll {
		switch {
		case from.IsValid() && from.Addr().Is6(), to.IsValid() && to.Addr().Is6():
			k.Family = rtnl.FamilyV6
		default:
			k.Family = rtnl.FamilyV4
		}
	}
	k.From, k.To = noZeroPrefix(from), noZeroPrefix(to)
	if k.Action == 0 {
		k.Action = rtnl.RuleToTable
	}
	if k.Action == rtnl.RuleToTable && k.Table == rtnl.TableUnspec && !k.L3MDev {
		k.Table = rtnl.TableMain
	}
	if k.FwMark != 0 && k.FwMask == 0 {
		k.FwMask = 0xffffffff
	}
	// An unset uid range or suppressor is not sent, whatever its values.
	if !k.UIDRange.Set {
		k.UIDRange = rtnl.UIDRange{}
	}
	if !k.SuppressPrefixLen.Set {
		k.SuppressPrefixLen = rtnl.Suppress{}
	}
	if !k.SuppressIfGroup.Set {
		k.SuppressIfGroup = rtnl.Suppress{}
	}
	if !k.DSCP.Set {
		k.DSCP = rtnl.DSCP{}
	}
	// A port mask of 0xffff is the whole port, as 0 (Rule.SPortMask).
	if k.SPortMask == 0xffff {
		k.SPortMask = 0
	}
	if k.DPortMask == 0xffff {
		k.DPortMask = 0
	}
	return k
}

// ruleSelector returns a rule's address selector as the kernel stores it:
// unset for a prefix of length 0, unmapped otherwise.
func ruleSelector(p netip.Prefix) netip.Prefix {
	return noZeroPrefix(unmapPrefix(p))
}

// noZeroPrefix returns p, or the unset prefix for a prefix of length 0.
func noZeroPrefix(p netip.Prefix) netip.Prefix {
	if p.IsValid() && p.Bits() == 0 {
		return netip.Prefix{}
	}
	return p
}

// String returns every field, `family=inet priority=100 from=10.0.0.0/8
// to= fwmark=0x0 fwmask=0x0 iif= oif= tos=0 invert=false action=to_tbl
// table=100 ipproto=0 sport= dport=443 uidrange=100-200
// suppress_prefixlength= suppress_ifgroup= l3mdev=false goto=0 tun_id=0
// realms=0`; an unset prefix, interface, port range, uid range or
// suppressor prints as an empty value. A key with none of the fields
// from ipproto to realms set ends at table, as keys were written before
// those selectors existed, so that such a key keeps its text. The fields
// added after realms follow only when set, by name: `sport_mask=0xff00
// dport_mask=0xfff0 dscp=46` (or `dscp=8/0x38` for a partial mask)
// `unmodelled=26:00012340,27:000ffff0`.
func (k RuleKey) String() string {
	var b strings.Builder
	b.Grow(128)
	b.WriteString("family=")
	b.WriteString(k.Family.String())
	b.WriteString(" priority=")
	b.WriteString(strconv.FormatUint(uint64(k.Priority), 10))
	b.WriteString(" from=")
	b.WriteString(prefixText(k.From))
	b.WriteString(" to=")
	b.WriteString(prefixText(k.To))
	b.WriteString(" fwmark=0x")
	b.WriteString(strconv.FormatUint(uint64(k.FwMark), 16))
	b.WriteString(" fwmask=0x")
	b.WriteString(strconv.FormatUint(uint64(k.FwMask), 16))
	b.WriteString(" iif=")
	b.WriteString(k.IIF)
	b.WriteString(" oif=")
	b.WriteString(k.OIF)
	b.WriteString(" tos=")
	b.WriteString(strconv.Itoa(int(k.TOS)))
	b.WriteString(" invert=")
	b.WriteString(strconv.FormatBool(k.Invert))
	b.WriteString(" action=")
	b.WriteString(k.Action.String())
	b.WriteString(" table=")
	b.WriteString(strconv.FormatUint(uint64(k.Table), 10))
	if k.IPProto != 0 || k.SPort.IsSet() || k.DPort.IsSet() || k.UIDRange.Set ||
		k.SuppressPrefixLen.Set || k.SuppressIfGroup.Set || k.L3MDev || k.Goto != 0 ||
		k.TunID != 0 || k.Realms != 0 {
		k.writeSelectors(&b)
	}
	if k.SPortMask != 0 {
		b.WriteString(" sport_mask=0x")
		b.WriteString(strconv.FormatUint(uint64(k.SPortMask), 16))
	}
	if k.DPortMask != 0 {
		b.WriteString(" dport_mask=0x")
		b.WriteString(strconv.FormatUint(uint64(k.DPortMask), 16))
	}
	if k.DSCP.Set {
		b.WriteString(" dscp=")
		b.WriteString(k.DSCP.String())
	}
	if k.Unmodelled != "" {
		b.WriteString(" unmodelled=")
		b.WriteString(string(k.Unmodelled))
	}
	return b.String()
}

// writeSelectors writes the fields from ipproto to realms, all of them,
// as String has since they were added.
func (k RuleKey) writeSelectors(b *strings.Builder) {
	b.WriteString(" ipproto=")
	b.WriteString(strconv.Itoa(int(k.IPProto)))
	b.WriteString(" sport=")
	b.WriteString(k.SPort.String())
	b.WriteString(" dport=")
	b.WriteString(k.DPort.String())
	b.WriteString(" uidrange=")
	b.WriteString(k.UIDRange.String())
	b.WriteString(" suppress_prefixlength=")
	b.WriteString(k.SuppressPrefixLen.String())
	b.WriteString(" suppress_ifgroup=")
	b.WriteString(k.SuppressIfGroup.String())
	b.WriteString(" l3mdev=")
	b.WriteString(strconv.FormatBool(k.L3MDev))
	b.WriteString(" goto=")
	b.WriteString(strconv.FormatUint(uint64(k.Goto), 10))
	b.WriteString(" tun_id=")
	b.WriteString(strconv.FormatUint(k.TunID, 10))
	b.WriteString(" realms=")
	b.WriteString(strconv.FormatUint(uint64(k.Realms), 10))
}

// Compare orders keys by family, priority (the kernel's evaluation order),
// then the remaining fields in String's order; it returns -1, 0 or +1.
func (k RuleKey) Compare(o RuleKey) int {
	if c := cmp.Compare(k.Family, o.Family); c != 0 {
		return c
	}
	if c := cmp.Compare(k.Priority, o.Priority); c != 0 {
		return c
	}
	if c := k.From.Compare(o.From); c != 0 {
		return c
	}
	if c := k.To.Compare(o.To); c != 0 {
		return c
	}
	if c := cmp.Compare(k.FwMark, o.FwMark); c != 0 {
		return c
	}
	if c := cmp.Compare(k.FwMask, o.FwMask); c != 0 {
		return c
	}
	if c := strings.Compare(k.IIF, o.IIF); c != 0 {
		return c
	}
	if c := strings.Compare(k.OIF, o.OIF); c != 0 {
		return c
	}
	if c := cmp.Compare(k.TOS, o.TOS); c != 0 {
		return c
	}
	if k.Invert != o.Invert {
		if !k.Invert {
			return -1
		}
		return 1
	}
	if c := cmp.Compare(k.Action, o.Action); c != 0 {
		return c
	}
	if c := cmp.Compare(k.Table, o.Table); c != 0 {
		return c
	}
	if c := cmp.Compare(k.IPProto, o.IPProto); c != 0 {
		return c
	}
	for _, p := range [][2]rtnl.PortRange{{k.SPort, o.SPort}, {k.DPort, o.DPort}} {
		if c := cmp.Or(cmp.Compare(p[0].Start, p[1].Start), cmp.Compare(p[0].End, p[1].End)); c != 0 {
			return c
		}
	}
	if c := cmp.Or(compareBool(k.UIDRange.Set, o.UIDRange.Set),
		cmp.Compare(k.UIDRange.Start, o.UIDRange.Start), cmp.Compare(k.UIDRange.End, o.UIDRange.End)); c != 0 {
		return c
	}
	for _, p := range [][2]rtnl.Suppress{{k.SuppressPrefixLen, o.SuppressPrefixLen}, {k.SuppressIfGroup, o.SuppressIfGroup}} {
		if c := cmp.Or(compareBool(p[0].Set, p[1].Set), cmp.Compare(p[0].Value, p[1].Value)); c != 0 {
			return c
		}
	}
	return cmp.Or(compareBool(k.L3MDev, o.L3MDev), cmp.Compare(k.Goto, o.Goto),
		cmp.Compare(k.TunID, o.TunID), cmp.Compare(k.Realms, o.Realms),
		cmp.Compare(k.SPortMask, o.SPortMask), cmp.Compare(k.DPortMask, o.DPortMask),
		compareBool(k.DSCP.Set, o.DSCP.Set), cmp.Compare(k.DSCP.Value, o.DSCP.Value), cmp.Compare(k.DSCP.Mask, o.DSCP.Mask),
		strings.Compare(string(k.Unmodelled), string(o.Unmodelled)))
}

// compareBool orders false before true.
func compareBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case !a:
		return -1
	}
	return 1
}

// MarshalText implements encoding.TextMarshaler with String. It fails only
// when IIF or OIF is set to a name no interface can have
// (rtnl.CheckLinkName; String's form could not carry whitespace), or when
// Unmodelled is not in the canonical form rtnl decodes
// (rtnl.ParseUnmodelledAttrs).
func (k RuleKey) MarshalText() ([]byte, error) {
	for _, name := range []string{k.IIF, k.OIF} {
		if name != "" {
			if err := checkLinkName("RuleKey.MarshalText", name); err != nil {
				return nil, err
			}
		}
	}
	if _, err := rtnl.ParseUnmodelledAttrs(string(k.Unmodelled)); err != nil {
		return nil, fmt.Errorf("diff: RuleKey.MarshalText: %w", err)
	}
	return []byte(k.String()), nil
}

// ruleKeyFields are the names of RuleKey's text fields, in String's
// order. The first ruleKeyLegacy of them are the whole text of a key
// written before the other selectors were added, and begin every key's
// text, in order; the others follow by name, in any order, each at most
// once, a missing one meaning unset (ruleKeyUnset).
var ruleKeyFields = []string{"family", "priority", "from", "to", "fwmark", "fwmask",
	"iif", "oif", "tos", "invert", "action", "table",
	"ipproto", "sport", "dport", "uidrange", "suppress_prefixlength", "suppress_ifgroup",
	"l3mdev", "goto", "tun_id", "realms",
	"sport_mask", "dport_mask", "dscp", "unmodelled"}

const ruleKeyLegacy = 12

// ruleKeyUnset holds the text of each named field's unset value.
var ruleKeyUnset = map[string]string{"ipproto": "0", "l3mdev": "false", "goto": "0", "tun_id": "0",
	"realms": "0", "sport_mask": "0", "dport_mask": "0"}

// UnmarshalText implements encoding.TextUnmarshaler, parsing String's
// form: the twelve fields from family to table, in order (all a key
// written before the other selectors existed holds), then any of the
// others by name, in any order; a missing one is unset. A from or to of
// length 0, as keys were written before KeyOfRule unset it, parses as
// unset, the key of the same rule today. A missing, malformed, unknown or
// repeated field fails with an error quoting the input.
func (k *RuleKey) UnmarshalText(b []byte) error {
	f, err := ruleKeyText(string(b))
	if err != nil {
		return err
	}
	var out RuleKey
	if out.Family, err = parseFamily(f, 0); err != nil {
		return err
	}
	if out.Priority, err = parseUint32(f, 1); err != nil {
		return err
	}
	if out.From, err = parsePrefix(f, 2); err != nil {
		return err
	}
	if out.To, err = parsePrefix(f, 3); err != nil {
		return err
	}
	out.From, out.To = noZeroPrefix(out.From), noZeroPrefix(out.To)
	if out.FwMark, err = parseUint32(f, 4); err != nil {
		return err
	}
	if out.FwMask, err = parseUint32(f, 5); err != nil {
		return err
	}
	out.IIF, out.OIF = f.vals[6], f.vals[7]
	if out.TOS, err = parseUint8(f, 8); err != nil {
		return err
	}
	if out.Invert, err = strconv.ParseBool(f.vals[9]); err != nil {
		return f.fail(9, err)
	}
	if out.Action, err = parseRuleAction(f, 10); err != nil {
		return err
	}
	if out.Table, err = parseUint32(f, 11); err != nil {
		return err
	}
	if out.IPProto, err = parseUint8(f, 12); err != nil {
		return err
	}
	if out.SPort, err = parsePortRange(f, 13); err != nil {
		return err
	}
	if out.DPort, err = parsePortRange(f, 14); err != nil {
		return err
	}
	if out.UIDRange, err = parseUIDRange(f, 15); err != nil {
		return err
	}
	if out.SuppressPrefixLen, err = parseSuppress(f, 16); err != nil {
		return err
	}
	if out.SuppressIfGroup, err = parseSuppress(f, 17); err != nil {
		return err
	}
	if out.L3MDev, err = strconv.ParseBool(f.vals[18]); err != nil {
		return f.fail(18, err)
	}
	if out.Goto, err = parseUint32(f, 19); err != nil {
		return err
	}
	if out.TunID, err = strconv.ParseUint(f.vals[20], 0, 64); err != nil {
		return f.fail(20, err)
	}
	if out.Realms, err = parseUint32(f, 21); err != nil {
		return err
	}
	for i, m := range []*uint16{&out.SPortMask, &out.DPortMask} {
		if *m, err = parseUint16(f, 22+i); err != nil {
			return err
		}
		if *m == 0xffff {
			return f.fail(22+i, errors.New("0xffff is the whole port, which a key writes as no mask"))
		}
	}
	if out.DSCP, err = parseDSCP(f, 24); err != nil {
		return err
	}
	if out.Unmodelled, err = rtnl.ParseUnmodelledAttrs(f.vals[25]); err != nil {
		return f.fail(25, err)
	}
	*k = out
	return nil
}

// ruleKeyText splits a RuleKey's text into the values of ruleKeyFields,
// the unset text standing for a named field that is missing.
func ruleKeyText(s string) (parsed, error) {
	p := parsed{typ: "RuleKey", input: s, names: ruleKeyFields, vals: make([]string, len(ruleKeyFields))}
	for i, name := range ruleKeyFields {
		p.vals[i] = ruleKeyUnset[name]
	}
	parts := strings.Split(s, " ")
	if len(parts) < ruleKeyLegacy {
		return p, fmt.Errorf("diff: parsing RuleKey %q: %d fields, want at least %d (%s=…)", s, len(parts), ruleKeyLegacy, strings.Join(ruleKeyFields[:ruleKeyLegacy], "=… "))
	}
	seen := make([]bool, len(ruleKeyFields))
	for i, part := range parts {
		name, val, ok := strings.Cut(part, "=")
		j := -1
		if ok {
			j = slices.Index(ruleKeyFields, name)
		}
		switch {
		case i < ruleKeyLegacy && j != i:
			return p, fmt.Errorf("diff: parsing RuleKey %q: field %d is %q, want %s=…", s, i+1, part, ruleKeyFields[i])
		case j < 0:
			return p, fmt.Errorf("diff: parsing RuleKey %q: field %d is %q, want one of %s=…", s, i+1, part, strings.Join(ruleKeyFields[ruleKeyLegacy:], "=… "))
		case j < ruleKeyLegacy && i >= ruleKeyLegacy, seen[j]:
			return p, fmt.Errorf("diff: parsing RuleKey %q: field %d: %s given twice", s, i+1, name)
		}
		seen[j] = true
		p.vals[j] = val
	}
	return p, nil
}

// parseDSCP parses rtnl.DSCP.String's form: "", "46" (the whole field)
// or "8/0x38".
func parseDSCP(p parsed, i int) (rtnl.DSCP, error) {
	v := p.vals[i]
	if v == "" {
		return rtnl.DSCP{}, nil
	}
	d := rtnl.DSCP{Mask: rtnl.DSCPMaskFull, Set: true}
	val, mask, hasMask := strings.Cut(v, "/")
	n, err := strconv.ParseUint(val, 10, 6)
	if err != nil {
		return rtnl.DSCP{}, p.fail(i, err)
	}
	d.Value = uint8(n)
	if hasMask {
		m, err := strconv.ParseUint(mask, 0, 6)
		if err != nil {
			return rtnl.DSCP{}, p.fail(i, err)
		}
		d.Mask = uint8(m)
	}
	return d, nil
}

// parsePortRange parses PortRange.String's form: "", "443" or
// "1000-2000".
func parsePortRange(p parsed, i int) (rtnl.PortRange, error) {
	v := p.vals[i]
	if v == "" {
		return rtnl.PortRange{}, nil
	}
	lo, hi, ok := strings.Cut(v, "-")
	if !ok {
		hi = lo
	}
	a, err := strconv.ParseUint(lo, 10, 16)
	if err != nil {
		return rtnl.PortRange{}, p.fail(i, err)
	}
	b, err := strconv.ParseUint(hi, 10, 16)
	if err != nil {
		return rtnl.PortRange{}, p.fail(i, err)
	}
	r := rtnl.PortRange{Start: uint16(a), End: uint16(b)}
	if !r.IsSet() {
		return rtnl.PortRange{}, p.fail(i, fmt.Errorf("port range %q is empty, want \"\" for any", v))
	}
	return r, nil
}

// parseUIDRange parses UIDRange.String's form: "" or "100-200".
func parseUIDRange(p parsed, i int) (rtnl.UIDRange, error) {
	v := p.vals[i]
	if v == "" {
		return rtnl.UIDRange{}, nil
	}
	lo, hi, ok := strings.Cut(v, "-")
	if !ok {
		return rtnl.UIDRange{}, p.fail(i, fmt.Errorf("uid range %q: want start-end", v))
	}
	a, err := strconv.ParseUint(lo, 10, 32)
	if err != nil {
		return rtnl.UIDRange{}, p.fail(i, err)
	}
	b, err := strconv.ParseUint(hi, 10, 32)
	if err != nil {
		return rtnl.UIDRange{}, p.fail(i, err)
	}
	return rtnl.UIDRange{Start: uint32(a), End: uint32(b), Set: true}, nil
}

// parseSuppress parses Suppress.String's form: "" or a decimal value.
func parseSuppress(p parsed, i int) (rtnl.Suppress, error) {
	if p.vals[i] == "" {
		return rtnl.Suppress{}, nil
	}
	n, err := strconv.ParseUint(p.vals[i], 10, 32)
	if err != nil {
		return rtnl.Suppress{}, p.fail(i, err)
	}
	return rtnl.Suppress{Value: uint32(n), Set: true}, nil
}

// parsed holds the values of a key's text form, in the order of names.
type parsed struct {
	typ, input string
	names      []string
	vals       []string
}

// fields splits s, a space-separated run of name=value fields, and checks
// that the names are exactly names, in order.
func fields(typ, s string, names ...string) (parsed, error) {
	p := parsed{typ: typ, input: s, names: names}
	parts := strings.Split(s, " ")
	if len(parts) != len(names) {
		return p, fmt.Errorf("diff: parsing %s %q: %d fields, want %d (%s=…)", typ, s, len(parts), len(names), strings.Join(names, "=… "))
	}
	p.vals = make([]string, len(names))
	for i, part := range parts {
		name, val, ok := strings.Cut(part, "=")
		if !ok || name != names[i] {
			return p, fmt.Errorf("diff: parsing %s %q: field %d is %q, want %s=…", typ, s, i+1, part, names[i])
		}
		p.vals[i] = val
	}
	return p, nil
}

func (p parsed) fail(i int, err error) error {
	return fmt.Errorf("diff: parsing %s %q: field %s: %w", p.typ, p.input, p.names[i], err)
}

func parseIndex(p parsed, i int) (int, error) {
	n, err := strconv.ParseInt(p.vals[i], 10, 32)
	if err != nil {
		return 0, p.fail(i, err)
	}
	return int(n), nil
}

func parseUint32(p parsed, i int) (uint32, error) {
	n, err := strconv.ParseUint(p.vals[i], 0, 32)
	if err != nil {
		return 0, p.fail(i, err)
	}
	return uint32(n), nil
}

func parseUint16(p parsed, i int) (uint16, error) {
	n, err := strconv.ParseUint(p.vals[i], 0, 16)
	if err != nil {
		return 0, p.fail(i, err)
	}
	return uint16(n), nil
}

func parseUint8(p parsed, i int) (uint8, error) {
	n, err := strconv.ParseUint(p.vals[i], 0, 8)
	if err != nil {
		return 0, p.fail(i, err)
	}
	return uint8(n), nil
}

func parsePrefix(p parsed, i int) (netip.Prefix, error) {
	if p.vals[i] == "" {
		return netip.Prefix{}, nil
	}
	pfx, err := netip.ParsePrefix(p.vals[i])
	if err != nil {
		return netip.Prefix{}, p.fail(i, err)
	}
	return pfx, nil
}

func parseFamily(p parsed, i int) (rtnl.Family, error) {
	for f := range 256 {
		if rtnl.Family(f).String() == p.vals[i] {
			return rtnl.Family(f), nil
		}
	}
	return 0, p.fail(i, fmt.Errorf("unknown family %q (want inet, inet6, all or 0-255)", p.vals[i]))
}

func parseRuleAction(p parsed, i int) (rtnl.RuleAction, error) {
	for a := range 256 {
		if rtnl.RuleAction(a).String() == p.vals[i] {
			return rtnl.RuleAction(a), nil
		}
	}
	return 0, p.fail(i, fmt.Errorf("unknown rule action %q", p.vals[i]))
}

// prefixText is p.String(), or "" for the invalid prefix.
func prefixText(p netip.Prefix) string {
	if !p.IsValid() {
		return ""
	}
	return p.String()
}
