#!/usr/bin/env python3
"""Per JMH fork: its score and the compile units C2 made of the fast path (see jit-shapes.sh).

usage: jit_shapes.py JMH_OUTPUT FORK_LOG... [--class REGEX]

JMH_OUTPUT is what JMH printed; each FORK_LOG is one fork's -XX:+LogCompilation file, in fork
order. For every C2 (tier 4) compilation of a method of the classes matched by REGEX (default:
the pipeline), it prints the nodes C2 created while parsing it and the calls it did not inline
for a reason that depends on the compile order or the node budget:

  NodeCountInliningCutoff              more than 18,000 nodes already (C2 stops inlining)
  already compiled into a big method   the callee was compiled first, to more than 2,500 bytes
  hot method too big                   the callee has more than 325 bytes of bytecode

A cut-off whose callee is JDK code (jdk.internal.*, java.lang.invoke.*) is marked "!": a memory
access that was only partly inlined, which leaves a real call per access on the per-packet path.
"""
import re
import statistics
import sys

# A unit smaller than this is a helper; the shape is named after the first larger one.
BIG_UNIT_NODES = 5000
REASONS = ("NodeCountInliningCutoff", "already compiled into a big method", "hot method too big")


def fork_scores(path):
    """Median ns/op of each fork's measured iterations (a teardown's output may split a line)."""
    forks, current, pending = [], None, False
    with open(path) as f:
        for line in f:
            if line.startswith("# Fork:"):
                current = []
                forks.append(current)
                continue
            m = re.match(r"^Iteration\s+\d+:\s*([0-9.]+)?", line)
            if m and current is not None:
                if m.group(1):
                    current.append(float(m.group(1)))
                else:
                    pending = True
                continue
            m = re.match(r"^([0-9.]+) ns/op", line)
            if pending and m and current is not None:
                current.append(float(m.group(1)))
                pending = False
    return [statistics.median(f) if f else float("nan") for f in forks]


def units(path, class_regex):
    """The tier-4 compile units of the matched classes in one fork's compilation log."""
    with open(path, errors="replace") as f:
        log = f.read()
    found = []
    for task in re.finditer(r"<task ([^>]*)>(.*?)</task>", log, re.S):
        head, body = task.group(1), task.group(2)
        level = re.search(r"level='(\d)'", head)
        if level and level.group(1) != "4":
            continue
        method = re.search(r"method='([^']*)'", head)
        if not method:
            continue
        holder, name = method.group(1).split(" ")[:2]
        holder = holder.replace("/", ".")
        if not re.search(class_regex, holder):
            continue
        klasses = dict(re.findall(r"<klass id='(\d+)' name='([^']*)'", body))
        methods = {}
        for mid, hid, mname in re.findall(r"<method id='(\d+)' holder='(\d+)' name='([^']*)'", body):
            methods[mid] = (klasses.get(hid, "?").replace("/", "."), mname)
        cuts = []
        for mid, reason in re.findall(r"<call method='(\d+)'[^>]*/>\s*<inline_fail reason='([^']*)'", body):
            if reason not in REASONS:
                continue
            callee_holder, callee = methods.get(mid, ("?", mid))
            jdk = callee_holder.startswith(("jdk.internal.", "java.lang.invoke."))
            cut = ("!" if jdk and reason == "NodeCountInliningCutoff" else "") + callee + ": " + reason
            if cut not in cuts:
                cuts.append(cut)
        nodes = max([int(n) for n in re.findall(r"<parse_done nodes='(\d+)'", body)] or [0])
        found.append((name, nodes, cuts))
    return found


def main(argv):
    class_regex = r"^dev\.shunt\.datapath\.Pipeline$"
    if "--class" in argv:
        i = argv.index("--class")
        class_regex = argv[i + 1]
        argv = argv[:i] + argv[i + 2:]
    if len(argv) < 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    scores = fork_scores(argv[0])
    logs = argv[1:]
    shapes = {}
    for i, log in enumerate(logs):
        score = scores[i] if i < len(scores) else float("nan")
        found = units(log, class_regex)
        print("fork %d: %.1f ns/op" % (i + 1, score))
        for name, nodes, cuts in found:
            print("    %-22s %6d nodes  %s" % (name, nodes, "; ".join(cuts) if cuts else "-"))
        # The shape: which of the big units was compiled first (the per-packet methods are called
        # equally often, so the order is a race) and where it was cut. Small helpers compiled on
        # their own (a few hundred nodes) are inlined wherever they are called and do not count.
        big = [unit for unit in found if unit[1] >= BIG_UNIT_NODES] or found
        if big:
            name, _, cuts = big[0]
            signature = "%s first{%s}" % (name, "; ".join(cuts))
        else:
            signature = "(no tier-4 compilation)"
        shapes.setdefault(signature, []).append(score)
    print()
    print("shapes (forks, median of their ns/op, the big unit compiled first and its cuts):")
    for signature, values in sorted(shapes.items(), key=lambda kv: statistics.median(kv[1])):
        print("  %d x %.1f  %s" % (len(values), statistics.median(values), signature))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
