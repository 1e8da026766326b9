package reconcile

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/linx-net/linx/internal/parts"
	"github.com/linx-net/linx/rtnl"
)

// InvalidError lists every problem found in a Desired state. A pass given
// an invalid Desired applies nothing and returns it.
type InvalidError struct {
	// Problems lists what is wrong, in the order of the Desired's fields.
	Problems []Problem
}

// Problem is one fault in a Desired state.
type Problem struct {
	// Entry names the entry at fault: "links[2]", "routes[0]", …
	Entry string
	// Field names the field at fault, as the config file spells it
	// ("mtu", "via", …).
	Field string
	// Message says what is wrong, quoting the bad value.
	Message string
}

// String returns "links[2].mtu: mtu 70000 out of range (68 to 65535)".
func (p Problem) String() string { return p.Entry + "." + p.Field + ": " + p.Message }

// Error returns the problems, one per line after a summary.
func (e *InvalidError) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return fmt.Sprintf("invalid desired state (%d problems):\n  %s", len(e.Problems), strings.Join(lines, "\n  "))
}

// kinds lists the link kinds a desired link may name, with whether the
// kind needs a parent.
var kinds = map[string]bool{
	"veth": false, "bridge": false, "dummy": false, "ifb": false, "vxlan": false,
	"macvlan": true, "macvtap": true, "ipvlan": true, "vlan": true,
}

