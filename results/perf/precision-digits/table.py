"""Training in float32 (state and weights) and float32-weights against float64, digits preset, report
seeds 3-7 (the float64 runs are results/digits/evolved/, the same preset; seeds 0-2 were its tuning
seeds, 0 and 1 picked sigma and weight decay).  Each run here is

    python -m bioevo.tasks.train --preset digits --seed N --set 'evolve.precision="float32"'

and the table is

    python results/perf/precision-digits/table.py
"""
import json
from pathlib import Path

import numpy as np

here = Path(__file__).resolve().parent
float64_runs = here.parents[1] / "digits" / "evolved"
PRECISIONS = ("float32", "float32-weights")
SEEDS = (3, 4, 5, 6, 7)


def test_accuracy(run: Path) -> tuple[float, int]:
    summary = json.loads((run / "summary.json").read_text())
    return 100 * summary["test"]["accuracy"], summary["generations"]


columns = {"float64": [test_accuracy(float64_runs / f"s{seed}") for seed in SEEDS]}
columns |= {p: [test_accuracy(here / p / f"s{seed}") for seed in SEEDS] for p in PRECISIONS
            if (here / p).is_dir()}
names = list(columns)
print("| seed | " + " | ".join(f"{n} test % (generations)" for n in names) + " | "
      + " | ".join(f"{n} - float64" for n in names[1:]) + " |")
print("|---:|" + "---:|" * (2 * len(names) - 1))
for k, seed in enumerate(SEEDS):
    cells = [f"{columns[n][k][0]:.2f} ({columns[n][k][1]})" for n in names]
    cells += [f"{columns[n][k][0] - columns['float64'][k][0]:+.2f}" for n in names[1:]]
    print(f"| {seed} | " + " | ".join(cells) + " |")
acc = {n: np.array([a for a, _ in columns[n]]) for n in names}
cells = [f"{acc[n].mean():.2f} ± {acc[n].std(ddof=1):.2f}" for n in names]
cells += [f"{(acc[n] - acc['float64']).mean():+.2f} ± {(acc[n] - acc['float64']).std(ddof=1):.2f}" for n in names[1:]]
print("| mean ± sd | " + " | ".join(cells) + " |")
