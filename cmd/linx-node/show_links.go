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
			s, format, err := o.open()
			if err != nil {
				return err
			}
			defer s.Close()
			all, err := s.Links()
			if err != nil {
				return failed(err)
			}
			links := all
			if name := ifname(args); name != "" {
				l, err := s.LinkByName(name)
				if err != nil {
					return failed(err)
				}
				links = []rtnl.Link{l}
			}
			return failed(cliout.Write(cmd.OutOrStdout(), format, cliout.Links(links, cliout.NamesOf(all))))
		},
	}
}
