"""The one in-memory spike format shared by data sets, simulators and reports.

Consumers see a dense raster (``SpikeData.raster``, (n_samples, n_steps,
n_units)) because a dense array makes batching, indexing and feeding the
network's input TimedArray trivial. Small data sets (Randman) hold that array
itself; large ones (MNIST, SHD) hold a compressed :class:`SparseRaster` and
build the dense array only for the samples asked for, so take a ``subset``
(a batch) before reading ``raster``.

The raster is bool (at most one spike per unit per step) or uint8 counts
(several spikes of one input unit in one step, e.g. a binned SHD channel):
the network delivers a count as ``count_pre`` to the input synapses' ``on_pre``.
"""
from __future__ import annotations

import numpy as np

from .sparse import SparseRaster

__all__ = ["SpikeData", "SparseRaster", "raster_from_steps"]

RASTER_DTYPES = (np.dtype(bool), np.dtype(np.uint8))


class SpikeData:
    """A labelled set of spike rasters (immutable).

    raster: bool or uint8, shape (n_samples, n_steps, n_units): True / the count = that
        unit's spikes in that step; given as a dense array or as a :class:`SparseRaster`.
    labels: int64, shape (n_samples,), class indices in 0..n_classes-1.
    n_classes: number of classes of the task (not necessarily all present in this set).

    ``raster`` returns a dense array: the stored one (not copied; treat it as
    read-only) or, for a sparse store, a new array each time.
    """

    __slots__ = ("_store", "labels", "n_classes")

    def __init__(self, raster: np.ndarray | SparseRaster, labels: np.ndarray, n_classes: int) -> None:
        r, y, k = raster, labels, n_classes
        if isinstance(r, SparseRaster):
            n = len(r)
        elif not isinstance(r, np.ndarray) or r.ndim != 3:
            raise ValueError(
                "SpikeData.raster must be a 3-D numpy array (n_samples, n_steps, n_units) or a SparseRaster, "
                f"got {type(r).__name__} with shape {getattr(r, 'shape', None)}"
            )
        elif r.dtype not in RASTER_DTYPES:
            raise ValueError(f"SpikeData.raster must have dtype bool or uint8 (spike counts), got {r.dtype}")
        else:
            n = r.shape[0]
        if not isinstance(y, np.ndarray) or y.ndim != 1:
            raise ValueError(
                "SpikeData.labels must be a 1-D numpy array (n_samples,), "
                f"got {type(y).__name__} with shape {getattr(y, 'shape', None)}"
            )
        if y.dtype != np.int64:
            raise ValueError(f"SpikeData.labels must have dtype int64, got {y.dtype} (use .astype(np.int64))")
        if y.shape[0] != n:
            raise ValueError(f"SpikeData.labels has {y.shape[0]} entries but raster has {n} samples")
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
            raise ValueError(f"SpikeData.n_classes must be an integer >= 1, got {k!r}")
        if y.size and (y.min() < 0 or y.max() >= k):
            raise ValueError(
                f"SpikeData.labels must lie in 0..{k - 1} (n_classes={k}), "
                f"got values in {int(y.min())}..{int(y.max())}"
            )
        object.__setattr__(self, "_store", r)
        object.__setattr__(self, "labels", y)
        object.__setattr__(self, "n_classes", int(k))

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"SpikeData is immutable (cannot set {name})")

    def __getstate__(self) -> tuple:
        return self._store, self.labels, self.n_classes

    def __setstate__(self, state: tuple) -> None:
        for name, value in zip(self.__slots__, state):
            object.__setattr__(self, name, value)

    def __repr__(self) -> str:
        kind = "sparse" if self.is_sparse else "dense"
        return (f"SpikeData({self.n_samples} samples x {self.n_steps} steps x {self.n_units} units, "
                f"{self.dtype}, {self.n_classes} classes, {kind})")

    @property
    def raster(self) -> np.ndarray:
        """Dense (n_samples, n_steps, n_units) bool or uint8 array."""
        s = self._store
        return s.dense() if isinstance(s, SparseRaster) else s

    @property
    def sparse(self) -> SparseRaster:
        """The compressed store (built from the dense raster if that is what is held)."""
        s = self._store
        return s if isinstance(s, SparseRaster) else SparseRaster.from_dense(s)

    @property
    def is_sparse(self) -> bool:
        return isinstance(self._store, SparseRaster)

    @property
    def dtype(self) -> np.dtype:
        """bool, or uint8 for a raster of spike counts."""
        return self._store.dtype

    @property
    def nbytes(self) -> int:
        """Bytes held (raster store and labels)."""
        return int(self._store.nbytes + self.labels.nbytes)

    @property
    def n_samples(self) -> int:
        return len(self.labels)

    @property
    def n_steps(self) -> int:
        s = self._store
        return s.n_steps if isinstance(s, SparseRaster) else int(s.shape[1])

    @property
    def n_units(self) -> int:
        s = self._store
        return s.n_units if isinstance(s, SparseRaster) else int(s.shape[2])

    def __len__(self) -> int:
        return self.n_samples

    def subset(self, index: np.ndarray | slice | list[int] | int) -> SpikeData:
        """Samples selected by an index array, boolean mask, slice or single int (kept 3-D)."""
        if isinstance(index, (int, np.integer)) and not isinstance(index, bool):
            index = [int(index)]
        s = self._store
        if isinstance(s, SparseRaster):
            return SpikeData(s.take(index), self.labels[index], self.n_classes)
        return SpikeData(s[index], self.labels[index], self.n_classes)


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
