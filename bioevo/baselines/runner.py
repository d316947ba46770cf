"""Build each baseline for a preset and train it: selection on the validation
split (:func:`bioevo.baselines.training.fit`), then one test evaluation."""
from __future__ import annotations

import dataclasses
import time
from typing import Callable

import jax
import numpy as np

from ..config import ConfigError
from ..data.latency import latency_decode
from ..data.spikes import SpikeData
from . import biophysical, snn
from .data import Network, image_shape
from .models import CNN, MLP, Recurrent
from .training import Method, evaluate, fit, n_parameters


def check_methods(names: list[str], cfg: dict, splits: dict[str, SpikeData], network: Network | None) -> None:
    """Refuse a method the preset cannot have (one line naming why)."""
    train = splits["train"]
    if "cnn" in names and image_shape(cfg, train.n_units) is None:
        raise ConfigError(f"method cnn needs an image preset (data.kind digits or mnist with a square image), "
                          f"this preset has data.kind '{cfg['data'].get('kind')}' with {train.n_units} units; "
                          "drop cnn from --methods")
    if "snn" in names:
        snn.check_supported(cfg, network.layout)
    if "bptt" in names:
        biophysical.check_supported(cfg, network.layout)


def build_method(name: str, cfg: dict, settings: dict, splits: dict[str, SpikeData], network: Network) -> Method:
    train = splits["train"]
    T, M, C = train.n_steps, train.n_units, train.n_classes
    example = np.zeros((1, T, M), np.float32)
    prepare = None
    s = settings[name]
    if name == "snn":
        layout, readout, slope = network.layout, cfg["fitness"]["readout"], s["surrogate_slope"]
        hidden = layout.layer_sizes["hidden"]
        recurrent = " + hidden->hidden" if "w.hidden_hidden" in {g.name for g in layout.segments} else ""
        trained = ", ".join(g.name for g in layout.segments)
        return Method(
            name, lambda key: snn.initial_params(layout, network.initial.astype(np.float32)),
            lambda p, x: snn.scores(snn.simulate(layout, p, x, slope)[0], readout), s["lr"],
            f"{cfg['model']['name']}: {M} inputs -> {hidden} LIF{recurrent} -> {C} leaky readouts, "
            f"readout {readout} over time, fast-sigmoid surrogate slope {slope:g}; trains the genome's "
            f"segments ({trained}) from the evolution strategy's initial genome")
    if name == "mlp":
        module = MLP(tuple(s["hidden"]), C)
        arch = f"flattened raster ({T * M}) -> {' -> '.join(map(str, s['hidden']))} ReLU -> {C}"
    elif name == "cnn":
        image = image_shape(cfg, M)
        module = CNN(image, tuple(s["channels"]), s["dense"], C)
        if s["input"] == "decoded":
            prepare = lambda raster: latency_decode(raster)[:, None, :].astype(np.float32)  # noqa: E731
            example = np.zeros((1, 1, M), np.float32)
            source = "decoded latency image (1 - first spike step / T; silent pixels 0), 1 channel"
        else:
            source = f"{T} channels (one per time step of the raster)"
        arch = (f"{image[0]}x{image[1]} {source} -> "
                f"{' -> '.join(f'conv3x3 {c} ReLU, maxpool 2' for c in s['channels'])} -> dense {s['dense']} "
                f"ReLU -> {C}")
    else:
        module = Recurrent(name, s["hidden"], C)
        kind = "GRU" if name == "gru" else "vanilla tanh RNN"
        arch = f"{kind} {M} -> {s['hidden']}, {T} steps (one per time bin), last state -> linear {C}"
    return Method(name, lambda key: module.init(key, example), module.apply, s["lr"], arch, prepare)


def run_method(method: Method, splits: dict[str, SpikeData], settings: dict, seed: int,
               report: Callable[[str], None] | None = None) -> dict:
    """Train once per weight decay in ``settings[method.name]["weight_decay"]``,
    keep the run best on validation (accuracy, then loss), then score its kept
    parameters on test once.  The wall time covers every candidate."""
    t0 = time.time()
    candidates, best, chosen = [], None, None
    for wd in settings[method.name]["weight_decay"]:
        trial = dataclasses.replace(method, weight_decay=float(wd))
        result = fit(trial, splits["train"], splits["val"], settings, seed, report)
        candidates.append({"weight_decay": float(wd), "val_accuracy": result.val_accuracy,
                           "val_loss": result.val_loss, "best_epoch": result.best_epoch, "epochs": result.epochs})
        if best is None or (result.val_accuracy, -result.val_loss) > (best.val_accuracy, -best.val_loss):
            best, chosen = result, trial
    wall = time.time() - t0
    test_acc, test_loss, _ = evaluate(chosen, best.params, splits["test"], settings["eval_batch_size"])
    return {
        "test_accuracy": test_acc, "test_loss": test_loss,
        "val_accuracy": best.val_accuracy, "val_loss": best.val_loss,
        "wall_seconds": wall, "n_parameters": n_parameters(best.params),
        "epochs": best.epochs, "best_epoch": best.best_epoch, "lr": chosen.lr,
        "weight_decay": chosen.weight_decay, "candidates": candidates,
        "architecture": chosen.architecture, "history": best.history,
    }


def run_baselines(names: list[str], cfg: dict, settings: dict, splits: dict[str, SpikeData], network: Network,
                  report: Callable[[str], None] | None = None, epochs: bool = True) -> dict[str, dict]:
    """Every method in ``names``, one after another, each seeded from the preset's seed;
    ``report`` gets one line per method (and per epoch with ``epochs``)."""
    rows = {}
    for name in names:
        if name == "bptt":  # its own loop: an lr grid, gradient norms and divergence recorded
            rows[name] = biophysical.run(cfg, settings, splits, network, report if epochs else None)
        else:
            method = build_method(name, cfg, settings, splits, network)
            rows[name] = run_method(method, splits, settings, cfg["evolve"]["seed"], report if epochs else None)
        if report is not None:
            r = rows[name]
            report(f"{name}: test {r['test_accuracy']:.4f}, val {r['val_accuracy']:.4f} (epoch {r['best_epoch']} "
                   f"of {r['epochs']}), {r['wall_seconds']:.1f} s, {r['n_parameters']} parameters")
        jax.clear_caches()
    return rows
