# Sourced by the lab scripts (smoke, demo, measure-*): JDK 25 and the shunt jar, built if missing.
# Expects ROOT (the repository); sets JAVA, JAR and PY.
if [ -z "${JAVA_HOME:-}" ] || ! "$JAVA_HOME/bin/java" -version 2>&1 | grep -q 'version "25'; then
    export JAVA_HOME=/usr/lib/jvm/temurin-25-jdk-amd64
fi
JAVA="$JAVA_HOME/bin/java"
JAR="$ROOT/java/target/shunt.jar"
[ -f "$JAR" ] || (cd "$ROOT" && mvn -B -q -DskipTests package)
PY=/usr/bin/python3   # Debian's (with scapy), not whatever python3 comes first on PATH

# The lab scripts use fixed names (shunt-lab-*, shunt-n1-*, /dev/shm/shunt-n1-conntrack), so two
# of them at once would tear down each other's lab: the second one waits for the first. The lock
# is fd 9, held until the script exits (children that outlive it would hold it too, which the
# scripts' cleanup traps prevent).
# A script started by one that holds the lock (smoke.sh running its multinode stage) must not
# wait for it: SHUNT_LAB_LOCKED says the lock is held up the process tree.
if [ -z "${SHUNT_LAB_LOCKED:-}" ]; then
    exec 9>/run/lock/shunt-lab.lock
    if ! flock -n 9; then
        echo "$(basename "$0"): another Shunt lab script is running; waiting up to 15 min" >&2
        flock -w 900 9 || { echo "$(basename "$0"): gave up waiting for the lab lock" >&2; exit 1; }
    fi
    export SHUNT_LAB_LOCKED=1
fi

ok() { echo "ok   $*"; }
# Evaluates a Python expression over the JSON on stdin (as d) and prints it.
json() { "$PY" -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
# True if a svcclient.py result reached exactly the backends named (space separated), without
# errors, each within TOLERANCE (a fraction) of an even share.   Usage: spread_within JSON BACKENDS TOLERANCE
spread_within() {
    "$PY" - "$1" "$2" "$3" <<'PYEOF'
import json, sys
r = json.loads(sys.argv[1]); names = sys.argv[2].split(); tol = float(sys.argv[3]); got = r["backends"]
total = sum(got.values()); share = total / len(names)
sys.exit(1 if r["errors"] or set(got) != set(names) or any(abs(got[n] - share) > tol * share for n in names) else 0)
PYEOF
}

# For the cluster-lab scripts (smoke-multinode, smoke-etcd, measure-etcd), which define TMP,
# AGENT (node -> agent pid), sock K (node K's API socket) and fail:
# the last lines of every agent's log, to stderr, for a failure message;
agent_logs() {
    local f
    for f in "$TMP"/agent*.log; do [ -f "$f" ] && { echo "--- $f" >&2; tail -15 "$f" >&2; }; done
}
# waits up to TRIES x 0.1 s until node K's agent answers PROBE K on its socket, and fails if the
# agent exits first or never answers   Usage: await_agent K TRIES PROBE;
await_agent() {
    local k=$1 tries=$2 probe=$3
    for _ in $(seq 1 "$tries"); do
        [ -S "$(sock "$k")" ] && "$probe" "$k" >/dev/null 2>&1 && return 0
        kill -0 "${AGENT[$k]}" 2>/dev/null || fail "the agent of node $k exited at start"
        sleep 0.1
    done
    fail "the agent of node $k did not answer within $((tries / 10)) s"
}
# stops every agent (SIGTERM) and waits for each.
stop_agents() {
    local k
    for k in "${!AGENT[@]}"; do kill -TERM "${AGENT[$k]}" 2>/dev/null; done
    for k in "${!AGENT[@]}"; do wait "${AGENT[$k]}" 2>/dev/null; done
}

# The median of the numbers on stdin, one per line.
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR + 1) / 2)]}'; }

# The kernel reference lab: node namespace NODE routing two /32 pods, namespaces PODPREFIX-a and
# PODPREFIX-b at NET.1 and NET.2, over veths named VETHPREFIX-a/-b on the node side, laid out as
# the CNI ptp plugin does (the gateway 169.254.1.1 on the node end of each veth). The caller
# removes the namespaces.   Usage: kernel_pod_pair NODE PODPREFIX VETHPREFIX NET
kernel_pod_pair() {
    local node=$1 podprefix=$2 vethprefix=$3 net=$4 i=0 p ns podip
    ip netns add "$node"; ip -n "$node" link set lo up
    ip netns exec "$node" sysctl -qw net.ipv4.ip_forward=1
    for p in a b; do
        i=$((i + 1)); ns=$podprefix$p; podip=$net.$i
        ip netns add "$ns"; ip -n "$ns" link set lo up
        ip -n "$node" link add "$vethprefix$p" type veth peer name eth0 netns "$ns"
        ip -n "$node" link set "$vethprefix$p" up
        ip -n "$node" addr add 169.254.1.1/32 dev "$vethprefix$p"
        ip -n "$node" route add "$podip/32" dev "$vethprefix$p"
        ip -n "$ns" addr add "$podip/32" dev eth0; ip -n "$ns" link set eth0 up
        ip -n "$ns" route add 169.254.1.1 dev eth0 scope link
        ip -n "$ns" route add default via 169.254.1.1 dev eth0
    done
}
