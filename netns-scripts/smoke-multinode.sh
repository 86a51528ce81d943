#!/usr/bin/env bash
# The multi-node smoke test (smoke.sh multinode runs it): the cluster lab (lab.sh up --nodes 3),
# one agent per node with the VXLAN overlay, the cluster's nodes, pods and a Service given to
# every agent as manifests (`shunt apply -f`), then real sockets: pod <-> pod across nodes (ping,
# TCP, UDP; full-MTU DF packets pass, larger ones are refused with the path MTU), a ClusterIP
# whose three backends sit on three nodes spreading from a client on each node, a node port on
# one node reaching backends on the others, a fourth node joining live and leaving again, and an
# agent restart that keeps its pods and peers. Everything is removed on exit, also on failure.
# Every loop is bounded in count and time; all traffic stays inside the lab's namespaces.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
. "$ROOT/netns-scripts/lib/common.sh"
SERVER=$ROOT/netns-scripts/lib/podserver.py
CLIENT=$ROOT/netns-scripts/lib/svcclient.py
TMP=$(mktemp -d /tmp/shunt-smoke-mn.XXXXXX)
declare -A AGENT IP
PIDS=()

shunt() { "$JAVA" -jar "$JAR" "$@"; }
sock() { echo "$TMP/node$1.sock"; }
pod_ns() { echo "shunt-node$1-$2"; }   # node pod
in_pod() { local k=$1 p=$2; shift 2; ip netns exec "$(pod_ns "$k" "$p")" "$@"; }
fail() { echo "SMOKE FAIL (multinode): $*" >&2; agent_logs; exit 1; }
shunt_status() { shunt status --socket "$(sock "$1")"; }

cleanup() {
    set +e
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
    pkill -f "$SERVER" 2>/dev/null
    stop_agents
    "$ROOT/netns-scripts/lab.sh" down >/dev/null
    rm -rf "$TMP"
}
trap cleanup EXIT

start_agent() { # k
    local k=$1
    rm -f "$(sock "$k")"
    nsenter --net=/run/netns/shunt-lab-node"$k" "$JAVA" -jar "$JAR" agent --node "node$k" --pod-cidr "10.244.$k.0/24" \
        --underlay-ip "198.18.1.$k" --state "$TMP/state$k" --socket "$(sock "$k")" ${SHUNT_AGENT_OPTS:-} \
        >>"$TMP/agent$k.log" 2>&1 &
    AGENT[$k]=$!
    await_agent "$k" 100 shunt_status
}

node_manifest() { # k...: Node manifests (the VTEP MAC is left to each agent: derived from the name)
    local k
    for k in "$@"; do
        printf 'apiVersion: shunt.dev/v1\nkind: Node\nmetadata: {name: node%s}\nspec: {podCIDR: 10.244.%s.0/24, underlayIP: 198.18.1.%s}\n---\n' "$k" "$k" "$k"
    done
}

apply_on() { # k file
    shunt apply -f "$2" --socket "$(sock "$1")" >"$TMP/apply.out" 2>&1 || fail "apply on node $1: $(cat "$TMP/apply.out")"
}

# Every node learns every other node's pods (and so their endpoints): node k's own pods, as its
# `shunt get pods` prints them, applied on the others.
share_pods() { # nodes...
    local k j
    for k in "$@"; do
        shunt get pods -o json --socket "$(sock "$k")" \
            | "$PY" -c 'import json,sys; d=json.load(sys.stdin); d["items"]=[i for i in d["items"] if i["spec"].get("node")==sys.argv[1]]; print(json.dumps(d))' "node$k" \
            >"$TMP/pods$k.json"
        for j in "$@"; do
            [ "$j" = "$k" ] || apply_on "$j" "$TMP/pods$k.json"
        done
    done
}

serve() { # k pod: a podserver answering with the pod's name on TCP 8080 and UDP 5353
    ip netns exec "$(pod_ns "$1" "$2")" "$PY" "$SERVER" "$2" --tcp 8080 --udp 5353 --lifetime 300 >/dev/null 2>&1 &
    PIDS+=($!)
}

