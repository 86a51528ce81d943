#!/usr/bin/env bash
# Runs the Service benchmarks (ConnectBench, UdpFlowBench, ThroughputBench, RuleUpdateBench) for
# every data plane side by side, then renders benchmarks/RESULTS.md from the JMH JSON.
# Usage: benchmarks/run.sh [--quick] [--out FILE]
#   (as root; quick: services 1 and 10000, short iterations, nftables rulesets loaded in
#   transactions of 1000 Services; --out renders to FILE instead of benchmarks/RESULTS.md, e.g. for a
#   run on a loaded machine that must not replace the recorded results)
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
    echo "run.sh: must run as root (the lab creates network namespaces)" >&2
    exit 1
fi
if [ -z "${JAVA_HOME:-}" ] || ! "$JAVA_HOME/bin/java" -version 2>&1 | grep -q 'version "25'; then
    export JAVA_HOME=/usr/lib/jvm/temurin-25-jdk-amd64
fi
JAVA="$JAVA_HOME/bin/java"
for tool in ip iptables-restore nft conntrack python3; do
    command -v "$tool" >/dev/null || { echo "run.sh: $tool is missing (see README set-up)" >&2; exit 1; }
done

quick=0
results=benchmarks/RESULTS.md
while [ $# -gt 0 ]; do
    case "$1" in
        --quick) quick=1 ;;
        --out) results="${2:?--out needs a file}"; shift ;;
        *) echo "usage: benchmarks/run.sh [--quick] [--out FILE]" >&2; exit 2 ;;
    esac
    shift
done

if [ ! -f java/target/shunt.jar ] || [ ! -f benchmarks/target/benchmarks.jar ]; then
    mvn -B -q -DskipTests package
fi

out=benchmarks/target/results
mkdir -p "$out"
stamp=$(date -u +%Y%m%dT%H%M%SZ)
json="$out/services-$stamp.json"
labinfo="$out/labinfo-$stamp.jsonl"
: > "$labinfo"

# Time budget of quick mode on a quiet 2-vCPU machine (about 8 minutes): 18 traffic trials of ~11 s
# plus their labs (~300 s); each 10000-Service lab's nftables load takes ~12 s in transactions of
# 1000 Services (one transaction: 80-100 s, which 5 such labs cannot afford; the kernel ends in the
# same state either way); an iptables-nft full restore at 10000 Services takes 55-65 s (100-350 s
# on a loaded machine), so quick mode times one per update kind and 3 of the cheap ones.
if [ "$quick" -eq 1 ]; then
    services="1,10000"
    traffic=(-wi 1 -w 2s -i 3 -r 3s)
    updates=(-wi 0 -i 3)
    iptables_updates=(-wi 0 -i 1)
    labopts=(-jvmArgsPrepend -Dshunt.bench.nftLoadChunk=1000)
else
    services="1,1000,10000"
    traffic=(-wi 2 -w 3s -i 5 -r 5s)
    updates=(-wi 2 -i 8)
    # One full restore at 10000 Services took 60-160 s in the session-4 full run (the machine
    # shared): ten per update kind would be 20-50 minutes each, so three, none for warm-up (the
    # restore runs in a fresh iptables-restore process every time; there is nothing to warm).
    iptables_updates=(-wi 0 -i 3)
    labopts=()
fi

# Facts of this machine, for the results' header.
{
    echo "kernel=$(uname -r)"
    echo "cpus=$(nproc)"
    echo "iptables=$(iptables --version)"
    echo "nft=$(nft --version)"
    echo "conntrack=$(conntrack --version 2>&1 | head -1)"
    echo "java=$("$JAVA" -version 2>&1 | head -1)"
    echo "load=$(cut -d' ' -f1-3 /proc/loadavg)"
    echo "mode=$([ "$quick" -eq 1 ] && echo quick || echo full)"
    echo "nftLoadChunk=$([ "$quick" -eq 1 ] && echo 1000 || echo 0)"
    echo "date=$stamp"
} > "$out/machine-$stamp.txt"

export SHUNT_BENCH_LABINFO="$PWD/$labinfo"
export SHUNT_JAR="$PWD/java/target/shunt.jar"
start=$(date +%s)
# One JMH run per mode; inside each, the data planes alternate per services count.
"$JAVA" -jar benchmarks/target/benchmarks.jar 'ConnectBench|UdpFlowBench|ThroughputBench' -p dataplane=iptables,nftables,shunt \
    -p services="$services" -f 1 "${traffic[@]}" "${labopts[@]}" -rf json -rff "$out/traffic-$stamp.json"
"$JAVA" -jar benchmarks/target/benchmarks.jar 'RuleUpdateBench' -p dataplane=nftables,shunt \
    -p services="$services" -f 1 "${updates[@]}" "${labopts[@]}" -rf json -rff "$out/updates-$stamp.json"
"$JAVA" -jar benchmarks/target/benchmarks.jar 'RuleUpdateBench' -p dataplane=iptables \
    -p services="$services" -f 1 "${iptables_updates[@]}" "${labopts[@]}" -rf json -rff "$out/updates-iptables-$stamp.json"
end=$(date +%s)
echo "duration=$((end - start))s" >> "$out/machine-$stamp.txt"

python3 benchmarks/render-results.py "$out/machine-$stamp.txt" "$labinfo" "$out/traffic-$stamp.json" \
    "$out/updates-$stamp.json" "$out/updates-iptables-$stamp.json" > "$results"
echo "run.sh: wrote $results (raw JMH JSON in $out)"
leftover=$(ip netns list | grep -E '^shunt-bench-' || true)
[ -z "$leftover" ] || { echo "run.sh: namespaces left behind: $leftover" >&2; exit 1; }
