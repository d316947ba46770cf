"""Figures for run reports.

Drawn with matplotlib's object API on an Agg canvas (no pyplot, no global
backend switch), so plotting works headless on clusters and never leaks open
figures across a long evolution run.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Sequence

import numpy as np

__all__ = [
    "plot_confusion",
    "plot_training_curves",
    "plot_readout_traces",
    "plot_spike_count_heatmap",
]


def plot_confusion(
    confusion: Sequence[Sequence[int]] | np.ndarray,
    path: str | Path,
    *,
    class_names: Sequence[str] | None = None,
    title: str | None = None,
) -> Path:
    """Save an annotated confusion matrix (rows = true, cols = predicted) as PNG; returns the path."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    cm = np.asarray(confusion)
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1]:
        raise ValueError(f"confusion must be a square matrix, got shape {cm.shape}")
    n = cm.shape[0]
    names = [str(c) for c in (class_names if class_names is not None else range(n))]
    if len(names) != n:
        raise ValueError(f"class_names has {len(names)} entries for {n} classes")

    size = max(3.0, 0.6 * n + 1.5)
    fig = Figure(figsize=(size, size))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    im = ax.imshow(cm, cmap="Blues", interpolation="nearest")
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    ax.set_xticks(range(n), labels=names)
    ax.set_yticks(range(n), labels=names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    if title:
        ax.set_title(title)
    threshold = (cm.max() + cm.min()) / 2.0 if cm.size else 0
    for i in range(n):
        for j in range(n):
            val = cm[i, j]
            text = f"{val:d}" if np.issubdtype(cm.dtype, np.integer) else f"{val:.2g}"
            ax.text(j, i, text, ha="center", va="center",
                    color="white" if val > threshold else "black", fontsize=8)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png", dpi=120)
    fig.clear()  # release artists; the Figure is not registered with pyplot
    return path


# ---------------------------------------------------------------------------
# helpers shared by the figures below

def _new_figure(figsize: tuple[float, float]):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize)
    FigureCanvasAgg(fig)
    return fig


