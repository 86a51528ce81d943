#!/bin/bash
# Per JMH fork: the score, and how C2 cut the fast path into compile units in that fork.
# usage: benchmarks/jit-shapes.sh [FORKS] [JMH options...]
#   e.g. benchmarks/jit-shapes.sh 10 -p traffic=established -p services=1
# Runs PipelineBench.packet (or the first option, if it is not a -flag) with -XX:+LogCompilation in
# every fork and prints, per fork, its median ns/op next to the tier-4 compile units of the
# pipeline and the calls C2 did not inline (tools/jit_shapes.py says which reasons and why they
# matter), then the forks grouped by shape. Why: the per-packet path is larger than C2's inlining
# budget, so where it is cut depends on which method is compiled first, and forks of one jar
# differ by 5-20 % (benchmarks/PIPELINE-RESULTS.md, session 6).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
JAVA_HOME=${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}
command -v python3 >/dev/null || { echo "jit-shapes.sh: python3 is missing (apt-get install python3)" >&2; exit 2; }
[ -e "$here/target/benchmarks.jar" ] || { echo "jit-shapes.sh: build first (mvn -B -DskipTests package)" >&2; exit 2; }
forks=6
if [ $# -gt 0 ] && [[ $1 =~ ^[0-9]+$ ]]; then
    forks=$1
    shift
fi
[ "$forks" -ge 1 ] || { echo "jit-shapes.sh: FORKS must be at least 1" >&2; exit 2; }
bench='PipelineBench.packet'
if [ $# -gt 0 ] && [[ $1 != -* ]]; then
    bench=$1
    shift
fi
work=$(mktemp -d /tmp/shunt-jit-shapes.XXXXXX)
trap 'rm -rf "$work"' EXIT
"$JAVA_HOME/bin/java" -jar "$here/target/benchmarks.jar" "$bench" -f "$forks" -wi 3 -w 1s -i 5 -r 1s "$@" \
    -jvmArgsAppend "-XX:+UnlockDiagnosticVMOptions -XX:+LogCompilation -XX:LogFile=$work/fork-%p.xml" \
    > "$work/jmh.out" 2>&1 || { tail -30 "$work/jmh.out" >&2; exit 1; }
# One log per fork; the forks run one after the other, so the logs' modification times give their order.
mapfile -t logs < <(ls -tr "$work"/fork-*.xml)
python3 "$here/tools/jit_shapes.py" "$work/jmh.out" "${logs[@]}"