// Validate checks d without touching the kernel and returns nil or an
// *InvalidError listing every problem: bad or missing names, prefixes and
// addresses, unknown kinds, settings that do not fit the kind, families
// that disagree, and duplicate keys.
func (d Desired) Validate() error {
	var p []Problem
	add, checkName := problemsTo(&p)

	// names holds each link name's first entry.
	names := make(map[string]int, len(d.Links))
	for i := len(d.Links) - 1; i >= 0; i-- {
		names[d.Links[i].Name] = i
	}
	peers := map[string]int{}
	for i, l := range d.Links {
		w := entry{"links", i}
		checkName(w, "name", l.Name, true)
		if j := names[l.Name]; j != i && l.Name != "" {
			add(w, "name", "duplicate link %q (also links[%d])", l.Name, j)
		}
		needParent, known := kinds[l.Kind]
		switch {
		case l.Kind == "":
			if l.Data != nil {
				add(w, "kind", "settings of kind %q given without kind", l.Data.LinkKind())
			}
		case !known:
			add(w, "kind", "unknown kind %q (want veth, bridge, macvlan, macvtap, ipvlan, vlan, vxlan, dummy or ifb)", l.Kind)
		case needParent && l.Parent == "":
			add(w, "parent", "kind %q needs a parent", l.Kind)
		case l.Data != nil && l.Data.LinkKind() != l.Kind:
			add(w, "kind", "settings are for kind %q, not %q", l.Data.LinkKind(), l.Kind)
		}
		checkName(w, "parent", l.Parent, false)
		checkName(w, "master", l.Master, false)
		if l.Master != "" && l.Master == l.Name {
			add(w, "master", "link %q cannot be its own master", l.Name)
		}
		if l.State > LinkStateDown {
			add(w, "state", "unknown link state %v (want any, up or down)", l.State)
		}
		if l.MTU < 0 || l.MTU > 65535 {
			add(w, "mtu", "mtu %d out of range (68 to 65535)", l.MTU)
		}
		if l.MAC != nil && len(l.MAC) != 6 {
			add(w, "mac", "mac %q is not a 6-byte Ethernet address", l.MAC)
		}
		switch v := l.Data.(type) {
		case rtnl.VLAN:
			if v.ID < 1 || v.ID > 4094 {
				add(w, "id", "vlan id %d out of range (1 to 4094)", v.ID)
			}
		case rtnl.Vxlan:
			if v.VNI > 1<<24-1 {
				add(w, "vni", "vxlan vni %d out of range (0 to 16777215)", v.VNI)
			}
			if v.Remote.IsValid() && v.Group.IsValid() {
				add(w, "remote", "vxlan takes remote or group, not both")
			}
			if v.Group.IsValid() && !v.Group.IsMulticast() {
				add(w, "group", "vxlan group %s is not a multicast address", v.Group)
			}
		case rtnl.Veth:
			checkName(w, "peer", v.Peer, true)
			// The peer is created with the veth: it may not be listed as a
			// link to create (before or after), nor be another's peer. An
			// entry without a kind only configures it.
			if j, dup := names[v.Peer]; dup && v.Peer != "" && d.Links[j].Kind != "" {
				add(w, "peer", "veth peer %q is also listed as a link to create (links[%d])", v.Peer, j)
			}
			if j, dup := peers[v.Peer]; dup && v.Peer != "" {
				add(w, "peer", "veth peer %q is also the peer of links[%d]", v.Peer, j)
			}
			peers[v.Peer] = i
		}
	}

	addrs := map[string]int{}
	for i, a := range d.Addresses {
		w := entry{"addresses", i}
		checkName(w, "link", a.Link, true)
		if !a.Prefix.IsValid() {
			add(w, "address", "address is not a valid address/prefix (want e.g. 10.0.0.2/24)")
			continue
		}
		if a.Prefix.Addr().Is4In6() {
			add(w, "address", "address %s is IPv4-mapped IPv6; write it as IPv4", a.Prefix)
		}
		k := a.Link + " " + a.Prefix.String()
		if j, dup := addrs[k]; dup {
			add(w, "address", "duplicate address %s on %q (also addresses[%d])", a.Prefix, a.Link, j)
		}
		addrs[k] = i
	}

	nexthopIDs := make(map[uint32]bool, len(d.Nexthops))
	singles := make(map[uint32]bool, len(d.Nexthops))
	for _, n := range d.Nexthops {
		nexthopIDs[n.ID] = true
		if n.Group == nil {
			singles[n.ID] = true
		}
	}
	seenNexthops := make(map[uint32]int, len(d.Nexthops))
	for i, n := range d.Nexthops {
		w := entry{"nexthops", i}
		if n.ID == 0 {
			add(w, "id", "id is required (1 to %d)", uint32(1<<32-1))
		} else if j, dup := seenNexthops[n.ID]; dup {
			add(w, "id", "duplicate nexthop id %d (also nexthops[%d])", n.ID, j)
		} else {
			seenNexthops[n.ID] = i
		}
		kinds := 0
		if n.Via.IsValid() || n.Dev != "" {
			kinds++
		}
		if n.Blackhole {
			kinds++
		}
		if n.Group != nil {
			kinds++
		}
		if kinds != 1 {
			add(w, "via", "a nexthop takes exactly one of a gateway or device (via, dev), blackhole, or a group")
		}
		checkName(w, "dev", n.Dev, false)
		if n.Group == nil && (n.Type != rtnl.NexthopGroupMultipath || n.Resilient != (rtnl.Resilient{})) {
			add(w, "type", "a group type or bucket settings without a group")
		}
		if n.Group != nil && n.Type != rtnl.NexthopGroupResilient && n.Resilient != (rtnl.Resilient{}) {
			add(w, "buckets", "bucket settings on a group of type %s (want type resilient)", n.Type)
		}
		if n.Type != rtnl.NexthopGroupMultipath && n.Type != rtnl.NexthopGroupResilient {
			add(w, "type", "group type %s is not supported", n.Type)
		}
		if n.Group != nil && len(n.Group) == 0 {
			add(w, "group", "a group needs at least one member")
		}
		members := make(map[uint32]bool, len(n.Group))
		for j, m := range n.Group {
			f := "group[" + strconv.Itoa(j) + "]"
			switch {
			case m.ID == n.ID:
				add(w, f, "a group cannot be its own member")
			case !singles[m.ID]:
				add(w, f, "member %d is not a single nexthop among the desired nexthops", m.ID)
			case members[m.ID]:
				add(w, f, "member %d listed twice", m.ID)
			}
			members[m.ID] = true
			if m.Weight > 256 {
				add(w, f, "weight %d out of range (1 to 256)", m.Weight)
			}
		}
	}

	keyOf := func(r *Route) routeKey {
		table := r.Table
		if table == 0 {
			table = rtnl.TableMain
		}
		a := r.Dst.Addr().As16()
		var f [16]byte
		if r.From.IsValid() {
			// Masking the unset prefix would allocate an error in netip.
			f = r.From.Masked().Addr().As16()
		}
		return routeKey{binary.BigEndian.Uint64(a[:8]), binary.BigEndian.Uint64(a[8:]),
			binary.BigEndian.Uint64(f[:8]), binary.BigEndian.Uint64(f[8:]),
			table, r.Metric, int16(r.Dst.Bits()), int16(r.From.Bits()), r.Dst.Addr().Is4()}
	}
	// Routes whose keys strictly increase (as generated state usually
	// comes) hold no duplicate: then no map of every route is needed. A
	// large table is checked in parts, one per processor.
	n := parts.Of(len(d.Routes))
	sorted := parts.Run(len(d.Routes), n, func(_, lo, hi int) bool {
		// Each part from the last route with a key before it, if any, so
		// that every pair of neighbours is compared.
		from := lo - 1
		for from >= 0 && !d.Routes[from].Dst.IsValid() {
			from--
		}
		var (
			prev    routeKey
			started bool
		)
		for i := max(from, 0); i < hi; i++ {
			r := &d.Routes[i]
			if !r.Dst.IsValid() {
				continue
			}
			k := keyOf(r)
			if started && !prev.less(k) {
				return false
			}
			prev, started = k, true
		}
		return true
	})
	if sorted {
		found := make([][]Problem, n)
		parts.Run(len(d.Routes), n, func(k, lo, hi int) bool {
			add, checkName := problemsTo(&found[k])
			for i := lo; i < hi; i++ {
				checkRoute(i, &d.Routes[i], nexthopIDs, add, checkName)
			}
			return true
		})
		for _, f := range found {
			p = append(p, f...)
		}
	} else {
		routes := make(map[routeKey]int, len(d.Routes))
		for i := range d.Routes {
			r := &d.Routes[i]
			if !checkRoute(i, r, nexthopIDs, add, checkName) {
				continue
			}
			table := r.Table
			if table == 0 {
				table = rtnl.TableMain
			}
			k := keyOf(r)
			if j, dup := routes[k]; dup {
				add(entry{"routes", i}, "dst", "duplicate route %s%s table %d metric %d (also routes[%d])", r.Dst, fromText(r.From), table, r.Metric, j)
			}
			routes[k] = i
		}
	}

	neighs := map[string]int{}
	for i, n := range d.Neighbours {
		w := entry{"neighbours", i}
		checkName(w, "link", n.Link, true)
		if !n.IP.IsValid() {
			add(w, "ip", "ip is required")
		}
		if len(n.MAC) == 0 {
			add(w, "mac", "mac is required")
		}
		k := n.Link + " " + n.IP.String()
		if j, dup := neighs[k]; dup {
			add(w, "ip", "duplicate neighbour %s on %q (also neighbours[%d])", n.IP, n.Link, j)
		}
		neighs[k] = i
	}

	rules := map[rtnl.Rule]int{}
	for i, r := range d.Rules {
		w := entry{"rules", i}
		if r.Table == 0 {
			add(w, "table", "table is required")
		}
		if r.Priority == 0 {
			add(w, "priority", "priority is required (the kernel would choose one, and the rule could not be found again)")
		}
		checkName(w, "iif", r.IIF, false)
		checkName(w, "oif", r.OIF, false)
		if r.Unmodelled != "" {
			add(w, "unmodelled", "the rule has selectors Linx does not model (%s): they cannot be sent", r.Unmodelled)
		}
		if r.From.IsValid() && r.To.IsValid() && r.From.Addr().Is4() != r.To.Addr().Is4() {
			add(w, "from", "from %s and to %s are of different families", r.From, r.To)
		}
		for _, pfx := range []netip.Prefix{r.From, r.To} {
			if pfx.IsValid() && r.Family != rtnl.FamilyAll && familyOf(pfx) != r.Family {
				add(w, "from", "selector %s does not match family %s", pfx, r.Family)
			}
		}
		if j, dup := rules[r]; dup {
			add(w, "priority", "duplicate rule (also rules[%d])", j)
		}
		rules[r] = i
	}
	if len(p) > 0 {
		return &InvalidError{Problems: p}
	}
	return nil
}

