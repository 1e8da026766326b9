package main

import (
	"github.com/spf13/cobra"

	"github.com/linx-net/linx/internal/cliout"
	"github.com/linx-net/linx/rtnl"
)

func newShowAddressesCmd(o *showOptions) *cobra.Command {
	return &cobra.Command{
		Use:     "addresses [[dev] IFNAME]",
		Aliases: []string{"address", "addr"},
		Short:   "Print the IPv4 and IPv6 addresses (of every interface, or of IFNAME; -4 or -6 for one family)",
		Long: `Print the IPv4 and IPv6 addresses of every interface, or of IFNAME
(also written dev IFNAME, as ip writes it); -4 or -6 keep one family. The
kernel does the filtering. FLAGS names the address flags as ip prints
them (permanent, nodad, noprefixroute…); JSON has them as flag_names.`,
		Args:              cobra.ArbitraryArgs,
		ValidArgsFunction: completeSelectors(nil),
		RunE: func(cmd *cobra.Command, args []string) error {
			family, err := o.family()
			if err != nil {
				return err
			}
			name, err := devSelector(cmd, args, nil)
			if err != nil {
				return err
			}
			return show(o, cmd, func(s *rtnl.Socket, emit func(cliout.AddressView) error) error {
				f := rtnl.AddressFilter{Family: family}
				if name != "" {
					l, err := s.LinkByName(name)
					if err != nil {
						return err
					}
					f.Index = l.Index
				}
				n, err := names(s)
				if err != nil {
					return err
				}
				return s.EachAddress(f, func(a *rtnl.Address) error { return emit(cliout.AddressOf(a, n)) })
			})
		},
	}
}
