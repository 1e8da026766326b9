package main

import (
	"github.com/spf13/cobra"

	"github.com/linx-net/linx/internal/cliout"
	"github.com/linx-net/linx/rtnl"
)

func newShowRoutesCmd(o *showOptions) *cobra.Command {
	return &cobra.Command{
		Use:     "routes [IFNAME]",
		Aliases: []string{"route"},
		Short:   "Print the routes of every table, IPv4 and IPv6 (all, or those leaving through IFNAME)",
		Args:    maxOneIfname,
		RunE: func(cmd *cobra.Command, args []string) error {
			return show(o, cmd, func(s *rtnl.Socket) ([]cliout.RouteView, error) {
				var filter rtnl.RouteFilter
				if name := ifname(args); name != "" {
					l, err := s.LinkByName(name)
					if err != nil {
						return nil, err
					}
					filter.OIF = l.Index
				}
				routes, err := s.RoutesFiltered(filter)
				if err != nil {
					return nil, err
				}
				n, err := names(s)
				if err != nil {
					return nil, err
				}
				return cliout.Routes(routes, n), nil
			})
		},
	}
}
