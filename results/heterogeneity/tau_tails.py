"""Tails of the evolved per-neuron time constants (condition d) quoted in README.md:
10th/50th/90th percentiles before and after evolution, how many values sit on the
model's bounds, and how many ended beyond the largest initial value.
Usage: python results/heterogeneity/tau_tails.py (from the project root)."""
from pathlib import Path

import numpy as np

from bioevo.tasks.heterogeneity import load_genome, tau_distributions

root = Path("results/heterogeneity")
for task in ("digits", "randman-10-temporal"):
    runs = sorted((root / task / "d").glob("s*"))
    bounds = {s.name.split(".")[-1]: s.bounds for s in load_genome(runs[0] / "best_genome.h5")[1].segments}
    dists = [tau_distributions(run) for run in runs]
    for name in ("tau_mem", "tau_syn"):
        start = np.concatenate([d[f"initial_{name}"] for d in dists])
        end = np.concatenate([d[f"final_{name}"] for d in dists])
        low, high = bounds[name]
        q = lambda v: " / ".join(f"{x:.2f}" for x in np.percentile(v, [10, 50, 90]))
        print(f"{task} d {name} (n = {len(end)}): percentiles 10/50/90 initial {q(start)}, evolved {q(end)} ms; "
              f"at the {low:g} ms floor {np.sum(start <= low)} -> {np.sum(end <= low)}, "
              f"at the {high:g} ms ceiling {np.sum(start >= high)} -> {np.sum(end >= high)}; "
              f"beyond the largest initial value {np.sum(end > start.max())}; evolved range {end.min():.2f}-{end.max():.1f} ms")
