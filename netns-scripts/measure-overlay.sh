#!/usr/bin/env bash
# Cross-node pod <-> pod through Shunt's fast paths and the VXLAN overlay, next to the kernel's own
# VXLAN routing set up as flannel's vxlan backend does it (a VXLAN device per node with learning
# off, a route per remote pod CIDR via its .0 address onlink, a permanent neighbour entry and a
# permanent FDB entry per remote node; pods on veths routed by the node, as the CNI ptp plugin
# lays them out), on the same two-node cluster lab, side by side in one run: ping RTT and
# single-stream TCP (iperf3, both directions), and the same through a ClusterIP whose backend is
# on the other node (kernel: one nftables DNAT rule, as kube-proxy's nftables mode has for one
# Service). Everything lives in the lab's namespaces and is removed on exit, also on failure.
# Usage: netns-scripts/measure-overlay.sh [seconds-per-iperf3-run] [runs]
# SHUNT_JAVA_OPTS is put before the agents' -jar (e.g. -Dshunt.idleSpinMicros=0).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SECS=${1:-5}
RUNS=${2:-3}
. "$ROOT/netns-scripts/lib/common.sh"
TMP=$(mktemp -d /tmp/shunt-meas-overlay.XXXXXX)
RESULTS=$TMP/results.tsv
declare -A AGENT

cleanup() {
    set +e
    pkill -f "iperf3 -s -1 -p 5201" 2>/dev/null
    for k in "${!AGENT[@]}"; do kill -TERM "${AGENT[$k]}" 2>/dev/null; wait "${AGENT[$k]}" 2>/dev/null; done
    for ns in $(ip netns list | awk '{print $1}' | grep -E '^shunt-mo[12]-'); do ip netns del "$ns"; done
    "$ROOT/netns-scripts/lab.sh" down >/dev/null
    rm -rf "$TMP"
}
trap cleanup EXIT

