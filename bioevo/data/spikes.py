"""The one in-memory spike format shared by data sets, simulators and reports.

A dense boolean raster is used (rather than event lists) because the data sets
here are small (tens of units, tens of steps) and a dense array makes batching,
indexing and feeding Brian2 spike generators trivial.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import numpy as np

__all__ = ["SpikeData", "minibatches", "raster_from_steps"]


@dataclass(frozen=True)
class SpikeData:
    """A labelled batch of spike rasters.

    raster: bool, shape (n_samples, n_steps, n_units); True = that unit spikes in that step
        (at most one spike per unit per step).
    labels: int64, shape (n_samples,), class indices in 0..n_classes-1.
    n_classes: number of classes of the task (not necessarily all present in this batch).

    The arrays are not copied or frozen; treat them as read-only.
    """

    raster: np.ndarray
    labels: np.ndarray
    n_classes: int

    def __post_init__(self) -> None:
        r, y, k = self.raster, self.labels, self.n_classes
        if not isinstance(r, np.ndarray) or r.ndim != 3:
            raise ValueError(
                "SpikeData.raster must be a 3-D numpy array (n_samples, n_steps, n_units), "
                f"got {type(r).__name__} with shape {getattr(r, 'shape', None)}"
            )
        if r.dtype != np.bool_:
            raise ValueError(f"SpikeData.raster must have dtype bool, got {r.dtype}")
        if not isinstance(y, np.ndarray) or y.ndim != 1:
            raise ValueError(
                "SpikeData.labels must be a 1-D numpy array (n_samples,), "
                f"got {type(y).__name__} with shape {getattr(y, 'shape', None)}"
            )
        if y.dtype != np.int64:
            raise ValueError(f"SpikeData.labels must have dtype int64, got {y.dtype} (use .astype(np.int64))")
        if y.shape[0] != r.shape[0]:
            raise ValueError(
                f"SpikeData.labels has {y.shape[0]} entries but raster has {r.shape[0]} samples"
            )
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
            raise ValueError(f"SpikeData.n_classes must be an integer >= 1, got {k!r}")
        if y.size and (y.min() < 0 or y.max() >= k):
            raise ValueError(
                f"SpikeData.labels must lie in 0..{k - 1} (n_classes={k}), "
                f"got values in {int(y.min())}..{int(y.max())}"
            )

    @property
    def n_samples(self) -> int:
        return int(self.raster.shape[0])

    @property
    def n_steps(self) -> int:
        return int(self.raster.shape[1])

    @property
    def n_units(self) -> int:
        return int(self.raster.shape[2])

    def __len__(self) -> int:
        return self.n_samples

    def subset(self, index: np.ndarray | slice | list[int] | int) -> SpikeData:
        """Samples selected by an index array, boolean mask, slice or single int (kept 3-D)."""
        if isinstance(index, (int, np.integer)) and not isinstance(index, bool):
            index = [int(index)]
        return SpikeData(self.raster[index], self.labels[index], self.n_classes)


def minibatches(data: SpikeData, batch_size: int, rng: np.random.Generator) -> Iterator[SpikeData]:
    """Endless stream of shuffled batches of exactly ``batch_size`` samples.

    Each epoch draws a fresh permutation from ``rng`` and drops the ragged tail, so
    every batch has the same shape (fitness evaluations stay comparable) and every
    sample is seen at most once per epoch. Arguments are checked eagerly (at call time).
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)):
        raise ValueError(f"batch_size must be an integer, got {batch_size!r}")
    n = len(data)
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    if batch_size > n:
        raise ValueError(f"batch_size ({batch_size}) must not exceed the number of samples ({n})")
    return _batch_stream(data, int(batch_size), rng)


def _batch_stream(data: SpikeData, batch_size: int, rng: np.random.Generator) -> Iterator[SpikeData]:
    n = len(data)
    while True:
        perm = rng.permutation(n)
        for start in range(0, n - batch_size + 1, batch_size):
            yield data.subset(perm[start:start + batch_size])


def raster_from_steps(steps: np.ndarray, n_steps: int) -> np.ndarray:
    """Dense bool raster (n_samples, n_steps, n_units) from integer spike steps.

    ``steps`` has shape (n_samples, n_units) or (n_samples, n_units, k) for k spikes per
    unit. A raster holds at most one spike per unit per step, so spikes of one unit that
    land in the same step collapse into a single True.
    """
    s = np.asarray(steps)
    if s.ndim == 2:
        s = s[:, :, None]
    if s.ndim != 3 or not np.issubdtype(s.dtype, np.integer):
        raise ValueError(f"steps must be an integer array of shape (n_samples, n_units[, k]), got {s.dtype} {s.shape}")
    if s.size and (s.min() < 0 or s.max() >= n_steps):
        raise ValueError(f"spike steps must lie in 0..{n_steps - 1}, got {int(s.min())}..{int(s.max())}")
    n_samples, n_units, k = s.shape
    raster = np.zeros((n_samples, n_steps, n_units), dtype=bool)
    sample_idx = np.broadcast_to(np.arange(n_samples)[:, None, None], s.shape)
    unit_idx = np.broadcast_to(np.arange(n_units)[None, :, None], s.shape)
    raster[sample_idx, s, unit_idx] = True
    return raster
