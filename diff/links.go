package diff

import (
	"bytes"
	"fmt"
	"net"

	"github.com/linx-net/linx/rtnl"
)

// vxlanDefaultPort is the UDP port the kernel gives a vxlan link created
// without one (drivers/net/vxlan: IANA_VXLAN_UDP_PORT is not the default
// for compatibility; 8472 is).
const vxlanDefaultPort = 8472

// Links diffs desired links against observed ones, three-way with owned,
// the keys of the links this owner created. Links are keyed by name.
//
// For a desired link whose name is missing it creates it (a desired link
// with no Kind cannot be created: a Conflict). A desired link whose name
// a foreign link holds (one whose key is not owned) is a Conflict, and
// the foreign link is left untouched, unless the desired link has no Kind
// (an existing link that is only configured) or its key is in adopt (a
// foreign link of its kind that it may configure, never delete). For one
// that exists and is owned, or may be configured:
//
//   - a different Kind, settings (Data) or ParentIndex, when the desired
//     field is set, cannot be changed in place: an owned link is recreated
//     (Delete right before Create), a foreign one is a Conflict;
//   - otherwise MTU, TxQueueLen, MasterIndex and HardwareAddr, when the
//     desired field is non-zero, and the administrative state, when one is
//     asked for, are updated in place.
//
// The administrative state is tri-state: a desired link whose Flags hold
// net.FlagUp is wanted up; one whose key is in down is wanted down (an
// Update whose Link lacks net.FlagUp, which rtnl's LinkModify applies as
// such); any other is left up or down as it is. A link created down stays
// down, as the kernel creates it. A key in down whose desired link has
// net.FlagUp is a Conflict, and the link is left as it is (an owned one
// is not deleted either). A key in down with no desired link is ignored. A nil down wants no link down, a nil adopt adopts none.
//
// A zero desired field means "don't care": a zero MasterIndex never removes
// a link from its master. Owned links no longer desired are deleted;
// foreign links are never deleted.
func Links(desired, observed []rtnl.Link, owned, down, adopt Set[LinkKey]) ([]Op, []Conflict) {
	r := runLinks(desired, observed, owned, down, adopt)
	return r.ops(LinkKey.Compare), sortConflicts(r.conflicts, LinkKey.Compare)
}

// runLinks diffs links with the keys of those wanted down and adopted. A
// link wanted both up and down is a conflict, and left as it is (an owned
// one is kept).
func runLinks(desired, observed []rtnl.Link, owned, down, adopt Set[LinkKey]) result[LinkKey] {
	spec := &threeWay[rtnl.Link, LinkKey]{
		kind:        KindLink,
		key:         KeyOfLink,
		prepare:     prepareLink,
		uncreatable: uncreatableLink,
		hold: func(l rtnl.Link) string {
			if l.Up() && down.Has(KeyOfLink(l)) {
				return fmt.Sprintf("link %q is desired both up (net.FlagUp) and down", l.Name)
			}
			return ""
		},
		compare: func(d, o rtnl.Link) (verdict, rtnl.Link, string) {
			return compareLink(d, o, down.Has(KeyOfLink(d)))
		},
		wrap: func(a Action, l rtnl.Link) Op { return Op{Action: a, Kind: KindLink, Link: &l} },
		configure: func(l rtnl.Link) bool {
			return l.Kind == "" || adopt.Has(KeyOfLink(l))
		},
	}
	return spec.run(desired, observed, owned, Mark{})
}

func prepareLink(l rtnl.Link) (rtnl.Link, string) {
	if err := checkLinkName("Links", l.Name); err != nil {
		return l, fmt.Sprintf("invalid link name %q", l.Name)
	}
	if l.Kind == "" && l.Data != nil {
		l.Kind = l.Data.LinkKind()
	}
	return l, ""
}

func uncreatableLink(l rtnl.Link) string {
	if l.Kind == "" {
		return fmt.Sprintf("no link named %q, and the desired link has no Kind to create one", l.Name)
	}
	return ""
}

// compareLink compares the desired link d with the observed o; down says
// whether d is wanted administratively down.
func compareLink(d, o rtnl.Link, down bool) (verdict, rtnl.Link, string) {
	switch {
	case d.Kind != "" && d.Kind != o.Kind:
		return incompatible, d, fmt.Sprintf("link %q is of kind %q, desired %q", o.Name, o.Kind, d.Kind)
	case d.Data != nil && !linkDataEqual(d.Data, o.Data):
		return incompatible, d, fmt.Sprintf("link %q has settings %+v, desired %+v", o.Name, o.Data, d.Data)
	case d.ParentIndex != 0 && d.ParentIndex != o.ParentIndex:
		return incompatible, d, fmt.Sprintf("link %q has parent index %d, desired %d", o.Name, o.ParentIndex, d.ParentIndex)
	}
	u, changed := o, false
	if d.MTU != 0 && d.MTU != o.MTU {
		u.MTU, changed = d.MTU, true
	}
	if d.TxQueueLen != 0 && d.TxQueueLen != o.TxQueueLen {
		u.TxQueueLen, changed = d.TxQueueLen, true
	}
	if d.MasterIndex != 0 && d.MasterIndex != o.MasterIndex {
		u.MasterIndex, changed = d.MasterIndex, true
	}
	if d.HardwareAddr != nil && !bytes.Equal(d.HardwareAddr, o.HardwareAddr) {
		u.HardwareAddr, changed = d.HardwareAddr, true
	}
	switch {
	case d.Up() && !o.Up():
		u.Flags, changed = o.Flags|net.FlagUp, true
	case down && o.Up():
		u.Flags, changed = o.Flags&^net.FlagUp, true
	}
	if changed {
		return change, u, ""
	}
	return same, o, ""
}

// linkDataEqual compares desired settings with observed ones, after
// filling in the kernel's defaults.
func linkDataEqual(d, o rtnl.LinkData) bool {
	switch dv := d.(type) {
	case rtnl.Veth:
		// The kernel does not report a veth's peer name.
		_, ok := o.(rtnl.Veth)
		return ok
	case rtnl.Macvlan:
		ov, ok := o.(rtnl.Macvlan)
		if dv.Mode == 0 {
			dv.Mode = rtnl.MacvlanVEPA
		}
		return ok && dv == ov
	case rtnl.Vxlan:
		ov, ok := o.(rtnl.Vxlan)
		if dv.Port == 0 {
			dv.Port = vxlanDefaultPort
		}
		return ok && dv == ov
	}
	return d == o
}