answers() { # k client-pod host port expected-backend: one TCP and one UDP request reach it (bounded retries)
    local k=$1 c=$2 host=$3 port=$4 want=$5 r=""
    for _ in $(seq 1 30); do
        r=$(in_pod "$k" "$c" "$CLIENT" tcp "$host" "$port" 1 2>/dev/null || true)
        echo "$r" | grep -q "\"$want\"" && break
        sleep 0.1
    done
    echo "$r" | grep -q "\"$want\"" || fail "TCP from $c on node $k to $host:$port: $r"
    r=$(in_pod "$k" "$c" "$CLIENT" udp "$host" 5353 3 2>/dev/null || true)
    echo "$r" | grep -q "\"$want\": 3" || fail "UDP from $c on node $k to $host:5353: $r"
}

spread_ok() { # json-result backends tolerance what
    spread_within "$1" "$2" "$3" || fail "$4: uneven or failed: $1"
}

"$ROOT/netns-scripts/lab.sh" up --nodes 3 >/dev/null
for k in 1 2 3; do start_agent "$k"; done
node_manifest 1 2 3 >"$TMP/nodes.yaml"
for k in 1 2 3; do apply_on "$k" "$TMP/nodes.yaml"; done
for k in 1 2 3; do
    shunt status --socket "$(sock "$k")" | grep -c "  peer " | grep -qx 2 || fail "node $k does not show 2 overlay peers"
done
ok "3 nodes, each agent with shunt.vx and 2 overlay peers"

for k in 1 2 3; do
    IP[web-$k]=$(shunt pod add "web-$k" --label app=web --socket "$(sock "$k")") || fail "pod add web-$k"
    IP[c$k]=$(shunt pod add "c$k" --label role=client --socket "$(sock "$k")") || fail "pod add c$k"
    serve "$k" "web-$k"
done
share_pods 1 2 3
ok "pods web-1..3 and c1..3, one of each per node; each node knows the others' pods"

in_pod 1 c1 ping -c 2 -i 0.2 -W 2 "${IP[web-2]}" >/dev/null || fail "ping node1 -> node2 pod"
in_pod 3 c3 ping -c 2 -i 0.2 -W 2 "${IP[web-1]}" >/dev/null || fail "ping node3 -> node1 pod"
in_pod 2 c2 ping -c 2 -i 0.2 -W 2 "${IP[c3]}" >/dev/null || fail "ping node2 -> node3 pod"
answers 1 c1 "${IP[web-2]}" 8080 web-2
answers 2 c2 "${IP[web-3]}" 8080 web-3
answers 3 c3 "${IP[web-1]}" 8080 web-1
ok "pod <-> pod across nodes: ping, TCP and UDP"

# Pods' MTU is the underlay's minus the 50 bytes of VXLAN: 1422 bytes of ping data fill it.
in_pod 1 c1 ping -c 1 -W 2 -M do -s 1422 "${IP[web-3]}" >/dev/null || fail "a full-MTU packet with DF did not cross"
big=$(in_pod 1 c1 ping -c 1 -W 2 -M do -s 1423 "${IP[web-3]}" 2>&1 || true)
echo "$big" | grep -q "mtu.*1450" || fail "a packet over the MTU with DF was not refused with the path MTU: $big"
ok "full-MTU DF packets cross the overlay; one byte more is refused with mtu 1450"

cat >"$TMP/web.yaml" <<'EOF'
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  type: NodePort
  clusterIP: 10.96.0.100
  selector: {app: web}
  ports:
  - {name: http, port: 80, targetPort: 8080, nodePort: 30080}
  - {name: dns, port: 53, targetPort: 5353, protocol: UDP}
EOF
# The same file on every node at once: each converges to the same Service.
applies=()
for k in 1 2 3; do shunt apply -f "$TMP/web.yaml" --socket "$(sock "$k")" >"$TMP/apply-web$k.out" 2>&1 & applies+=($!); done
for p in "${applies[@]}"; do wait "$p" || fail "an apply of web.yaml failed: $(cat "$TMP"/apply-web*.out)"; done
for k in 1 2 3; do
    got=$(shunt get services -o json --socket "$(sock "$k")" | json '[(s["spec"]["clusterIP"], s["spec"]["ports"][0]["nodePort"]) for s in d["items"] if s["metadata"]["name"]=="web"]')
    [ "$got" = "[('10.96.0.100', 30080)]" ] || fail "node $k holds Service web as $got: $(cat "$TMP/apply-web$k.out")"
