#!/usr/bin/env bash
# Runs the Service benchmarks (ConnectBench, UdpFlowBench, RuleUpdateBench) for every data plane
# side by side in one JMH run, then renders benchmarks/RESULTS.md from the JMH JSON.
# Usage: benchmarks/run.sh [--quick]   (as root; quick: services 1 and 10000, short iterations)
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
[ "${1:-}" = "--quick" ] && quick=1

if [ ! -f java/target/shunt.jar ] || [ ! -f benchmarks/target/benchmarks.jar ]; then
    mvn -B -q -DskipTests package
fi

out=benchmarks/target/results
mkdir -p "$out"
stamp=$(date -u +%Y%m%dT%H%M%SZ)
json="$out/services-$stamp.json"
labinfo="$out/labinfo-$stamp.jsonl"
: > "$labinfo"

if [ "$quick" -eq 1 ]; then
    services="1,10000"
    traffic=(-wi 1 -w 2s -i 3 -r 3s)
    updates=(-wi 0 -i 2)   # iptables-nft at 10000 Services: ~95 s per restore
else
    services="1,1000,10000"
    traffic=(-wi 2 -w 3s -i 5 -r 5s)
    updates=(-wi 2 -i 8)
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
    echo "date=$stamp"
} > "$out/machine-$stamp.txt"

export SHUNT_BENCH_LABINFO="$PWD/$labinfo"
export SHUNT_JAR="$PWD/java/target/shunt.jar"
start=$(date +%s)
# One JMH run per mode; inside each, the data planes alternate per services count.
"$JAVA" -jar benchmarks/target/benchmarks.jar 'ConnectBench|UdpFlowBench' -p dataplane=iptables,nftables,shunt \
    -p services="$services" -f 1 "${traffic[@]}" -rf json -rff "$out/traffic-$stamp.json"
"$JAVA" -jar benchmarks/target/benchmarks.jar 'RuleUpdateBench' -p dataplane=iptables,nftables,shunt \
    -p services="$services" -f 1 "${updates[@]}" -rf json -rff "$out/updates-$stamp.json"
end=$(date +%s)
echo "duration=$((end - start))s" >> "$out/machine-$stamp.txt"

python3 benchmarks/render-results.py "$out/machine-$stamp.txt" "$labinfo" "$out/traffic-$stamp.json" \
    "$out/updates-$stamp.json" > benchmarks/RESULTS.md
echo "run.sh: wrote benchmarks/RESULTS.md (raw JMH JSON in $out)"
leftover=$(ip netns list | grep -E '^shunt-bench-' || true)
[ -z "$leftover" ] || { echo "run.sh: namespaces left behind: $leftover" >&2; exit 1; }
