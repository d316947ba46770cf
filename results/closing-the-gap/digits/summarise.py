"""Table of the digits tuning runs: test accuracy, and the training accuracy next to the
validation accuracy at the kept generation (the generalisation gap).

    python results/closing-the-gap/digits/summarise.py
"""
from __future__ import annotations

import csv
import json
from pathlib import Path

HERE = Path(__file__).parent
RUNS = {  # label -> run directories (seed order)
    "es P64 (preset; results/digits/evolved)": [HERE.parents[1] / "digits" / "evolved" / f"s{s}" for s in range(3)],
    "es P192": [HERE / "tune-es-p192" / "es" / f"s{s}" for s in range(3)],
    "es P64, kept by val loss": [HERE / "tune-es-p64-keeploss" / "es" / f"s{s}" for s in range(3)],
    "es P64, moving average of the mean (decay 0.99)": [HERE / "tune-es-p64-avg099" / "es" / f"s{s}"
                                                         for s in range(3)],
    "es P64, sigma and lr decay 0.999 (floors 0.05, 0.005)": [HERE / "tune-es-p64-decay" / "es" / f"s{s}"
                                                             for s in range(3)],
    "pgpe P64 (ClipUp, stdev_init 0.2)": [HERE / "tune-pgpe-p64" / f"s{s}" for s in range(3)],
    "cr-fm-nes P64 (sigma 0.2)": [HERE / "tune-crfmnes-p64" / f"s{s}" for s in range(3)],
}


def train_accuracy_near(metrics: Path, gen: int, window: int = 25) -> float:
    """Mean population training accuracy (on its minibatches) over the ``window`` generations up to ``gen``."""
    with open(metrics) as f:
        rows = [r for r in csv.DictReader(f) if gen - window < int(r["gen"]) <= gen]
    return sum(float(r["train_acc"]) for r in rows) / len(rows)


def main() -> None:
    print("| method | seed | test | val (kept) | population train acc at kept gen | generations | wall s |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for label, dirs in RUNS.items():
        tests = []
        for seed, d in enumerate(dirs):
            if not (d / "summary.json").exists():
                print(f"| {label} | {seed} | not run | | | | |")
                continue
            s = json.loads((d / "summary.json").read_text())
            gen = s["val"]["best_generation"]
            tests.append(s["test"]["accuracy"])
            print(f"| {label} | {seed} | {100 * s['test']['accuracy']:.2f}% | {100 * s['val']['accuracy']:.2f}% | "
                  f"{100 * train_accuracy_near(d / 'metrics.csv', gen):.1f}% | {s['generations']} | "
                  f"{s['wall_seconds']:.0f} |")
        if tests:
            print(f"| {label} | mean | {100 * sum(tests) / len(tests):.2f}% | | | | |")


if __name__ == "__main__":
    main()
