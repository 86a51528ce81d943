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
    r = a / b
    # Below 0.01 two decimals would print 0.00x: keep two significant digits instead.
    return f"{r:.2f}x" if r >= 0.01 else f"{r:.2g}x"


def main():
    machine = dict(line.rstrip("\n").split("=", 1) for line in open(sys.argv[1]) if "=" in line)
    labs = [json.loads(line) for line in open(sys.argv[2]) if line.strip()]
    results = []
    for path in sys.argv[3:]:
        results += load(path)

    by = {}
    for r in results:
        bench, method = r["benchmark"].rsplit(".", 2)[-2:]
        p = r["params"]
        by[(bench, p["dataplane"], int(p["services"]))] = r
        by[(f"{bench}.{method}", p["dataplane"], int(p["services"]))] = r
    counts = sorted({int(r["params"]["services"]) for r in results})

    out = []
    out.append("# Service data planes: kube-proxy iptables, kube-proxy nftables, Shunt\n")
    out.append(f"Mode **{machine.get('mode')}**, {machine.get('date')}, run took {machine.get('duration')}. "
               f"Kernel {machine.get('kernel')}, {machine.get('cpus')} vCPUs, load average at start "
               f"{machine.get('load')}; {machine.get('iptables')}; {machine.get('nft')}; "
               f"{machine.get('conntrack')}; {machine.get('java')}.\n")
    chunk = int(machine.get("nftLoadChunk", "0") or 0)
    out.append("Reproduce: `benchmarks/run.sh --quick` (or without `--quick` for services 1, 1000, 10000 and longer "
               "iterations), as root after the README set-up. The traffic benchmarks run all data planes in one JMH "
               "run, one after the other per Services count; the update benchmarks run nftables and shunt in one "
               "JMH run and iptables in a second (its full restores take minutes at 10,000 Services, so quick mode "
               "times fewer of them). Every data plane gets the same lab (`dev.shunt.bench.lab.ServiceLab`); the "
               "lab, and with it the connection table, is rebuilt for every trial. The machine is shared and small: "
               "read ratios, not absolute figures. Median is p0.50 of JMH's sample mode."
               + (f" nftables rulesets were loaded in transactions of {chunk} Services (same kernel state as kube-proxy's "
                  "single start-up transaction, which takes 80-100 s at 10,000 Services on this kernel)." if chunk else "")
               + "\n")

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

    out.append("## Bulk TCP through the VIP (one connection per 64 MiB transfer, delivery confirmed by the server)\n")
    out.append("| Services | " + " | ".join(f"{d} Gbit/s" for d in PLANES)
               + " | shunt/iptables | shunt/nftables | cut short (ipt/nft/shunt) | failures (ipt/nft/shunt) |")
    out.append("|---:|" + "---:|" * (len(PLANES) + 4))
    for n in counts:
        gbit, cut, fails = {}, [], []
        for d in PLANES:
            r = by.get(("ThroughputBench", d, n))
            secondary = r.get("secondaryMetrics", {}) if r else {}
            b = secondary.get("bytes", {}).get("score")
            gbit[d] = b * 8 / 1e9 if b is not None else None
            c = secondary.get("cutShort", {}).get("score")
            f = secondary.get("failures", {}).get("score")
            cut.append(fmt(c) if c is not None else "–")
            fails.append(fmt(f) if f is not None else "–")
        out.append(f"| {n:,} | " + " | ".join(fmt(gbit[d], 2) for d in PLANES) + " | "
                   + ratio(gbit["shunt"], gbit["iptables"]) + " | " + ratio(gbit["shunt"], gbit["nftables"]) + " | "
                   + " / ".join(cut) + " | " + " / ".join(fails) + " |")
    out.append("")
    out.append("From the client pod's namespace, one transfer per JMH operation: a new connection to the VIP's bulk "
               "port, 64 MiB (or what 2 s allow) from one direct buffer, FIN, and the server pod's byte count back; "
               "Gbit/s counts only bytes the server confirmed. Same client code and kernel socket defaults for "
               "every data plane. Flows are established after their first packet, so the Services count should not "
               "matter here.\n")

    def update_table(method, title, note):
        out.append(f"## {title} (ms, single shot; lower is better)\n")
        out.append("| Services | " + " | ".join(f"{d} ms" for d in PLANES)
                   + " | shunt/iptables (time) | shunt/nftables (time) | shots (ipt/nft/shunt) |")
        out.append("|---:|" + "---:|" * (len(PLANES) + 3))
        for n in counts:
            ms, shots = {}, []
            for d in PLANES:
                r = by.get((f"RuleUpdateBench.{method}", d, n))
                ms[d] = r["primaryMetric"]["score"] if r else None
                raw = r["primaryMetric"].get("rawData", []) if r else []
                shots.append(str(sum(len(fork) for fork in raw)) if r else "–")
            out.append(f"| {n:,} | " + " | ".join(fmt(ms[d], 1) for d in PLANES) + " | "
                       + ratio(ms["shunt"], ms["iptables"]) + " | " + ratio(ms["shunt"], ms["nftables"]) + " | "
                       + " / ".join(shots) + " |")
        out.append("")
        out.append(note + "\n")

    update_table("addService", "Adding one Service while N exist",
                 "iptables: kube-proxy's full sync (`iptables-restore --noflush` of the whole filter and nat tables); "
                 "nftables: kube-proxy's partial sync (one `nft -f` transaction with the new Service's chains and "
                 "elements); shunt: one `POST /v1/services` that returns after the new Service table is published "
                 "to the fast path.")
    update_table("changeEndpoint", "One endpoint stops being ready while N Services exist",
                 "The measured Service (3 ports) loses one of its 3 endpoints. iptables: kube-proxy's full sync "
                 "(`iptables-restore --noflush` of both tables, the endpoint's KUBE-SEP chains deleted); nftables: "
                 "kube-proxy's partial sync (one `nft -f` transaction rewriting the Service's service and endpoint "
                 "chains, the gone endpoint's chains flushed); shunt: one `DELETE /v1/pods/POD?grace=600` (the pod "
                 "turns terminating) that returns after the new Service table is published to the fast path. The "
                 "spare endpoint is made ready before each iteration, untimed.")

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
        if lab.get("dataplane") == "shunt":
            load_what = "agent start with the Services"
        elif lab.get("dataplane") == "nftables" and (lab.get("nftTransactions") or 1) > 1:
            load_what = f"{lab.get('nftTransactions')} nft -f transactions of ≤1000 Services"
        else:
            load_what = "one restore / nft -f"
        out.append(f"| {lab.get('dataplane')} | {lab.get('services'):,} | {fmt(lab.get('loadMillis'))} ({load_what}) | {size} |")
    out.append("")
    print("\n".join(out))


main()
