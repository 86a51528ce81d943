#!/usr/bin/env bash
# The single-node lab: a namespace that plays the node's host and an "outside" client namespace,
# joined by a veth on the lab underlay (198.18.0.0/15). The machine's root namespace is never
# touched. Usage: netns-scripts/lab.sh up|down
set -euo pipefail

NODE_NS=shunt-lab-node
OUT_NS=shunt-lab-out
NODE_IP=198.18.0.1
OUT_IP=198.18.0.2
# Pods the agent makes are named shunt-NODE-POD; the smoke test uses node "n1".
POD_PREFIX=shunt-n1-

up() {
    down
    ip netns add "$NODE_NS"
    ip netns add "$OUT_NS"
    ip -n "$NODE_NS" link set lo up
    ip -n "$OUT_NS" link set lo up
    ip -n "$NODE_NS" link add shunt-lab-up0 type veth peer name shunt-lab-up1 netns "$OUT_NS"
    ip -n "$NODE_NS" addr add "$NODE_IP/24" dev shunt-lab-up0
    ip -n "$OUT_NS" addr add "$OUT_IP/24" dev shunt-lab-up1
    ip -n "$NODE_NS" link set shunt-lab-up0 up
    ip -n "$OUT_NS" link set shunt-lab-up1 up
    echo "lab up: node $NODE_NS ($NODE_IP), outside $OUT_NS ($OUT_IP)"
}

down() {
    for ns in $(ip netns list | awk '{print $1}'); do
        case "$ns" in
            "$NODE_NS"|"$OUT_NS"|"$POD_PREFIX"*) ip netns del "$ns" 2>/dev/null || true ;;
        esac
    done
}

case "${1:-}" in
    up) up ;;
    down) down; echo "lab down" ;;
    *) echo "usage: $0 up|down" >&2; exit 2 ;;
esac
