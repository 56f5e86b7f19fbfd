#!/usr/bin/env python3
"""Mean ± sd over seeds of run folders named <method>-seed<N> (each with results.json), as a Markdown table,
and the issue-12 verdict (TABS's mean test accuracy against bhsp, tabs-shared and the ungated spectral adapter).

    python3 scripts/seeds_table.py results/minilm-seeds

Standard library only. sd is the sample standard deviation (n − 1); with one seed it is shown as "–".
"""
import json
import re
import statistics
import sys
from pathlib import Path

ORDER = ["full", "lora", "spectral", "bhsp", "cbsp", "tabs-shared", "tabs", "tabs-noproj"]


def mean_sd(xs, scale=1.0, digits=2):
    xs = [x * scale for x in xs if x is not None]
    if not xs:
        return "–"
    m = statistics.fmean(xs)
    if len(xs) < 2:
        return f"{m:.{digits}f}"
    return f"{m:.{digits}f} ± {statistics.stdev(xs):.{digits}f}"


def main(root):
    runs = {}
    for d in sorted(Path(root).iterdir()):
        m = re.fullmatch(r"(.+)-seed(\d+)", d.name)
        if not m or not (d / "results.json").is_file():
            continue
        runs.setdefault(m.group(1), []).append(json.loads((d / "results.json").read_text()))
    if not runs:
        sys.exit(f"{root}: no <method>-seed<N>/results.json")
    methods = sorted(runs, key=lambda k: (ORDER.index(k) if k in ORDER else len(ORDER), k))
    print("| method | seeds | dev acc | dev F1 | test acc | test F1 | violations / groups | mean rank | "
          "adapter MFLOPs / seq |")
    print("|---|---|---|---|---|---|---|---|---|")
    means = {}
    for k in methods:
        rs = runs[k]
        get = lambda split, name: [r["metrics"].get(split, {}).get(name) for r in rs]
        budgets = [r.get("budget") for r in rs]
        if all(b is not None for b in budgets):
            viol = f"{sum(b['violations'] for b in budgets)} / {sum(b['groups'] for b in budgets)}"
            rank = mean_sd([statistics.fmean(b["mean_rank_per_layer"]) for b in budgets])
        else:
            viol, rank = "–", "–"
        flops = mean_sd([r["flops"]["adapter_and_controller"]["mean"] for r in rs], 1e-6)
        test = [x for x in get("test", "accuracy") if x is not None]
        means[k] = statistics.fmean(test) * 100 if test else None
        print(f"| {k} | {len(rs)} | {mean_sd(get('dev', 'accuracy'), 100)} | {mean_sd(get('dev', 'f1'), 100)} | "
              f"{mean_sd(get('test', 'accuracy'), 100)} | {mean_sd(get('test', 'f1'), 100)} | {viol} | {rank} | "
              f"{flops} |")
    t = means.get("tabs")
    if t is None:
        return
    print()
    for other, rule in [("bhsp", "≥"), ("tabs-shared", "≥"), ("spectral", "within 0.5 point of")]:
        o = means.get(other)
        if o is None:
            print(f"- tabs vs {other}: no {other} runs")
            continue
        ok = t >= o if rule == "≥" else t >= o - 0.5
        print(f"- tabs mean test accuracy {t:.2f} {rule} {other}'s {o:.2f}: {'met' if ok else 'NOT met'} "
              f"(difference {t - o:+.2f})")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
