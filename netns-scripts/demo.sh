#!/usr/bin/env bash
# Shunt's demo for a newcomer: brings up the single-node lab, runs the agent in its node namespace,
# creates 3 web pods (a tiny HTTP server that answers with its own name) and a client pod, puts a
# Service in front of the web pods, and shows requests spreading across the backends, the flow table
# and the counters. Everything it made is removed on exit, also on failure or Ctrl-C.
# Usage: netns-scripts/demo.sh    (as root; builds the jar first if it is missing)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
. "$ROOT/netns-scripts/lib/common.sh"

NODE_NS=shunt-lab-node
TMP=$(mktemp -d /tmp/shunt-demo.XXXXXX)
SOCK=$TMP/shunt.sock
AGENT_PID=""
PIDS=()

shunt() { "$JAVA" -jar "$JAR" "$@" --socket "$SOCK"; }
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
show() { printf '$ shunt %s\n' "$*"; shunt "$@"; }   # what a user would type, then its output

cleanup() {
    set +e
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
    pkill -f "$ROOT/netns-scripts/lib/podserver.py" 2>/dev/null   # any web server still alive
    if [ -n "$AGENT_PID" ]; then kill -TERM "$AGENT_PID" 2>/dev/null; wait "$AGENT_PID" 2>/dev/null; fi
    "$ROOT/netns-scripts/lab.sh" down >/dev/null
    rm -rf "$TMP"
    echo "demo: cleaned up (lab namespaces, pods, agent)"
}
trap cleanup EXIT

say "lab: a node namespace ($NODE_NS, 198.18.0.1) and an outside namespace; the root namespace is untouched"
"$ROOT/netns-scripts/lab.sh" up
nsenter --net=/run/netns/$NODE_NS "$JAVA" -jar "$JAR" agent --node n1 --pod-cidr 10.244.1.0/24 \
    --state "$TMP/state" --socket "$SOCK" >"$TMP/agent.log" 2>&1 &
AGENT_PID=$!
for _ in $(seq 1 100); do
    [ -S "$SOCK" ] && shunt stats >/dev/null 2>&1 && break
    kill -0 "$AGENT_PID" 2>/dev/null || { cat "$TMP/agent.log"; echo "demo: the agent exited" >&2; exit 1; }
    sleep 0.1
done
echo "agent running in $NODE_NS (log: $TMP/agent.log)"

say "3 web pods and a client pod"
for p in web-1 web-2 web-3; do
    printf '%s -> ' "$p"; shunt pod add "$p" --label app=web
    ip netns exec "shunt-n1-$p" "$ROOT/netns-scripts/lib/podserver.py" "$p" --tcp 8080 --lifetime 120 >/dev/null 2>&1 &
    PIDS+=($!)
done
printf 'client -> '; shunt pod add client --label role=client
show pod list

say "a Service in front of the web pods: port 80 -> 8080"
show service add web --port 80/tcp:8080 --selector app=web
show service list
VIP=$(shunt service list --json | "$PY" -c 'import json,sys; print([s["clusterIp"] for s in json.load(sys.stdin) if s["name"]=="web"][0])')

say "12 HTTP requests from the client pod to http://$VIP/ (each answer names its backend)"
ip netns exec shunt-n1-client "$PY" - "$VIP" <<'PYEOF'
import sys, time, urllib.request
vip = sys.argv[1]
for attempt in range(50):  # the web servers may still be starting
    try:
        urllib.request.urlopen("http://%s/" % vip, timeout=2).read(); break
    except OSError:
        time.sleep(0.1)
counts = {}
for i in range(12):
    body = urllib.request.urlopen("http://%s/" % vip, timeout=2).read().decode().strip()
    name = body.split()[0]
    counts[name] = counts.get(name, 0) + 1
    print("request %2d -> %s" % (i + 1, body))
print("spread: " + ", ".join("%s %d" % kv for kv in sorted(counts.items())))
PYEOF

say "ping the ClusterIP (Shunt answers it; kube-proxy's iptables mode cannot)"
ip netns exec shunt-n1-client ping -c 2 -i 0.2 "$VIP" | grep -E 'bytes from|packet loss'

say "the flow table: the requests above (TIME_WAIT) and one long-lived connection (ESTABLISHED)"
ip netns exec shunt-n1-client "$PY" "$ROOT/netns-scripts/lib/svcclient.py" stream "$VIP" 80 2 "$TMP/stream.out" >/dev/null &
STREAM=$!
sleep 1
show flows --service web
wait "$STREAM" || true

say "counters"
show stats