def save_png(fig, path: str | Path, dpi: int = 120) -> Path:
    """Write ``fig`` as a PNG (making its folder) and release its artists; the figure modules share it."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, format="png", dpi=dpi)
    fig.clear()  # release artists; the Figure is not registered with pyplot
    return out


def _as_float(value) -> float:
    return np.nan if value is None else float(value)


def int_labels(labels, n_samples: int, name: str = "labels") -> np.ndarray:
    """``labels`` as int64 class indices, one per sample; a ValueError names what is wrong."""
    lab = np.asarray(labels)
    if lab.ndim != 1 or lab.shape[0] != n_samples:
        raise ValueError(f"{name} must have shape ({n_samples},), got {lab.shape}")
    if lab.size and not np.issubdtype(lab.dtype, np.integer):
        if not np.issubdtype(lab.dtype, np.number) or not np.all(lab == np.round(lab)):
            raise ValueError(f"{name} must be integer class indices, got dtype {lab.dtype}")
    return lab.astype(np.int64)


# ---------------------------------------------------------------------------

def plot_training_curves(log: Sequence[dict], path: str | Path) -> Path:
    """Save loss (mean, best) and accuracy (train, val) vs generation as a two-panel PNG.

    ``log`` holds one dict per generation with ``gen``, ``loss_mean``, ``loss_min``,
    ``train_acc`` (or None) and, on some generations only, ``val_acc`` (or None).
    The loss axis is log-scale when every plotted loss is positive.
    """
    if isinstance(log, dict) or not isinstance(log, Sequence) or len(log) == 0:
        raise ValueError("log must be a non-empty list of per-generation dicts")
    for i, rec in enumerate(log):
        if not isinstance(rec, dict):
            raise ValueError(f"log[{i}] must be a dict, got {type(rec).__name__}")
        missing = [k for k in ("gen", "loss_mean", "loss_min") if k not in rec]
        if missing:
            raise ValueError(f"log[{i}] is missing key(s) {missing}")
    recs = sorted(log, key=lambda r: r["gen"])
    gen = np.array([int(r["gen"]) for r in recs])
    loss_mean = np.array([_as_float(r["loss_mean"]) for r in recs])
    loss_min = np.array([_as_float(r["loss_min"]) for r in recs])
    train = np.array([_as_float(r.get("train_acc")) for r in recs])
    val_pts = [(int(r["gen"]), float(r["val_acc"])) for r in recs if r.get("val_acc") is not None]

    single = len(gen) == 1
    line_marker = "o" if single else None
    fig = _new_figure((9.0, 3.6))
    ax_loss, ax_acc = fig.subplots(1, 2)

    ax_loss.plot(gen, loss_mean, color="C0", marker=line_marker, label="mean")
    ax_loss.plot(gen, loss_min, color="C1", marker=line_marker, label="best")
    losses = np.concatenate([loss_mean, loss_min])
    finite = losses[np.isfinite(losses)]
    if finite.size and np.all(finite > 0):
        ax_loss.set_yscale("log")
    ax_loss.set_xlabel("generation")
    ax_loss.set_ylabel("loss")
    ax_loss.set_title("loss")
    ax_loss.legend(loc="best", fontsize=8)
    ax_loss.grid(True, alpha=0.3)

    has_acc = False
    if np.isfinite(train).any():
        ax_acc.plot(gen, train, color="C2", marker=line_marker, label="train")
        has_acc = True
    if val_pts:
        vg, va = zip(*val_pts)
        ax_acc.plot(vg, va, color="C3", marker="o", markersize=4, label="val")
        has_acc = True
    if has_acc:
        ax_acc.legend(loc="best", fontsize=8)
    else:
        ax_acc.text(0.5, 0.5, "no accuracy recorded", ha="center", va="center",
                    transform=ax_acc.transAxes, color="0.5")
    ax_acc.set_ylim(-0.02, 1.02)
    ax_acc.set_xlabel("generation")
    ax_acc.set_ylabel("accuracy")
    ax_acc.set_title("accuracy")
    ax_acc.grid(True, alpha=0.3)
    if single:
        for ax in (ax_loss, ax_acc):
            ax.set_xlim(gen[0] - 1, gen[0] + 1)
            ax.set_xticks([gen[0]])

    fig.tight_layout()
    return save_png(fig, path)


def sample_panels(n: int, extra_height: float, draw: Callable, ylabel: str) -> tuple:
    """A grid of one panel per sample (at most 4 columns, shared axes, time on x);
    ``draw(ax, slot)`` fills panel ``slot``.  Returns (figure, number of rows)."""
    ncols = min(n, 4)
    nrows = -(-n // ncols)
    fig = _new_figure((3.0 * ncols + 0.4, 2.3 * nrows + extra_height))
    axes = fig.subplots(nrows, ncols, squeeze=False, sharex=True, sharey=True)
    for slot, ax in enumerate(axes.flat):
        if slot >= n:
            ax.set_axis_off()
            continue
        draw(ax, slot)
        ax.grid(True, alpha=0.3)
        if slot + ncols >= n:  # bottom-most panel of its column
            ax.set_xlabel("time (ms)")
            ax.tick_params(axis="x", labelbottom=True)  # sharex hid it above an empty slot
        if slot % ncols == 0:
            ax.set_ylabel(ylabel)
    return fig, nrows


def plot_readout_traces(
    traces: np.ndarray,
    labels: np.ndarray,
    path: str | Path,
    *,
    dt_ms: float = 1.0,
    class_names: Sequence[str] | None = None,
    last_steps: int = 0,
) -> Path:
    """Save readout membrane traces, one subplot per sample (sorted by label), as PNG.

    ``traces`` is (n_samples, T, O); each line is one readout class, the true class's
    line drawn thicker. Titles read "class k (pred j)", pred = argmax over classes of
    the max over time, over the last ``last_steps`` steps only where that is > 0 (the
    scored window, shaded).
    """
    tr = np.asarray(traces, dtype=float)
    if tr.ndim != 3 or 0 in tr.shape:
        raise ValueError(f"traces must have shape (n_samples, T, O) with no empty axis, got {tr.shape}")
    n, n_steps, n_out = tr.shape
    lab = int_labels(labels, n)
    if lab.min() < 0 or lab.max() >= n_out:
        raise ValueError(f"labels must lie in [0, {n_out}) for {n_out} readout classes, "
                         f"got range [{lab.min()}, {lab.max()}]")
    if not dt_ms > 0:
        raise ValueError(f"dt_ms must be > 0, got {dt_ms}")
    names = [str(c) for c in (class_names if class_names is not None else range(n_out))]
    if len(names) != n_out:
        raise ValueError(f"class_names has {len(names)} entries for {n_out} readout classes")

    order = np.argsort(lab, kind="stable")
    window = tr[:, -last_steps:, :] if 0 < last_steps <= n_steps else tr
    pred = window.max(axis=1).argmax(axis=1)
    t = np.arange(n_steps) * dt_ms

    def draw(ax, slot: int) -> None:
        i = order[slot]
        for o in range(n_out):
            true = o == lab[i]
            ax.plot(t, tr[i, :, o], color=f"C{o % 10}", lw=2.4 if true else 0.9,
                    alpha=1.0 if true else 0.75, zorder=3 if true else 2)
        if window is not tr:
            ax.axvspan(t[n_steps - last_steps], t[-1], color="0.9", zorder=1)
        ok = pred[i] == lab[i]
        ax.set_title(f"class {names[lab[i]]} (pred {names[pred[i]]})", fontsize=9,
                     color="black" if ok else "tab:red")

    fig, nrows = sample_panels(n, 0.6, draw, "readout V")
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], color=f"C{o % 10}", lw=1.5) for o in range(n_out)]
    fig.legend(handles, names, loc="upper center", ncol=min(n_out, 10), fontsize=8,
               frameon=False, title="readout class (thick = true)", title_fontsize=8)
    fig.tight_layout(rect=(0, 0, 1, 1 - min(0.25, 0.45 / (2.3 * nrows + 0.6))))
    return save_png(fig, path)


def plot_spike_count_heatmap(counts: np.ndarray, labels: np.ndarray, path: str | Path) -> Path:
    """Save a heatmap of hidden spike counts (samples sorted by label x neurons) as PNG.

    The title gives the mean spikes per neuron per sample and the fraction of
    neurons silent on every sample.
    """
    c = np.asarray(counts, dtype=float)
    if c.ndim != 2 or 0 in c.shape:
        raise ValueError(f"counts must have shape (n_samples, H) with no empty axis, got {c.shape}")
    n, h = c.shape
    lab = np.asarray(labels)
    if lab.ndim != 1 or lab.shape[0] != n:
        raise ValueError(f"labels must have shape ({n},), got {lab.shape}")

    order = np.argsort(lab, kind="stable")
    c_sorted = c[order]
    lab_sorted = lab[order]
    mean_rate = float(c.mean())
    silent = float(np.mean(c.sum(axis=0) == 0))

    fig = _new_figure((min(12.0, max(4.5, 0.04 * h + 3.0)), min(9.0, max(3.0, 0.03 * n + 2.0))))
    ax = fig.add_subplot(1, 1, 1)
    im = ax.imshow(c_sorted, aspect="auto", interpolation="nearest", cmap="viridis",
                   vmin=0, vmax=max(float(c.max()), 1.0))
    cb = fig.colorbar(im, ax=ax, fraction=0.046, pad=0.03)
    cb.set_label("spikes per sample")
    # class boundaries and one y tick per class block
    classes, starts = np.unique(lab_sorted, return_index=True)
    ends = np.append(starts[1:], n)
    for s in starts[1:]:
        ax.axhline(s - 0.5, color="white", lw=0.8)
    if len(classes) <= 30:
        ax.set_yticks((starts + ends - 1) / 2.0, labels=[str(k) for k in classes])
        ax.set_ylabel("samples (by class)")
    else:
        ax.set_ylabel("samples (sorted by label)")
    ax.set_xlabel("hidden neuron")
    ax.set_title(f"mean {mean_rate:.3g} spikes/neuron/sample, {silent:.0%} silent neurons",
                 fontsize=10)
    fig.tight_layout()
    return save_png(fig, path)
