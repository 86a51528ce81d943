# Sourced by the lab scripts (smoke, demo, measure-*): JDK 25 and the shunt jar, built if missing.
# Expects ROOT (the repository); sets JAVA, JAR and PY.
if [ -z "${JAVA_HOME:-}" ] || ! "$JAVA_HOME/bin/java" -version 2>&1 | grep -q 'version "25'; then
    export JAVA_HOME=/usr/lib/jvm/temurin-25-jdk-amd64
fi
JAVA="$JAVA_HOME/bin/java"
JAR="$ROOT/java/target/shunt.jar"
[ -f "$JAR" ] || (cd "$ROOT" && mvn -B -q -DskipTests package)
PY=/usr/bin/python3   # Debian's (with scapy), not whatever python3 comes first on PATH

# The median of the numbers on stdin, one per line.
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR + 1) / 2)]}'; }
