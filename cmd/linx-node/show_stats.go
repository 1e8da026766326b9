package main

import (
	"github.com/spf13/cobra"

	"github.com/linx-net/linx/internal/cliout"
	"github.com/linx-net/linx/rtnl"
)

func newShowStatsCmd(o *showOptions) *cobra.Command {
	return &cobra.Command{
		Use:     "stats [[dev] IFNAME]",
		Aliases: []string{"stat", "statistics"},
		Short:   "Print the link statistics (of every interface, or of IFNAME); JSON carries all 25 counters",
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
			return show(o, cmd, func(s *rtnl.Socket, emit func(cliout.StatsView) error) error {
				if name != "" {
					st, err := s.Stats(name)
					if err != nil {
						return err
					}
					return emit(cliout.StatsView{Index: st.Index, Name: st.Name, Link: st.Link})
				}
				return s.EachLink(true, func(l *rtnl.Link, st *rtnl.LinkStats64) error {
					return emit(cliout.StatsView{Index: l.Index, Name: l.Name, Link: *st})
				})
			})
		},
	}
}
