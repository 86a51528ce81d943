#!/usr/bin/env bash
# Pod <-> pod figures through Shunt's fast path next to plain kernel veth routing, on this machine,
# side by side in one run: ping RTT, single-stream TCP throughput (iperf3), and the agent's pod
# creation time (p50/p99 over N pods). Everything runs in namespaces this script makes (shunt-meas-*)
# and is removed on exit. Usage: netns-scripts/measure-pods.sh [seconds-per-iperf] [pods]
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SECS=${1:-5}
PODS=${2:-30}
. "$ROOT/netns-scripts/lib/common.sh"
TMP=$(mktemp -d /tmp/shunt-meas.XXXXXX)
SOCK=$TMP/shunt.sock
AGENT_PID=""

cleanup() {
    set +e
    pkill -f "iperf3 -s -1 -p 52" 2>/dev/null
    [ -n "$AGENT_PID" ] && { kill -TERM "$AGENT_PID"; wait "$AGENT_PID"; } 2>/dev/null
    for ns in $(ip netns list | awk '{print $1}' | grep -E '^shunt-(meas|m1)-'); do ip netns del "$ns"; done
    rm -rf "$TMP"
}
trap cleanup EXIT

measure() { # label client-ns server-ns server-ip
    local label=$1 c=$2 s=$3 ip=$4
    ip netns exec "$c" ping -c 20 -i 0.05 -q "$ip" >/dev/null 2>&1 || true   # warm up (ARP, JIT)
    local rtt
    rtt=$(ip netns exec "$c" ping -c 200 -i 0.01 -q "$ip" | awk -F/ '/^rtt/ {print $5}')
    ip netns exec "$s" timeout $((SECS + 10)) iperf3 -s -1 -p 5201 >/dev/null 2>&1 &
    local server=$!
    sleep 0.5
    local gbps
    gbps=$(ip netns exec "$c" timeout $((SECS + 10)) iperf3 -c "$ip" -p 5201 -t "$SECS" -J \
        | "$PY" -c 'import json,sys; print("%.2f" % (json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"]/1e9))')
    wait "$server" || true   # only the server: a bare wait would wait for the agent too
    printf "%-34s ping avg %8s ms   TCP 1 stream %6s Gbit/s\n" "$label" "$rtt" "$gbps"
}

# 1. Plain kernel routing: a node namespace routing two /32 pods over veths (as the CNI ptp plugin
#    lays them out: the gateway 169.254.1.1 on the node end of each veth), offloads on.
K=shunt-meas-knode
kernel_pod_pair $K shunt-meas-k shunt-mk 10.244.250
measure "kernel veth routing (offloads on)" shunt-meas-ka shunt-meas-kb 10.244.250.2
for p in a b; do ip netns exec shunt-meas-k$p ethtool -K eth0 tx off tso off gso off >/dev/null 2>&1; done
measure "kernel veth routing (offloads off)" shunt-meas-ka shunt-meas-kb 10.244.250.2

# 2. Shunt: the agent in a node namespace, pods on its fast path (pod offloads off: see README).
ip netns add shunt-meas-node; ip -n shunt-meas-node link set lo up
nsenter --net=/run/netns/shunt-meas-node "$JAVA" -jar "$JAR" agent --node m1 --pod-cidr 10.244.251.0/24 \
    --state "$TMP/state" --socket "$SOCK" >"$TMP/agent.log" 2>&1 &
AGENT_PID=$!
for _ in $(seq 1 100); do [ -S "$SOCK" ] && break; sleep 0.1; done
A=$("$JAVA" -jar "$JAR" pod add a --socket "$SOCK")
B=$("$JAVA" -jar "$JAR" pod add b --socket "$SOCK")
measure "Shunt fast path (pod offloads off)" shunt-m1-a shunt-m1-b "$B"

# 3. Pod creation time in the agent, over $PODS pods.
for n in $(seq 1 "$PODS"); do "$JAVA" -jar "$JAR" pod add "c$n" --socket "$SOCK" >/dev/null; done
"$JAVA" -jar "$JAR" pod list --json --socket "$SOCK" | "$PY" -c '
import json, sys
t = sorted(p["setupMicros"] / 1000 for p in json.load(sys.stdin) if p["name"].startswith("c"))
print("pod creation in the agent over %d pods: p50 %.1f ms, p99 %.1f ms, max %.1f ms" % (len(t), t[len(t) // 2], t[min(len(t) - 1, int(len(t) * 0.99))], t[-1]))'
for n in $(seq 1 "$PODS"); do "$JAVA" -jar "$JAR" pod del "c$n" --socket "$SOCK"; done
"$JAVA" -jar "$JAR" pod del a --socket "$SOCK"; "$JAVA" -jar "$JAR" pod del b --socket "$SOCK"