// routeKey is what makes a desired route unique (destination, table,
// metric, source prefix), without pointers, so that the garbage collector does not scan a
// map of every desired route.
type routeKey struct {
	hi, lo        uint64
	fhi, flo      uint64 // the source prefix (From)
	table, metric uint32
	bits, fbits   int16
	is4           bool
}

// less orders keys, in any fixed total order.
func (k routeKey) less(o routeKey) bool {
	switch {
	case k.hi != o.hi:
		return k.hi < o.hi
	case k.lo != o.lo:
		return k.lo < o.lo
	case k.table != o.table:
		return k.table < o.table
	case k.metric != o.metric:
		return k.metric < o.metric
	case k.bits != o.bits:
		return k.bits < o.bits
	case k.fhi != o.fhi:
		return k.fhi < o.fhi
	case k.flo != o.flo:
		return k.flo < o.flo
	case k.fbits != o.fbits:
		return k.fbits < o.fbits
	}
	return !k.is4 && o.is4
}

// entry names a Desired entry, as "routes[3]"; it is formatted only when
// a problem is found, not for every entry checked.
type entry struct {
	kind string
	i    int
}

func (e entry) String() string { return e.kind + "[" + strconv.Itoa(e.i) + "]" }

func familyOf(p netip.Prefix) rtnl.Family {
	if p.Addr().Is4() {
		return rtnl.FamilyV4
	}
	return rtnl.FamilyV6
}

