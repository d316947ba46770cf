"""Figures for run reports.

Drawn with matplotlib's object API on an Agg canvas (no pyplot, no global
backend switch), so plotting works headless on clusters and never leaks open
figures across a long evolution run.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

__all__ = ["plot_confusion"]


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
