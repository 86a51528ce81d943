#!/usr/bin/env bash
# From one etcd write to the fast path on another node using it, at 1 and 10,000 Services (issue 11
# item 4). The cluster lab with 2 nodes, both agents on etcd (--etcd); a Service "bench" selecting
# app=bench, applied on node 1 (so it is in etcd, and node 2 applies it from its watch). The
# endpoint change: a pod with app=bench on a ghost node (a subnet key of its own under
# subnets/, so node 2 counts it as an overlay peer and its pods as endpoints; nothing is ever sent
# to it) is put into etcd and deleted again, K times in turns, straight through etcd's JSON
# gateway on one connection (lib/etcdbench.py); the time is from just before the write to node 2's
# /v1/status saying etcd.appliedRevision >= the write's revision (appliedRevision: the highest
# revision whose changes are in the tables the fast path uses), polled every 2 ms on the agent's
# Unix socket. Then N-1 more Services are loaded into etcd, clones of one applied on node 1 (its
# keys, Service and ClusterIP claim, with name, ClusterIP and selector changed), 128 puts per
# transaction, and the same K changes are timed again.
# Usage: netns-scripts/measure-etcd.sh [K] [N...]      (default: K=40, N = 1 10000)
# Everything lives in the lab's namespaces and is removed on exit, also on failure.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
K=${1:-40}
shift || true
SIZES=${*:-1 10000}
. "$ROOT/netns-scripts/lib/common.sh"
BENCH=$ROOT/netns-scripts/lib/etcdbench.py
LAB=$ROOT/netns-scripts/lab.sh
TMP=$(mktemp -d /tmp/shunt-meas-etcd.XXXXXX)
ETCD=http://198.18.1.254:2379
PREFIX=/shunt/
declare -A AGENT

case "$K" in ''|*[!0-9]*) echo "K must be a number of changes (1-1000)" >&2; exit 2 ;; esac
[ "$K" -ge 1 ] && [ "$K" -le 1000 ] || { echo "K must be 1-1000" >&2; exit 2; }
prev=0
for n in $SIZES; do
    case "$n" in ''|*[!0-9]*) echo "N must be a number of Services, not '$n'" >&2; exit 2 ;; esac
    [ "$n" -gt "$prev" ] && [ "$n" -le 50000 ] || { echo "the sizes must increase, 1-50000: $SIZES" >&2; exit 2; }
    prev=$n
done

shunt() { "$JAVA" -jar "$JAR" "$@"; }
sock() { echo "$TMP/node$1.sock"; }
bench() { ip netns exec shunt-lab-ul "$PY" "$BENCH" "$@"; }
fail() { echo "measure-etcd: $*" >&2; agent_logs; exit 1; }
shunt_status() { shunt status --socket "$(sock "$1")"; }
cleanup() {
    set +e
    stop_agents
    "$LAB" down >/dev/null
    rm -rf "$TMP"
}
trap cleanup EXIT

start_agent() { # k
    local k=$1
    nsenter --net=/run/netns/shunt-lab-node"$k" "$JAVA" -jar "$JAR" agent --node "node$k" \
        --underlay-ip "198.18.1.$k" --etcd "$ETCD" --state "$TMP/state$k" --socket "$(sock "$k")" \
        ${SHUNT_AGENT_OPTS:-} >>"$TMP/agent$k.log" 2>&1 &
    AGENT[$k]=$!
    await_agent "$k" 600 shunt_status
}
services_on() { shunt service list --json --socket "$(sock "$1")" | json 'len(d)'; }
current_revision() { bench keys "$ETCD" "${PREFIX}nodes/" | json 'd["revision"]'; }
until_applied() { # k what: until node k's agent has applied everything etcd holds now (bounded: 600 s)
    local r
    r=$(bench wait "$(sock "$1")" appliedRevision "$(current_revision)" 600)
    [ "$(echo "$r" | json 'd["reached"]')" = True ] || fail "node $1 did not apply $2 within 600 s: $r"
    echo "$r" | json 'd["seconds"]'
}

echo "kernel $(uname -r), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg) at start; K=$K changes per size, sizes: $SIZES"
"$LAB" up --nodes 2 >/dev/null
for k in 1 2; do start_agent "$k"; done
shunt status --json --socket "$(sock 2)" | json 'd["etcd"]["appliedRevision"]' >/dev/null \
    || fail "node 2's status has no etcd.appliedRevision: this agent does not apply Services from etcd"

# The ghost node and the endpoint pod's value, cloned from a real pod that node 1 published.
bench put "$ETCD" "${PREFIX}subnets/10.244.254.0-24" \
    '{"node":"shunt-bench-ghost","underlayIp":"198.18.1.200","vtepMac":"0e:00:5e:00:00:c8"}' >/dev/null