// fromText returns " from P" for a valid source prefix, "" otherwise.
func fromText(p netip.Prefix) string {
	if !p.IsValid() {
		return ""
	}
	return " from " + p.String()
}

// addProblem records a problem of an entry's field.
type addProblem func(where entry, field, format string, args ...any)

// nameCheck checks an interface name of an entry's field, recording a
// problem if it is bad, or missing and required.
type nameCheck func(where entry, field, name string, required bool)

// problemsTo returns Validate's two ways of recording a problem, both
// appending to *p.
func problemsTo(p *[]Problem) (add addProblem, checkName nameCheck) {
	add = func(where entry, field, format string, args ...any) {
		*p = append(*p, Problem{Entry: where.String(), Field: field, Message: fmt.Sprintf(format, args...)})
	}
	checkName = func(where entry, field, name string, required bool) {
		switch {
		case name == "" && required:
			add(where, field, "%s is required", field)
		case name != "":
			if err := rtnl.CheckLinkName(name); err != nil {
				add(where, field, "%v", err)
			}
		}
	}
	return add, checkName
}

// checkRoute records the problems of desired route r, at index i, that
// it has alone (every check but duplicates) with add and checkName;
// nexthopIDs are the desired nexthops. It reports whether r has a valid
// destination, and so a key.
func checkRoute(i int, r *Route, nexthopIDs map[uint32]bool, add addProblem, checkName nameCheck) bool {
	w := entry{"routes", i}
	if !r.Dst.IsValid() {
		add(w, "dst", "destination is not a valid prefix (want e.g. 10.1.0.0/16 or default)")
		return false
	}
	if r.Dst.Masked() != r.Dst {
		add(w, "dst", "destination %s has host bits set (did you mean %s?)", r.Dst, r.Dst.Masked())
	}
	if r.Via.IsValid() && r.Via.Is4() != r.Dst.Addr().Is4() {
		add(w, "via", "gateway %s and destination %s are of different families", r.Via, r.Dst)
	}
	if r.Src.IsValid() && r.Src.Is4() != r.Dst.Addr().Is4() {
		add(w, "src", "source %s and destination %s are of different families", r.Src, r.Dst)
	}
	checkName(w, "dev", r.Dev, false)
	if r.Protocol != 0 {
		if err := CheckProtocol(r.Protocol); err != nil {
			add(w, "protocol", "%v", err)
		}
	}
	if r.From.IsValid() {
		switch {
		case r.Dst.Addr().Is4() || r.From.Addr().Is4():
			add(w, "from", "source prefix %s: only IPv6 routes take a source prefix", r.From)
		case r.From.Bits() == 0:
			add(w, "from", "source prefix %s is every source: leave from out", r.From)
		case r.From.Masked() != r.From:
			add(w, "from", "source prefix %s has host bits set (did you mean %s?)", r.From, r.From.Masked())
		}
	}
	paths := r.Via.IsValid() || r.Dev != ""
	if len(r.NextHops) > 0 || r.Nexthop != 0 {
		if paths {
			add(w, "via", "a route through several next hops or a nexthop object takes no single gateway or device")
		}
		if len(r.NextHops) > 0 && r.Nexthop != 0 {
			add(w, "nexthop", "a route takes either next hops or a nexthop object, not both")
		}
		if r.Nexthop != 0 && !nexthopIDs[r.Nexthop] {
			add(w, "nexthop", "nexthop %d is not among the desired nexthops", r.Nexthop)
		}
		for j, nh := range r.NextHops {
			f := "via[" + strconv.Itoa(j) + "]"
			if !nh.Via.IsValid() && nh.Dev == "" {
				add(w, f, "a next hop needs a gateway (via) or a device (dev)")
			}
			if nh.Via.IsValid() && nh.Via.Is4() != r.Dst.Addr().Is4() {
				add(w, f, "gateway %s and destination %s are of different families", nh.Via, r.Dst)
			}
			if nh.Weight < 0 || nh.Weight > 256 {
				add(w, f, "weight %d out of range (1 to 256)", nh.Weight)
			}
			checkName(w, f, nh.Dev, false)
		}
		paths = true
	}
	switch r.Type {
	case rtnl.RouteTypeUnspec, rtnl.RouteTypeUnicast:
		if !paths {
			add(w, "via", "route to %s needs a gateway (via) or a device (dev)", r.Dst)
		}
	case rtnl.RouteTypeBlackhole, rtnl.RouteTypeUnreachable, rtnl.RouteTypeProhibit:
		if paths {
			add(w, "via", "a %s route takes no gateway or device", r.Type)
		}
	default:
		add(w, "type", "route type %s is not supported in desired state", r.Type)
	}
	return true
}
