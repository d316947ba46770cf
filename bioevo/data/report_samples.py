"""Choosing samples to show."""
from __future__ import annotations

import numpy as np


def pick_per_class(labels: np.ndarray, n_classes: int, per_class: int) -> np.ndarray:
    """Indices of the first ``per_class`` samples of each class, grouped by class."""
    return np.concatenate([np.flatnonzero(labels == c)[:per_class] for c in range(n_classes)])
