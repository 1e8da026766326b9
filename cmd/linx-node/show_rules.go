package main

import (
	"github.com/spf13/cobra"

	"github.com/linx-net/linx/internal/cliout"
)

func newShowRulesCmd(o *showOptions) *cobra.Command {
	return &cobra.Command{
		Use:     "rules",
		Aliases: []string{"rule"},
		Short:   "Print the policy-routing rules, IPv4 and IPv6",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, format, err := o.open()
			if err != nil {
				return err
			}
			defer s.Close()
			rules, err := s.Rules()
			if err != nil {
				return failed(err)
			}
			return failed(cliout.Write(cmd.OutOrStdout(), format, cliout.Rules(rules)))
		},
	}
}
