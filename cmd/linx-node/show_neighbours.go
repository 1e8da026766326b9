package main

import (
	"github.com/spf13/cobra"

	"github.com/linx-net/linx/internal/cliout"
	"github.com/linx-net/linx/rtnl"
)

// ntfExtLearned is NTF_EXT_LEARNED: an entry learned by an external
// control plane, which ip shows whatever its state.
const ntfExtLearned = 0x10

func newShowNeighboursCmd(o *showOptions) *cobra.Command {
	return &cobra.Command{
		Use:     "neighbours [[dev] IFNAME] [nud all|STATE]",
		Aliases: []string{"neighbour", "neighbors", "neighbor", "neigh"},
		Short:   "Print the ARP and NDP entries (of every interface, or of IFNAME; -4 or -6 for one family)",
		Long: `Print the ARP (IPv4) and NDP (IPv6) entries of every interface, or of
IFNAME (also written dev IFNAME); -4 or -6 keep one family. The kernel
does that filtering.

As ip neigh does, entries in state NOARP or NONE (the kernel's own, for
multicast and loopback addresses, and entries being created) are left
out: nud all shows them too, nud STATE (permanent, reachable, stale,
noarp…) only the entries in that state.`,
		Args: cobra.ArbitraryArgs,
		ValidArgsFunction: completeSelectors(map[string][]string{
			"nud": {"all", "permanent", "noarp", "reachable", "stale", "delay", "probe", "failed", "incomplete", "none"},
		}),
		RunE: func(cmd *cobra.Command, args []string) error {
			family, err := o.family()
			if err != nil {
				return err
			}
			// ip's default: every state but NOARP, and NONE only when
			// asked for (bit 8 stands for NONE, whose value is 0).
			const noneBit = 0x100
			states := uint32(0xff &^ rtnl.NeighNoARP)
			nudSet := false
			name, err := devSelector(cmd, args, func(key, val string) (bool, error) {
				if key != "nud" {
					return false, nil
				}
				if !nudSet {
					states, nudSet = 0, true
				}
				switch val {
				case "all":
					states = ^uint32(0)
				case "none":
					states |= noneBit
				default:
					st, err := rtnl.ParseNeighState(val)
					if err != nil {
						return false, usagef("nud %q: want all, none or a state (permanent, reachable, stale, noarp…)", val)
					}
					states |= uint32(st)
				}
				return true, nil
			})
			if err != nil {
				return err
			}
			return show(o, cmd, func(s *rtnl.Socket, emit func(cliout.NeighbourView) error) error {
				f := rtnl.NeighbourFilter{Family: family}
				if name != "" {
					l, err := s.LinkByName(name)
					if err != nil {
						return err
					}
					f.Index = l.Index
				}
				n, err := names(s)
				if err != nil {
					return err
				}
				return s.EachNeighbour(f, func(nb *rtnl.Neighbour) error {
					shown := states&uint32(nb.State) != 0 || nb.Flags&ntfExtLearned != 0 ||
						(nb.State == 0 && states&noneBit != 0)
					if !shown {
						return nil
					}
					return emit(cliout.NeighbourOf(nb, n))
				})
			})
		},
	}
}
