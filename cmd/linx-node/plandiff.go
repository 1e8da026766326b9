package main

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"

	"github.com/linx-net/linx/diff"
	"github.com/linx-net/linx/internal/cliout"
	"github.com/linx-net/linx/rtnl"
)

// change is one operation of a plan or a pass as a line of a diff.
type change struct {
	// Action is "create", "update" or "delete".
	Action string `json:"action"`
	// Kind is "link", "address", "route", "neighbour" or "rule".
	Kind string `json:"kind"`
	// Object describes the object as ip would write it, interfaces by
	// name: "10.1.0.0/16 via 10.0.0.2 dev br0 table main proto 76".
	Object string `json:"object"`
	// Key names the object among its kind, interfaces by name: "br0",
	// "10.0.42.1/24 dev br0", "10.1.0.0/16 table main". A plan's changes
	// and those of the pass that follows it have the same keys.
	Key string `json:"key"`
	// Fields are, for an update that plan could compare with the object
	// in place, the fields that change.
	Fields []fieldChange `json:"fields,omitempty"`
}

// fieldChange is one field an update changes; "-" stands for none.
type fieldChange struct {
	Field string `json:"field"`
	Old   string `json:"old"`
	New   string `json:"new"`
}

// line returns the change as a line of the diff: "+ route …", "- link …",
// "~ link v0: mtu 1500 → 9000, up false → true".
func (c change) line() string {
	sign := map[string]string{"create": "+", "update": "~", "delete": "-"}[c.Action]
	s := sign + " " + c.Kind + " " + c.Object
	if len(c.Fields) > 0 {
		parts := make([]string, 0, len(c.Fields))
		for _, f := range c.Fields {
			parts = append(parts, f.Field+" "+f.Old+" → "+f.New)
		}
		s += ": " + strings.Join(parts, ", ")
	}
	return s
}

// describeOps returns the changes of ops, naming interfaces from n (the
// names after the pass, with those it deleted). With compare, each update
// is compared with the object in place in the namespace of s (which a
// plan has left as it was) to list the fields that change.
func describeOps(s *rtnl.Socket, ops []diff.Op, n cliout.Names, compare bool) []change {
	out := make([]change, 0, len(ops))
	// Links the pass creates, by name: a later round may update them
	// (enslave one, restore a bridge's MTU).
	created := map[string]rtnl.Link{}
	for _, op := range ops {
		c := change{Action: op.Action.String(), Kind: op.Kind.String(), Object: describe(op, n), Key: identify(op, n)}
		if op.Kind == diff.KindLink && op.Action == diff.Create {
			created[op.Link.Name] = *op.Link
		}
		var l rtnl.Link
		var made bool
		if op.Kind == diff.KindLink {
			l, made = created[op.Link.Name]
		}
		if made && compare && op.Action == diff.Update {
			// A plan's update of a link it creates: the address and MTU
			// the copy gave it are the copy's guesses, not the kernel's.
			// The link is copied: the op shares it with the report.
			u := op
			u.Link = new(*op.Link)
			if l.HardwareAddr == nil {
				u.Link.HardwareAddr = nil
			}
			if l.MTU == 0 {
				u.Link.MTU = 0
			}
			c.Object = describe(u, n)
		} else if compare && op.Action == diff.Update {
			if old, ok := observedOf(s, op); ok {
				c.Fields = changedFields(viewOf(old, n), viewOf(op, n))
			}
			if len(c.Fields) > 0 {
				c.Object = identify(op, n)
			}
		}
		out = append(out, c)
	}
	return out
}

