#!/usr/bin/env bash
# Pod <-> pod through Shunt's fast path with TPACKET_V2 and TPACKET_V3 RX rings and several idle
# spins, next to plain kernel veth routing, side by side in one run: TCP connection rate
# (connect + 1-byte request + 1-byte response + close, netns-scripts/tcp-crr.c; 1 and 4 concurrent
# clients, SECS seconds each, median of RUNS), ping RTT (200 x 10 ms) and single-stream TCP
# throughput (iperf3, 5 s). Pod offloads are off on every path (the fast path needs that until it
# carries GSO frames), so the kernel row is the like-for-like reference; the kernel with offloads
# on is shown too. Everything runs in namespaces this script makes (shunt-meas-r*, shunt-mr-*) and
# is removed on exit, also on failure.
# Usage: netns-scripts/measure-rings.sh [seconds-per-crr-run] [runs]
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SECS=${1:-10}
RUNS=${2:-3}
. "$ROOT/netns-scripts/lib/common.sh"
TMP=$(mktemp -d /tmp/shunt-meas-rings.XXXXXX)
SOCK=$TMP/shunt.sock
CRR=$TMP/tcp-crr
gcc -O2 -Wall -o "$CRR" netns-scripts/tcp-crr.c
AGENT_PID=""
BG=()

cleanup() {
    set +e
    for p in "${BG[@]}"; do kill "$p" 2>/dev/null; done
    [ -n "$AGENT_PID" ] && { kill -TERM "$AGENT_PID"; wait "$AGENT_PID"; } 2>/dev/null
    for ns in $(ip netns list | awk '{print $1}' | grep -E '^shunt-(meas-r|mr-)'); do ip netns del "$ns"; done
    rm -rf "$TMP"
}
trap cleanup EXIT


crr() { # client-ns server-ns server-ip clients -> median conn/s over RUNS runs
    local c=$1 s=$2 ip=$3 clients=$4 r
    for r in $(seq 1 "$RUNS"); do
        ip netns exec "$s" "$CRR" server "$ip" 5300 $((SECS + 2)) "$clients" &
        local server=$!
        BG+=("$server")
        sleep 0.3
        ip netns exec "$c" "$CRR" client "$ip" 5300 "$SECS" "$clients"
        wait "$server" || true
    done | median
}

measure() { # label client-ns server-ns server-ip
    local label=$1 c=$2 s=$3 ip=$4
    ip netns exec "$c" ping -c 20 -i 0.05 -q "$ip" >/dev/null 2>&1 || true   # warm up (ARP, JIT)
    local rtt gbps crr1 crr4
    rtt=$(ip netns exec "$c" ping -c 200 -i 0.01 -q "$ip" | awk -F/ '/^rtt/ {print $5}')
    ip netns exec "$s" timeout 20 iperf3 -s -1 -p 5201 >/dev/null 2>&1 &
    local server=$!
    BG+=("$server")
    sleep 0.5
    gbps=$(ip netns exec "$c" timeout 20 iperf3 -c "$ip" -p 5201 -t 5 -J \
        | "$PY" -c 'import json,sys; print("%.2f" % (json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"]/1e9))')
    wait "$server" || true
    crr1=$(crr "$c" "$s" "$ip" 1)
    crr4=$(crr "$c" "$s" "$ip" 4)
    printf "%-40s %8s %8s %8s %8s\n" "$label" "$crr1" "$crr4" "$rtt" "$gbps"
}

echo "kernel $(uname -r), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg); CRR ${SECS} s x ${RUNS} runs, median"
printf "%-40s %8s %8s %8s %8s\n" "path" "conn/s" "conn/s" "ping" "TCP"
printf "%-40s %8s %8s %8s %8s\n" "" "1 cl." "4 cl." "avg ms" "Gbit/s"

# 1. Plain kernel routing: a node namespace routing two /32 pods over veths (the gateway
#    169.254.1.1 on the node end of each veth, as the CNI ptp plugin lays it out).
K=shunt-meas-rknode
kernel_pod_pair $K shunt-meas-rk shunt-mrk 10.244.252
measure "kernel veth routing, offloads on" shunt-meas-rka shunt-meas-rkb 10.244.252.2
for p in a b; do ip netns exec shunt-meas-rk$p ethtool -K eth0 tx off tso off gso off >/dev/null 2>&1; done
measure "kernel veth routing, offloads off" shunt-meas-rka shunt-meas-rkb 10.244.252.2
for ns in $(ip netns list | awk '{print $1}' | grep -E '^shunt-meas-rk'); do ip netns del "$ns"; done

# 2. Shunt: the agent in a node namespace, two pods on its fast path; one agent per variant.
shunt() { # label java-options...
    local label=$1; shift
    ip netns add shunt-meas-rnode; ip -n shunt-meas-rnode link set lo up
    nsenter --net=/run/netns/shunt-meas-rnode "$JAVA" "$@" -jar "$JAR" agent --node mr --pod-cidr 10.244.253.0/24 \
        --state "$TMP/state" --socket "$SOCK" >"$TMP/agent.log" 2>&1 &
    AGENT_PID=$!
    for _ in $(seq 1 100); do [ -S "$SOCK" ] && break; sleep 0.1; done
    "$JAVA" -jar "$JAR" pod add a --socket "$SOCK" >/dev/null
    local b
    b=$("$JAVA" -jar "$JAR" pod add b --socket "$SOCK")
    measure "$label" shunt-mr-a shunt-mr-b "$b"
    "$JAVA" -jar "$JAR" stats --json --socket "$SOCK" | "$PY" -c '
import json, sys
s = json.load(sys.stdin)
d = {k: v["drops"] for k, v in s["ports"].items() if v["drops"]}
print("    fast path: forwarded %d, dropped %d, port drops %s" % (s["forwarded"], s["dropped"], d or "none"))'
    "$JAVA" -jar "$JAR" pod del a --socket "$SOCK"; "$JAVA" -jar "$JAR" pod del b --socket "$SOCK"
    kill -TERM "$AGENT_PID"; wait "$AGENT_PID" || true; AGENT_PID=""
    rm -rf "$TMP/state" "$SOCK"
    ip netns del shunt-meas-rnode
}
shunt "Shunt V2, spin 200 us (default)"
shunt "Shunt V3, retire 1 ms" -Dshunt.rxRing=v3 -Dshunt.v3RetireMs=1
shunt "Shunt V3, retire by the kernel (0)" -Dshunt.rxRing=v3 -Dshunt.v3RetireMs=0
shunt "Shunt V2, spin 0" -Dshunt.idleSpinMicros=0
shunt "Shunt V2, spin 5 ms" -Dshunt.idleSpinMicros=5000
shunt "Shunt V2, spin 200 us + yield 200 us" -Dshunt.idleYieldMicros=200
