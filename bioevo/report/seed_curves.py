"""Validation accuracy over generations for several strategies on several seeds:
one thin line per seed shows the spread that a mean alone would hide."""
from __future__ import annotations

from pathlib import Path

import numpy as np


def validation_curve(rows: list[dict]) -> tuple[np.ndarray, np.ndarray]:
    """(generations run, validation accuracy) at the generations where it was measured."""
    points = [(int(r["gen"]) + 1, float(r["val_acc"])) for r in rows if r.get("val_acc") not in ("", None)]
    gens, acc = zip(*points) if points else ((), ())
    return np.array(gens, dtype=int), np.array(acc, dtype=float)


def mean_curve(curves: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """Mean over seeds on the union of their generations; a run that stopped
    early keeps its last value (that is the accuracy it ended with)."""
    curves = [c for c in curves if len(c[0])]
    if not curves:
        return np.array([], dtype=int), np.array([])
    grid = np.unique(np.concatenate([g for g, _ in curves]))
    grid = grid[grid >= max(g[0] for g, _ in curves)]  # from where every seed has a value
    held = [acc[np.searchsorted(gens, grid, side="right") - 1] for gens, acc in curves]
    return grid, np.mean(held, axis=0)


def plot_seed_curves(runs: dict[str, dict[int, list[dict]]], path: Path, threshold: float | None = None) -> None:
    """``runs``: strategy -> seed -> metrics rows.  One panel per strategy (thin:
    each seed; thick: the mean) and a last panel with every strategy's mean."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    n = len(runs) + (len(runs) > 1)
    cols = min(n, 4)
    rows_ = -(-n // cols)
    fig = Figure(figsize=(3.2 * cols, 2.6 * rows_))
    FigureCanvasAgg(fig)
    axes = fig.subplots(rows_, cols, sharey=True, squeeze=False).ravel()
    means = {}
    for k, (name, by_seed) in enumerate(runs.items()):
        ax, colour = axes[k], f"C{k % 10}"
        curves = [validation_curve(rows) for rows in by_seed.values()]
        for gens, acc in curves:
            ax.plot(gens, acc, lw=0.7, alpha=0.45, color=colour)
        means[name] = mean_curve(curves)
        ax.plot(*means[name], lw=2.2, color=colour)
        ax.set_title(f"{name} ({len(curves)} seeds)", fontsize=9)
    if len(runs) > 1:
        ax = axes[len(runs)]
        for k, (name, curve) in enumerate(means.items()):
            ax.plot(*curve, lw=1.8, color=f"C{k % 10}", label=name)
        ax.set_title("means", fontsize=9)
        ax.legend(fontsize=6, ncol=2, loc="lower right")
    for ax in axes[n:]:
        ax.set_visible(False)
    for k, ax in enumerate(axes[:n]):
        if threshold is not None:
            ax.axhline(threshold, color="grey", lw=0.6, ls=":")
        ax.set_ylim(0, 1.01)
        ax.tick_params(labelsize=7)
        if k % cols == 0:
            ax.set_ylabel("validation accuracy", fontsize=8)
        if k >= n - cols:
            ax.set_xlabel("generation", fontsize=8)
    fig.suptitle("validation accuracy of the strategy's mean genome: thin, each seed; thick, mean over seeds "
                 "(a finished run keeps its last value)", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
