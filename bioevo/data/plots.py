"""Figures of input data sets (spike rasters, latency-coded images, binned counts).

Drawn with matplotlib's object API on an Agg canvas (no pyplot, no global
backend switch) like ``bioevo.report.figures``, so it works headless and leaks no figures.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Sequence

import numpy as np

from .latency import latency_decode
from .report_samples import pick_per_class
from .spikes import SpikeData

__all__ = ["plot_raster", "plot_image_inputs", "plot_count_raster"]


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


def plot_raster(data: SpikeData, path: str | Path, n_per_class: int = 2, unit_labels: Sequence[str] | None = None,
                class_names: Sequence[str] | None = None) -> Path:
    """Spike rasters of the first ``n_per_class`` samples of each class (rows = classes); saves a PNG.
    ``unit_labels``: tick labels of the units (default: numbers); ``class_names``: titles' names of the classes."""
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
            name = f"class {c}" if class_names is None else f"class {c} ({class_names[c]})"
            ax.set_title(f"{name}, sample {idx[j]}", fontsize=9)
            if unit_labels is not None:
                ax.set_yticks(range(data.n_units), list(unit_labels))
            if c == k - 1:
                ax.set_xlabel("time step")
            if j == 0:
                ax.set_ylabel("unit")
    fig.tight_layout()
    return _save(fig, path)


def _image_side(n_units: int) -> int:
    side = math.isqrt(n_units)
    if side * side != n_units:
        raise ValueError(f"image inputs must be square (n_units a square number), got {n_units} units")
    return side


def _first_per_class(data: SpikeData, n: int) -> np.ndarray:
    """Indices of one sample of each of the first ``n`` classes present (then more samples if classes run out)."""
    idx = pick_per_class(data.labels, data.n_classes, 1)
    if len(idx) < n:
        idx = np.concatenate([idx, np.setdiff1d(np.arange(len(data)), idx)[: n - len(idx)]])
    return idx[:n]


def plot_image_inputs(data: SpikeData, path: str | Path, n_samples: int = 6) -> Path:
    """A few latency-coded images: the image decoded from its raster (top) above its raster
    (bottom: pixel index over time; bright pixels fire first); saves a PNG."""
    if n_samples < 1:
        raise ValueError(f"n_samples must be >= 1, got {n_samples}")
    side = _image_side(data.n_units)
    sample = data.subset(_first_per_class(data, min(n_samples, len(data))))
    raster = sample.raster
    images = latency_decode(raster).reshape(-1, side, side)
    k = len(sample)
    fig = _new_figure((2.2 * k, 5.0))
    axes = fig.subplots(2, k, squeeze=False, gridspec_kw={"height_ratios": [1, 1.3]})
    for j in range(k):
        ax = axes[0, j]
        ax.imshow(images[j], cmap="gray", vmin=0.0, vmax=1.0, interpolation="nearest")
        ax.set_title(f"class {sample.labels[j]}", fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
        ax = axes[1, j]
        steps, pixels = np.nonzero(raster[j])
        ax.scatter(steps, pixels, s=10, marker="|", color="k")
        ax.set_xlim(-0.5, data.n_steps - 0.5)
        ax.set_ylim(data.n_units - 0.5, -0.5)  # pixel 0 (top-left) on top, as in the image
        ax.set_xlabel("time step")
        if j == 0:
            ax.set_ylabel("pixel (row-major)")
            axes[0, 0].set_ylabel("decoded image")
    fig.suptitle("latency code: a pixel of intensity I fires at step floor(T (1 - I / I_max))", fontsize=9)
    fig.tight_layout()
    return _save(fig, path)


def plot_count_raster(data: SpikeData, path: str | Path, n_classes: int = 6) -> Path:
    """One sample of each of the first ``n_classes`` classes as a count raster (channel over
    time, colour = spikes in the bin, white = none); saves a PNG."""
    if n_classes < 1:
        raise ValueError(f"n_classes must be >= 1, got {n_classes}")
    sample = data.subset(_first_per_class(data, min(n_classes, len(data))))
    raster = sample.raster.astype(np.int64)
    k = len(sample)
    vmax = max(1, int(raster.max()))
    cols = min(3, k)
    rows = -(-k // cols)
    fig = _new_figure((3.6 * cols + 0.8, 2.8 * rows + 0.3))
    axes = fig.subplots(rows, cols, squeeze=False, sharex=True, sharey=True)
    image = None
    for j, ax in enumerate(axes.flat):
        if j >= k:
            ax.set_axis_off()
            continue
        counts = np.ma.masked_equal(raster[j].T, 0)
        image = ax.imshow(counts, aspect="auto", origin="lower", cmap="viridis", vmin=1, vmax=vmax,
                          interpolation="nearest")
        ax.set_title(f"class {sample.labels[j]}, {int(raster[j].sum())} spikes", fontsize=9)
        if j % cols == 0:
            ax.set_ylabel("channel")
        if j // cols == rows - 1:
            ax.set_xlabel("time bin")
    if image is not None:
        fig.colorbar(image, ax=axes.ravel().tolist(), label="spikes per bin", shrink=0.8)
    return _save(fig, path)
