#!/usr/bin/env bash
# The multi-node smoke test with etcd (smoke.sh multinode-etcd runs it): the cluster lab
# (lab.sh up --nodes 3, etcd on 198.18.1.254:2379), one agent per node started with --etcd, no Node
# manifests; node 4, the one SIGKILLed, has a 3 s lease TTL, the others 30 s (an agent restart
# keeps its subnet only if it is back within its TTL: a graceful stop plus a JVM start took up to
# 20 s on this 2-core machine while benchmarks ran). Checked with independent witnesses (etcdctl,
# `bridge -j fdb`, `ip -j neigh`, `ip -j link`, real sockets in pod namespaces):
#   - the 3 nodes claim 3 distinct /24s and each agent uses the one etcd records for it;
#   - pod <-> pod across nodes (ping, TCP);
#   - a 4th node joins live, gets its own subnet and reaches every pod, and every pod reaches it;
#   - the 4th node's agent SIGKILLed: the others drop its FDB and neighbour entries within the
#     lease TTL (plus etcd's expiry check), and its subnet key is gone;
#   - etcd SIGKILLed and restarted during a cross-node TCP stream: the stream's bytes and hash
#     match, the subnets and peers are all there afterwards, `shunt status` says retrying while
#     etcd is down and connected after;
#   - Services and pods through etcd: a Service file applied on one node is served on all (its
#     ClusterIP spreads over backends on 3 nodes from a client on each); the same file applied
#     on two nodes at once ends as one Service with one ClusterIP and one claim; a pod added on
#     one node becomes an endpoint on the others;
#   - an agent restart keeps its subnet, adopts its pods (same pod namespace, same veth ifindex),
#     resumes its watch and applies a change made while it was down, once; then follows live.
# Everything is removed on exit, also on failure. Every loop is bounded in count and time; all
# traffic stays inside the lab's namespaces.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
. "$ROOT/netns-scripts/lib/common.sh"
SERVER=$ROOT/netns-scripts/lib/podserver.py
CLIENT=$ROOT/netns-scripts/lib/svcclient.py
STREAM=$ROOT/netns-scripts/lib/tcpstream.py
LAB=$ROOT/netns-scripts/lab.sh
TMP=$(mktemp -d /tmp/shunt-smoke-etcd.XXXXXX)
ETCD=http://198.18.1.254:2379
TTL=30       # nodes 1-3
TTL4=3       # node 4, whose agent is SIGKILLed
declare -A AGENT IP
PIDS=()
KILLED=()   # nodes whose agent was SIGKILLed: their connection table file stays in /dev/shm

