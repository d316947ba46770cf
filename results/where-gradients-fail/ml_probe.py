"""Forward probe of a clicks preset's initial network (no training): hidden spikes per
phase (stimulus / delay / response window), the readout in the window, and how many
trials have a decisive readout difference.  Uses the JAX twin of the Brian2 network
(bioevo.baselines.biophysical, equal to Brian2 within 1e-11 on the same genome).

    PYTHONPATH=. python results/where-gradients-fail/ml_probe.py ml-clicks [--set k=v ...] [--inits N]
"""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace

import jax
import jax.numpy as jnp
import numpy as np

from bioevo.assemble import seeded_streams
from bioevo.baselines import biophysical as bp
from bioevo.baselines import snn
from bioevo.baselines.data import evolved_network, make_splits
from bioevo.config import resolve_config


def probe(preset: str, overrides: list[str], seed: int, n_trials: int, inits: int,
          genes: dict[str, float] | None = None) -> dict:
    genes = genes or {}
    cfg = resolve_config(preset, overrides, seed=seed)
    splits = make_splits(cfg)
    network = evolved_network(cfg, splits)
    net = bp.check_supported(cfg, network.layout)
    d = cfg["data"]
    stim, delay, T = d["stimulus_steps"], d["delay_steps"], d["n_steps"]
    train = splits["train"].subset(slice(0, n_trials))
    x = np.asarray(train.raster, np.float64)
    y = np.asarray(train.labels)
    rng = seeded_streams(seed)["init"]
    out = []
    with jax.enable_x64(True):
        run = jax.jit(lambda p, xx: bp.simulate(replace(net, window=0), network.layout, p, xx, checkpoint=False))
        runw = jax.jit(lambda p, xx: bp.simulate(net, network.layout, p, xx, checkpoint=False)[0])
        for k in range(inits):
            genome = np.array(network.initial if k == 0 else network.layout.initial(np.random.default_rng([seed, k])), float)
            for name, value in genes.items():  # --gene: a weight segment set to a natural value (a shared strength)
                seg = next(s for s in network.layout.segments if s.name == name)
                genome[network.layout.slices()[name]] = value / seg.weight_scale if seg.kind == "weight" else value
            p = snn.initial_params(network.layout, np.asarray(genome, float))
            c_stim = np.asarray(run(p, jnp.asarray(x[:, :stim]))[1])
            c_delay = np.asarray(run(p, jnp.asarray(x[:, :stim + delay]))[1]) - c_stim
            vmax_all, c_all = (np.asarray(a) for a in run(p, jnp.asarray(x)))
            c_win = c_all - c_stim - c_delay
            wmax = np.asarray(runw(p, jnp.asarray(x)))
            diff = wmax[:, 1] - wmax[:, 0]
            scale = np.median(np.abs(vmax_all).max(axis=1))
            decisive = np.abs(diff) > 1e-3 * scale
            acc = np.where(decisive, (np.argmax(wmax, 1) == y), 0.5).mean()
            ms = 1.0  # one input step = 1 ms
            out.append({
                "init": k,
                "rate_stim_hz": float(c_stim.mean() / (stim * ms) * 1e3),
                "rate_delay_hz": float(c_delay.mean() / (delay * ms) * 1e3),
                "rate_window_hz": float(c_win.mean() / ((T - stim - delay) * ms) * 1e3),
                "active_stim": float((c_stim > 0).mean()), "active_window": float((c_win > 0).mean()),
                "window_max_abs_diff_median": float(np.median(np.abs(diff))), "readout_scale": float(scale),
                "decisive_share": float(decisive.mean()), "decisive_acc": float(acc),
            })
    return {"preset": preset, "overrides": overrides, "seed": seed, "trials": n_trials, "inits": out}


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("preset")
    ap.add_argument("--set", action="append", default=[], dest="overrides")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--trials", type=int, default=64)
    ap.add_argument("--inits", type=int, default=1)
    ap.add_argument("--gene", action="append", default=[], help="SEGMENT=VALUE, e.g. w.exc_exc=0.8")
    a = ap.parse_args()
    r = probe(a.preset, a.overrides, a.seed, a.trials, a.inits,
              {g.split("=")[0]: float(g.split("=")[1]) for g in a.gene})
    for i in r["inits"]:
        print(" ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in i.items()))
    json.dump(r, sys.stdout if False else open("/dev/null", "w"))
