package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/linx-net/linx/internal/cliout"
	"github.com/linx-net/linx/rtnl"
)

// showObjects lists what `show` can print, for messages.
const showObjects = "links, addresses, routes, neighbours, rules, stats or nexthops"

// netnsDir is where `ip netns add NAME` mounts its namespaces.
const netnsDir = "/var/run/netns"

// showOptions are the flags every `show` subcommand shares.
type showOptions struct {
	netns  string
	output string
	v4, v6 bool
}

func newShowCmd() *cobra.Command {
	o := &showOptions{}
	cmd := &cobra.Command{
		Use:   "show OBJECT [SELECTOR…]",
		Short: "Print the network state of a namespace",
		Long: `Print the links, addresses, routes, neighbours, policy rules, link
statistics or nexthop objects of a network namespace, as a table (-o table, the default), a
JSON array of objects (-o json) or a YAML sequence (-o yaml).

OBJECT may be shortened as ip shortens it: a (addresses), r or ro
(routes), ru (rules), n (neighbours), l (links), s (stats), nex
(nexthops). Selectors
follow ip's: see each object's help.

Output is written as the kernel's dump arrives, in memory bounded
whatever the table's size. A table sizes its columns from its first
1000 rows; a wider cell after them pushes the rest of its own line
right. JSON is one array with one object per line. Output that the
reader stops reading (… | head) ends the command quietly, with status 0.`,
		Example: `  linx-node show links
  linx-node show a eth0 -o json
  linx-node show routes table 100 proto bird -4
  linx-node show r root 10.0.0.0/8 -n blue
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
	addNetnsFlag(f, &o.netns, "namespace to read")
	f.StringVarP(&o.output, "output", "o", "table", "output format: table, json or yaml")
	f.BoolVarP(&o.v4, "ipv4", "4", false, "IPv4 only (addresses, routes, neighbours, rules)")
	f.BoolVarP(&o.v6, "ipv6", "6", false, "IPv6 only (addresses, routes, neighbours, rules)")
	_ = cmd.RegisterFlagCompletionFunc("output", completeOutput)
	_ = cmd.RegisterFlagCompletionFunc("netns", completeNetns)
	cmd.AddCommand(
		newShowLinksCmd(o),
		newShowAddressesCmd(o),
		newShowRoutesCmd(o),
		newShowNeighboursCmd(o),
		newShowRulesCmd(o),
		newShowStatsCmd(o),
		newShowNexthopsCmd(o),
	)
	return cmd
}

// addNetnsFlag declares --netns (-n) on f, with its shell completion.
func addNetnsFlag(f *pflag.FlagSet, v *string, what string) {
	f.StringVarP(v, "netns", "n", "host", what+": host, pid:N, path:P or an ip netns NAME")
}

// parseNetns parses a --netns value: host, pid:N, path:P, or the name of a
// namespace `ip netns` made (a file in /var/run/netns). A name that is
// not there is a usage error quoting it.
func parseNetns(s string) (rtnl.Namespace, error) {
	ns, err := rtnl.ParseNamespace(s)
	if err == nil {
		return ns, nil
	}
	if s == "." || s == ".." || strings.ContainsAny(s, "/:") {
		return rtnl.Namespace{}, usageError{err}
	}
	p := filepath.Join(netnsDir, s)
	if _, statErr := os.Stat(p); statErr != nil {
		return rtnl.Namespace{}, usagef("namespace %q: not host, pid:N or path:P, and no ip netns of that name (%v)", s, statErr)
	}
	return rtnl.NamespaceAt(p), nil
}

// family returns the family the -4 and -6 flags select.
func (o *showOptions) family() (rtnl.Family, error) {
	switch {
	case o.v4 && o.v6:
		return 0, usagef("-4 and -6 exclude each other")
	case o.v4:
		return rtnl.FamilyV4, nil
	case o.v6:
		return rtnl.FamilyV6, nil
	}
	return rtnl.FamilyAll, nil
}

// open validates the shared flags and opens a socket in the namespace they
// name. Bad flag values are usage errors; a namespace that cannot be
// entered is a runtime error.
func (o *showOptions) open() (*rtnl.Socket, cliout.Format, error) {
	format, err := cliout.ParseFormat(o.output)
	if err != nil {
		return nil, 0, usageError{err}
	}
	ns, err := parseNetns(o.netns)
	if err != nil {
		return nil, 0, err
	}
	s, err := rtnl.Open(ns)
	if err != nil {
		return nil, 0, failed(err)
	}
	return s, format, nil
}

// show is the body of every `show` subcommand: it opens the namespace the
// flags name and streams the rows each emits to cmd's output in the
// format the flags name, as they come. It returns open's errors, and
// each's error (which may be a usage error) or the write's error as a
// runtime error. A failure before the first row prints nothing; after a
// failure in the middle of the listing the output is still ended (a JSON
// array closed), so that what was printed parses.
func show[R cliout.Row](o *showOptions, cmd *cobra.Command, each func(s *rtnl.Socket, emit func(R) error) error) error {
	s, format, err := o.open()
	if err != nil {
		return err
	}
	defer s.Close()
	out := cliout.NewStream[R](cmd.OutOrStdout(), format)
	var writeErr error
	err = each(s, func(r R) error {
		writeErr = out.Write(r)
		return writeErr
	})
	var usage usageError
	switch {
	case writeErr != nil:
		return failed(writeErr)
	case err != nil && errors.As(err, &usage):
		return err
	case err != nil && out.Rows() == 0:
		// Nothing printed (an unknown interface, say): print nothing.
		return failed(err)
	}
	closeErr := out.Close()
	if err != nil {
		return failed(err)
	}
	return failed(closeErr)
}

// names returns the namespace's interface names by index, or the error of
// listing its links.
func names(s *rtnl.Socket) (cliout.Names, error) {
	n := cliout.Names{}
	err := s.EachLink(false, func(l *rtnl.Link, _ *rtnl.LinkStats64) error {
		n[l.Index] = l.Name
		return nil
	})
	if err != nil {
		return nil, err
	}
	return n, nil
}

// devSelector parses `[dev] IFNAME` (as ip's `dev IF`, the keyword
// optional) and the extra selectors of a view: extra is called with each
// other keyword and its value, and returns false for an unknown keyword.
// It returns the interface name, "" for none.
func devSelector(cmd *cobra.Command, args []string, extra func(key, val string) (bool, error)) (string, error) {
	dev := ""
	for i := 0; i < len(args); i++ {
		key := args[i]
		val := ""
		if i+1 < len(args) {
			val = args[i+1]
		}
		switch {
		case key == "dev":
			if val == "" {
				return "", usagef("%s: dev needs an interface name", cmd.CommandPath())
			}
			if dev != "" {
				return "", usagef("%s: more than one interface: %q and %q", cmd.CommandPath(), dev, val)
			}
			dev = val
			i++
			continue
		case extra != nil:
			ok, err := extra(key, val)
			if err != nil {
				return "", err
			}
			if ok {
				i++
				continue
			}
		}
		if dev != "" {
			return "", usagef("%s takes at most one interface name, got %q", cmd.CommandPath(), args)
		}
		dev = key
	}
	return dev, nil
}

// showViews are the objects of `show` in ip's order of precedence
// (ip.c's command table: address, route, rule, neigh, link, then stats),
// with the names each may be shortened from.
var showViews = [...]struct {
	name  string
	longs []string
}{
	{"addresses", []string{"addresses"}},
	{"routes", []string{"routes"}},
	{"rules", []string{"rules"}},
	{"neighbours", []string{"neighbours", "neighbors"}},
	{"links", []string{"links"}},
	{"stats", []string{"statistics"}},
	{"nexthops", []string{"nexthops"}},
}

// expandShowObject returns args with the OBJECT of `show` written out when
// it is a prefix of an object's name, as ip matches its objects: the first
// object in ip's order whose name starts with the word wins, so "r" is
// routes, "ru" rules, "n" neighbours. Other arguments are returned as
// they are.
func expandShowObject(args []string) []string {
	i := nextWord(args, 0)
	if i < 0 || args[i] != "show" {
		return args
	}
	j := nextWord(args, i+1)
	if j < 0 {
		return args
	}
	if name := expandPrefix(args[j]); name != "" && name != args[j] {
		out := append([]string(nil), args...)
		out[j] = name
		return out
	}
	return args
}

// expandPrefix returns the show object word is a prefix of, "" for none.
func expandPrefix(word string) string {
	if word == "" {
		return ""
	}
	for _, v := range showViews {
		for _, l := range v.longs {
			if strings.HasPrefix(l, word) {
				return v.name
			}
		}
	}
	return ""
}

// nextWord returns the index of the first argument at or after i that is
// neither a flag nor a flag's value, -1 for none.
func nextWord(args []string, i int) int {
	for ; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			return -1
		case a == "-n" || a == "--netns" || a == "-o" || a == "--output" || a == "-c" || a == "--config":
			i++
		case strings.HasPrefix(a, "-"):
		default:
			return i
		}
	}
	return -1
}

// completeOutput completes -o.
func completeOutput(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	return cliout.FormatNames(), cobra.ShellCompDirectiveNoFileComp
}

// completeNetns completes --netns: host, pid:, path: and the names of
// /var/run/netns.
func completeNetns(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	out := []string{"host", "pid:", "path:"}
	if ents, err := os.ReadDir(netnsDir); err == nil {
		for _, e := range ents {
			out = append(out, e.Name())
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveNoSpace
}

// completeIfnames returns the interface names of the namespace the
// command's --netns names, for shell completion; none when it cannot be
// read.
func completeIfnames(cmd *cobra.Command) []string {
	v, _ := cmd.Flags().GetString("netns")
	ns, err := parseNetns(v)
	if err != nil {
		return nil
	}
	s, err := rtnl.Open(ns)
	if err != nil {
		return nil
	}
	defer s.Close()
	var out []string
	_ = s.EachLink(false, func(l *rtnl.Link, _ *rtnl.LinkStats64) error {
		out = append(out, l.Name)
		return nil
	})
	return out
}

// completeSelectors completes a view's arguments: interface names (after
// dev, or bare) and, after one of values' keys, that key's values; the
// keys themselves otherwise.
func completeSelectors(values map[string][]string) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
		if n := len(args); n > 0 {
			if args[n-1] == "dev" {
				return completeIfnames(cmd), cobra.ShellCompDirectiveNoFileComp
			}
			if v, ok := values[args[n-1]]; ok {
				return v, cobra.ShellCompDirectiveNoFileComp
			}
		}
		out := completeIfnames(cmd)
		for k := range values {
			out = append(out, k)
		}
		if values != nil {
			out = append(out, "dev")
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}
