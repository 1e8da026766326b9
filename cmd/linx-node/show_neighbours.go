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
			s, format, err := o.open()
			if err != nil {
				return err
			}
			defer s.Close()
			var neighs []rtnl.Neighbour
			if name := ifname(args); name != "" {
				neighs, err = s.NeighboursOf(name)
			} else {
				neighs, err = s.Neighbours()
			}
			if err != nil {
				return failed(err)
			}
			n, err := names(s)
			if err != nil {
				return err
			}
			return failed(cliout.Write(cmd.OutOrStdout(), format, cliout.Neighbours(neighs, n)))
		},
	}
}
