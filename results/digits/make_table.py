"""The digits results table: evolved runs (evolved/s*/summary.json) and the
baselines (baselines-s*/baselines.json), mean and spread over seeds, as Markdown.

    python results/digits/make_table.py > results/digits/table.md
"""
from __future__ import annotations

import json
import statistics
from pathlib import Path

HERE = Path(__file__).parent
LABELS = {"mlp": "MLP", "cnn": "CNN", "rnn": "vanilla RNN", "gru": "GRU", "snn": "surrogate-gradient SNN"}


def spread(values: list[float], fmt: str = ".2f", scale: float = 1.0) -> str:
    v = [x * scale for x in values]
    sd = statistics.stdev(v) if len(v) > 1 else 0.0
    return f"{statistics.mean(v):{fmt}} ± {sd:{fmt}} (min {min(v):{fmt}})"


def main() -> None:
    evolved = {int(p.parent.name[1:]): json.loads(p.read_text())
               for p in sorted(HERE.glob("evolved/s*/summary.json"))}
    print("## Evolved network (OpenAI-ES, gradient-free), per seed\n")
    print("| seed | role | test accuracy | val accuracy | generations | wall (s) |")
    print("|---:|---|---:|---:|---:|---:|")
    for seed, s in sorted(evolved.items()):
        role = "tuning" if seed in (0, 1) else "report (untuned)"
        print(f"| {seed} | {role} | {100 * s['test']['accuracy']:.2f}% | {100 * s['val']['accuracy']:.2f}% | "
              f"{s['generations']} | {s['wall_seconds']:.0f} |")
    rows = []
    # the preset was tuned on seeds 0 and 1; issue "Gradient-free closes on gradients" reports on seeds 3-7
    for label, excluded in (("untuned seeds", (0, 1)), ("report seeds", (0, 1, 2))):
        seeds = [k for k in sorted(evolved) if k not in excluded]
        report = [evolved[k] for k in seeds]
        if report:
            rows.append((f"evolved SNN, ES ({label} " + ", ".join(map(str, seeds)) + ")",
                         [s["test"]["accuracy"] for s in report], [s["wall_seconds"] for s in report],
                         report[0]["n_parameters"]))
    baselines = [json.loads(p.read_text()) for p in sorted(HERE.glob("baselines-s*/baselines.json"))]
    for method in LABELS:
        runs = [b["methods"][method] for b in baselines if method in b.get("methods", {})]
        if runs:
            rows.append((LABELS[method], [r["test_accuracy"] for r in runs], [r["wall_seconds"] for r in runs],
                         runs[0].get("n_parameters")))
    print(f"\n## Side by side (test accuracy over seeds; baselines: {len(baselines)} seeds)\n")
    print("| method | test accuracy (%) mean ± sd (min) | training wall (s) mean | parameters |")
    print("|---|---:|---:|---:|")
    for name, acc, wall, n_params in rows:
        print(f"| {name} | {spread(acc, scale=100)} | {statistics.mean(wall):.0f} | {n_params} |")


if __name__ == "__main__":
    main()
