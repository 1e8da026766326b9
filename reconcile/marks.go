package reconcile

import (
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/linx-net/linx/diff"
)

// Kernel releases from which the kernel keeps the writer's protocol on an
// object kind, and reports it back: FRA_PROTOCOL (4.17), NDA_PROTOCOL
// (5.0), IFA_PROTO (6.1).
var (
	ruleMarksSince      = [2]int{4, 17}
	neighbourMarksSince = [2]int{5, 0}
	addressMarksSince   = [2]int{6, 1}
)

// kernelMarks says of which kinds the kernel keeps ownership marks, from
// two sources, either enough:
//
//  1. the running kernel's release (uname), at least the one that added
//     the kind's attribute; a namespace runs on the machine's kernel;
//  2. the objects listed in this pass: one that carries a protocol
//     shows that the kernel keeps it (a backport to an older release, say).
//     On a kernel that keeps them, the kernel's own objects carry one: the
//     default rules (kernel), IPv6 link-local addresses (kernel_ll).
//
// A kernel without a kind's mark ignores the attribute on a create (an
// unknown attribute) and reports none: every object of that kind then
// reads protocol 0, so neither source says yes, and the ledger alone
// decides ownership, as it did before marks.
func kernelMarks(release string, s diff.State) diff.Marks {
	v := parseRelease(release)
	m := diff.Marks{
		Addresses:  atLeast(v, addressMarksSince),
		Neighbours: atLeast(v, neighbourMarksSince),
		Rules:      atLeast(v, ruleMarksSince),
	}
	for i := 0; !m.Addresses && i < len(s.Addresses); i++ {
		m.Addresses = s.Addresses[i].Protocol != 0
	}
	for i := 0; !m.Neighbours && i < len(s.Neighbours); i++ {
		m.Neighbours = s.Neighbours[i].Protocol != 0
	}
	for i := 0; !m.Rules && i < len(s.Rules); i++ {
		m.Rules = s.Rules[i].Protocol != 0
	}
	return m
}

// kernelRelease returns the running kernel's release, as uname -r, or ""
// when it cannot be read.
func kernelRelease() string {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return ""
	}
	return unix.ByteSliceToString(u.Release[:])
}

// parseRelease returns the major and minor version of a kernel release
// such as "6.18.0-1-amd64"; {0, 0} when it does not start with them.
func parseRelease(r string) [2]int {
	major, rest, ok := strings.Cut(r, ".")
	if !ok {
		return [2]int{}
	}
	end := strings.IndexFunc(rest, func(c rune) bool { return c < '0' || c > '9' })
	if end >= 0 {
		rest = rest[:end]
	}
	a, err1 := strconv.Atoi(major)
	b, err2 := strconv.Atoi(rest)
	if err1 != nil || err2 != nil {
		return [2]int{}
	}
	return [2]int{a, b}
}

func atLeast(v, since [2]int) bool {
	return v[0] > since[0] || v[0] == since[0] && v[1] >= since[1]
}
