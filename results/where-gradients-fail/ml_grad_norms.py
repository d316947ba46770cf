"""The BPTT gradient of ml-clicks at its initial genome (seed 0, 16 training trials), per
segment, against the trial length, the surrogate's slope and the recurrence: where the
exact gradient through the Morris-Lecar network explodes.  No training.

    PYTHONPATH=. python results/where-gradients-fail/ml_grad_norms.py > results/where-gradients-fail/ml_grad_norms.txt
    # the bistable class II network: any preset override after the script's name
    PYTHONPATH=. python results/where-gradients-fail/ml_grad_norms.py 'model.name="morris_lecar_class2_recurrent"' \
        > results/where-gradients-fail/ml_grad_norms_class2.txt
"""
from __future__ import annotations

import sys
from dataclasses import replace

import jax
import jax.numpy as jnp
import numpy as np

from bioevo.baselines import biophysical as bp
from bioevo.baselines import snn
from bioevo.baselines.data import evolved_network, make_splits
from bioevo.config import resolve_config

cfg = resolve_config("ml-clicks", sys.argv[1:], seed=0)
splits = make_splits(cfg)
network = evolved_network(cfg, splits)
net = bp.check_supported(cfg, network.layout)  # window = fitness.last_steps = 50
train = splits["train"].subset(slice(0, 16))
print("| trial (ms) | scored | surrogate slope | recurrence | loss | max abs gradient per segment |")
print("|---:|---|---:|---|---:|---|")
with jax.enable_x64(True):
    p0 = snn.initial_params(network.layout, np.asarray(network.initial, float))
    y = jnp.asarray(train.labels)
    no_rec = {**p0, "w.hidden_hidden": 0 * p0["w.hidden_hidden"]}
    cases = [(30, 0, 10.0, "as initialised", p0), (100, 0, 10.0, "as initialised", p0),
             (300, 0, 10.0, "as initialised", p0), (300, 50, 10.0, "as initialised", p0),
             (100, 0, 10.0, "removed", no_rec), (300, 50, 10.0, "removed", no_rec),
             (100, 0, 100.0, "as initialised", p0), (100, 0, 1000.0, "as initialised", p0),
             (300, 50, 1000.0, "as initialised", p0)]
    for T, window, slope, rec, p in cases:
        x = jnp.asarray(train.raster[:, :T], jnp.float64)
        n = replace(net, window=window)
        f = jax.jit(jax.value_and_grad(lambda q: bp.cross_entropy(bp.simulate(n, network.layout, q, x, slope)[0], y)))
        v, g = f(p)
        grads = ", ".join(f"{k} {float(np.max(np.abs(a))):.1e}" for k, a in g.items())
        scored = f"last {window} ms" if window else "whole trial"
        print(f"| {T} | {scored} | {slope:g} | {rec} | {float(v):.4f} | {grads} |", flush=True)
