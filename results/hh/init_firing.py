"""Hidden-layer firing of a preset's network at initialisation, on training samples.

Why: ES needs a hidden layer that is neither silent nor saturated at the start,
otherwise perturbing the weights changes no readout and the gradient estimate
is noise.  Reports, for the initial mean genome and for ``--samples`` perturbed
copies (sigma of the preset's strategy): mean spikes per neuron per sample, the
fraction of (neuron, sample) pairs that are silent, the fraction of neurons
silent on every sample, the fraction of pairs firing >= 8 spikes in the sample
(HH's 1952 model fires at most ~12 times in 50 ms at strong drive), and the
training accuracy of the initial readout.

    PYTHONPATH=. python results/hh/init_firing.py --preset hh-randman-2 [--set KEY=VALUE ...] [--seed N]
"""
from __future__ import annotations

import argparse

import numpy as np

from bioevo.assemble import assemble
from bioevo.pipeline import load_config
from bioevo.sim.evaluator import PopulationEvaluator

SATURATED = 8  # spikes in a 50 ms sample


def _dprime(counts: np.ndarray, labels: np.ndarray) -> float:
    """Mean over hidden neurons of |difference of the two first classes' mean counts| / pooled std:
    how much a single neuron's count tells the classes apart at init."""
    a, b = counts[labels == 0], counts[labels == 1]
    pooled = np.sqrt(0.5 * (a.var(axis=0) + b.var(axis=0))) + 1e-9
    return float((np.abs(a.mean(axis=0) - b.mean(axis=0)) / pooled).mean())


def firing_at_init(preset: str, overrides: list[str], seed: int, copies: int = 8, n_samples: int = 128) -> dict:
    cfg = load_config(preset, overrides, seed=seed)
    parts = assemble(cfg, build_evaluator=False)
    layout, strategy = parts.layout, parts.strategy
    mean = np.asarray(strategy.centroid if hasattr(strategy, "centroid") else layout.initial(np.random.default_rng(seed)))
    sigma = cfg["strategy"][cfg["strategy"]["name"]].get("sigma", 0.1)
    rng = np.random.default_rng(seed)
    genomes = np.vstack([mean[None], mean[None] + sigma * rng.standard_normal((copies, mean.size))])
    data = parts.splits["train"]
    raster = data.raster[:n_samples]
    ev = PopulationEvaluator(parts.model, layout.layer_sizes, len(genomes), len(raster), raster.shape[1],
                             backend="cpp", record_spikes=("hidden",))
    try:
        r = ev.evaluate(layout.decode(genomes), raster)
    finally:
        ev.close()
    counts = np.asarray(r.spike_counts["hidden"], dtype=float)  # (P, B, N)
    pred = np.asarray(r.vmax).argmax(-1)  # (P, B)
    acc = (pred == data.labels[:n_samples][None]).mean(axis=1)
    return {"mean_spikes": counts.mean(), "silent_pairs": (counts == 0).mean(),
            "silent_neurons": (counts.sum(axis=1) == 0).mean(), "saturated_pairs": (counts >= SATURATED).mean(),
            "max_spikes": counts.max(), "std_over_samples": counts[0].std(axis=0).mean(),
            "class_dprime": _dprime(counts[0], data.labels[:n_samples]), "init_train_acc_mean_genome": float(acc[0]),
            "init_train_acc_copies": float(acc[1:].mean())}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--preset", default="hh-randman-2")
    p.add_argument("--set", dest="overrides", action="append", default=[])
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    out = firing_at_init(args.preset, args.overrides, args.seed)
    print(" ".join(f"{k}={v:.3f}" for k, v in out.items()), args.overrides)


if __name__ == "__main__":
    main()
