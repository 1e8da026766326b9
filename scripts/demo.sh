#!/usr/bin/env bash
# demo.sh — show Linx reading a network namespace.
#
#   scripts/demo.sh [PATH-TO-linx-node]     (make demo builds it first)
#
# Creates a throwaway namespace linx-demo-<random>, fills it with iproute2
# (a veth pair, a bridge, IPv4 and IPv6 addresses, routes in the main table
# and in table 100, a static neighbour and a policy rule), prints it through
# `linx-node show`, and removes it on any exit. Every change is made inside
# that namespace (ip -n); the host namespace is only ever read.
set -euo pipefail

cd "$(dirname "$0")/.."
BIN=${1:-bin/linx-node}

if [[ $(id -u) -ne 0 ]]; then
	echo "demo: needs root to create a network namespace (try: sudo make demo)" >&2
	exit 1
fi
command -v ip >/dev/null || { echo "demo: iproute2's ip is not installed" >&2; exit 1; }
if [[ ! -x $BIN ]]; then
	echo "demo: building $BIN"
	PATH=$PATH:/usr/local/go/bin go build -o "$BIN" ./cmd/linx-node
fi

NS="linx-demo-$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')"
cleanup() { ip netns del "$NS" 2>/dev/null || true; }
trap cleanup EXIT
trap 'exit 130' INT TERM

if [[ -t 1 ]]; then bold=$'\033[1m' plain=$'\033[0m'; else bold='' plain=''; fi
step() { printf '\n%s== %s%s\n' "$bold" "$*" "$plain"; }
run() {
	printf '$ %s\n' "$*"
	"$@"
}

step "A throwaway namespace: $NS"
ip netns add "$NS"
ip -n "$NS" -batch - <<'EOF'
link set lo up
link add veth-a type veth peer name veth-b
link add br-demo type bridge
link set veth-b master br-demo
link set veth-a up
link set veth-b up
link set br-demo up
address add 10.77.0.1/24 dev veth-a
address add fd00:77::1/64 dev veth-a nodad
address add 10.88.0.1/24 dev br-demo
route add 10.99.0.0/24 via 10.77.0.254 dev veth-a metric 20 proto static
route add default via 10.77.0.254 dev veth-a table 100
neigh add 10.77.0.254 lladdr 02:00:00:00:77:fe dev veth-a nud permanent
rule add from 10.88.0.0/24 table 100 priority 100
EOF
ip -n "$NS" -6 route add fd00:99::/64 via fd00:77::fe dev veth-a
echo "made with ip -n $NS: veth-a/veth-b, bridge br-demo, addresses, routes, a neighbour and a rule"

NETNS="--netns path:/var/run/netns/$NS"
step "Links";            run "$BIN" show links $NETNS
step "Addresses";        run "$BIN" show addresses $NETNS
step "Routes";           run "$BIN" show routes $NETNS
step "Neighbours";       run "$BIN" show neighbours $NETNS
step "Policy rules";     run "$BIN" show rules $NETNS
step "Link statistics";  run "$BIN" show stats $NETNS
step "One interface, as JSON"
run "$BIN" show addresses veth-a $NETNS -o json
step "The kernel's errors come through as they are"
run "$BIN" show links nope0 $NETNS || echo "(exit status $?)"

step "Removing $NS"
cleanup
trap - EXIT
echo "demo: done; the namespace is gone"