done
ok "the same Service file applied on three nodes at once: one state (10.96.0.100, node port 30080)"

for k in 1 2 3; do
    r=$(in_pod "$k" "c$k" "$CLIENT" tcp 10.96.0.100 80 900)
    spread_ok "$r" "web-1 web-2 web-3" 0.2 "TCP from node $k over the ClusterIP"
done
r=$(in_pod 2 c2 "$CLIENT" udp 10.96.0.100 53 900); spread_ok "$r" "web-1 web-2 web-3" 0.2 "UDP from node 2 over the ClusterIP"
ok "a ClusterIP with a backend on each node spreads from a client on every node (900 flows each, within 20 %)"

r=$(ip netns exec shunt-lab-ul "$CLIENT" tcp 198.18.1.1 30080 300)
spread_ok "$r" "web-1 web-2 web-3" 0.35 "NodePort on node 1 from outside"
ok "node port 30080 on node 1 reaches the backends on nodes 2 and 3 as well as its own"

# A fourth node joins the running cluster.
"$ROOT/netns-scripts/lab.sh" add-node 4 >/dev/null
start_agent 4
node_manifest 1 2 3 4 >"$TMP/nodes.yaml"
for k in 1 2 3 4; do apply_on "$k" "$TMP/nodes.yaml"; done
IP[web-4]=$(shunt pod add web-4 --label app=web --socket "$(sock 4)") || fail "pod add web-4"
IP[c4]=$(shunt pod add c4 --label role=client --socket "$(sock 4)") || fail "pod add c4"
serve 4 web-4
apply_on 4 "$TMP/web.yaml"
share_pods 1 2 3 4
answers 4 c4 "${IP[web-1]}" 8080 web-1
answers 1 c1 "${IP[web-4]}" 8080 web-4
r=$(in_pod 4 c4 "$CLIENT" tcp 10.96.0.100 80 600)
spread_ok "$r" "web-1 web-2 web-3 web-4" 0.3 "TCP from the new node over the ClusterIP"
ok "node 4 joined live: its pods reach and are reached by every node, and back the Service"

# ... and leaves: its peers forget it (FDB, routes, endpoints).
vtep4=$(shunt status --json --socket "$(sock 4)" | json 'd["overlay"]["vtepMac"]')
kill -TERM "${AGENT[4]}"; wait "${AGENT[4]}" 2>/dev/null || true; unset 'AGENT[4]'
node_manifest 4 >"$TMP/node4.yaml"
for k in 1 2 3; do shunt delete -f "$TMP/node4.yaml" --socket "$(sock "$k")" >/dev/null || fail "delete node4 on node $k"; done
for k in 1 2 3; do
    ip netns exec shunt-lab-node"$k" bridge fdb show dev shunt.vx | grep -q "$vtep4" && fail "node $k still has node 4's FDB entry"
done
r=$(in_pod 1 c1 "$CLIENT" tcp 10.96.0.100 80 300)
spread_ok "$r" "web-1 web-2 web-3" 0.35 "TCP over the ClusterIP after node 4 left"
"$ROOT/netns-scripts/lab.sh" del-node 4
ok "node 4 left: gone from the others' FDB, and its pod no longer an endpoint"

# An agent restart keeps its pods and its peers (all recorded in its state directory).
kill -TERM "${AGENT[2]}"; wait "${AGENT[2]}" 2>/dev/null || true
start_agent 2
shunt status --socket "$(sock 2)" | grep -c "  peer " | grep -qx 2 || fail "node 2 lost its peers across a restart"
answers 1 c1 "${IP[web-2]}" 8080 web-2
answers 2 c2 "${IP[web-1]}" 8080 web-1
ok "node 2's agent restarted: pods kept, peers reprogrammed, traffic across nodes again"

echo "smoke: multinode passed"
