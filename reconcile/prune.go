package reconcile

import (
	"fmt"

	"github.com/linx-net/linx/diff"
	"github.com/linx-net/linx/rtnl"
)

// prune drops from the ledger, before anything is diffed, the keys that
// can no longer name an object the scope made, so that a foreign object
// taking one of them later is never taken for the scope's own:
//
//   - an owned link, address, neighbour or rule observed absent and not
//     desired: its object is gone (deleted by another writer, flushed by
//     the kernel, or deleted while the agent was down);
//   - an address or neighbour key on an interface index that no longer
//     names the link the key was recorded with: the link is gone, and the
//     kernel may give its index to another.
//
// An owned object observed absent but desired keeps its key: the pass
// creates it again. An address or neighbour key recorded without its
// link's name (by an older Linx) takes the name of the link its index
// names now. A plan drops the keys from what it owns, not from the
// ledger.
func (p *pass) prune() error {
	o := &p.owned
	if o.Links.Len()+o.Addresses.Len()+o.Neighbours.Len()+o.Rules.Len() == 0 {
		return nil
	}
	links, err := p.s.Links()
	if err != nil {
		return fmt.Errorf("listing links: %w", err)
	}
	byIndex := make(map[int]string, len(links))
	byName := make(map[string]int, len(links))
	for i := range links {
		byIndex[links[i].Index] = links[i].Name
		byName[links[i].Name] = links[i].Index
	}
	var stale diff.Owned
	var adopt map[int]string
	// onLink reports whether a key on index still names the link it was
	// recorded with.
	onLink := func(index int) bool {
		now, ok := byIndex[index]
		if !ok {
			return false
		}
		was, known := p.l.linkName(index)
		if !known {
			if adopt == nil {
				adopt = make(map[int]string)
			}
			adopt[index] = now
			return true
		}
		return was == now
	}

	if o.Links.Len() > 0 {
		desired := make(map[string]bool, len(p.d.Links))
		for i := range p.d.Links {
			desired[p.d.Links[i].Name] = true
		}
		for k := range o.Links.All() {
			if _, ok := byName[k.Name]; !ok && !desired[k.Name] {
				addStale(&stale.Links, k)
			}
		}
	}
	if o.Addresses.Len() > 0 {
		observed, err := p.s.Addresses()
		if err != nil {
			return fmt.Errorf("listing addresses: %w", err)
		}
		seen := make(diff.Set[diff.AddressKey], len(observed))
		for i := range observed {
			seen.Add(diff.KeyOfAddress(observed[i]))
		}
		desired := make(diff.Set[diff.AddressKey], len(p.d.Addresses))
		for _, a := range p.d.Addresses {
			if idx, ok := byName[a.Link]; ok {
				desired.Add(diff.KeyOfAddress(rtnl.Address{Index: idx, Prefix: a.Prefix}))
			}
		}
		for k := range o.Addresses.All() {
			if !onLink(k.Index) || (!seen.Has(k) && !desired.Has(k)) {
				addStale(&stale.Addresses, k)
			}
		}
	}
	if o.Neighbours.Len() > 0 {
		observed, err := p.s.Neighbours()
		if err != nil {
			return fmt.Errorf("listing neighbours: %w", err)
		}
		seen := make(diff.Set[diff.NeighbourKey], len(observed))
		for i := range observed {
			seen.Add(diff.KeyOfNeighbour(observed[i]))
		}
		desired := make(diff.Set[diff.NeighbourKey], len(p.d.Neighbours))
		for _, n := range p.d.Neighbours {
			if idx, ok := byName[n.Link]; ok {
				desired.Add(diff.KeyOfNeighbour(rtnl.Neighbour{Index: idx, IP: n.IP}))
			}
		}
		for k := range o.Neighbours.All() {
			if !onLink(k.Index) || (!seen.Has(k) && !desired.Has(k)) {
				addStale(&stale.Neighbours, k)
			}
		}
	}
	if o.Rules.Len() > 0 {
		observed, err := p.s.Rules()
		if err != nil {
			return fmt.Errorf("listing rules: %w", err)
		}
		seen := make(diff.Set[diff.RuleKey], len(observed))
		for i := range observed {
			seen.Add(diff.KeyOfRule(observed[i]))
		}
		desired := make(diff.Set[diff.RuleKey], len(p.d.Rules))
		for i := range p.d.Rules {
			desired.Add(diff.KeyOfRule(p.d.Rules[i]))
		}
		for k := range o.Rules.All() {
			if !seen.Has(k) && !desired.Has(k) {
				addStale(&stale.Rules, k)
			}
		}
	}

	for k := range stale.Links.All() {
		o.Links.Remove(k)
	}
	removeAll(o.Addresses, stale.Addresses)
	removeAll(o.Neighbours, stale.Neighbours)
	removeAll(o.Rules, stale.Rules)
	if stale.Links.Len()+stale.Addresses.Len()+stale.Neighbours.Len()+stale.Rules.Len() == 0 && len(adopt) == 0 {
		return nil
	}
	return p.l.prune(stale, adopt)
}

func addStale[K comparable](s *diff.Set[K], k K) {
	if *s == nil {
		*s = diff.NewSet[K]()
	}
	s.Add(k)
}

// linkName returns the name of the link at index as last listed.
func (p *pass) linkName(index int) (string, bool) {
	l, ok := p.listed[index]
	return l.Name, ok
}