shunt pod add shunt-bench-tmpl --label app=shunt-bench-label --socket "$(sock 1)" >"$TMP/tmpl.ip" || fail "pod add on node 1"
tmpl_ip=$(cat "$TMP/tmpl.ip")
for _ in $(seq 1 100); do
    bench keys "$ETCD" "${PREFIX}pods/node1/" | grep -q shunt-bench-tmpl && break
    sleep 0.1
done
pod_value=$(bench clone "$ETCD" "${PREFIX}pods/node1/shunt-bench-tmpl" \
    "{\"shunt-bench-tmpl\": \"bench-ep\", \"node1\": \"shunt-bench-ghost\", \"$tmpl_ip\": \"10.244.254.10\", \"shunt-bench-label\": \"bench\"}") \
    || fail "node 1 did not publish its pod in etcd"
POD_KEY=${PREFIX}pods/shunt-bench-ghost/bench-ep

cat >"$TMP/bench.yaml" <<'EOF'
apiVersion: v1
kind: Service
metadata: {name: bench}
spec:
  clusterIP: 10.100.0.20
  selector: {app: bench}
  ports: [{port: 80, targetPort: 8080}]
EOF
cat >"$TMP/template.yaml" <<'EOF'
apiVersion: v1
kind: Service
metadata: {name: shunt-bench-fill}
spec:
  clusterIP: 10.100.0.10
  selector: {app: shunt-bench-fill-label}
  ports: [{port: 80, targetPort: 8080}]
EOF
shunt apply -f "$TMP/bench.yaml" --socket "$(sock 1)" >/dev/null || fail "apply bench.yaml on node 1"
until_applied 2 "Service bench" >/dev/null

# Once, not timed: node 2 holds the ghost pod as another node's pod (`shunt service list` lists a
# node's own pods only; the fast path's endpoints also come from these).
bench put "$ETCD" "$POD_KEY" "$pod_value" >/dev/null
until_applied 2 "the endpoint pod" >/dev/null
shunt get pods -o json --socket "$(sock 2)" | json '[p["spec"].get("ip") for p in d["items"] if p["metadata"]["name"] == "bench-ep"]' \
    | grep -q "10.244.254.10" || fail "node 2 did not take the ghost pod from etcd: $(shunt get pods --socket "$(sock 2)")"
bench latency "$ETCD" "$(sock 2)" appliedRevision "$POD_KEY" "$pod_value" 2 >/dev/null   # warm-up: put, delete

printf '%-10s %6s %12s %10s %10s %10s %9s %s\n' services K median_ms p90_ms max_ms timeouts load preload
have=1
for n in $SIZES; do
    preload="-"
    if [ "$n" -gt "$have" ]; then
        if [ "$have" -eq 1 ]; then   # the template: one more Service, its keys the pattern of the clones
            bench keys "$ETCD" "$PREFIX" >"$TMP/before.json"
            shunt apply -f "$TMP/template.yaml" --socket "$(sock 1)" >/dev/null || fail "apply template.yaml on node 1"
            bench keys "$ETCD" "$PREFIX" >"$TMP/after.json"
            have=2
        fi
        if [ "$n" -gt "$have" ]; then
            # clones shunt-bench-fill-I for I = have-2 .. n-3 (ClusterIP 10.104.0.1 + I): n Services in all
            t0=$(date +%s.%N)
            r=$(bench preload "$ETCD" "$TMP/before.json" "$TMP/after.json" shunt-bench-fill 10.100.0.10 \
                shunt-bench-fill-label $(( have - 2 )) $(( n - 2 )) 10.104.0.1) || fail "preload: $r"
            until_applied 2 "$((n - have)) Services" >/dev/null
            applied=$(echo "$(date +%s.%N) - $t0" | bc)
            preload="$(echo "$r" | json 'd["keys"]') keys in $(echo "$r" | json 'd["transactions"]') txns, $(echo "$r" | json 'd["seconds"]') s; node 2 had applied them $(printf %.1f "$applied") s after the first"
            have=$n
        fi
    fi
    got=$(services_on 2)
    [ "$got" = "$n" ] || fail "node 2 holds $got Services, expected $n"
    r=$(bench latency "$ETCD" "$(sock 2)" appliedRevision "$POD_KEY" "$pod_value" "$K")
    echo "$r" >"$TMP/latency-$n.json"
    printf '%-10s %6s %12s %10s %10s %10s %9s %s\n' "$n" "$K" "$(echo "$r" | json 'd["median_ms"]')" \
        "$(echo "$r" | json 'd["p90_ms"]')" "$(echo "$r" | json 'd["max_ms"]')" "$(echo "$r" | json 'd["timeouts"]')" \
        "$(cut -d' ' -f1 /proc/loadavg)" "$preload"
done
echo "load $(cut -d' ' -f1-3 /proc/loadavg) at the end"
