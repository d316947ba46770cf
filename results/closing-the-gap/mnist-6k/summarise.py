"""Baselines (surrogate-gradient twin, CNN) and evolved runs on the shared MNIST files, per seed.

    python results/closing-the-gap/mnist-6k/summarise.py
"""
from __future__ import annotations

import json
from pathlib import Path
from statistics import mean, stdev

HERE = Path(__file__).parent
NAMES = {"snn": "surrogate-gradient SNN (same network)", "cnn": "CNN", "mlp": "MLP", "rnn": "vanilla RNN",
         "gru": "GRU"}


def main() -> None:
    rows: dict[str, dict[int, tuple[float, float]]] = {}
    for b in sorted(HERE.glob("baselines-s*/baselines.json")):
        d = json.loads(b.read_text())
        for name, m in d["methods"].items():
            rows.setdefault(NAMES[name], {})[d["seed"]] = (m["test_accuracy"], m["wall_seconds"])
    evolved = {"es-s*": "evolved SNN, es (preset mnist)",
               "es-p256-s*": "evolved SNN, es popsize 256 (seeds 0-2 tune: not report seeds)"}
    for pattern, label in evolved.items():
        for s in sorted(HERE.glob(f"{pattern}/summary.json")):
            d = json.loads(s.read_text())
            rows.setdefault(label, {})[d["seed"]] = (d["test"]["accuracy"], d["wall_seconds"])
    print("| method | test accuracy per seed | mean ± sd | wall s, mean |")
    print("|---|---|---:|---:|")
    for name, by_seed in rows.items():
        accs = [100 * a for a, _ in by_seed.values()]
        per = ", ".join(f"s{seed} {100 * a:.1f}" for seed, (a, _) in sorted(by_seed.items()))
        spread = f"{mean(accs):.2f} ± {stdev(accs):.2f}" if len(accs) > 1 else f"{accs[0]:.2f}"
        print(f"| {name} | {per} | {spread} | {mean(w for _, w in by_seed.values()):.0f} |")


if __name__ == "__main__":
    main()
