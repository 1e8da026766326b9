package cliout

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/linx-net/linx/rtnl"
)

// protocolNames are the route protocols iproute2 names in its own table
// (lib/rt_names.c) and in the /etc/iproute2/rt_protos it ships, so that a
// route of BIRD prints "bird", as `ip route` prints it, on any host.
var protocolNames = [256]string{
	0: "unspec", 1: "redirect", 2: "kernel", 3: "boot", 4: "static",
	8: "gated", 9: "ra", 10: "mrt", 11: "zebra", 12: "bird", 13: "dnrouted",
	14: "xorp", 15: "ntk", 16: "dhcp", 17: "mrouted", 18: "keepalived",
	42: "babel", 99: "openr", 186: "bgp", 187: "isis", 188: "ospf",
	189: "rip", 192: "eigrp",
}

// ProtocolName returns the name `ip route` prints for protocol p ("bird"
// for 12), or p in decimal for a number iproute2 does not name.
func ProtocolName(p rtnl.Protocol) string {
	if n := protocolNames[p]; n != "" {
		return n
	}
	return strconv.Itoa(int(p))
}

// ParseProtocol parses a protocol as `ip route … proto P` does: a name
// ProtocolName returns, or a number from 0 to 255. Anything else returns
// an error quoting s.
func ParseProtocol(s string) (rtnl.Protocol, error) {
	for i, n := range protocolNames {
		if n != "" && n == s {
			return rtnl.Protocol(i), nil
		}
	}
	n, err := strconv.ParseUint(s, 0, 8)
	if err != nil {
		return 0, fmt.Errorf("protocol %q: want a name such as static or bird, or a number from 0 to 255", s)
	}
	return rtnl.Protocol(n), nil
}

// ParseTable parses a routing table as `ip route … table T` does: "main",
// "local", "default", "all" (0: every table) or a number. Anything else
// returns an error quoting s.
func ParseTable(s string) (uint32, error) {
	switch s {
	case "all":
		return 0, nil
	case "main":
		return rtnl.TableMain, nil
	case "local":
		return rtnl.TableLocal, nil
	case "default":
		return rtnl.TableDefault, nil
	}
	n, err := strconv.ParseUint(s, 0, 32)
	if err != nil {
		return 0, fmt.Errorf("table %q: want main, local, default, all or a number", s)
	}
	return uint32(n), nil
}

// addressFlagNames are the IFA_F_* flags by bit, named as `ip address`
// prints them; bit 0 is "secondary" for IPv4 and "temporary" for IPv6.
var addressFlagNames = [...]string{
	"secondary", "nodad", "optimistic", "dadfailed", "home", "deprecated",
	"tentative", "permanent", "mngtmpaddr", "noprefixroute", "autojoin",
	"stable-privacy",
}

// AddressFlagNames returns the names of the IFA_F_* flags set in flags,
// lowest bit first, as `ip address` prints them ("permanent", "nodad",
// "noprefixroute"…); IFA_F_SECONDARY is "temporary" for an IPv6 address.
// A bit iproute2 does not name prints as its hexadecimal value. It
// returns an empty, non-nil list for no flags.
func AddressFlagNames(flags uint32, family rtnl.Family) []string {
	out := []string{}
	for bit := range 32 {
		if flags&(1<<bit) == 0 {
			continue
		}
		switch {
		case bit == 0 && family == rtnl.FamilyV6:
			out = append(out, "temporary")
		case bit < len(addressFlagNames):
			out = append(out, addressFlagNames[bit])
		default:
			out = append(out, fmt.Sprintf("%#x", uint32(1)<<bit))
		}
	}
	return out
}

// joinOr returns the names joined by commas, "" for none.
func joinOr(names []string) string { return strings.Join(names, ",") }
