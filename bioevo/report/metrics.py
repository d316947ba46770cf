"""Classification metrics for evolved readouts (pure numpy, JSON-ready output).

Kept dependency-free so reports can be computed wherever results are loaded.
"""
from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["classification_metrics"]


def _safe_div(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    out = np.zeros_like(num, dtype=np.float64)
    np.divide(num, den, out=out, where=den > 0)
    return out


def classification_metrics(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> dict[str, Any]:
    """Accuracy, macro precision/recall/F1, per-class lists and the confusion matrix.

    Conventions (chosen so the metrics are always defined):
    - a class with no predictions has precision 0;
    - a class absent from ``y_true`` has recall 0;
    - F1 is 0 where precision + recall is 0;
    - macro averages are plain means over all ``n_classes`` classes, including
      classes that are absent or never predicted.
    ``confusion[i][j]`` counts samples of true class ``i`` predicted as ``j``.
    All values are Python floats/ints/lists so the dict can be dumped to JSON.
    """
    y_true = np.asarray(y_true).ravel()
    y_pred = np.asarray(y_pred).ravel()
    n_classes = int(n_classes)
    if n_classes < 1:
        raise ValueError(f"n_classes must be >= 1, got {n_classes}")
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true and y_pred differ in length: {y_true.shape} vs {y_pred.shape}")
    if y_true.size == 0:
        raise ValueError("cannot compute metrics on zero samples")
    for name, y in (("y_true", y_true), ("y_pred", y_pred)):
        if not np.issubdtype(y.dtype, np.integer):
            raise ValueError(f"{name} must be integers, got dtype {y.dtype}")
        if y.min() < 0 or y.max() >= n_classes:
            raise ValueError(f"{name} values must lie in [0, {n_classes})")

    flat = y_true.astype(np.int64) * n_classes + y_pred.astype(np.int64)
    confusion = np.bincount(flat, minlength=n_classes * n_classes).reshape(n_classes, n_classes)
    tp = np.diag(confusion).astype(np.float64)
    support = confusion.sum(axis=1)  # true counts per class
    predicted = confusion.sum(axis=0)  # predicted counts per class
    precision = _safe_div(tp, predicted.astype(np.float64))
    recall = _safe_div(tp, support.astype(np.float64))
    f1 = _safe_div(2.0 * precision * recall, precision + recall)

    return {
        "n_classes": n_classes,
        "n_samples": int(y_true.size),
        "accuracy": float(tp.sum() / y_true.size),
        "precision": float(precision.mean()),
        "recall": float(recall.mean()),
        "f1": float(f1.mean()),
        "precision_per_class": precision.tolist(),
        "recall_per_class": recall.tolist(),
        "f1_per_class": f1.tolist(),
        "support": support.tolist(),
        "confusion": confusion.tolist(),
    }
