#!/usr/bin/env python3
"""Renders benchmarks/RESULTS.md from run.sh's outputs: the machine facts, the labs' JSON lines
(load time, ruleset size) and JMH's JSON results. Usage: render-results.py MACHINE LABINFO JSON..."""
import json
import sys

PLANES = ["iptables", "nftables", "shunt"]


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return []


def fmt(x, digits=0):
    if x is None:
        return "–"
    if digits == 0:
        return f"{x:,.0f}"
    return f"{x:,.{digits}f}"


def ratio(a, b):
    if a is None or b is None or b == 0:
        return "–"
    return f"{a / b:.2f}x"


def main():
    machine = dict(line.rstrip("\n").split("=", 1) for line in open(sys.argv[1]) if "=" in line)
    labs = [json.loads(line) for line in open(sys.argv[2]) if line.strip()]
    results = []
    for path in sys.argv[3:]:
        results += load(path)

    by = {}
    for r in results:
        bench = r["benchmark"].rsplit(".", 2)[-2]
        p = r["params"]
        by[(bench, p["dataplane"], int(p["services"]))] = r
    counts = sorted({int(r["params"]["services"]) for r in results})

    out = []
    out.append("# Service data planes: kube-proxy iptables, kube-proxy nftables, Shunt\n")
    out.append(f"Mode **{machine.get('mode')}**, {machine.get('date')}, run took {machine.get('duration')}. "
               f"Kernel {machine.get('kernel')}, {machine.get('cpus')} vCPUs, load average at start "
               f"{machine.get('load')}; {machine.get('iptables')}; {machine.get('nft')}; "
               f"{machine.get('conntrack')}; {machine.get('java')}.\n")
    out.append("Reproduce: `benchmarks/run.sh --quick` (or without `--quick` for services 1, 1000, 10000 and longer "
               "iterations), as root after the README set-up. All data planes run in the same JMH run, one after the "
               "other per Services count, on the same lab (`dev.shunt.bench.lab.ServiceLab`); the lab, and with it "
               "the connection table, is rebuilt for every trial. The machine is shared and small: read ratios, "
               "not absolute figures. Median is p0.50 of JMH's sample mode.\n")

    def traffic_table(bench, title, unit):
        out.append(f"## {title}\n")
        out.append(f"| Services | " + " | ".join(f"{d} {unit}" for d in PLANES)
                   + " | " + " | ".join(f"{d} p50 / p99 µs" for d in PLANES)
                   + " | shunt/iptables | shunt/nftables | failures (ipt/nft/shunt) |")
        out.append("|---:|" + "---:|" * (2 * len(PLANES) + 3))
        for n in counts:
            rates, lat, fails = {}, {}, []
            for d in PLANES:
                r = by.get((bench, d, n))
                if r is None:
                    rates[d] = None
                    lat[d] = "–"
                    fails.append("–")
                    continue
                m = r["primaryMetric"]
                mean_us = m["score"]
                rates[d] = 1e6 / mean_us if mean_us > 0 else None
                pct = m.get("scorePercentiles", {})
                lat[d] = f"{pct.get('50.0', 0):.0f} / {pct.get('99.0', 0):.0f}"
                f = r.get("secondaryMetrics", {}).get("failures", {}).get("score")
                fails.append(fmt(f) if f is not None else "–")
            out.append(f"| {n:,} | " + " | ".join(fmt(rates[d]) for d in PLANES) + " | "
                       + " | ".join(lat[d] for d in PLANES) + " | " + ratio(rates["shunt"], rates["iptables"])
                       + " | " + ratio(rates["shunt"], rates["nftables"]) + " | " + " / ".join(fails) + " |")
        out.append("")

    traffic_table("ConnectBench", "New TCP connections through the VIP (connect, 1 B request, 1 B reply, close)",
                  "conn/s")
    traffic_table("UdpFlowBench", "New UDP flows through the VIP (new source port, 1 B request, 1 B reply)",
                  "flows/s")

    out.append("## Adding one Service while N exist (ms, single shot; lower is better)\n")
    out.append("| Services | " + " | ".join(f"{d} ms" for d in PLANES) + " | shunt/iptables (time) | shunt/nftables (time) |")
    out.append("|---:|" + "---:|" * (len(PLANES) + 2))
    for n in counts:
        ms = {}
        for d in PLANES:
            r = by.get(("RuleUpdateBench", d, n))
            ms[d] = r["primaryMetric"]["score"] if r else None
        out.append(f"| {n:,} | " + " | ".join(fmt(ms[d], 1) for d in PLANES) + " | "
                   + ratio(ms["shunt"], ms["iptables"]) + " | " + ratio(ms["shunt"], ms["nftables"]) + " |")
    out.append("")
    out.append("iptables: kube-proxy's full sync (`iptables-restore --noflush` of the whole filter and nat tables); "
               "nftables: kube-proxy's partial sync (one `nft -f` transaction with the new Service's chains and "
               "elements); shunt: one `POST /v1/services` that returns after the new Service table is published "
               "to the fast path.\n")

    out.append("## Rulesets and initial load (one line per lab built in this run)\n")
    out.append("| data plane | Services | initial load ms | kernel ruleset |")
    out.append("|---|---:|---:|---|")
    seen = set()
    for lab in labs:
        key = (lab.get("dataplane"), lab.get("services"))
        if key in seen:
            continue
        seen.add(key)
        if lab.get("dataplane") == "iptables":
            size = (f"{lab.get('iptablesRules')} rules in {lab.get('iptablesChains')} chains "
                    f"({lab.get('kubeServicesRules')} in nat KUBE-SERVICES)")
        elif lab.get("dataplane") == "nftables":
            size = (f"{lab.get('nftRules')} rules, {lab.get('nftChains')} chains, "
                    f"{lab.get('nftSetElements')} set/map elements")
        else:
            size = (f"{lab.get('shuntServices')} Services in the agent; kernel: {lab.get('nftRules')} nft rules "
                    f"(its static node rules)")
        load_what = "agent start with the Services" if lab.get("dataplane") == "shunt" else "one restore / nft -f"
        out.append(f"| {lab.get('dataplane')} | {lab.get('services'):,} | {fmt(lab.get('loadMillis'))} ({load_what}) | {size} |")
    out.append("")
    print("\n".join(out))


main()