// describe returns the object of op in ip's words, interfaces by name.
func describe(op diff.Op, n cliout.Names) string {
	var b strings.Builder
	add := func(key, val string) {
		if val != "" {
			b.WriteString(" " + key + " " + val)
		}
	}
	switch op.Kind {
	case diff.KindLink:
		l := op.Link
		b.WriteString(l.Name)
		add("type", l.Kind)
		if l.MTU != 0 {
			add("mtu", strconv.Itoa(l.MTU))
		}
		add("address", l.HardwareAddr.String())
		add("master", n.Name(l.MasterIndex))
		if op.Action != diff.Delete {
			if l.Up() {
				b.WriteString(" up")
			} else {
				b.WriteString(" down")
			}
		}
	case diff.KindAddress:
		a := op.Address
		b.WriteString(a.Prefix.String())
		if a.Peer.IsValid() {
			add("peer", a.Peer.String())
		}
		add("dev", n.Name(a.Index))
	case diff.KindRoute:
		r := op.Route
		if r.Type != rtnl.RouteTypeUnicast && r.Type != 0 {
			b.WriteString(r.Type.String() + " ")
		}
		if r.IsDefault() {
			b.WriteString("default")
		} else {
			b.WriteString(r.Dst.String())
		}
		if r.SrcPrefix.IsValid() {
			add("from", r.SrcPrefix.String())
		}
		if r.NHID != 0 {
			add("nhid", strconv.FormatUint(uint64(r.NHID), 10))
		}
		if r.Gateway.IsValid() {
			add("via", r.Gateway.String())
		}
		add("dev", n.Name(r.OIF))
		for _, nh := range r.NextHops {
			b.WriteString(" nexthop")
			if nh.Gateway.IsValid() {
				add("via", nh.Gateway.String())
			}
			add("dev", n.Name(nh.OIF))
			add("weight", strconv.Itoa(nh.Weight))
		}
		add("table", cliout.TableName(r.Table))
		add("proto", cliout.ProtocolName(r.Protocol))
		if r.Metric != 0 {
			add("metric", strconv.FormatUint(uint64(r.Metric), 10))
		}
		if r.Src.IsValid() {
			add("src", r.Src.String())
		}
	case diff.KindNeighbour:
		nb := op.Neighbour
		b.WriteString(nb.IP.String())
		add("dev", n.Name(nb.Index))
		add("lladdr", nb.HardwareAddr.String())
		if nb.State != 0 {
			add("nud", strings.ToLower(nb.State.String()))
		}
	case diff.KindRule:
		c := cliout.RuleOf(op.Rule).Cells()
		// PRIORITY, FAMILY, FROM, TO, FWMARK, IIF, OIF, ACTION
		b.WriteString(c[0] + ":")
		add("family", c[1])
		add("from", c[2])
		add("to", c[3])
		add("fwmark", c[4])
		add("iif", c[5])
		add("oif", c[6])
		b.WriteString(" " + c[7])
	case diff.KindNexthop:
		nh := op.Nexthop
		b.WriteString("id " + strconv.FormatUint(uint64(nh.ID), 10))
		switch {
		case nh.IsGroup():
			members := make([]string, len(nh.Group))
			for i, m := range nh.Group {
				members[i] = strconv.FormatUint(uint64(m.ID), 10)
				if m.Weight > 1 {
					members[i] += "," + strconv.FormatUint(uint64(m.Weight), 10)
				}
			}
			add("group", strings.Join(members, "/"))
			if nh.GroupType == rtnl.NexthopGroupResilient {
				add("type", nh.GroupType.String())
			}
		case nh.Blackhole:
			b.WriteString(" blackhole")
		default:
			if nh.Gateway.IsValid() {
				add("via", nh.Gateway.String())
			}
			if nh.OIF != 0 {
				add("dev", n.Name(nh.OIF))
			}
		}
		if nh.Protocol != 0 {
			add("proto", cliout.ProtocolName(nh.Protocol))
		}
	default:
		b.WriteString(op.String())
	}
	return strings.TrimSpace(b.String())
}

// identify returns what names the object of op among its kind (its key,
// in ip's words), for an update whose changes follow.
func identify(op diff.Op, n cliout.Names) string {
	switch op.Kind {
	case diff.KindLink:
		return op.Link.Name
	case diff.KindAddress:
		return op.Address.Prefix.String() + " dev " + n.Name(op.Address.Index)
	case diff.KindRoute:
		r := op.Route
		s := r.Dst.String()
		if r.IsDefault() {
			s = "default"
		}
		if r.SrcPrefix.IsValid() {
			s += " from " + r.SrcPrefix.String()
		}
		s += " table " + cliout.TableName(r.Table)
		if r.Metric != 0 {
			s += " metric " + strconv.FormatUint(uint64(r.Metric), 10)
		}
		return s
	case diff.KindNeighbour:
		return op.Neighbour.IP.String() + " dev " + n.Name(op.Neighbour.Index)
	case diff.KindRule:
		c := cliout.RuleOf(op.Rule).Cells()
		return c[0] + ": family " + c[1]
	case diff.KindNexthop:
		return "id " + strconv.FormatUint(uint64(op.Nexthop.ID), 10)
	}
	return describe(op, n)
}

