#!/usr/bin/env bash
# Pod creation through a real container runtime, on this machine, side by side in one run: podman
# (runc) with shunt-cni (the agent, Shunt's IPAM, the fast path) next to podman with the reference
# ptp + host-local plugins, containers started alternately. For each: the time `podman run -d` takes
# (container, namespace, CNI ADD) and the CNI ADD alone (from the plugin's exec to its exit, timed by
# the same small wrapper around both plugins), p50/p99 over N containers each; and the agent's own
# share of Shunt's ADD. Everything runs in a node namespace this script makes (shunt-meas-cnode) and
# is removed on exit. Usage: netns-scripts/measure-cni.sh [containers-per-plugin]   (default 50)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
N=${1:-50}
[ "$N" -ge 1 ] && [ "$N" -le 200 ] || { echo "usage: $0 [containers-per-plugin, 1-200]" >&2; exit 2; }
. "$ROOT/netns-scripts/lib/common.sh"
. "$ROOT/netns-scripts/lib/podman.sh"
NODE_NS=shunt-meas-cnode
TMP=$(mktemp -d /tmp/shunt-meas-cni.XXXXXX)
SOCK=$TMP/shunt.sock
AGENT_PID=""

cleanup() {
    set +e
    podman_cleanup
    [ -n "$AGENT_PID" ] && { kill -TERM "$AGENT_PID"; wait "$AGENT_PID"; } 2>/dev/null
    ip netns del "$NODE_NS" 2>/dev/null
    rm -rf "$TMP"
}
trap cleanup EXIT

ip netns add "$NODE_NS"
ip -n "$NODE_NS" link set lo up
nsenter --net=/run/netns/$NODE_NS "$JAVA" -jar "$JAR" agent --node mc --pod-cidr 10.244.254.0/24 \
    --state "$TMP/state" --socket "$SOCK" >"$TMP/agent.log" 2>&1 &
AGENT_PID=$!
for _ in $(seq 1 100); do [ -S "$SOCK" ] && break; sleep 0.1; done
[ -S "$SOCK" ] || { echo "the agent did not start: $(cat "$TMP/agent.log")" >&2; exit 1; }

podman_setup "$TMP/podman"
# Both plugins behind the same wrapper (found first in podman's plugin path), which logs how long
# each ADD took; ptp finds host-local in /usr/lib/cni.
mkdir -p "$TMP/plugins"
mv "$PM_DIR/bin/shunt-cni" "$TMP/plugins/shunt-cni"
ln -s /usr/lib/cni/ptp "$TMP/plugins/ptp"
for plugin in shunt-cni ptp; do
    cat >"$PM_DIR/bin/$plugin" <<EOF
#!/bin/sh
start=\$(date +%s%N)
"$TMP/plugins/$plugin"
rc=\$?
[ "\$CNI_COMMAND" = ADD ] && echo "$plugin \$(( (\$(date +%s%N) - start) / 1000 ))" >>"$TMP/add-micros"
exit \$rc
EOF
    chmod 0755 "$PM_DIR/bin/$plugin"
done
echo "{\"cniVersion\": \"1.0.0\", \"name\": \"shunt\", \"plugins\": [{\"type\": \"shunt-cni\", \"socket\": \"$SOCK\"}]}" \
    >"$PM_DIR/net.d/shunt.conflist"
echo "{\"cniVersion\": \"1.0.0\", \"name\": \"ptp\", \"plugins\": [{\"type\": \"ptp\", \"ipMasq\": false, \"mtu\": 1450,
  \"ipam\": {\"type\": \"host-local\", \"dataDir\": \"$TMP/host-local\", \"subnet\": \"10.244.253.0/24\",
             \"routes\": [{\"dst\": \"0.0.0.0/0\"}]}}]}" >"$PM_DIR/net.d/ptp.conflist"

# One container of each first, not measured (caches, the agent's JIT).
pm_run warm-s shunt /bin/sleep 600
pm_run warm-p ptp /bin/sleep 600
: >"$TMP/add-micros"
for i in $(seq 1 "$N"); do
    for net in shunt ptp; do
        start=$(date +%s%N)
        pm_run "$net-$i" "$net" /bin/sleep 600
        echo "$net $(( ($(date +%s%N) - start) / 1000 ))" >>"$TMP/run-micros"
    done
done
"$JAVA" -jar "$JAR" pod list --json --socket "$SOCK" >"$TMP/pods.json"

"$PY" - "$TMP/run-micros" "$TMP/add-micros" "$TMP/pods.json" "$N" <<'PYEOF'
import json, sys
def read(path):
    out = {}
    for line in open(path):
        k, v = line.split()
        out.setdefault(k, []).append(int(v) / 1000)
    return out
def pct(values, p):
    v = sorted(values)
    return v[min(len(v) - 1, int(len(v) * p))]
runs, adds = read(sys.argv[1]), read(sys.argv[2])
agent = [p["setupMicros"] / 1000 for p in json.load(open(sys.argv[3])) if p["name"].startswith("shunt-")]
n = int(sys.argv[4])
print("pod creation through podman %s, %d containers per plugin, interleaved (ms):" % ("4.3 + runc", n))
print("%-34s %8s %8s" % ("", "p50", "p99"))
for label, values in [("podman run -d, shunt-cni", runs["shunt"]), ("podman run -d, ptp + host-local", runs["ptp"]),
                      ("CNI ADD, shunt-cni", adds["shunt-cni"]), ("CNI ADD, ptp + host-local", adds["ptp"]),
                      ("  of which in the agent", agent)]:
    assert len(values) == n, (label, len(values))
    print("%-34s %8.1f %8.1f" % (label, pct(values, 0.5), pct(values, 0.99)))
print("ratio shunt/ptp: podman run p50 %.2f, CNI ADD p50 %.2f" % (pct(runs["shunt"], 0.5) / pct(runs["ptp"], 0.5),
      pct(adds["shunt-cni"], 0.5) / pct(adds["ptp"], 0.5)))
PYEOF
