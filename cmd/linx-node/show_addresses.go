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
			return show(o, cmd, func(s *rtnl.Socket) ([]cliout.AddressView, error) {
				var addrs []rtnl.Address
				var err error
				if name := ifname(args); name != "" {
					addrs, err = s.AddressesOf(name)
				} else {
					addrs, err = s.Addresses()
				}
				if err != nil {
					return nil, err
				}
				n, err := names(s)
				if err != nil {
					return nil, err
				}
				return cliout.Addresses(addrs, n), nil
			})
		},
	}
}
