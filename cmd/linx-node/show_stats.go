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
			s, format, err := o.open()
			if err != nil {
				return err
			}
			defer s.Close()
			var stats []rtnl.Stats
			if name := ifname(args); name != "" {
				st, err := s.Stats(name)
				if err != nil {
					return failed(err)
				}
				stats = []rtnl.Stats{st}
			} else if stats, err = s.AllStats(); err != nil {
				return failed(err)
			}
			return failed(cliout.Write(cmd.OutOrStdout(), format, cliout.AllStats(stats)))
		},
	}
}