// observedOf returns the object in the namespace of s that op would
// update, as an op of the same kind, found by its key.
func observedOf(s *rtnl.Socket, op diff.Op) (diff.Op, bool) {
	old := diff.Op{Kind: op.Kind}
	found := false
	var err error
	switch op.Kind {
	case diff.KindLink:
		var l rtnl.Link
		l, err = s.LinkByName(op.Link.Name)
		old.Link, found = &l, err == nil
	case diff.KindAddress:
		key := diff.KeyOfAddress(*op.Address)
		err = s.EachAddress(rtnl.AddressFilter{Family: op.Address.Family(), Index: op.Address.Index}, func(a *rtnl.Address) error {
			if !found && diff.KeyOfAddress(*a) == key {
				old.Address, found = new(*a), true
			}
			return nil
		})
	case diff.KindRoute:
		key := diff.KeyOfRoute(*op.Route)
		f := rtnl.RouteFilter{Family: op.Route.Family(), Table: op.Route.Table, Root: op.Route.Dst, Match: op.Route.Dst}
		err = s.EachRoute(f, func(r *rtnl.Route) error {
			if !found && diff.KeyOfRoute(*r) == key {
				old.Route, found = new(*r), true
				old.Route.NextHops = append([]rtnl.NextHop(nil), r.NextHops...)
			}
			return nil
		})
	case diff.KindNeighbour:
		key := diff.KeyOfNeighbour(*op.Neighbour)
		err = s.EachNeighbour(rtnl.NeighbourFilter{Family: op.Neighbour.Family(), Index: op.Neighbour.Index}, func(nb *rtnl.Neighbour) error {
			if !found && diff.KeyOfNeighbour(*nb) == key {
				old.Neighbour, found = new(*nb), true
				old.Neighbour.HardwareAddr = append([]byte(nil), nb.HardwareAddr...)
			}
			return nil
		})
	case diff.KindRule:
		key := diff.KeyOfRule(*op.Rule)
		err = s.EachRule(op.Rule.Family, func(r *rtnl.Rule) error {
			if !found && diff.KeyOfRule(*r) == key {
				old.Rule, found = new(*r), true
			}
			return nil
		})
	case diff.KindNexthop:
		var nh rtnl.Nexthop
		nh, err = s.Nexthop(op.Nexthop.ID)
		old.Nexthop, found = &nh, err == nil
	}
	return old, found && err == nil
}

// viewOf returns the object of op as its command-line view, as a JSON
// object's fields.
func viewOf(op diff.Op, n cliout.Names) map[string]any {
	var v any
	switch op.Kind {
	case diff.KindLink:
		v = cliout.LinkOf(op.Link, n)
	case diff.KindAddress:
		v = cliout.AddressOf(op.Address, n)
	case diff.KindRoute:
		v = cliout.RouteOf(op.Route, n)
	case diff.KindNeighbour:
		v = cliout.NeighbourOf(op.Neighbour, n)
	case diff.KindRule:
		v = cliout.RuleOf(op.Rule)
	case diff.KindNexthop:
		v = cliout.NexthopOf(op.Nexthop, n)
	}
	var m map[string]any
	if j, err := json.Marshal(v); err == nil {
		_ = json.Unmarshal(j, &m)
	}
	return m
}

// skipFields are the fields of the views that repeat another (an index
// beside its name, flags beside up) or that the kernel alone sets.
var skipFields = map[string]bool{
	"index": true, "ifindex": true, "oif": true, "master_index": true, "parent_index": true,
	"flags": true, "flag_names": true, "operstate": true, "protocol": true,
}

// changedFields returns the fields of the view new that differ from old,
// in the order of the view's keys (sorted), leaving out those new leaves
// unset (the kernel's own values, kept by the update).
func changedFields(old, new map[string]any) []fieldChange {
	var out []fieldChange
	for _, k := range sortedKeys(new) {
		if skipFields[k] {
			continue
		}
		nv := new[k]
		if nv == nil || nv == "" || nv == 0.0 && k != "metric" {
			continue
		}
		if o := fmtField(old[k]); o != fmtField(nv) {
			out = append(out, fieldChange{Field: k, Old: o, New: fmtField(nv)})
		}
	}
	return out
}

// fmtField formats one field of a view: "-" for none.
func fmtField(v any) string {
	switch v := v.(type) {
	case nil:
		return "-"
	case string:
		if v == "" {
			return "-"
		}
		return v
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(v)
	}
	j, _ := json.Marshal(v)
	return string(j)
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
