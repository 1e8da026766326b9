package main

import (
	"github.com/spf13/cobra"

	"github.com/linx-net/linx/internal/cliout"
	"github.com/linx-net/linx/rtnl"
)

func newShowStatsCmd(o *showOptions) *cobra.Command {
	return &cobra.Command{
		Use:     "stats [IFNAME]",
		Aliases: []string{"stat", "statistics"},
		Short:   "Print the link statistics (of every interface, or of IFNAME); JSON carries all 25 counters",
		Args:    maxOneIfname,
		RunE: func(cmd *cobra.Command, args []string) error {
			return show(o, cmd, func(s *rtnl.Socket) ([]cliout.StatsView, error) {
				name := ifname(args)
				if name == "" {
					stats, err := s.AllStats()
					if err != nil {
						return nil, err
					}
					return cliout.AllStats(stats), nil
				}
				st, err := s.Stats(name)
				if err != nil {
					return nil, err
				}
				return cliout.AllStats([]rtnl.Stats{st}), nil
			})
		},
	}
}
