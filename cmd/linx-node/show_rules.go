package main

import (
	"github.com/spf13/cobra"

	"github.com/linx-net/linx/internal/cliout"
	"github.com/linx-net/linx/rtnl"
)

func newShowRulesCmd(o *showOptions) *cobra.Command {
	return &cobra.Command{
		Use:     "rules",
		Aliases: []string{"rule"},
		Short:   "Print the policy-routing rules, IPv4 and IPv6",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return show(o, cmd, func(s *rtnl.Socket) ([]cliout.RuleView, error) {
				rules, err := s.Rules()
				if err != nil {
					return nil, err
				}
				return cliout.Rules(rules), nil
			})
		},
	}
}
