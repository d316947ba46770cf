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
    """``runs``: strategy -> seed -> metrics rows.  Thin: each seed; thick: the mean."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8, 4.5))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    for k, (name, by_seed) in enumerate(runs.items()):
        colour = f"C{k % 10}"
        curves = [validation_curve(rows) for rows in by_seed.values()]
        for gens, acc in curves:
            ax.plot(gens, acc, lw=0.6, alpha=0.35, color=colour)
        gens, acc = mean_curve(curves)
        ax.plot(gens, acc, lw=2.2, color=colour, label=f"{name} (mean of {len(curves)} seeds)")
    if threshold is not None:
        ax.axhline(threshold, color="grey", lw=0.6, ls=":")
    ax.set(xlabel="generation", ylabel="validation accuracy (strategy's mean genome)", ylim=(0, 1.01))
    ax.legend(fontsize=7, ncol=2, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
