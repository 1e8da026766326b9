#!/usr/bin/env bash
# demo-fleet.sh — three Linx agents driven from a real etcd.
#
#   scripts/demo-fleet.sh [PATH-TO-linx-node]   (make demo-fleet builds it)
#
# Starts an embedded etcd (linx-test-etcd, on loopback ports, its data in a
# temporary directory), three throwaway namespaces linx-fleet-<random>-N
# and one agent per namespace (fleet nodes n1, n2, n3), writes each node's
# desired scope with `linx-node fleet apply` (printing the changes first),
# shows `linx-node fleet status`, SIGKILLs agent n2 and waits until its
# member key expires, restarts it and shows that it resumed. Every change
# is made inside those namespaces; everything is removed on any exit.
set -euo pipefail

cd "$(dirname "$0")/.."
BIN=${1:-bin/linx-node}

if [[ $(id -u) -ne 0 ]]; then
	echo "demo-fleet: needs root to create network namespaces (try: sudo make demo-fleet)" >&2
	exit 1
fi
if [[ ! -x $BIN ]]; then
	PATH=$PATH:/usr/local/go/bin go build -o "$BIN" ./cmd/linx-node
fi
BIN=$(realpath "$BIN")
TMP=$(mktemp -d /tmp/linx-fleet.XXXXXX)
PATH=$PATH:/usr/local/go/bin go build -o "$TMP/linx-test-etcd" ./fleet/fleettest/linx-test-etcd

TAG="linx-fleet-$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')"
ETCD= AGENTS=()
cleanup() {
	for p in "${AGENTS[@]}" $ETCD; do
		if [[ -n $p ]] && kill -0 "$p" 2>/dev/null; then
			kill -TERM "$p" 2>/dev/null || true
			wait "$p" 2>/dev/null || true
		fi
	done
	for i in 1 2 3; do ip netns del "$TAG-$i" 2>/dev/null || true; done
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

step "an embedded etcd on loopback"
"$TMP/linx-test-etcd" "$TMP/etcd" >"$TMP/etcd.url" 2>"$TMP/etcd.log" &
ETCD=$!
for _ in $(seq 300); do [[ -s $TMP/etcd.url ]] && break; sleep 0.1; done
EP=$(cat "$TMP/etcd.url")
[[ -n $EP ]] || { echo "etcd did not start"; cat "$TMP/etcd.log"; exit 1; }
echo "etcd at $EP"
export LINX_ETCD_ENDPOINTS=$EP

start_agent() { # N
	"$BIN" run --config "$TMP/n$1.yaml" 2>"$TMP/n$1.log" &
	AGENTS[$1]=$!
}
step "three namespaces, three agents (fleet nodes n1, n2, n3)"
for i in 1 2 3; do
	ip netns add "$TAG-$i"
	cat >"$TMP/n$i.yaml" <<-YAML
		state_dir: $TMP/state-n$i
		metrics: {listen: "127.0.0.1:0"}
		api: {socket: off}
		fleet: {endpoints: ["$EP"], node: n$i}
		scopes: []
	YAML
	start_agent "$i"
	cat >"$TMP/fleet-n$i.yaml" <<-YAML
		nodes: [n$i]
		scopes:
		  - name: edge
		    netns: path:/var/run/netns/$TAG-$i
		    desired:
		      links: [{name: lo, up: true}]
		      addresses: [{link: lo, address: 10.77.0.$i/32}]
		      routes: [{dst: 10.78.$i.0/24, type: blackhole}]
	YAML
done
sleep 1

step "fleet apply: the changes first, then one transaction per node"
for i in 1 2 3; do run "$BIN" fleet apply -f "$TMP/fleet-n$i.yaml"; done

converged() { # N
	"$BIN" fleet status -o json | grep -A3 "\"node\": \"n$1\"" | grep -q '"phase": "converged"'
}
for i in 1 2 3; do
	for _ in $(seq 100); do converged "$i" && break; sleep 0.1; done
done
step "fleet status"
run "$BIN" fleet status
run ip -n "$TAG-2" -4 addr show dev lo

step "SIGKILL agent n2; its member key expires with its lease"
kill -KILL "${AGENTS[2]}"; wait "${AGENTS[2]}" 2>/dev/null || true
start=$(date +%s)
for _ in $(seq 200); do
	"$BIN" fleet status -o json | grep -A1 '"node": "n2"' | grep -q '"live": false' && break
	sleep 0.2
done
echo "n2 no longer live after $(($(date +%s) - start)) s"
run "$BIN" fleet status

step "restart agent n2: it resumes its desired scope"
ip -n "$TAG-2" addr del 10.77.0.2/32 dev lo
start_agent 2
for _ in $(seq 100); do converged 2 && ip -n "$TAG-2" -4 addr show dev lo | grep -q 10.77.0.2 && break; sleep 0.1; done
run "$BIN" fleet status
run ip -n "$TAG-2" -4 addr show dev lo

step "fleet get"
run "$BIN" fleet get
