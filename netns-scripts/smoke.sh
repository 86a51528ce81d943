#!/usr/bin/env bash
# End-to-end smoke test of a Shunt node in the lab: builds if needed, brings the lab up, runs the
# agent in the lab's node namespace, checks, fails loudly on the first miss, and tears everything
# down on exit, also on failure. Usage: netns-scripts/smoke.sh [pods|all]   (default: all, which
# is every stage there is: pods for now; Services and more nodes add theirs).
# Every loop here is bounded in count and time; all traffic stays inside the lab's namespaces.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
STAGE=${1:-all}
case "$STAGE" in pods|all) ;; *) echo "usage: $0 [pods|all]" >&2; exit 2 ;; esac

if [ -z "${JAVA_HOME:-}" ] || ! "$JAVA_HOME/bin/java" -version 2>&1 | grep -q 'version "25'; then
    export JAVA_HOME=/usr/lib/jvm/temurin-25-jdk-amd64
fi
JAVA="$JAVA_HOME/bin/java"
JAR="$ROOT/java/target/shunt.jar"
[ -f "$JAR" ] || mvn -B -q -DskipTests package
PY=/usr/bin/python3   # Debian's, with scapy

NODE_NS=shunt-lab-node
OUT_NS=shunt-lab-out
NODE_IP=198.18.0.1
OUT_IP=198.18.0.2
TMP=$(mktemp -d /tmp/shunt-smoke.XXXXXX)
SOCK=$TMP/shunt.sock
AGENT_PID=""
PIDS=()

shunt() { "$JAVA" -jar "$JAR" "$@"; }
pod_ns() { echo "shunt-n1-$1"; }
in_pod() { local p=$1; shift; ip netns exec "$(pod_ns "$p")" "$@"; }
fail() { echo "SMOKE FAIL: $*" >&2; [ -f "$TMP/agent.log" ] && { echo "--- agent log" >&2; tail -20 "$TMP/agent.log" >&2; }; exit 1; }
ok() { echo "ok   $*"; }

cleanup() {
    set +e
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
    if [ -n "$AGENT_PID" ]; then kill -TERM "$AGENT_PID" 2>/dev/null; wait "$AGENT_PID" 2>/dev/null; fi
    "$ROOT/netns-scripts/lab.sh" down >/dev/null
    rm -rf "$TMP"
}
trap cleanup EXIT

start_agent() {
    rm -f "$SOCK"
    nsenter --net=/run/netns/$NODE_NS "$JAVA" -jar "$JAR" agent --node n1 --pod-cidr 10.244.1.0/24 \
        --state "$TMP/state" --socket "$SOCK" >>"$TMP/agent.log" 2>&1 &
    AGENT_PID=$!
    for _ in $(seq 1 100); do
        [ -S "$SOCK" ] && shunt stats --socket "$SOCK" >/dev/null 2>&1 && return 0
        kill -0 "$AGENT_PID" 2>/dev/null || fail "the agent exited at start"
        sleep 0.1
    done
    fail "the agent did not answer within 10 s"
}

ping_ok() { # ns-runner target description
    local runner=$1 target=$2 what=$3
    $runner ping -c 2 -i 0.2 -W 2 "$target" >/dev/null 2>&1 || fail "$what: ping $target"
}

tcp_echo_ok() { # from-pod to-pod port
    local from=$1 to=$2 port=$3 ip=${IP[$2]}
    in_pod "$to" timeout 10 socat -T 5 TCP-LISTEN:"$port",reuseaddr EXEC:/bin/cat &
    local server=$!
    local reply=""
    for _ in $(seq 1 20); do
        reply=$(in_pod "$from" timeout 5 sh -c "echo shunt-$from-$to | socat -T 3 - TCP:$ip:$port" 2>/dev/null) && [ -n "$reply" ] && break
        sleep 0.1
    done
    kill "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
    [ "$reply" = "shunt-$from-$to" ] || fail "TCP $from -> $to:$port answered '$reply'"
}

"$ROOT/netns-scripts/lab.sh" up
start_agent
ok "agent up in $NODE_NS"

