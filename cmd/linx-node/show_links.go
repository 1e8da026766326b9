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
