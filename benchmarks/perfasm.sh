#!/bin/bash
# The JIT's code of a benchmark with the share of samples per instruction (JMH's perfasm).
# usage: benchmarks/perfasm.sh 'PipelineBench.packet' -p traffic=established -p services=1
# Needs: perf, gcc, libhsdis0-fcml (apt). The VM here has no hardware counters, so samples are
# cpu-clock ticks (with skid: a stall shows on the instruction after the slow one).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
JAVA_HOME=${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}
for need in perf gcc; do
    command -v "$need" >/dev/null || { echo "perfasm.sh: $need is missing (apt-get install linux-perf gcc)" >&2; exit 2; }
done
[ -e /usr/lib/x86_64-linux-gnu/libhsdis.so.0 ] || { echo "perfasm.sh: apt-get install libhsdis0-fcml" >&2; exit 2; }
[ -e "$here/target/benchmarks.jar" ] || { echo "perfasm.sh: build first (mvn -B -DskipTests package)" >&2; exit 2; }
[ $# -ge 1 ] || { echo "usage: $0 BENCHMARK_REGEX [JMH options...]" >&2; exit 2; }
shim=$(mktemp -d /tmp/shunt-hsdis.XXXXXX)
trap 'rm -rf "$shim"' EXIT
gcc -shared -fPIC -O2 -o "$shim/hsdis-amd64.so" "$here/tools/hsdis-shim.c" -ldl
LD_LIBRARY_PATH="$shim" "$JAVA_HOME/bin/java" -jar "$here/target/benchmarks.jar" "$@" -f 1 -wi 4 -w 1s -i 6 -r 1s \
    -prof 'perfasm:events=cpu-clock;top=8;mergeMargin=64;tooBigThreshold=20000;intelSyntax=true'