declare -A IP
stage_pods() {
    for i in $(seq 0 9); do
        IP[p$i]=$(shunt pod add "p$i" --label app=smoke --socket "$SOCK") || fail "pod add p$i"
    done
    ok "10 pods: ${IP[p0]} .. ${IP[p9]}"

    ping_ok "in_pod p0" "${IP[p9]}" "pod p0 -> p9"
    ping_ok "in_pod p9" "${IP[p0]}" "pod p9 -> p0"
    for i in $(seq 1 8); do ping_ok "in_pod p$i" "${IP[p0]}" "pod p$i -> p0"; done
    ok "pod <-> pod ping, both ways"
    tcp_echo_ok p0 p9 7001
    tcp_echo_ok p9 p0 7002
    ok "pod <-> pod TCP, both ways"

    ping_ok "in_pod p3" "$NODE_IP" "pod -> host"
    ping_ok "ip netns exec $NODE_NS" "${IP[p3]}" "host -> pod"
    ok "pod -> host and host -> pod"
    ping_ok "in_pod p4" "$OUT_IP" "pod -> outside (masquerade)"
    ok "pod -> outside through the masquerade"

    local gone_ip=${IP[p5]} gone_veth
    gone_veth=$(shunt pod list --json --socket "$SOCK" | "$PY" -c 'import json,sys; print([p["hostVeth"] for p in json.load(sys.stdin) if p["name"]=="p5"][0])')
    shunt pod del p5 --socket "$SOCK" || fail "pod del p5"
    ip netns list | grep -q "^$(pod_ns p5)\b" && fail "pod del left the namespace"
    ip -n $NODE_NS link show "$gone_veth" >/dev/null 2>&1 && fail "pod del left the veth $gone_veth"
    shunt ipam show --store "$TMP/state/ipam" | grep -q " $gone_ip " && fail "pod del left $gone_ip allocated"
    shunt ipam check --store "$TMP/state/ipam" >/dev/null || fail "ipam check after pod del"
    ok "pod del freed $gone_ip and left no veth or namespace"

    # An established TCP stream survives kill -9 of the agent and its restart.
    in_pod p1 timeout 30 socat -u TCP-LISTEN:7100,reuseaddr OPEN:"$TMP/stream.out",creat,trunc &
    PIDS+=($!)
    sleep 0.3
    in_pod p0 timeout 30 sh -c 'for i in $(seq 1 50); do echo line$i; sleep 0.1; done' \
        | in_pod p0 timeout 30 socat -u - TCP:"${IP[p1]}":7100 &
    local client=$!
    sleep 1
    kill -9 "$AGENT_PID"; wait "$AGENT_PID" 2>/dev/null || true
    start_agent
    wait "$client" || fail "the TCP client failed across the agent restart"
    for _ in $(seq 1 50); do [ "$(wc -l < "$TMP/stream.out")" -ge 50 ] && break; sleep 0.1; done
    [ "$(wc -l < "$TMP/stream.out")" -eq 50 ] && [ "$(tail -1 "$TMP/stream.out")" = "line50" ] \
        || fail "the stream lost data across kill -9: $(wc -l < "$TMP/stream.out") of 50 lines"
    ping_ok "in_pod p0" "${IP[p9]}" "pod p0 -> p9 after the restart"
    ok "kill -9 + restart: pods adopted, established TCP stream intact (50 of 50 lines)"

    # Malformed and odd frames from a pod: counted and dropped, never fatal.
    local before
    before=$(shunt stats --json --socket "$SOCK" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["dropped"])')
    in_pod p2 "$PY" - "${IP[p9]}" <<'PYEOF' || fail "scapy could not send"
import sys, logging
logging.getLogger("scapy.runtime").setLevel(logging.ERROR)
from scapy.all import Ether, IP, TCP, UDP, Raw, sendp, fragment, get_if_hwaddr
dst = sys.argv[1]
src = get_if_hwaddr("eth0")
eth = Ether(src=src, dst="ee:ee:ee:ee:ee:ee")
frames = [
    eth / IP(dst=dst) / TCP(dport=80, flags="FSRPAUEC"),                  # every TCP flag
    eth / IP(dst=dst, options=b"\x94\x04\x00\x00") / TCP(dport=80),       # IP options (router alert)
    eth / IP(dst=dst, chksum=0x1234) / UDP(dport=53),                      # bad IP checksum
    eth / IP(dst=dst, ihl=3) / UDP(dport=53),                              # IHL too small
    eth / IP(dst=dst, len=9000) / UDP(dport=53),                           # total length lie
]
frames += [eth / f for f in fragment(IP(dst=dst) / UDP(dport=53) / Raw(b"x" * 3000), fragsize=1000)]
raw = [bytes(f) for f in frames]
raw += [raw[0][:20], raw[0][:40], raw[2][:30], b"\x00" * 10]               # truncated frames
for r in raw:
    sendp(Raw(r), iface="eth0", verbose=False)
PYEOF
    in_pod p2 timeout 10 hping3 -c 5 -i u20000 -S -F -P -U "${IP[p9]}" >/dev/null 2>&1 || true
    sleep 0.5
    kill -0 "$AGENT_PID" 2>/dev/null || fail "the agent died on malformed frames"
    local after
    after=$(shunt stats --json --socket "$SOCK" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["dropped"])')
    [ "$after" -gt "$before" ] || fail "malformed frames were not counted as drops ($before -> $after)"
    ping_ok "in_pod p2" "${IP[p9]}" "pod p2 -> p9 after malformed frames"
    ok "malformed frames counted and dropped ($before -> $after drops); the agent runs on"
}

stage_pods
echo "smoke: $STAGE passed"
