#!/usr/bin/env bash
# What a pod reaches through a ClusterIP, next to the same client talking to the backend pod
# directly, both through Shunt's fast path, side by side in one run: TCP connections per second
# (connect + 1-byte request + 1-byte response + close, netns-scripts/tcp-crr.c; 1 and 4 concurrent
# clients) and UDP request/response per second (one socket, netns-scripts/lib/svcclient.py
# rate-udp; 1 and 4 concurrent clients). The Service has 2 endpoints, as in ../shared/PERFORMANCE.md.
# Runs are interleaved (direct, ClusterIP, direct, ...) so drift on a shared machine hits both.
# Everything runs in namespaces this script makes (shunt-meas-snode, shunt-ms-*) and is removed on
# exit, also on failure. Needs gcc for tcp-crr.
# Usage: netns-scripts/measure-services.sh [seconds-per-run] [runs]
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SECS=${1:-10}
RUNS=${2:-3}
. "$ROOT/netns-scripts/lib/common.sh"
NODE_NS=shunt-meas-snode
TMP=$(mktemp -d /tmp/shunt-meas-svc.XXXXXX)
SOCK=$TMP/shunt.sock
CRR=$TMP/tcp-crr
gcc -O2 -Wall -o "$CRR" netns-scripts/tcp-crr.c
AGENT_PID=""
BG=()

cleanup() {
    set +e
    for p in "${BG[@]}"; do kill "$p" 2>/dev/null; done
    [ -n "$AGENT_PID" ] && { kill -TERM "$AGENT_PID"; wait "$AGENT_PID"; } 2>/dev/null
    for ns in $(ip netns list | awk '{print $1}' | grep -E '^shunt-(meas-snode|ms-)'); do ip netns del "$ns"; done
    rm -rf "$TMP"
}
trap cleanup EXIT

shunt() { "$JAVA" -jar "$JAR" "$@" --socket "$SOCK"; }

ip netns add $NODE_NS; ip -n $NODE_NS link set lo up
nsenter --net=/run/netns/$NODE_NS "$JAVA" -jar "$JAR" agent --node ms --pod-cidr 10.244.251.0/24 \
    --state "$TMP/state" --socket "$SOCK" >"$TMP/agent.log" 2>&1 &
AGENT_PID=$!
for _ in $(seq 1 100); do [ -S "$SOCK" ] && shunt stats >/dev/null 2>&1 && break; sleep 0.1; done
CLIENT_IP=$(shunt pod add client)
W1=$(shunt pod add web-1 --label app=web)
W2=$(shunt pod add web-2 --label app=web)
VIP=$(shunt service add web --port 80/tcp:8080 --port 53/udp:5353 --selector app=web)
for p in web-1 web-2; do
    ip netns exec shunt-ms-$p "$PY" "$ROOT/netns-scripts/lib/podserver.py" "$p" --udp 5353 --lifetime 3600 >/dev/null 2>&1 &
    BG+=($!)
done
ip netns exec shunt-ms-client ping -c 20 -i 0.05 -q "$VIP" >/dev/null 2>&1 || true   # warm up (ARP, JIT)

crr_once() { # target port clients -> conn/s; tcp-crr servers on both backends
    local ip=$1 port=$2 clients=$3 pids=()
    for w in web-1 web-2; do
        local wip; [ $w = web-1 ] && wip=$W1 || wip=$W2
        ip netns exec shunt-ms-$w "$CRR" server "$wip" 8080 $((SECS + 2)) "$clients" &
        pids+=($!); BG+=($!)
    done
    sleep 0.3
    ip netns exec shunt-ms-client "$CRR" client "$ip" "$port" "$SECS" "$clients"
    wait "${pids[@]}" 2>/dev/null || true   # the servers stop by themselves (a kill would orphan their workers)
}

udp_once() { # target port clients -> request/response per second, summed over the clients
    local ip=$1 port=$2 clients=$3 i files=() pids=()
    for i in $(seq 1 "$clients"); do
        ip netns exec shunt-ms-client "$PY" "$ROOT/netns-scripts/lib/svcclient.py" rate-udp "$ip" "$port" "$SECS" >"$TMP/udp.$i" &
        pids+=($!); files+=("$TMP/udp.$i")
    done
    wait "${pids[@]}"
    cat "${files[@]}" | "$PY" -c 'import json,sys; print(sum(json.loads(l)["per_second"] for l in sys.stdin))'
}

declare -A R
for r in $(seq 1 "$RUNS"); do
    for c in 1 4; do
        R[tcp-direct-$c]+="$(crr_once "$W1" 8080 $c) "
        R[tcp-vip-$c]+="$(crr_once "$VIP" 80 $c) "
        R[udp-direct-$c]+="$(udp_once "$W1" 5353 $c) "
        R[udp-vip-$c]+="$(udp_once "$VIP" 53 $c) "
    done
done

med() { echo "${R[$1]}" | tr ' ' '\n' | grep . | median; }
echo "kernel $(uname -r), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg); ${SECS} s x ${RUNS} runs, median"
printf "%-44s %10s %10s %10s %10s\n" "client pod ->" "TCP conn/s" "TCP conn/s" "UDP req/s" "UDP req/s"
printf "%-44s %10s %10s %10s %10s\n" "" "1 client" "4 clients" "1 client" "4 clients"
printf "%-44s %10s %10s %10s %10s\n" "backend pod directly (pod IP)" "$(med tcp-direct-1)" "$(med tcp-direct-4)" "$(med udp-direct-1)" "$(med udp-direct-4)"
printf "%-44s %10s %10s %10s %10s\n" "ClusterIP $VIP (2 endpoints)" "$(med tcp-vip-1)" "$(med tcp-vip-4)" "$(med udp-vip-1)" "$(med udp-vip-4)"
"$PY" - "$(med tcp-direct-1)" "$(med tcp-vip-1)" "$(med tcp-direct-4)" "$(med tcp-vip-4)" \
    "$(med udp-direct-1)" "$(med udp-vip-1)" "$(med udp-direct-4)" "$(med udp-vip-4)" <<'PYEOF'
import sys
v = [float(x) for x in sys.argv[1:]]
print("%-44s %10.2f %10.2f %10.2f %10.2f" % ("ratio ClusterIP / direct", v[1] / v[0], v[3] / v[2], v[5] / v[4], v[7] / v[6]))
PYEOF
shunt stats --json | "$PY" -c '
import json, sys
s = json.load(sys.stdin)
print("fast path: received %d, forwarded %d, dropped %d, new flows %d" % (s["received"], s["forwarded"], s["dropped"], s["newFlows"]))'
