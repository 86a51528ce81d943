#!/usr/bin/env bash
# Bulk TCP through Shunt's fast path with offloads on and off, next to the kernel, side by side in
# one run (issue 9): iperf3, 1 and 4 streams (-P), SECS seconds, both directions (-R), pod -> pod
# and pod -> ClusterIP -> pod. The kernel rows are plain veth routing in a node namespace (pod
# offloads on, as pods have by default); its "ClusterIP" is one nftables DNAT rule in that node
# (what kube-proxy's nftables mode does for one Service). Besides Gbit/s: CPU seconds per GB moved,
# for the whole machine (/proc/stat: everything but idle and iowait, so other load on a shared
# machine counts too) and for the agent process alone (/proc/PID/stat utime + stime).
# Everything runs in namespaces this script makes (shunt-meas-o*, shunt-mo-*), removed on exit,
# also on failure.
# Usage: netns-scripts/measure-offload.sh [seconds-per-iperf3-run]
# SHUNT_JAVA_OPTS is put before the agent's -jar (e.g. -Dshunt.idleSpinMicros=0).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
. "$ROOT/netns-scripts/lib/common.sh"
SECS=${1:-10}
PY=/usr/bin/python3
if [ -z "${JAVA_HOME:-}" ] || ! "$JAVA_HOME/bin/java" -version 2>&1 | grep -q 'version "25'; then
    export JAVA_HOME=/usr/lib/jvm/temurin-25-jdk-amd64
fi
JAVA="$JAVA_HOME/bin/java"
JAR="$ROOT/java/target/shunt.jar"
[ -f "$JAR" ] || mvn -B -q -DskipTests package
TMP=$(mktemp -d /tmp/shunt-meas-offload.XXXXXX)
SOCK=$TMP/shunt.sock
RESULTS=$TMP/results.tsv
AGENT_PID=""
BG=()
TICK=$(getconf CLK_TCK)

cleanup() {
    set +e
    for p in "${BG[@]}"; do kill "$p" 2>/dev/null; done
    [ -n "$AGENT_PID" ] && { kill -TERM "$AGENT_PID"; wait "$AGENT_PID"; } 2>/dev/null
    for ns in $(ip netns list | awk '{print $1}' | grep -E '^shunt-(meas-o|mo-)'); do ip netns del "$ns"; done
    rm -rf "$TMP"
}
trap cleanup EXIT

busy_ticks() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8 + $9}' /proc/stat; }
agent_ticks() { [ -n "$AGENT_PID" ] && awk '{print $14 + $15}' "/proc/$AGENT_PID/stat" || echo 0; }

run() { # path dest client-ns server-ns server-ip target-ip target-port streams dir
    local path=$1 dest=$2 c=$3 s=$4 target=$6 port=$7 streams=$8 dir=$9 rev=""
    [ "$dir" = "down" ] && rev="-R"
    ip netns exec "$s" timeout $((SECS + 15)) iperf3 -s -1 -p 5201 >/dev/null 2>&1 &
    local server=$!
    BG+=("$server")
    sleep 0.5
    local busy0 agent0 out busy1 agent1
    busy0=$(busy_ticks); agent0=$(agent_ticks)
    out=$(ip netns exec "$c" timeout $((SECS + 10)) iperf3 -c "$target" -p "$port" -t "$SECS" -P "$streams" $rev -J || true)
    busy1=$(busy_ticks); agent1=$(agent_ticks)
    wait "$server" 2>/dev/null || true
    echo "$out" | "$PY" -c '
import json, sys
path, dest, streams, direction, busy, agent, tick = sys.argv[1:]
try:
    end = json.load(sys.stdin)["end"]["sum_received"]
    gbps, gb = end["bits_per_second"] / 1e9, end["bytes"] / 1e9
except Exception:
    gbps, gb = 0.0, 0.0
per = lambda ticks: "%.2f" % (int(ticks) / int(tick) / gb) if gb > 0 else "-"
print("\t".join([path, dest, streams, direction, "%.2f" % gbps, per(busy), per(agent)]))' \
        "$path" "$dest" "$streams" "$dir" $((busy1 - busy0)) $((agent1 - agent0)) "$TICK" >>"$RESULTS"
}

