package main

import (
	"github.com/spf13/cobra"

	"github.com/linx-net/linx/internal/cliout"
	"github.com/linx-net/linx/rtnl"
)

// showObjects lists what `show` can print, for messages.
const showObjects = "links, addresses, routes, neighbours, rules or stats"

// showOptions are the flags every `show` subcommand shares.
type showOptions struct {
	netns  string
	output string
}

func newShowCmd() *cobra.Command {
	o := &showOptions{}
	cmd := &cobra.Command{
		Use:   "show OBJECT [IFNAME]",
		Short: "Print the network state of a namespace",
		Long: `Print the links, addresses, routes, neighbours, policy rules or link
statistics of a network namespace, as a table (-o table, the default) or as
a JSON array of objects (-o json).`,
		Example: `  linx-node show links
  linx-node show addresses eth0 -o json
  linx-node show routes --netns path:/var/run/netns/blue
  linx-node show stats --netns pid:4242`,
		RunE: func(_ *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usagef("missing what to show: %s", showObjects)
			}
			return usagef("unknown object %q: want %s", args[0], showObjects)
		},
	}
	f := cmd.PersistentFlags()
	f.StringVar(&o.netns, "netns", "host", "namespace to read: host, pid:N or path:P")
	f.StringVarP(&o.output, "output", "o", "table", "output format: table or json")
	cmd.AddCommand(
		newShowLinksCmd(o),
		newShowAddressesCmd(o),
		newShowRoutesCmd(o),
		newShowNeighboursCmd(o),
		newShowRulesCmd(o),
		newShowStatsCmd(o),
	)
	return cmd
}

// open validates the shared flags and opens a socket in the namespace they
// name. Bad flag values are usage errors; a namespace that cannot be
// entered is a runtime error.
func (o *showOptions) open() (*rtnl.Socket, cliout.Format, error) {
	format, err := cliout.ParseFormat(o.output)
	if err != nil {
		return nil, 0, usageError{err}
	}
	ns, err := rtnl.ParseNamespace(o.netns)
	if err != nil {
		return nil, 0, usageError{err}
	}
	s, err := rtnl.Open(ns)
	if err != nil {
		return nil, 0, failed(err)
	}
	return s, format, nil
}

// show is the body of every `show` subcommand: it opens the namespace the
// flags name, reads the rows with read, and writes them to cmd's output in
// the format the flags name. It returns open's errors, and read's or the
// write's error as a runtime error.
func show[R cliout.Row](o *showOptions, cmd *cobra.Command, read func(*rtnl.Socket) ([]R, error)) error {
	s, format, err := o.open()
	if err != nil {
		return err
	}
	defer s.Close()
	rows, err := read(s)
	if err != nil {
		return failed(err)
	}
	return failed(cliout.Write(cmd.OutOrStdout(), format, rows))
}

// names returns the namespace's interface names by index, or the error of
// listing its links.
func names(s *rtnl.Socket) (cliout.Names, error) {
	links, err := s.Links()
	if err != nil {
		return nil, err
	}
	return cliout.NamesOf(links), nil
}

// maxOneIfname accepts an optional IFNAME argument.
func maxOneIfname(cmd *cobra.Command, args []string) error {
	if len(args) > 1 {
		return usagef("%s takes at most one interface name, got %q", cmd.CommandPath(), args)
	}
	return nil
}

// ifname returns the optional IFNAME argument, "" when absent.
func ifname(args []string) string {
	if len(args) == 0 {
		return ""
	}
	return args[0]
}
