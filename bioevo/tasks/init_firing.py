"""python -m bioevo.tasks.init_firing: hidden-layer firing of a preset's network at initialisation,
on training samples.

Why: ES needs a hidden layer that is neither silent nor saturated at the start,
otherwise perturbing the weights changes no readout and the gradient estimate
is noise.  Reports, for the initial mean genome and for 8 perturbed
copies (sigma of the preset's strategy): mean spikes per neuron per sample, the
fraction of (neuron, sample) pairs that are silent, the fraction of neurons
silent on every sample, the fraction of pairs firing >= 8 spikes in the sample
(HH's 1952 model fires at most ~12 times in 50 ms at strong drive), and the
training accuracy of the initial readout.

    python -m bioevo.tasks.init_firing --preset hh-randman-2 [--set KEY=VALUE ...] [--seed N]

(results/hh/README.md holds the table it made for the HH input gains.)"""
from __future__ import annotations

import logging

import numpy as np

from ..cli import Parser, non_negative_int, run_command
from ..config import presets

PROG = "python -m bioevo.tasks.init_firing"

SATURATED = 8  # spikes in a 50 ms sample


def _dprime(counts: np.ndarray, labels: np.ndarray) -> float:
    """Mean over hidden neurons of |difference of the two first classes' mean counts| / pooled std:
    how much a single neuron's count tells the classes apart at init."""
    a, b = counts[labels == 0], counts[labels == 1]
    pooled = np.sqrt(0.5 * (a.var(axis=0) + b.var(axis=0))) + 1e-9
    return float((np.abs(a.mean(axis=0) - b.mean(axis=0)) / pooled).mean())


def firing_at_init(preset: str, overrides: list[str], seed: int, copies: int = 8, n_samples: int = 128) -> dict:
    """The statistics above for the initial mean genome and ``copies`` perturbed ones on ``n_samples``
    training samples (cpp backend)."""
    from ..assemble import assemble
    from ..pipeline import load_config
    from ..sim.evaluator import PopulationEvaluator

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


def main(argv: list[str] | None = None) -> dict:
    p = Parser(prog=PROG, description=__doc__.split("\n\n")[0].split(": ", 1)[1])
    p.add_argument("--preset", default="hh-randman-2",
                   help=f"preset name ({', '.join(presets('training'))}; default hh-randman-2) or a TOML file")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override one preset value (repeatable)")
    p.add_argument("--seed", type=non_negative_int, default=0, help="random seed (default 0)")
    args = p.parse_args(argv)
    logging.getLogger("brian2").setLevel(logging.ERROR)

    def body() -> dict:
        out = firing_at_init(args.preset, args.overrides, args.seed)
        print(" ".join(f"{k}={v:.3f}" for k, v in out.items()), args.overrides)
        return out

    return run_command(PROG, body)


if __name__ == "__main__":
    main()
