#!/usr/bin/env bash
# hostcheck.sh — prove that a command left the host network namespace as it
# found it.
#
#   scripts/hostcheck.sh snapshot FILE     record the host's state in FILE
#   scripts/hostcheck.sh compare FILE      compare the host's state with FILE
#   scripts/hostcheck.sh wrap CMD [ARG…]   snapshot, run CMD, compare; exits
#                                          with CMD's status, or 1 when CMD
#                                          passed but the host changed
#
# The state is the host's links, addresses, routes (every table, IPv4 and
# IPv6), policy rules and static neighbours, read with `ip -j` and
# normalised: counters, lifetimes, operational states and other fields the
# kernel changes on its own are dropped. Neighbour entries the kernel learns
# by itself (REACHABLE, STALE, … — the gateway's come and go) are compared
# too, but a difference in them is only a warning.
#
# Namespaces named linx-t-* (tests), linx-demo-* or linx-fleet-* (the demos) that did not
# exist at the snapshot and are still there at the comparison fail it. Other
# runs on the same machine may be using theirs at that moment, so the check
# waits up to HOSTCHECK_GRACE seconds (default 20) for them to go.
#
# Needs iproute2 and jq. Reading the host's state needs no privilege.
set -uo pipefail

readonly NS_PATTERN='^linx-(t|demo|fleet)-'

die() { echo "hostcheck: $*" >&2; exit 2; }

for tool in ip jq; do
	command -v "$tool" >/dev/null 2>&1 || die "$tool is not installed (apt-get install iproute2 jq)"
done

# ipj runs `ip -j ARGS…` and prints its JSON array ([] when ip prints none).
ipj() {
	local out
	out=$(ip -j "$@") || die "ip -j $* failed"
	[[ -n "$out" ]] || out='[]'
	printf '%s\n' "$out"
}

# state prints the normalised host state, one sorted JSON object per line
# under a header per kind.
state() {
	echo "# links"
	ipj link show | jq -c -S '.[] | {ifindex, ifname, mtu, master, link, link_type, address, link_netnsid,
		flags: ((.flags // []) - ["LOWER_UP", "NO-CARRIER", "DORMANT", "M-DOWN"] | sort)}
		| with_entries(select(.value != null))' | sort || return 1
	echo "# addresses"
	ipj address show | jq -c -S '.[] | .ifname as $dev | (.addr_info // [])[]
		| {dev: $dev, family, local, prefixlen, address, broadcast, scope, label: .label}
		| with_entries(select(.value != null))' | sort || return 1
	local fam
	for fam in -4 -6; do
		echo "# routes $fam"
		ipj "$fam" route show table all | jq -c -S '.[] | {type, dst, gateway, dev, table, protocol, metric,
			scope, prefsrc, nexthops: (.nexthops // null | if . then map({gateway, dev, weight}) else . end)}
			| with_entries(select(.value != null))' | sort || return 1
		echo "# rules $fam"
		ipj "$fam" rule show | jq -c -S '.[]' | sort || return 1
	done
	echo "# static neighbours"
	ipj neigh show nud all | jq -c -S '.[] | select(any((.state // [])[]; . == "PERMANENT")) | {dst, dev, lladdr}
		| with_entries(select(.value != null))' | sort || return 1
}

# learned prints the neighbour entries the kernel learned, without their
# states.
learned() {
	ipj neigh show nud all | jq -c -S '.[] | select(.lladdr != null)
		| select(any((.state // [])[]; . == "PERMANENT" or . == "NOARP") | not)
		| {dst, dev, lladdr}' | sort || return 1
}

# namespaces prints the names of test and demo namespaces.
namespaces() {
	ip netns list 2>/dev/null | awk '{print $1}' | grep -E "$NS_PATTERN" | sort || true
}

snapshot() {
	local file=$1
	state >"$file" || die "cannot read the host's state"
	learned >"$file.learned" || die "cannot read the host's neighbours"
	namespaces >"$file.netns"
}

compare() {
	local file=$1 now rc=0
	[[ -f "$file" ]] || die "no snapshot at $file (run: $0 snapshot $file)"
	now=$(mktemp -d)
	state >"$now/state" || die "cannot read the host's state"
	learned >"$now/learned" || die "cannot read the host's neighbours"
	if ! diff -u --label "host before" --label "host after" "$file" "$now/state" >"$now/diff"; then
		{
			echo "################################################################"
			echo "# HOST NETWORK NAMESPACE CHANGED — something touched the host."
			echo "# (- before, + after)"
			echo "################################################################"
			cat "$now/diff"
		} >&2
		rc=1
	fi
	if ! diff -u --label "learned before" --label "learned after" "$file.learned" "$now/learned" >"$now/ldiff"; then
		echo "hostcheck: warning: learned neighbour entries changed (the kernel does this on its own):" >&2
		cat "$now/ldiff" >&2
	fi

	# Namespaces made during the run and still present after a grace period.
	local grace=${HOSTCHECK_GRACE:-20} left waited=0
	while :; do
		left=$(comm -13 "$file.netns" <(namespaces))
		[[ -z "$left" || $waited -ge $grace ]] && break
		sleep 1
		waited=$((waited + 1))
	done
	if [[ -n "$left" ]]; then
		{
			echo "################################################################"
			echo "# NAMESPACES LEFT BEHIND (made during the run, still present):"
			printf '#   %s\n' $left
			echo "# remove them with: ip netns del NAME"
			echo "################################################################"
		} >&2
		rc=1
	fi
	local old
	old=$(comm -12 "$file.netns" <(namespaces))
	if [[ -n "$old" ]]; then
		echo "hostcheck: warning: namespaces from an earlier run are still present: $(echo $old)" >&2
	fi
	rm -rf "$now"
	if [[ $rc -eq 0 ]]; then
		echo "hostcheck: host network namespace unchanged; no test or demo namespace left behind"
	fi
	return $rc
}

wrap() {
	local dir rc
	dir=$(mktemp -d)
	snapshot "$dir/before"
	"$@"
	rc=$?
	if ! compare "$dir/before"; then
		[[ $rc -ne 0 ]] || rc=1
	fi
	rm -rf "$dir"
	return $rc
}

case "${1:-}" in
snapshot) [[ $# -eq 2 ]] || die "usage: $0 snapshot FILE"; snapshot "$2" ;;
compare) [[ $# -eq 2 ]] || die "usage: $0 compare FILE"; compare "$2" ;;
wrap) shift; [[ $# -ge 1 ]] || die "usage: $0 wrap CMD [ARG…]"; wrap "$@" ;;
*) die "usage: $0 snapshot FILE | compare FILE | wrap CMD [ARG…]" ;;
esac
