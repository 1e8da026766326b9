package main

import (
	"github.com/spf13/cobra"

	"github.com/linx-net/linx/internal/cliout"
	"github.com/linx-net/linx/rtnl"
)

func newShowLinksCmd(o *showOptions) *cobra.Command {
	return &cobra.Command{
		Use:     "links [IFNAME]",
		Aliases: []string{"link"},
		Short:   "Print the network interfaces (all, or IFNAME)",
		Args:    maxOneIfname,
		RunE: func(cmd *cobra.Command, args []string) error {
			return show(o, cmd, func(s *rtnl.Socket) ([]cliout.LinkView, error) {
				all, err := s.Links()
				if err != nil {
					return nil, err
				}
				links := all
				// IFNAME is asked of the kernel, not searched for in the
				// dump (which only names masters and parents), so that an
				// alternative name finds the link and an unknown one fails
				// with the kernel's ENODEV. The link is printed once.
				if name := ifname(args); name != "" {
					l, err := s.LinkByName(name)
					if err != nil {
						return nil, err
					}
					links = []rtnl.Link{l}
				}
				return cliout.Links(links, cliout.NamesOf(all)), nil
			})
		},
	}
}
