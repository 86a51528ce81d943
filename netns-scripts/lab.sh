#!/usr/bin/env bash
# The labs. Nothing here touches the machine's root namespace; all addresses are in the lab
# underlay range 198.18.0.0/15.
#
#   lab.sh up | down                 the single-node lab: a namespace that plays the node's host
#                                    and an "outside" client namespace, joined by a veth
#   lab.sh up --nodes N              the cluster lab: N node namespaces shunt-lab-node1..N at
#                                    198.18.1.1..N on a bridge in its own namespace (shunt-lab-ul,
#                                    198.18.1.254, which also plays "outside"), and etcd on
#                                    198.18.1.254:2379 in that namespace, its data in a temporary
#                                    directory
#   lab.sh add-node K                one more node namespace on the running cluster lab
#   lab.sh del-node K                removes node K's namespace (and its pods' namespaces)
#   lab.sh etcd kill                 SIGKILLs the cluster lab's etcd, keeping its data
#   lab.sh etcd start                starts it again on the same data (after etcd kill)
#   lab.sh down                      removes whichever lab is up, etcd and its data included
set -euo pipefail

# Not while a lab script (smoke, demo, measure-*) runs: it holds this lock for its lab's lifetime,
# and lab.sh down would tear its lab away. Scripts holding it call lab.sh with SHUNT_LAB_LOCKED set.
if [ -z "${SHUNT_LAB_LOCKED:-}" ]; then
    exec 9>/run/lock/shunt-lab.lock
    flock -w 900 9 || { echo "lab.sh: another Shunt lab script holds the lab" >&2; exit 1; }
fi

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

# ---------------------------------------------------------------- the cluster lab
UL_NS=shunt-lab-ul
UL_BRIDGE=shunt-ul0
UL_NET=198.18.1
ETCD_IP=$UL_NET.254
RUN=/run/shunt-lab   # etcd's pid and data directory, so that down finds them

node_ns() { echo "shunt-lab-node$1"; }

add_node() {
    local k=$1 ns
    ns=$(node_ns "$k")
    case "$k" in ''|*[!0-9]*) echo "node number must be 1-253, not '$k'" >&2; exit 2 ;; esac
    [ "$k" -ge 1 ] && [ "$k" -le 253 ] || { echo "node number must be 1-253, not $k" >&2; exit 2; }
    ip netns list | grep -q "^$UL_NS\b" || { echo "the cluster lab is not up" >&2; exit 1; }
    ip netns add "$ns"
    ip -n "$ns" link set lo up
    ip -n "$UL_NS" link add "shunt-ul-n$k" type veth peer name shunt-ul netns "$ns"
    ip -n "$UL_NS" link set "shunt-ul-n$k" master "$UL_BRIDGE" up
    ip -n "$ns" addr add "$UL_NET.$k/24" dev shunt-ul
    ip -n "$ns" link set shunt-ul up
    echo "node $k: $ns, underlay $UL_NET.$k"
}

del_node() {
    local k=$1 ns
    ns=$(node_ns "$k")
    for pod in $(ip netns list | awk '{print $1}' | grep "^shunt-node$k-" || true); do
        ip netns del "$pod" 2>/dev/null || true
    done
    ip netns del "$ns" 2>/dev/null || true
}

cluster_up() {
    local n=$1 k
    case "$n" in ''|*[!0-9]*) echo "--nodes needs a number, not '$n'" >&2; exit 2 ;; esac
    [ "$n" -ge 1 ] && [ "$n" -le 253 ] || { echo "--nodes must be 1-253, not $n" >&2; exit 2; }
    command -v etcd >/dev/null || { echo "etcd is not installed (Debian: apt-get install etcd-server etcd-client)" >&2; exit 1; }
    down
    ip netns add "$UL_NS"
    ip -n "$UL_NS" link set lo up
    ip -n "$UL_NS" link add "$UL_BRIDGE" type bridge
    ip -n "$UL_NS" addr add "$ETCD_IP/24" dev "$UL_BRIDGE"
    ip -n "$UL_NS" link set "$UL_BRIDGE" up
    for k in $(seq 1 "$n"); do
        add_node "$k"
    done
    mkdir -p "$RUN"
    local data
    data=$(mktemp -d /tmp/shunt-lab-etcd.XXXXXX)
    echo "$data" > "$RUN/etcd.data"
    start_etcd
    echo "lab up: $n nodes on $UL_NET.0/24, etcd on http://$ETCD_IP:2379 (data $data)"
}