all_runs() { # path client-ns server-ns server-ip vip vport
    local p d
    for p in 1 4; do
        for d in up down; do
            run "$1" pod "$2" "$3" "$4" "$4" 5201 $p $d
            run "$1" ClusterIP "$2" "$3" "$4" "$5" "$6" $p $d
        done
    done
}

echo "kernel $(uname -r), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg) at start; iperf3 ${SECS} s per run"

# 1. The kernel: a node namespace routing two /32 pods over veths (gateway 169.254.1.1 on the node
#    end of each veth, as the CNI ptp plugin lays it out), pod offloads on; ClusterIP = one DNAT rule.
K=shunt-meas-oknode
kernel_pod_pair $K shunt-meas-ok shunt-mok 10.244.250
ip netns exec $K nft -f - <<'EOF'
table ip shunt-meas {
    chain prerouting {
        type nat hook prerouting priority dstnat;
        ip daddr 10.96.250.1 tcp dport 80 dnat to 10.244.250.2:5201
    }
}
EOF
all_runs "kernel veth routing" shunt-meas-oka shunt-meas-okb 10.244.250.2 10.96.250.1 80
for ns in $(ip netns list | awk '{print $1}' | grep -E '^shunt-meas-ok'); do ip netns del "$ns"; done

# 2. Shunt: the agent in a node namespace, two pods on its fast path, a Service on the second.
shunt_runs() { # label agent-options...
    local label=$1; shift
    ip netns add shunt-meas-onode; ip -n shunt-meas-onode link set lo up
    nsenter --net=/run/netns/shunt-meas-onode "$JAVA" ${SHUNT_JAVA_OPTS:-} -jar "$JAR" agent --node mo --pod-cidr 10.244.251.0/24 \
        --state "$TMP/state" --socket "$SOCK" "$@" >"$TMP/agent.log" 2>&1 &
    AGENT_PID=$!
    for _ in $(seq 1 100); do [ -S "$SOCK" ] && "$JAVA" -jar "$JAR" stats --socket "$SOCK" >/dev/null 2>&1 && break; sleep 0.1; done
    "$JAVA" -jar "$JAR" pod add a --socket "$SOCK" >/dev/null
    local b vip
    b=$("$JAVA" -jar "$JAR" pod add b --label app=iperf --socket "$SOCK")
    vip=$("$JAVA" -jar "$JAR" service add iperf --port 80/tcp:5201 --selector app=iperf --socket "$SOCK")
    all_runs "$label" shunt-mo-a shunt-mo-b "$b" "$vip" 80
    "$JAVA" -jar "$JAR" stats --json --socket "$SOCK" | "$PY" -c '
import json, sys
s = json.load(sys.stdin)
d = {k: v["drops"] for k, v in s["ports"].items() if v.get("drops")}
print("  %s: offloads %s; fast path forwarded %d, dropped %d, port drops %s"
      % (sys.argv[1], s["offloads"]["state"], s["forwarded"], s["dropped"], d or "none"))' "$label"
    "$JAVA" -jar "$JAR" pod del a --socket "$SOCK"; "$JAVA" -jar "$JAR" pod del b --socket "$SOCK"
    kill -TERM "$AGENT_PID"; wait "$AGENT_PID" || true; AGENT_PID=""
    rm -rf "$TMP/state" "$SOCK"
    ip netns del shunt-meas-onode
}
shunt_runs "Shunt, offloads on" --offloads on
shunt_runs "Shunt, offloads off" --offloads off

echo "load $(cut -d' ' -f1-3 /proc/loadavg) at the end"
"$PY" - "$RESULTS" <<'EOF'
import sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
kernel = {(r[1], r[2], r[3]): float(r[4]) for r in rows if r[0] == "kernel veth routing"}
print("| path | to | streams | direction | Gbit/s | vs kernel | CPU s/GB (machine) | CPU s/GB (agent) |")
print("|---|---|---:|---|---:|---:|---:|---:|")
for path, dest, streams, direction, gbps, busy, agent in rows:
    k = kernel.get((dest, streams, direction)) or 0
    ratio = "%.2fx" % (float(gbps) / k) if k else "-"
    if path == "kernel veth routing":
        agent = "-"
    print("| %s | %s | %s | %s | %s | %s | %s | %s |" % (path, dest, streams, direction, gbps, ratio, busy, agent))
EOF
