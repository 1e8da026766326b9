package main

import (
	"github.com/spf13/cobra"

	"github.com/linx-net/linx/internal/cliout"
	"github.com/linx-net/linx/rtnl"
)

func newShowLinksCmd(o *showOptions) *cobra.Command {
	return &cobra.Command{
		Use:     "links [[dev] IFNAME]",
		Aliases: []string{"link"},
		Short:   "Print the network interfaces (all, or IFNAME)",
		Args:    cobra.ArbitraryArgs,
		ValidArgsFunction: func(cmd *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
			if len(args) > 0 && args[len(args)-1] != "dev" {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			return completeIfnames(cmd), cobra.ShellCompDirectiveNoFileComp
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			name, err := devSelector(cmd, args, nil)
			if err != nil {
				return err
			}
			return show(o, cmd, func(s *rtnl.Socket, emit func(cliout.LinkView) error) error {
				n, err := names(s)
				if err != nil {
					return err
				}
				// IFNAME is asked of the kernel, not searched for in the
				// dump, so that an alternative name finds the link and an
				// unknown one fails with the kernel's ENODEV. The link is
				// printed once.
				if name != "" {
					l, err := s.LinkByName(name)
					if err != nil {
						return err
					}
					return emit(cliout.LinkOf(&l, n))
				}
				return s.EachLink(false, func(l *rtnl.Link, _ *rtnl.LinkStats64) error {
					return emit(cliout.LinkOf(l, n))
				})
			})
		},
	}
}