measure() { # label path client-ns server-ns target
    local label=$1 path=$2 c=$3 s=$4 target=$5 r dir out gbps rtt
    rtt=0
    # A ping to a ClusterIP is answered by Shunt's fast path on the client's node (the kernel's
    # DNAT forwards it): not comparable, so RTTs are pod -> pod only.
    if [ "$path" = "pod -> pod" ]; then
        ip netns exec "$c" ping -c 20 -i 0.05 -q "$target" >/dev/null 2>&1 || true   # warm up (ARP, JIT)
        rtt=$(ip netns exec "$c" ping -c 200 -i 0.01 -q "$target" | awk -F/ '/^rtt/ {print $5}')
    fi
    for dir in up down; do
        for r in $(seq 1 "$RUNS"); do
            ip netns exec "$s" timeout $((SECS + 15)) iperf3 -s -1 -p 5201 >/dev/null 2>&1 &
            local server=$!
            sleep 0.3
            out=$(ip netns exec "$c" timeout $((SECS + 10)) iperf3 -c "$target" -p 5201 -t "$SECS" \
                $([ "$dir" = down ] && echo -R) -J 2>/dev/null || true)
            wait "$server" 2>/dev/null || true   # not a bare wait: the agents are children too
            gbps=$(echo "$out" | "$PY" -c 'import json,sys
try: print("%.2f" % (json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"] / 1e9))
except Exception: print("0")')
            printf '%s\t%s\t%s\t%s\t%s\n' "$label" "$path" "$dir" "$gbps" "${rtt:-0}" >>"$RESULTS"
        done
    done
}

echo "kernel $(uname -r), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg) at start; iperf3 ${SECS} s x $RUNS per direction"
"$ROOT/netns-scripts/lab.sh" up --nodes 2 >/dev/null

# 1. The kernel, flannel-style.
for k in 1 2; do
    node=shunt-lab-node$k
    ip netns exec "$node" sysctl -qw net.ipv4.ip_forward=1
    ip -n "$node" link add shunt.fl type vxlan id 1 local 198.18.1.$k dstport 4789 nolearning dev shunt-ul
    ip -n "$node" link set shunt.fl mtu 1450 address 0e:00:00:00:00:0$k up
    ip -n "$node" addr add 10.244.$k.0/32 dev shunt.fl
    ns=shunt-mo$k-$([ "$k" = 1 ] && echo client || echo server)
    ip netns add "$ns"; ip -n "$ns" link set lo up
    ip -n "$node" link add shunt-mo$k type veth peer name eth0 netns "$ns"
    ip -n "$node" link set shunt-mo$k up
    ip -n "$node" addr add 169.254.1.1/32 dev shunt-mo$k
    ip -n "$node" route add 10.244.$k.2/32 dev shunt-mo$k
    ip -n "$ns" link set eth0 mtu 1450
    ip -n "$ns" addr add 10.244.$k.2/32 dev eth0; ip -n "$ns" link set eth0 up
    ip -n "$ns" route add 169.254.1.1 dev eth0 scope link
    ip -n "$ns" route add default via 169.254.1.1 dev eth0
done
for k in 1 2; do
    o=$((3 - k)); node=shunt-lab-node$k
    ip -n "$node" neigh add 10.244.$o.0 lladdr 0e:00:00:00:00:0$o dev shunt.fl nud permanent
    bridge -n "$node" fdb add 0e:00:00:00:00:0$o dev shunt.fl dst 198.18.1.$o self permanent
    ip -n "$node" route add 10.244.$o.0/24 via 10.244.$o.0 dev shunt.fl onlink
done
ip netns exec shunt-lab-node1 nft -f - <<'EOF'
table ip shunt-meas {
    chain prerouting {
        type nat hook prerouting priority dstnat;
        ip daddr 10.96.250.1 tcp dport 5201 dnat to 10.244.2.2:5201
    }
}
EOF
measure "kernel VXLAN (flannel-style)" "pod -> pod" shunt-mo1-client shunt-mo2-server 10.244.2.2
measure "kernel VXLAN (flannel-style)" "pod -> ClusterIP -> pod" shunt-mo1-client shunt-mo2-server 10.96.250.1
for ns in shunt-mo1-client shunt-mo2-server; do ip netns del "$ns"; done
"$ROOT/netns-scripts/lab.sh" down >/dev/null

# 2. Shunt: an agent per node with the overlay, nodes and the Service as manifests.
"$ROOT/netns-scripts/lab.sh" up --nodes 2 >/dev/null
for k in 1 2; do
    nsenter --net=/run/netns/shunt-lab-node$k "$JAVA" ${SHUNT_JAVA_OPTS:-} -jar "$JAR" agent --node "mo$k" --pod-cidr "10.244.$k.0/24" \
        --underlay-ip "198.18.1.$k" --state "$TMP/state$k" --socket "$TMP/s$k.sock" >"$TMP/agent$k.log" 2>&1 &
    AGENT[$k]=$!
done
for k in 1 2; do
    for _ in $(seq 1 100); do "$JAVA" -jar "$JAR" status --socket "$TMP/s$k.sock" >/dev/null 2>&1 && break; sleep 0.1; done
done
cat >"$TMP/cluster.yaml" <<'EOF'
apiVersion: shunt.dev/v1
kind: Node
metadata: {name: mo1}
spec: {podCIDR: 10.244.1.0/24, underlayIP: 198.18.1.1}
---
apiVersion: shunt.dev/v1
kind: Node
metadata: {name: mo2}
spec: {podCIDR: 10.244.2.0/24, underlayIP: 198.18.1.2}
EOF
for k in 1 2; do "$JAVA" -jar "$JAR" apply -f "$TMP/cluster.yaml" --socket "$TMP/s$k.sock" >/dev/null; done
"$JAVA" -jar "$JAR" pod add client --socket "$TMP/s1.sock" >/dev/null
server=$("$JAVA" -jar "$JAR" pod add server --label app=iperf --socket "$TMP/s2.sock")
"$JAVA" -jar "$JAR" get pods -o yaml --socket "$TMP/s2.sock" >"$TMP/pods2.yaml"
"$JAVA" -jar "$JAR" apply -f "$TMP/pods2.yaml" --socket "$TMP/s1.sock" >/dev/null
vip=$("$JAVA" -jar "$JAR" service add iperf --port 5201/tcp --selector app=iperf --socket "$TMP/s1.sock")
measure "Shunt + VXLAN" "pod -> pod" shunt-mo1-client shunt-mo2-server "$server"
measure "Shunt + VXLAN" "pod -> ClusterIP -> pod" shunt-mo1-client shunt-mo2-server "$vip"

echo "load $(cut -d' ' -f1-3 /proc/loadavg) at the end"
"$PY" - "$RESULTS" <<'EOF'
import statistics, sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
keys = []
for label, path, d, g, rtt in rows:
    if (label, path, d) not in keys:
        keys.append((label, path, d))
med = {k: statistics.median(float(r[3]) for r in rows if tuple(r[:3]) == k) for k in keys}
rtt = {k: next(float(r[4]) for r in rows if tuple(r[:3]) == k) for k in keys}
print("| data plane | path | direction | Gbit/s (median) | vs kernel | ping RTT ms | vs kernel |")
print("|---|---|---|---:|---:|---:|---:|")
for k in keys:
    kk = ("kernel VXLAN (flannel-style)", k[1], k[2])
    ping = ("%.3f | %.2fx" % (rtt[k], rtt[k] / rtt[kk])) if rtt[k] and rtt.get(kk) else "- | -"
    print("| %s | %s | %s | %.2f | %.2fx | %s |" % (k[0], k[1], k[2], med[k], med[k] / med[kk] if med.get(kk) else 0, ping))
EOF
