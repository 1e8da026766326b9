package main

import (
	"errors"
	"net/netip"
	"strings"

	"github.com/spf13/cobra"

	"github.com/linx-net/linx/internal/cliout"
	"github.com/linx-net/linx/rtnl"
)

func newShowRoutesCmd(o *showOptions) *cobra.Command {
	return &cobra.Command{
		Use:     "routes [SELECTOR…]",
		Aliases: []string{"route"},
		Short:   "Print the routes of every table, IPv4 and IPv6 (or those the selectors pick)",
		Long: `Print the routes of every table, IPv4 and IPv6, or those the selectors
pick, written as ip route show writes them:

  table T         one table: main, local, default, a number; all (or 0)
                  for every table, which is also the default
  proto P         routes of one protocol: a name as ip prints it (kernel,
                  boot, static, bird, …) or a number
  type T          routes of one type: unicast, local, blackhole, …
  dev IF          routes leaving through IF (a bare IFNAME too)
  root P          routes to P or to prefixes within it
  match P         routes to P or to prefixes that contain it
  exact P, or P   the route to exactly P ("default" is 0.0.0.0/0 and ::/0)
  -4, -6          one family

The kernel filters table, protocol, type, interface and family before it
sends anything; the destination is filtered as the dump is read. PROTO
names protocols as ip does ("bird", not 12); JSON has the number as
protocol and the name as protocol_name.`,
		Args: cobra.ArbitraryArgs,
		ValidArgsFunction: completeSelectors(map[string][]string{
			"table": {"all", "main", "local", "default"},
			"proto": {"kernel", "boot", "static", "dhcp", "ra", "bird", "zebra", "bgp", "ospf"},
			"type":  {"unicast", "local", "broadcast", "anycast", "multicast", "blackhole", "unreachable", "prohibit", "throw", "nat"},
			"root":  nil, "match": nil, "exact": nil,
		}),
		RunE: func(cmd *cobra.Command, args []string) error {
			family, err := o.family()
			if err != nil {
				return err
			}
			sel, err := parseRouteSelectors(cmd, args, family)
			if err != nil {
				return err
			}
			return show(o, cmd, func(s *rtnl.Socket, emit func(cliout.RouteView) error) error {
				f := sel.filter
				if sel.dev != "" {
					l, err := s.LinkByName(sel.dev)
					if err != nil {
						return err
					}
					f.OIF = l.Index
				}
				n, err := names(s)
				if err != nil {
					return err
				}
				return s.EachRoute(f, func(r *rtnl.Route) error {
					if sel.defaultOnly && r.Dst.Bits() != 0 {
						return nil
					}
					return emit(cliout.RouteOf(r, n))
				})
			})
		},
	}
}

// routeSelectors are the parsed selectors of `show routes`.
type routeSelectors struct {
	filter rtnl.RouteFilter
	dev    string
	// defaultOnly keeps default routes of both families ("default" with
	// neither -4 nor -6).
	defaultOnly bool
}

// parseRouteSelectors parses the selectors of `show routes` (see its
// help) for family (from -4 and -6). A bad value is a usage error.
func parseRouteSelectors(cmd *cobra.Command, args []string, family rtnl.Family) (routeSelectors, error) {
	sel := routeSelectors{filter: rtnl.RouteFilter{Family: family}}
	f := &sel.filter
	prefix := func(s string) (netip.Prefix, bool, error) {
		if s == "default" {
			switch family {
			case rtnl.FamilyV4:
				return netip.PrefixFrom(netip.IPv4Unspecified(), 0), false, nil
			case rtnl.FamilyV6:
				return netip.PrefixFrom(netip.IPv6Unspecified(), 0), false, nil
			}
			return netip.Prefix{}, true, nil
		}
		if !strings.Contains(s, "/") {
			a, err := netip.ParseAddr(s)
			if err != nil {
				return netip.Prefix{}, false, err
			}
			return netip.PrefixFrom(a, a.BitLen()), false, nil
		}
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, false, err
		}
		return p.Masked(), false, nil
	}
	setDst := func(key, val string) error {
		p, def, err := prefix(val)
		if err != nil {
			return usagef("%s %q: want a prefix, an address or default", key, val)
		}
		if p.IsValid() && family != rtnl.FamilyAll && (family == rtnl.FamilyV4) != p.Addr().Is4() {
			return usagef("%s %s is not of the family -4/-6 selects", key, val)
		}
		switch {
		case def && key == "match":
			// Every route contains 0/0's address only if it is a default
			// route itself; with no family both families' are kept.
			sel.defaultOnly = true
		case def && key == "root":
			// Every route lies within a default prefix.
		case def:
			sel.defaultOnly = true
		case key == "root":
			f.Root = p
		case key == "match":
			f.Match = p
		default:
			f.Root, f.Match = p, p
		}
		return nil
	}
	for i := 0; i < len(args); i++ {
		key := args[i]
		if key == "protocol" {
			key = "proto"
		}
		if key == "oif" {
			key = "dev"
		}
		switch key {
		case "table", "proto", "type", "dev", "root", "match", "exact":
			if i+1 == len(args) {
				return sel, usagef("%s: %s needs a value", cmd.CommandPath(), key)
			}
			i++
			val := args[i]
			var err error
			switch key {
			case "table":
				f.Table, err = cliout.ParseTable(val)
			case "proto":
				f.Protocol, err = cliout.ParseProtocol(val)
			case "type":
				f.Type, err = rtnl.ParseRouteType(val)
			case "dev":
				if sel.dev != "" {
					return sel, usagef("%s: more than one interface: %q and %q", cmd.CommandPath(), sel.dev, val)
				}
				sel.dev = val
			default:
				err = setDst(key, val)
			}
			if err != nil {
				if errors.As(err, new(usageError)) {
					return sel, err
				}
				return sel, usageError{err}
			}
			continue
		}
		// A bare word: a destination (exact, as ip takes it) when it
		// parses as one, else the interface (the older IFNAME argument).
		if _, _, err := prefix(key); err == nil {
			if err := setDst("exact", key); err != nil {
				return sel, err
			}
			continue
		}
		if sel.dev != "" {
			return sel, usagef("%s: %q is not a selector (more than one interface?)", cmd.CommandPath(), key)
		}
		sel.dev = key
	}
	return sel, nil
}
