"""Pool firing rates of the E/I competition circuit (``models/competition.toml``).

The circuit has one excitatory pool of ``pool`` neurons per class (neuron
``k`` belongs to pool ``k // pool``) and a shared inhibitory population; a
trained network lets the pool of the presented class win while the shared
inhibition suppresses the others.  This module turns recorded spikes into
pool rates over time and draws them:

* :func:`pool_rates` -- simulate one genome on a few samples (runtime backend,
  spike monitors) and return the per-neuron rate of every pool over time;
* :func:`plot_pool_rates` -- one panel per sample, one line per pool (the true
  class thick), the inhibitory population dashed;
* :func:`pool_rate_figure` -- both, for the best genome of a run directory.
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from ..data.report_samples import pick_per_class
from ..genome import GenomeLayout, NetworkParameters
from ..model import ModelSpec, load_model, parse_model
from ..sim.evaluator import PopulationEvaluator
from .figures import int_labels, sample_panels, save_png

__all__ = ["PoolRates", "binned_pool_rates", "pool_rates", "plot_pool_rates", "pool_rate_figure"]


@dataclass
class PoolRates:
    """Rates in Hz per neuron: ``exc`` (B, T, n_pools), ``inh`` (B, T) or None;
    ``step_ms`` is the time step of axis 1; ``predicted`` (B,) the network's
    decision (readout with the highest max over time), or None."""

    exc: np.ndarray
    inh: np.ndarray | None
    step_ms: float
    predicted: np.ndarray | None = None


def binned_pool_rates(times_ms: np.ndarray, neurons: np.ndarray, n_samples: int, n_steps: int, step_ms: float,
                      pool: int, n_pools: int, window_ms: float = 5.0) -> np.ndarray:
    """Per-neuron pool rates (Hz), shape (n_samples, n_steps, n_pools), from the
    spikes of one individual: ``times_ms`` since the start of the run (samples
    back to back, ``n_steps * step_ms`` each), ``neurons`` its within-individual
    indices; smoothed with a centred boxcar of ``window_ms`` (at least one step)."""
    times_ms, neurons = np.asarray(times_ms, dtype=float), np.asarray(neurons, dtype=np.int64)
    step = np.floor(times_ms / step_ms + 1e-9).astype(np.int64)
    keep = (step >= 0) & (step < n_samples * n_steps) & (neurons // pool < n_pools)
    counts = np.zeros((n_samples, n_steps, n_pools))
    np.add.at(counts, (step[keep] // n_steps, step[keep] % n_steps, neurons[keep] // pool), 1)
    width = max(1, int(round(window_ms / step_ms)))
    if width > 1:  # boxcar within each sample; edges averaged over the part inside the sample
        kernel = np.ones(width)
        ones = np.convolve(np.ones(n_steps), kernel, mode="same")
        counts = np.apply_along_axis(lambda c: np.convolve(c, kernel, mode="same"), 1, counts) / ones[None, :, None]
    return counts / pool / (step_ms * 1e-3)


def pool_rates(model: ModelSpec, layout: GenomeLayout, genome_or_params: np.ndarray | NetworkParameters,
               raster: np.ndarray, *, exc_layer: str = "exc", inh_layer: str | None = "inh",
               window_ms: float = 5.0) -> PoolRates:
    """Simulate one individual on ``raster`` (bool, (B, T, M)) with the runtime
    backend and return its pool rates over time.  The pool size is the model's
    ``pool`` constant; ``genome_or_params`` is a flat genome or decoded
    :class:`NetworkParameters` of one individual."""
    if "pool" not in model.constants:
        raise ValueError(f"model '{model.name}' has no 'pool' constant; pool rates need one")
    pool = int(model.constants["pool"])
    n_exc = layout.layer_sizes[exc_layer]
    if n_exc % pool:
        raise ValueError(f"layer '{exc_layer}' has {n_exc} neurons, not a multiple of pool = {pool}")
    raster = np.asarray(raster)
    if raster.ndim != 3:
        raise ValueError(f"raster must have shape (B, T, M), got {raster.shape}")
    n_samples, n_steps = raster.shape[:2]
    params = (genome_or_params if isinstance(genome_or_params, NetworkParameters)
              else layout.decode(np.asarray(genome_or_params, dtype=float)[None]))
    if params.population != 1:
        raise ValueError(f"pool_rates simulates one individual, got {params.population}")
    ev = PopulationEvaluator(model, layout.layer_sizes, 1, n_samples, n_steps, backend="runtime", record_spikes=True)
    readouts = ev.evaluate(params, raster)
    step_ms = model.step_ms

    def rates(layer: str, group: int, n_groups: int) -> np.ndarray:
        mon = ev.net.spike_monitors[layer]
        return binned_pool_rates(np.asarray(mon.t_[:]) * 1e3, np.asarray(mon.i[:]), n_samples, n_steps, step_ms,
                                 group, n_groups, window_ms)

    exc = rates(exc_layer, pool, n_exc // pool)
    inh = None
    if inh_layer is not None and inh_layer in ev.net.spike_monitors:
        n_inh = layout.layer_sizes[inh_layer]
        inh = rates(inh_layer, n_inh, 1)[..., 0]
    return PoolRates(exc, inh, step_ms, readouts.vmax[0].argmax(axis=1))


def plot_pool_rates(rates: np.ndarray | PoolRates, path: str | Path, *, labels: Sequence[int] | None = None,
                    inh: np.ndarray | None = None, step_ms: float = 1.0, predicted: Sequence[int] | None = None,
                    class_names: Sequence[str] | None = None, title: str | None = None) -> Path:
    """Save pool firing rates over time, one panel per sample, as PNG; returns the path.

    ``rates`` is (n_samples, T, n_pools) in Hz (or a :class:`PoolRates`, which
    also supplies ``inh`` and ``step_ms``).  Each line is one excitatory pool,
    the pool of the true class (``labels``) thick; ``inh`` (n_samples, T), the
    inhibitory population's rate, is dashed grey.  Panel titles name the class
    and the decision: ``predicted`` (the network's, e.g. from the readout) or,
    without it, the pool with the highest peak rate; red when it is wrong."""
    if isinstance(rates, PoolRates):
        inh = rates.inh if inh is None else inh
        predicted = rates.predicted if predicted is None else predicted
        step_ms = rates.step_ms
        rates = rates.exc
    r = np.asarray(rates, dtype=float)
    if r.ndim != 3 or 0 in r.shape:
        raise ValueError(f"rates must have shape (n_samples, T, n_pools) with no empty axis, got {r.shape}")
    n, n_steps, n_pools = r.shape
    if not step_ms > 0:
        raise ValueError(f"step_ms must be > 0, got {step_ms}")
    lab = None if labels is None else int_labels(labels, n)
    if lab is not None and lab.size and (lab.min() < 0 or lab.max() >= n_pools):
        raise ValueError(f"labels must lie in [0, {n_pools}) for {n_pools} pools")
    if inh is not None:
        inh = np.asarray(inh, dtype=float)
        if inh.shape != (n, n_steps):
            raise ValueError(f"inh must have shape ({n}, {n_steps}), got {inh.shape}")
    names = [str(c) for c in (class_names if class_names is not None else range(n_pools))]
    if len(names) != n_pools:
        raise ValueError(f"class_names has {len(names)} entries for {n_pools} pools")

    order = np.argsort(lab, kind="stable") if lab is not None else np.arange(n)
    winner = r.max(axis=1).argmax(axis=1) if predicted is None else int_labels(predicted, n, "predicted")
    t = np.arange(n_steps) * step_ms

    def draw(ax, slot: int) -> None:
        i = order[slot]
        for o in range(n_pools):
            true = lab is not None and o == lab[i]
            ax.plot(t, r[i, :, o], color=f"C{o % 10}", lw=2.4 if true else 1.0, alpha=1.0 if true else 0.8,
                    zorder=3 if true else 2)
        if inh is not None:
            ax.plot(t, inh[i], color="0.4", lw=1.0, ls="--", zorder=1)
        if lab is not None:
            ok = winner[i] == lab[i]
            ax.set_title(f"class {names[lab[i]]} (decision {names[winner[i]]})", fontsize=9,
                         color="black" if ok else "tab:red")
        else:
            ax.set_title(f"sample {i} (decision {names[winner[i]]})", fontsize=9)

    fig, nrows = sample_panels(n, 0.8, draw, "rate (Hz / neuron)")
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], color=f"C{o % 10}", lw=1.5) for o in range(n_pools)]
    legend = [f"pool {c}" for c in names]
    if inh is not None:
        handles.append(Line2D([], [], color="0.4", lw=1.0, ls="--"))
        legend.append("inhibitory")
    head = title or "pool firing rates" + (" (thick = true class)" if lab is not None else "")
    fig.legend(handles, legend, loc="upper center", ncol=min(len(legend), 6), fontsize=8, frameon=False,
               title=head, title_fontsize=8)
    fig.tight_layout(rect=(0, 0, 1, 1 - min(0.3, 0.55 / (2.3 * nrows + 0.8))))
    return save_png(fig, path)


def pool_rate_figure(run_dir: str | Path, *, per_class: int = 3, window_ms: float = 5.0,
                     path: str | Path | None = None) -> Path:
    """Pool rates of a run's best genome on the first ``per_class`` test samples
    of each class, saved as ``<run_dir>/pool_rates.png`` (or ``path``)."""
    from ..assemble import make_dataset  # deferred: assemble imports the training stack
    from ..rundir import load_genome

    run_dir = Path(run_dir)
    genome, layout, cfg, model_toml = load_genome(run_dir / "best_genome.h5")
    model = parse_model(tomllib.loads(model_toml), cfg["model"]["name"]) if model_toml else load_model(
        cfg["model"]["name"])
    test = make_dataset(cfg)["test"]
    sample = test.subset(pick_per_class(test.labels, test.n_classes, per_class))
    rates = pool_rates(model, layout, genome, sample.raster, window_ms=window_ms)
    return plot_pool_rates(rates, path or run_dir / "pool_rates.png", labels=sample.labels,
                           title=f"pool firing rates, {cfg['run']['name']} (thick = true class, dashed = inhibitory)")