# etcd in the underlay namespace on the data directory the lab recorded (a new one from
# cluster_up, or the same one again after etcd kill); returns once it answers.
start_etcd() {
    local data
    [ -f "$RUN/etcd.data" ] || { echo "the cluster lab is not up (no etcd data directory)" >&2; exit 1; }
    data=$(cat "$RUN/etcd.data")
    if [ -f "$RUN/etcd.pid" ] && kill -0 "$(cat "$RUN/etcd.pid")" 2>/dev/null; then
        echo "etcd already runs (pid $(cat "$RUN/etcd.pid"))" >&2; exit 1
    fi
    ip netns exec "$UL_NS" setsid etcd --name shunt-lab --data-dir "$data" \
        --listen-client-urls "http://$ETCD_IP:2379" --advertise-client-urls "http://$ETCD_IP:2379" \
        --listen-peer-urls "http://127.0.0.1:2380" --initial-advertise-peer-urls "http://127.0.0.1:2380" \
        --initial-cluster "shunt-lab=http://127.0.0.1:2380" >>"$data.log" 2>&1 9>&- &
    echo $! > "$RUN/etcd.pid"
    for _ in $(seq 1 100); do
        if ip netns exec "$UL_NS" etcdctl --endpoints "http://$ETCD_IP:2379" endpoint health >/dev/null 2>&1; then
            return
        fi
        sleep 0.1
    done
    echo "etcd did not come up; its log:" >&2
    cat "$data.log" >&2
    exit 1
}

# SIGKILL, as a crash would: the data directory stays for start_etcd.
kill_etcd() {
    [ -f "$RUN/etcd.pid" ] || { echo "no lab etcd runs" >&2; exit 1; }
    local pid
    pid=$(cat "$RUN/etcd.pid")
    kill -9 "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    rm -f "$RUN/etcd.pid"
}

stop_etcd() {
    if [ -f "$RUN/etcd.pid" ]; then
        local pid
        pid=$(cat "$RUN/etcd.pid")
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null || true
        rm -f "$RUN/etcd.pid"
    fi
    if [ -f "$RUN/etcd.data" ]; then
        local data
        data=$(cat "$RUN/etcd.data")
        case "$data" in /tmp/shunt-lab-etcd.*) rm -rf "$data" "$data.log" ;; esac
        rm -f "$RUN/etcd.data"
    fi
}

down() {
    stop_etcd
    for ns in $(ip netns list | awk '{print $1}'); do
        case "$ns" in
            "$NODE_NS"|"$OUT_NS"|"$POD_PREFIX"*|shunt-lab-node*|shunt-node[0-9]*-*|"$UL_NS") ip netns del "$ns" 2>/dev/null || true ;;
        esac
    done
}

case "${1:-}" in
    up)
        if [ "${2:-}" = "--nodes" ]; then
            cluster_up "${3:-}"
        elif [ -z "${2:-}" ]; then
            up
        else
            echo "usage: $0 up [--nodes N]" >&2; exit 2
        fi ;;
    add-node) add_node "${2:-}" ;;
    del-node) del_node "${2:-}" ;;
    etcd)
        case "${2:-}" in
            kill) kill_etcd ;;
            start) start_etcd ;;
            *) echo "usage: $0 etcd kill|start" >&2; exit 2 ;;
        esac ;;
    down) down; echo "lab down" ;;
    *) echo "usage: $0 up [--nodes N] | add-node K | del-node K | etcd kill|start | down" >&2; exit 2 ;;
esac
