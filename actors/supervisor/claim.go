package supervisor

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Claim is what a scope owns exclusively: the route protocols it owns in
// one namespace. A scope deletes every route of its protocols that it
// does not desire, so two scopes whose claims overlap delete each other's
// routes forever. The zero Claim claims nothing.
type Claim struct {
	// Namespace identifies the namespace by identity, not by the text
	// that names it: "DEV:INODE" of its nsfs file (rtnl.NamespaceID), so
	// that pid:N and the path of the same namespace compare equal. Empty
	// claims nothing.
	Namespace string
	// Protocols are the route protocols the scope owns there.
	Protocols []uint8
}

// overlap returns the protocols c and o both claim in the same namespace,
// nil when they do not collide.
func (c Claim) overlap(o Claim) []uint8 {
	if c.Namespace == "" || c.Namespace != o.Namespace {
		return nil
	}
	var both []uint8
	for _, p := range c.Protocols {
		if slices.Contains(o.Protocols, p) {
			both = append(both, p)
		}
	}
	return both
}

// checkClaim refuses claim c of scope name when it overlaps the claim of
// another running scope (one whose actors run, stopping included: a pass
// may still be under way; or one waiting for its namespace, which runs as
// soon as it appears). The error names the other scope.
func (n *nodeActor) checkClaim(name string, c Claim) error {
	names := make([]string, 0, len(n.scopes))
	for other := range n.scopes {
		names = append(names, other)
	}
	slices.Sort(names) // a deterministic first culprit
	for _, other := range names {
		r := n.scopes[other]
		if other == name || !r.active() {
			continue
		}
		if both := c.overlap(r.claim); len(both) > 0 {
			ps := make([]string, len(both))
			for i, p := range both {
				ps[i] = strconv.Itoa(int(p))
			}
			return fmt.Errorf("scope %q already owns route protocol %s in this namespace (%s): two owners would delete each other's routes; use another protocol or namespace",
				other, strings.Join(ps, ", "), c.Namespace)
		}
	}
	return nil
}

// claimOf returns the claim of spec; the zero Claim when Config.Claim is
// nil.
func (n *nodeActor) claimOf(spec Spec) (Claim, error) {
	if n.cfg.Claim == nil {
		return Claim{}, nil
	}
	return n.cfg.Claim(spec)
}
