"""Figures of input data sets (spike rasters, spike-time manifolds).

Drawn with matplotlib's object API on an Agg canvas (no pyplot, no global
backend switch) like ``figures.py``, so it works headless and leaks no figures.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from ..data.spikes import SpikeData

__all__ = ["plot_raster", "plot_manifold", "first_spike_steps"]


def _new_figure(figsize: tuple[float, float]):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize)
    FigureCanvasAgg(fig)
    return fig


def _save(fig, path: str | Path) -> Path:
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=100, format="png")
    fig.clear()
    return out


def first_spike_steps(data: SpikeData) -> np.ndarray:
    """Step of each unit's first spike, float (n_samples, n_units); NaN where a unit is silent."""
    fired = data.raster.any(axis=1)
    first = data.raster.argmax(axis=1).astype(np.float64)
    first[~fired] = np.nan
    return first


def plot_raster(data: SpikeData, path: str | Path, n_per_class: int = 2) -> Path:
    """Spike rasters of the first ``n_per_class`` samples of each class (rows = classes); saves a PNG."""
    if n_per_class < 1:
        raise ValueError(f"n_per_class must be >= 1, got {n_per_class}")
    k = data.n_classes
    fig = _new_figure((2.6 * n_per_class, 2.0 * k + 0.4))
    axes = fig.subplots(k, n_per_class, squeeze=False, sharex=True, sharey=True)
    for c in range(k):
        idx = np.flatnonzero(data.labels == c)[:n_per_class]
        for j in range(n_per_class):
            ax = axes[c, j]
            if j >= len(idx):
                ax.set_axis_off()
                continue
            steps, units = np.nonzero(data.raster[idx[j]])
            ax.scatter(steps, units, s=6, marker="|", color=f"C{c % 10}")
            ax.set_xlim(-0.5, data.n_steps - 0.5)
            ax.set_ylim(-0.5, data.n_units - 0.5)
            ax.set_title(f"class {c}, sample {idx[j]}", fontsize=9)
            if c == k - 1:
                ax.set_xlabel("time step")
            if j == 0:
                ax.set_ylabel("unit")
    fig.tight_layout()
    return _save(fig, path)


def plot_manifold(data: SpikeData, path: str | Path, units: Sequence[int] = (0, 1, 2)) -> Path:
    """3-D scatter of three units' first-spike steps, one colour per class; saves a PNG.

    Shows the class manifolds the network must separate by spike timing alone.
    """
    units = tuple(int(u) for u in units)
    if len(units) != 3:
        raise ValueError(f"units must name exactly 3 units, got {units}")
    if min(units) < 0 or max(units) >= data.n_units:
        raise ValueError(f"units must lie in 0..{data.n_units - 1}, got {units}")
    t = first_spike_steps(data)[:, list(units)]
    fig = _new_figure((5.0, 4.5))
    ax = fig.add_subplot(projection="3d")
    for c in range(data.n_classes):
        pts = t[data.labels == c]
        if len(pts):
            ax.scatter(pts[:, 0], pts[:, 1], pts[:, 2], s=4, color=f"C{c % 10}", label=f"class {c}")
    ax.set_xlabel(f"unit {units[0]} step")
    ax.set_ylabel(f"unit {units[1]} step")
    ax.set_zlabel(f"unit {units[2]} step")
    ax.legend(loc="upper left", fontsize=8)
    return _save(fig, path)
