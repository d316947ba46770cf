"""Cost of one hh-randman-2 generation's evaluation (16 individuals x 64 training
samples x 50 ms, cpp, the preset's evaluator) with models/hh.toml's hand-written
exponential Euler step against Brian2's own ``exponential_euler`` of the same ODEs
(``tests.hh_reference.BRIAN_ODES``), on the same genomes and samples.

    PYTHONPATH=. python results/hh/step_cost.py [--rounds 5]

Each round builds (from the cache after the first) and times both, alternating, so
that a change of machine load hits both; prints the median and min per way, their
ratio, and whether the readouts agree."""
from __future__ import annotations

import argparse
import time

import numpy as np

from bioevo.assemble import assemble
from bioevo.config import resolve_config
from tests.hh_reference import with_brian_odes
from bioevo.scoring import make_scorer


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=5, help="timed evaluations per way and build (default 5)")
    ap.add_argument("--builds", type=int, default=2, help="alternations of the two builds (default 2)")
    args = ap.parse_args()
    cfg = resolve_config("hh-randman-2", [], seed=0)
    parts = assemble(cfg, build_evaluator=False)
    rng = np.random.default_rng(1)
    genomes = np.stack([parts.layout.initial(rng) for _ in range(16)])
    raster = parts.splits["train"].raster[:cfg["evolve"]["batch_size"]]
    models = {"written-out step": parts.model, "Brian2 exponential_euler": with_brian_odes(parts.model)}
    times = {name: [] for name in models}
    vmax = {}
    for _ in range(args.builds):
        for name, model in models.items():
            scorer = make_scorer(cfg, model, parts.layout, 16, parts.n_steps)
            ev = scorer.evaluator
            params = parts.layout.decode(genomes)
            ev.evaluate(params, raster)  # warm-up
            for _ in range(args.rounds):
                t0 = time.perf_counter()
                vmax[name] = ev.evaluate(params, raster).vmax
                times[name].append(time.perf_counter() - t0)
            ev.close()
    for name, ts in times.items():
        print(f"{name:26s} median {np.median(ts):.3f} s  min {np.min(ts):.3f} s  ({len(ts)} evaluations)")
    a, b = (np.median(times[k]) for k in models)
    print(f"ratio (Brian2's / written-out, medians): {b / a:.2f}")
    diff = np.abs(vmax["written-out step"] - vmax["Brian2 exponential_euler"]).max()
    print(f"largest readout difference: {diff:.2e}")


if __name__ == "__main__":
    main()