shunt() { "$JAVA" -jar "$JAR" "$@"; }
sock() { echo "$TMP/node$1.sock"; }
pod_ns() { echo "shunt-node$1-$2"; }
in_pod() { local k=$1 p=$2; shift 2; ip netns exec "$(pod_ns "$k" "$p")" "$@"; }
in_node() { local k=$1; shift; ip netns exec "shunt-lab-node$k" "$@"; }
etcdctl() { ip netns exec shunt-lab-ul etcdctl --endpoints "$ETCD" "$@"; }
# The agent's /v1/status over its Unix socket (curl: a JVM start per poll would be too slow).
status() { curl -sf --max-time 5 --unix-socket "$(sock "$1")" http://shunt/v1/status; }
fail() { echo "SMOKE FAIL (multinode-etcd): $*" >&2; agent_logs; exit 1; }

cleanup() {
    set +e
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
    stop_agents
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
    "$LAB" down >/dev/null
    for k in "${KILLED[@]}"; do rm -f "/dev/shm/shunt-node$k-conntrack"; done
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'fail "a command failed at line $LINENO"' ERR

launch_agent() { # k ttl: starts node k's agent against etcd (returns at once; wait_agent waits)
    local k=$1 ttl=$2
    rm -f "$(sock "$k")"
    nsenter --net=/run/netns/shunt-lab-node"$k" "$JAVA" -jar "$JAR" agent --node "node$k" \
        --underlay-ip "198.18.1.$k" --etcd "$ETCD" --lease-ttl "$ttl" \
        --state "$TMP/state$k" --socket "$(sock "$k")" ${SHUNT_AGENT_OPTS:-} >>"$TMP/agent$k.log" 2>&1 &
    AGENT[$k]=$!
}
wait_agent() { await_agent "$1" 600 status; } # k (a JVM start on a busy shared machine: up to 60 s)
# True once the status of each of nodes 1-3 makes the Python expression EXPR (over d) True,
# polled up to TRIES times 0.1 s apart.   Usage: all_nodes EXPR TRIES
all_nodes() {
    local expr=$1 tries=$2 k all
    for _ in $(seq 1 "$tries"); do
        all=yes
        for k in 1 2 3; do [ "$(status "$k" | json "$expr")" = True ] || { all=""; break; }; done
        [ -n "$all" ] && return 0
        sleep 0.1
    done
    return 1
}

peers_of() { status "$1" | json '" ".join(sorted(p["node"] for p in d["overlay"]["peers"]))'; }
wait_peers() { # k "nodeA nodeB ..." (sorted): until node k's overlay peers are exactly these (bounded)
    local k=$1 want=$2 got=""
    for _ in $(seq 1 150); do
        got=$(peers_of "$k" 2>/dev/null || true)
        [ "$got" = "$want" ] && return 0
        sleep 0.1
    done
    fail "node $k has overlay peers '$got', expected '$want'"
}

# node -> subnet as etcd records it (the witness: etcdctl, not the agent)
subnets() {
    etcdctl get --prefix /shunt/subnets/ -w json | "$PY" -c '
import base64, json, sys
for kv in json.load(sys.stdin).get("kvs", []):
    key = base64.b64decode(kv["key"]).decode(); value = json.loads(base64.b64decode(kv["value"]))
    print(value["node"], key.rsplit("/", 1)[1].replace("-", "/"))' | sort
}
subnet_of() { subnets | awk -v n="node$1" '$1 == n {print $2}'; }

serve() { # k pod: a podserver answering with the pod's name on TCP 8080 and UDP 5353
    ip netns exec "$(pod_ns "$1" "$2")" "$PY" "$SERVER" "$2" --tcp 8080 --udp 5353 --lifetime 300 >/dev/null 2>&1 &
    PIDS+=($!)
}
answers() { # k client-pod host port expected-backend: a TCP request reaches it (bounded retries)
    local k=$1 c=$2 host=$3 port=$4 want=$5 r=""
    for _ in $(seq 1 30); do
        r=$(in_pod "$k" "$c" "$CLIENT" tcp "$host" "$port" 1 2>/dev/null || true)
        echo "$r" | grep -q "\"$want\"" && return 0
        sleep 0.2
    done
    fail "TCP from $c on node $k to $host:$port: $r"
}
pings() { # k pod target
    in_pod "$1" "$2" ping -c 2 -i 0.2 -W 2 "$3" >/dev/null || fail "ping from $2 on node $1 to $3"
}
# Does node k's shunt.vx hold an FDB entry / a neighbour entry with this MAC? (iproute2's JSON)
fdb_has() { in_node "$1" bridge -j fdb show dev shunt.vx | json "any(e.get('mac') == '$2' for e in d)"; }
neigh_has() { in_node "$1" ip -j neigh show dev shunt.vx | json "any(e.get('lladdr') == '$2' for e in d)"; }
fdb_count() { in_node "$1" bridge -j fdb show dev shunt.vx | json "sum(e.get('mac') == '$2' for e in d)"; }

# ------------------------------------------------------------------ 3 nodes, subnets from etcd
"$LAB" up --nodes 3 >/dev/null
# One at a time: three JVMs starting at once on a busy machine can keep the first etcd request
# past its 5 s timeout, and an agent that cannot reach etcd at start exits.
for k in 1 2 3; do launch_agent "$k" "$TTL"; wait_agent "$k"; done
[ "$(subnets | awk '{print $1}' | tr '\n' ' ')" = "node1 node2 node3 " ] || fail "etcd's subnet keys: $(subnets)"
[ "$(subnets | awk '{print $2}' | sort -u | wc -l)" = 3 ] || fail "the subnets are not distinct: $(subnets)"
for k in 1 2 3; do
    got=$(status "$k" | json 'd["podCidr"]')
    [ "$got" = "$(subnet_of "$k")" ] || fail "node $k uses $got, etcd records $(subnet_of "$k") for it"
done
wait_peers 1 "node2 node3"; wait_peers 2 "node1 node3"; wait_peers 3 "node1 node2"
ok "3 nodes claimed 3 distinct /24s in etcd ($(subnets | awk '{printf "%s %s, ", $1, $2}' | sed 's/, $//')); each sees the other 2 as peers"

for k in 1 2 3; do
    IP[web-$k]=$(shunt pod add "web-$k" --label app=web --socket "$(sock "$k")") || fail "pod add web-$k"
    IP[c$k]=$(shunt pod add "c$k" --label role=client --socket "$(sock "$k")") || fail "pod add c$k"
    serve "$k" "web-$k"
done
pings 1 c1 "${IP[web-2]}"; pings 2 c2 "${IP[web-3]}"; pings 3 c3 "${IP[c1]}"
answers 1 c1 "${IP[web-3]}" 8080 web-3
answers 2 c2 "${IP[web-1]}" 8080 web-1
answers 3 c3 "${IP[web-2]}" 8080 web-2
ok "pod <-> pod across nodes on etcd's subnets: ping and TCP"

# ------------------------------------------------------------------ a 4th node joins live
"$LAB" add-node 4 >/dev/null
launch_agent 4 "$TTL4"; wait_agent 4
sub4=$(subnet_of 4)
[ -n "$sub4" ] && [ "$(subnets | awk '{print $2}' | sort -u | wc -l)" = 4 ] || fail "node 4 did not get a subnet of its own: $(subnets)"
wait_peers 4 "node1 node2 node3"
wait_peers 1 "node2 node3 node4"; wait_peers 2 "node1 node3 node4"; wait_peers 3 "node1 node2 node4"
IP[web-4]=$(shunt pod add web-4 --label app=web --socket "$(sock 4)") || fail "pod add web-4"
IP[c4]=$(shunt pod add c4 --label role=client --socket "$(sock 4)") || fail "pod add c4"
serve 4 web-4
for k in 1 2 3; do
    pings 4 c4 "${IP[web-$k]}"; pings 4 c4 "${IP[c$k]}"
    answers 4 c4 "${IP[web-$k]}" 8080 "web-$k"
    answers "$k" "c$k" "${IP[web-4]}" 8080 web-4
done
ok "node 4 joined live with subnet $sub4: its pods reach every pod on nodes 1-3 and are reached from each"

# ------------------------------------------------------------------ node 4's agent SIGKILLed
vtep4=$(status 4 | json 'd["overlay"]["vtepMac"]')
for k in 1 2 3; do
    [ "$(fdb_has "$k" "$vtep4")" = True ] && [ "$(neigh_has "$k" "$vtep4")" = True ] \
        || fail "node $k has no FDB/neighbour entry for node 4 ($vtep4) before the kill"
done
kill -9 "${AGENT[4]}"; wait "${AGENT[4]}" 2>/dev/null || true; unset 'AGENT[4]'; KILLED+=(4)
t0=$(date +%s.%N); gone=""
for _ in $(seq 1 150); do
    gone=yes
    for k in 1 2 3; do
        if [ "$(fdb_has "$k" "$vtep4")" != False ] || [ "$(neigh_has "$k" "$vtep4")" != False ]; then gone=""; break; fi
    done
    [ -n "$gone" ] && break
    sleep 0.05
done
t=$(echo "$(date +%s.%N) - $t0" | bc)
[ -n "$gone" ] || fail "node 4's FDB/neighbour entries still on the others $t s after its agent was killed"
[ -z "$(subnet_of 4)" ] || fail "node 4's subnet key outlived its lease"
# The key lives for what was left of the TTL at the last renewal, then etcd's expiry check (every
# 0.5 s) and the watch: TTL + 1.5 s at most on an idle machine.
awk -v t="$t" -v max="$TTL4" 'BEGIN {exit !(t <= max + 1.5)}' || fail "node 4 took $t s to disappear (lease TTL $TTL4 s)"
for k in 1 2 3; do wait_peers "$k" "$(echo node1 node2 node3 | tr ' ' '\n' | grep -vx "node$k" | tr '\n' ' ' | sed 's/ $//')"; done
"$LAB" del-node 4 >/dev/null
ok "node 4's agent SIGKILLed: gone from the FDB and neighbours of nodes 1-3 after $(printf %.2f "$t") s (TTL $TTL4 s), its subnet key expired"

# ------------------------------------------------------------------ etcd killed during traffic
before=$(subnets)
bytes=1500000
# (ip netns exec execs timeout, so $! is the process itself, for cleanup to stop)
ip netns exec "$(pod_ns 2 web-2)" timeout 60 "$PY" "$STREAM" recv 7300 50 >"$TMP/recv.json" &
recv_pid=$!; PIDS+=($recv_pid)
for _ in $(seq 1 50); do in_pod 2 web-2 ss -ltn | grep -q ':7300 ' && break; sleep 0.1; done
ip netns exec "$(pod_ns 1 c1)" timeout 60 "$PY" "$STREAM" send "${IP[web-2]}" 7300 "$bytes" 14 >"$TMP/send.json" 2>"$TMP/send.err" &
send_pid=$!; PIDS+=($send_pid)
sleep 2
"$LAB" etcd kill
down_at=$(date +%s.%N)
all_nodes 'd["etcd"]["connected"] is False' 100 \
    || fail "with etcd down, not every agent's status says so: $(status 1 | json 'd["etcd"]')"
shunt status --socket "$(sock 1)" >"$TMP/status-down.txt" || fail "shunt status with etcd down"
grep -q "etcd .*retrying since" "$TMP/status-down.txt" || fail "shunt status with etcd down: $(cat "$TMP/status-down.txt")"
"$LAB" etcd start
up_at=$(date +%s.%N)
all_nodes 'd["etcd"]["connected"] and d["etcd"]["lease"] == "HELD"' 300 \
    || fail "the agents did not reconnect to the restarted etcd: $(status 1 | json 'd["etcd"]')"
shunt status --socket "$(sock 1)" >"$TMP/status-up.txt" || fail "shunt status after etcd came back"
grep -q "etcd .*connected" "$TMP/status-up.txt" || fail "shunt status after etcd came back: $(cat "$TMP/status-up.txt")"
wait "$send_pid" || fail "the TCP stream's sender failed across the etcd restart: $(cat "$TMP/send.err")"
wait "$recv_pid" || fail "the TCP stream's receiver failed across the etcd restart"
[ "$(cat "$TMP/recv.json")" = "$("$PY" "$STREAM" expect "$bytes")" ] \
    || fail "the stream across the etcd restart: received $(cat "$TMP/recv.json"), sent $(cat "$TMP/send.json")"
[ "$(subnets)" = "$before" ] || fail "subnets after the etcd restart: $(subnets) (before: $before)"
wait_peers 1 "node2 node3"; wait_peers 2 "node1 node3"; wait_peers 3 "node1 node2"
ok "etcd SIGKILLed for $(printf %.1f "$(echo "$up_at - $down_at" | bc)") s during a node1 -> node2 TCP stream: $bytes bytes, sha256 matches; status said retrying, then connected; subnets and peers unchanged"

# ------------------------------------------------------------------ Services through etcd
# A Service file applied on one node is served on all: its ClusterIP, from a client pod on each
# node, spreads over the three backends on three nodes (each node publishes its pods in etcd,
# pods/NODE/NAME). Node 4's pods are still in etcd, but node 4 is gone: they are no endpoints.
cat >"$TMP/web.yaml" <<'EOF'
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
EOF
shunt apply -f "$TMP/web.yaml" --socket "$(sock 1)" >"$TMP/apply.out" 2>&1 || fail "apply web.yaml on node 1: $(cat "$TMP/apply.out")"
cluster_ips() { # name: the ClusterIPs nodes 1-3 hold for it, one line per node
    local k
    for k in 1 2 3; do
        shunt get services -o json --socket "$(sock "$k")" | json "' '.join(s['spec']['clusterIP'] for s in d['items'] if s['metadata']['name'] == '$1') or '-'"
    done
}
same_ip() { # name: the one ClusterIP all 3 nodes hold for it (bounded wait), or fails
    local got=""
    for _ in $(seq 1 40); do
        got=$(cluster_ips "$1" | sort -u)
        if [ "$(echo "$got" | wc -l)" = 1 ] && [ "$got" != "-" ]; then echo "$got"; return 0; fi
        sleep 0.25
    done
    fail "the nodes disagree on $1's ClusterIP: $(cluster_ips "$1" | tr '\n' ' ')"
}
# The backends a client reaches through a ClusterIP are the witness (`shunt service list` lists
# only the node's own pods as endpoints; its fast path has the other nodes' too).
backends_from() { # k client vip port: the backends 60 connections reached, sorted, or "errors"
    in_pod "$1" "$2" "$CLIENT" tcp "$3" "$4" 60 | json "'errors' if d['errors'] else ' '.join(sorted(d['backends']))"
}
wait_backends() { # k client vip port "backends" (sorted): bounded
    local got=""
    for _ in $(seq 1 20); do
        got=$(backends_from "$1" "$2" "$3" "$4")
        [ "$got" = "$5" ] && return 0
        sleep 0.25
    done
    fail "from $2 on node $1, $3:$4 reaches '$got', expected '$5'"
}
claims_of() { # name: how many ClusterIP claims in etcd name it
    etcdctl get --prefix /shunt/clusterips/ --print-value-only | grep -c "^\"\?$1\"\?$" || true
}
vip=$(same_ip web)
[ "$(claims_of web)" = 1 ] || fail "etcd's ClusterIP claims: $(etcdctl get --prefix /shunt/clusterips/)"
for k in 1 2 3; do wait_backends "$k" "c$k" "$vip" 80 "web-1 web-2 web-3"; done
for k in 1 2 3; do
    r=$(in_pod "$k" "c$k" "$CLIENT" tcp "$vip" 80 900)
    spread_within "$r" "web-1 web-2 web-3" 0.2 || fail "TCP from node $k over web's ClusterIP $vip: uneven or failed: $r"
done
ok "a Service file applied on node 1 only: ClusterIP $vip on all 3 nodes, spreading over web-1..3 from a client on each (900 connections, within 20 %)"

# The same file applied on two nodes at once: one Service, one ClusterIP, one claim.
sed 's/name: web/name: race/; s/port: 80,/port: 81,/' "$TMP/web.yaml" >"$TMP/race.yaml"
applies=()
for k in 2 3; do shunt apply -f "$TMP/race.yaml" --socket "$(sock "$k")" >"$TMP/apply-race$k.out" 2>&1 & applies+=($!); done
for p in "${applies[@]}"; do wait "$p" || fail "an apply of race.yaml failed: $(cat "$TMP"/apply-race*.out)"; done
race_ip=$(same_ip race)
[ "$(claims_of race)" = 1 ] || fail "etcd holds $(claims_of race) ClusterIP claims for race: $(etcdctl get --prefix /shunt/clusterips/)"
wait_backends 1 c1 "$race_ip" 81 "web-1 web-2 web-3"
ok "the same Service file applied on nodes 2 and 3 at once: one ClusterIP ($race_ip) on all 3 nodes, one claim in etcd (node 2: $(cat "$TMP/apply-race2.out"), node 3: $(cat "$TMP/apply-race3.out"))"

# A pod added on one node becomes an endpoint on the others, and serves.
IP[web-1b]=$(shunt pod add web-1b --label app=web --socket "$(sock 1)") || fail "pod add web-1b"
serve 1 web-1b
for k in 2 3; do wait_backends "$k" "c$k" "$vip" 80 "web-1 web-1b web-2 web-3"; done
r=$(in_pod 3 c3 "$CLIENT" tcp "$vip" 80 600)
spread_within "$r" "web-1 web-1b web-2 web-3" 0.3 || fail "TCP from node 3 over $vip after web-1b came: $r"
ok "pod web-1b added on node 1: an endpoint of web on nodes 2 and 3 (their clients reach it over $vip), spreading over 4 backends from node 3"

# ------------------------------------------------------------------ an agent restart
sub2=$(subnet_of 2)
veth2=$(shunt pod list --json --socket "$(sock 2)" | json '[p["hostVeth"] for p in d if p["name"] == "web-2"][0]')
ifindex() { in_node 2 ip -j link show dev "$veth2" | json 'd[0]["ifindex"]'; }
netns_inode() { stat -L -c %i "/run/netns/$(pod_ns 2 web-2)"; }
pod_ifindex() { in_pod 2 web-2 ip -j link show dev eth0 | json 'd[0]["ifindex"]'; }
idx_before=$(ifindex); ino_before=$(netns_inode); pidx_before=$(pod_ifindex)
# While node 2's agent is down: ghost-a (a subnet key of a node that does not exist; nothing is
# sent to it) is deleted, ghost-b created, and Service late applied on node 1. Node 2 must end up
# with ghost-b's entries, once, none of ghost-a's (subnets are listed at every start), and Service
# late from its watch resumed after the revision it had saved: exactly one change applied.
ghost() { printf '{"node":"%s","underlayIp":"198.18.1.%s","vtepMac":"%s"}' "$1" "$2" "$3"; }
mac_a=0e:00:5e:00:00:a1; mac_b=0e:00:5e:00:00:b1
etcdctl put /shunt/subnets/10.244.250.0-24 "$(ghost ghost-a 250 $mac_a)" >/dev/null
for _ in $(seq 1 50); do [ "$(fdb_has 2 $mac_a)" = True ] && break; sleep 0.1; done
[ "$(fdb_has 2 $mac_a)" = True ] || fail "node 2 did not pick up ghost-a from etcd"
sed 's/name: web/name: late/; s/port: 80,/port: 82,/' "$TMP/web.yaml" >"$TMP/late.yaml"
"$PY" -c 'import json, sys; print(json.dumps({"manifest": open(sys.argv[1]).read()}))' "$TMP/late.yaml" >"$TMP/late.json"
stop_at=$(date +%s.%N)
kill -TERM "${AGENT[2]}"; wait "${AGENT[2]}" 2>/dev/null || true; unset 'AGENT[2]'
stopped=$(echo "$(date +%s.%N) - $stop_at" | bc)
etcdctl del /shunt/subnets/10.244.250.0-24 >/dev/null
etcdctl put /shunt/subnets/10.244.251.0-24 "$(ghost ghost-b 251 $mac_b)" >/dev/null
# (through node 1's API with curl: a CLI JVM would keep node 2 down for seconds longer)
curl -sf --max-time 20 --unix-socket "$(sock 1)" -H 'Content-Type: application/json' --data-binary @"$TMP/late.json" \
    http://shunt/v1/state/apply >"$TMP/late.out" || fail "apply late.yaml on node 1 while node 2 is down: $(cat "$TMP/late.out")"
rev=$(etcdctl get -w json /shunt/services/late | json 'd["kvs"][0]["mod_revision"]')
launch_agent 2 "$TTL"; wait_agent 2
back=$(echo "$(date +%s.%N) - $stop_at" | bc)
[ "$(status 2 | json 'd["podCidr"]')" = "$sub2" ] && [ "$(subnet_of 2)" = "$sub2" ] || fail "node 2 changed its subnet across a restart ($(printf %.1f "$back") s, TTL $TTL s): $(subnets)"
grep -q "kept subnet $sub2" "$TMP/agent2.log" || fail "node 2's agent did not say it kept $sub2"
[ "$(ifindex)" = "$idx_before" ] && [ "$(netns_inode)" = "$ino_before" ] && [ "$(pod_ifindex)" = "$pidx_before" ] \
    || fail "pod web-2 was re-created across the restart (veth $veth2 ifindex $idx_before -> $(ifindex), netns inode $ino_before -> $(netns_inode))"
wait_peers 2 "ghost-b node1 node3"
[ "$(fdb_count 2 $mac_b)" = 1 ] && [ "$(neigh_has 2 $mac_b)" = True ] || fail "node 2 after its restart: ghost-b's FDB entries $(fdb_count 2 $mac_b)"
[ "$(fdb_has 2 $mac_a)" = False ] && [ "$(neigh_has 2 $mac_a)" = False ] || fail "node 2 kept ghost-a, deleted while it was down"
late_ip=$(same_ip late)
etcd2=$(status 2 | json 'json.dumps(d["etcd"])')
applied=$(echo "$etcd2" | json 'd["appliedRevision"]')
[ "$applied" -ge "$rev" ] || fail "node 2 applied up to revision $applied, before the change at $rev"
[ "$(echo "$etcd2" | json 'd["resumedFromRevision"] > 0 and d["changesApplied"] == 1')" = True ] \
    || fail "node 2 did not resume its watch and apply exactly the one Service change: $etcd2"
etcdctl del /shunt/subnets/10.244.251.0-24 >/dev/null
shunt delete -f "$TMP/late.yaml" --socket "$(sock 3)" >/dev/null || fail "delete late.yaml on node 3"
wait_peers 2 "node1 node3"
for _ in $(seq 1 50); do [ "$(fdb_has 2 $mac_b)" = False ] && break; sleep 0.1; done
[ "$(fdb_has 2 $mac_b)" = False ] || fail "node 2's watch did not follow a subnet change after its restart"
for _ in $(seq 1 40); do [ "$(cluster_ips late | sort -u)" = "-" ] && break; sleep 0.25; done
[ "$(cluster_ips late | sort -u)" = "-" ] || fail "Service late deleted on node 3 is still on some node: $(cluster_ips late | tr '\n' ' ')"
answers 1 c1 "${IP[web-2]}" 8080 web-2
answers 2 c2 "${IP[web-3]}" 8080 web-3
r=$(in_pod 2 c2 "$CLIENT" tcp "$vip" 80 600)
spread_within "$r" "web-1 web-1b web-2 web-3" 0.3 || fail "TCP from node 2 over $vip after its restart: $r"
ok "node 2's agent restarted (stopped in $(printf %.1f "$stopped") s, back after $(printf %.1f "$back") s): kept $sub2, adopted web-2 (veth ifindex $idx_before, same netns), resumed its watch (from revision $(echo "$etcd2" | json 'd["resumedFromRevision"]')) and applied the one Service change made while it was down once (late, $late_ip; revision $rev), subnets relisted, then followed live; web spreads from it again"

echo "smoke: multinode-etcd passed"
