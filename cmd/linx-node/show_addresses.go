package main

import (
	"github.com/spf13/cobra"

	"github.com/linx-net/linx/internal/cliout"
	"github.com/linx-net/linx/rtnl"
)

func newShowAddressesCmd(o *showOptions) *cobra.Command {
	return &cobra.Command{
		Use:     "addresses [IFNAME]",
		Aliases: []string{"address", "addr"},
		Short:   "Print the IPv4 and IPv6 addresses (of every interface, or of IFNAME)",
		Args:    maxOneIfname,
		RunE: func(cmd *cobra.Command, args []string) error {
			s, format, err := o.open()
			if err != nil {
				return err
			}
			defer s.Close()
			var addrs []rtnl.Address
			if name := ifname(args); name != "" {
				addrs, err = s.AddressesOf(name)
			} else {
				addrs, err = s.Addresses()
			}
			if err != nil {
				return failed(err)
			}
			n, err := names(s)
			if err != nil {
				return err
			}
			return failed(cliout.Write(cmd.OutOrStdout(), format, cliout.Addresses(addrs, n)))
		},
	}
}
