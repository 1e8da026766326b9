#!/usr/bin/env bash
# demo.sh — run the Linx node agent for real on a throwaway namespace.
#
#   scripts/demo.sh [PATH-TO-linx-node]     (make demo builds it first)
#
# Creates a namespace linx-demo-<random> holding a veth pair of its own,
# writes a configuration for it from config/examples/linx.yaml (state and
# the message API's local socket in a temporary directory, metrics on a
# free loopback port), starts `linx-node run`, waits until it is ready, shows what it
# converged, deletes an address by hand and measures how fast the agent
# puts it back, shows `linx-node status` through the socket (and that an
# unprivileged user is refused), and the metrics, then stops the
# agent with SIGTERM (which deletes nothing) and removes the namespace.
# Every change is made inside that namespace; the host namespace is only
# ever read. Everything is removed on any exit.
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
BIN=$(realpath "$BIN")

NS="linx-demo-$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')"
TMP=$(mktemp -d /tmp/linx-demo.XXXXXX)
AGENT=
cleanup() {
	if [[ -n $AGENT ]] && kill -0 "$AGENT" 2>/dev/null; then
		kill -TERM "$AGENT" 2>/dev/null || true
		wait "$AGENT" 2>/dev/null || true
	fi
	ip netns del "$NS" 2>/dev/null || true
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [[ -t 1 ]]; then bold=$'\033[1m' plain=$'\033[0m'; else bold='' plain=''; fi
step() { printf '\n%s== %s%s\n' "$bold" "$*" "$plain"; }
run() {
	printf '$ %s\n' "$*"
	"$@"
}
now_ms() { echo $(($(date +%s%N) / 1000000)); }

# http_get HOST:PORT PATH sets HTTP_CODE and HTTP_BODY (bash's /dev/tcp:
# no curl needed).
http_get() {
	local host=${1%:*} port=${1##*:} reply first
	exec 3<>"/dev/tcp/$host/$port"
	printf 'GET %s HTTP/1.0\r\nHost: %s\r\n\r\n' "$2" "$1" >&3
	reply=$(cat <&3)
	exec 3<&-
	first=${reply%%$'\n'*}
	HTTP_CODE=${first#* }
	HTTP_CODE=${HTTP_CODE%% *}
	HTTP_BODY=${reply#*$'\r\n\r\n'}
}

# log_field MSG FIELD prints FIELD of the agent's first JSON log record MSG.
log_field() {
	{ grep -m1 "\"msg\":\"$1\"" "$TMP/agent.log" 2>/dev/null || true; } | sed -n "s/.*\"$2\":\"\([^\"]*\)\".*/\1/p"
}

step "A throwaway namespace: $NS"
ip netns add "$NS"
ip -n "$NS" -batch - <<'EOF2'
link set lo up
link add up0 type veth peer name up1
link set up0 up
link set up1 up
address add 192.0.2.1/24 dev up0
EOF2
echo "made with ip -n $NS: lo up, a veth pair up0/up1 with 192.0.2.1/24 (not the agent's: it must stay as it is)"

step "The configuration: config/examples/linx.yaml, pointed at $NS"
sed -e "s|^state_dir:.*|state_dir: $TMP/state|" \
	-e "s|path:/var/run/netns/demo|path:/var/run/netns/$NS|" \
	-e "s|socket: /run/linx/linx.sock|socket: $TMP/run/linx.sock|" \
	-e "s|listen: 127.0.0.1:9476|listen: 127.0.0.1:0|" \
	-e "s|interval: 30s|interval: 1h|" \
	config/examples/linx.yaml >"$TMP/linx.yaml"
sed -n '/^scopes:/,$p' "$TMP/linx.yaml"
echo "(interval 1h: any repair below comes from the kernel's events, not from the timer)"

step "Start the agent"
printf '$ %s run --config %s 2>%s &\n' "$BIN" "$TMP/linx.yaml" "$TMP/agent.log"
started=$(now_ms)
"$BIN" run --config "$TMP/linx.yaml" 2>"$TMP/agent.log" &
AGENT=$!
METRICS= SOCKET=
for _ in $(seq 500); do
	METRICS=$(log_field "serving metrics and health" addr)
	SOCKET=$(log_field "message API listening on the local socket" socket)
	[[ -n $METRICS && -n $SOCKET ]] && break
	kill -0 "$AGENT" 2>/dev/null || { cat "$TMP/agent.log" >&2; echo "demo: the agent exited" >&2; exit 1; }
	sleep 0.01
done
[[ -n $METRICS ]] || { cat "$TMP/agent.log" >&2; echo "demo: the agent does not serve metrics" >&2; exit 1; }
[[ -n $SOCKET ]] || { cat "$TMP/agent.log" >&2; echo "demo: the agent does not serve its socket" >&2; exit 1; }
echo "agent pid $AGENT; metrics and health on http://$METRICS; message API on the local socket $SOCKET"

step "Wait for /readyz"
for _ in $(seq 1000); do
	http_get "$METRICS" /readyz
	[[ $HTTP_CODE == 200 ]] && break
	sleep 0.01
done
[[ $HTTP_CODE == 200 ]] || { echo "$HTTP_BODY"; cat "$TMP/agent.log" >&2; exit 1; }
echo "ready: every scope converged, $(($(now_ms) - started)) ms after the start"

NETNS="--netns path:/var/run/netns/$NS"
step "What the agent converged"
run "$BIN" show links $NETNS
run "$BIN" show addresses $NETNS
run "$BIN" show routes $NETNS

step "Delete an address by hand; the agent puts it back"
run ip -n "$NS" addr del 10.0.42.1/24 dev br0
t0=$(now_ms)
until ip -n "$NS" -o addr show dev br0 | grep -q ' 10.0.42.1/24 '; do
	if (($(now_ms) - t0 > 10000)); then
		echo "demo: the address did not come back within 10 s" >&2
		exit 1
	fi
	sleep 0.001
done
echo "restored after $(($(now_ms) - t0)) ms (measured by polling ip every millisecond)"
run "$BIN" show addresses br0 $NETNS

step "The agent's status, through the message API's local socket"
run "$BIN" status --socket "$SOCKET" || echo "(exit status $?)"
if command -v setpriv >/dev/null; then
	echo "an unprivileged user (nobody) asking for a route in the host namespace:"
	chmod 0755 "$TMP"
	cat >"$TMP/evil.yaml" <<'EOF2'
name: evil
namespace: {host: true}
desired:
  routes: [{dst: 198.51.100.0/24, type: blackhole}]
EOF2
	chmod 0644 "$TMP/evil.yaml"
	install -m 0755 "$BIN" "$TMP/linx-node"
	run setpriv --reuid=65534 --regid=65534 --clear-groups "$TMP/linx-node" scope spawn -f "$TMP/evil.yaml" --socket "$SOCKET" &&
		{ echo "demo: nobody was let in" >&2; exit 1; } || echo "(refused, exit status $?: the socket admits root and api.group only)"
fi

step "Metrics (an excerpt of http://$METRICS/metrics)"
http_get "$METRICS" /metrics
grep -E '^linx_(scope_converged|passes_total|ops_total|pass_errors_total|resyncs_total|scope_restarts_total|api_requests_total)' <<<"$HTTP_BODY" || true

step "Stop the agent (SIGTERM): the scope stops, nothing is deleted"
run kill -TERM "$AGENT"
wait "$AGENT" && echo "agent exited with status 0"
AGENT=
run "$BIN" show addresses $NETNS
echo "(what the agent created is still there; its ledger in $TMP/state says it owns it)"

step "Removing $NS"
cleanup
trap - EXIT
echo "demo: done; the namespace and the temporary directory are gone"
