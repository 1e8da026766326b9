package main

import (
	"github.com/spf13/cobra"

	"github.com/linx-net/linx/internal/cliout"
	"github.com/linx-net/linx/rtnl"
)

func newShowNexthopsCmd(o *showOptions) *cobra.Command {
	return &cobra.Command{
		Use:     "nexthops",
		Aliases: []string{"nexthop", "nh"},
		Short:   "Print the nexthop objects and groups that routes name by id",
		Long: `Print the nexthop objects (ip nexthop): single nexthops with their
gateway and device, blackholes, and groups with their members and
weights. -o json prints the keys ip -j nexthop prints.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return show(o, cmd, func(s *rtnl.Socket, emit func(cliout.NexthopView) error) error {
				n, err := names(s)
				if err != nil {
					return err
				}
				return s.EachNexthop(rtnl.NexthopFilter{}, func(nh *rtnl.Nexthop) error {
					return emit(cliout.NexthopOf(nh, n))
				})
			})
		},
	}
}
