package main

import (
	"github.com/spf13/cobra"

	"github.com/linx-net/linx/internal/cliout"
	"github.com/linx-net/linx/rtnl"
)

func newShowNeighboursCmd(o *showOptions) *cobra.Command {
	return &cobra.Command{
		Use:     "neighbours [IFNAME]",
		Aliases: []string{"neighbour", "neighbors", "neighbor", "neigh"},
		Short:   "Print the ARP and NDP entries (of every interface, or of IFNAME)",
		Args:    maxOneIfname,
		RunE: func(cmd *cobra.Command, args []string) error {
			return show(o, cmd, func(s *rtnl.Socket) ([]cliout.NeighbourView, error) {
				var neighs []rtnl.Neighbour
				var err error
				if name := ifname(args); name != "" {
					neighs, err = s.NeighboursOf(name)
				} else {
					neighs, err = s.Neighbours()
				}
				if err != nil {
					return nil, err
				}
				n, err := names(s)
				if err != nil {
					return nil, err
				}
				return cliout.Neighbours(neighs, n), nil
			})
		},
	}
}
