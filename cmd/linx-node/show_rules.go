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
		Short:   "Print the policy-routing rules, IPv4 and IPv6 (or one of them, with -4 or -6)",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			family, err := o.family()
			if err != nil {
				return err
			}
			return show(o, cmd, func(s *rtnl.Socket, emit func(cliout.RuleView) error) error {
				return s.EachRule(family, func(r *rtnl.Rule) error { return emit(cliout.RuleOf(r)) })
			})
		},
	}
}
