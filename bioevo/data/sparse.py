"""A compressed (CSR) store of spike rasters, expanded to dense arrays on demand.

Full MNIST as a dense raster (60,000 samples x 100 steps x 784 units, one
byte each) is 4.7 GB, but an image fires each pixel at most once: about 150
events per image. The store keeps, per sample, the occupied cells
``step * n_units + unit`` (int32) and, for count rasters, the number of spikes
in each cell (uint8); a dense (n, T, M) array is built only for the samples
asked for (a minibatch, a validation chunk, a figure).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["SparseRaster"]


@dataclass(frozen=True, eq=False)
class SparseRaster:
    """Events of sample i are ``cells[offsets[i]:offsets[i+1]]``.

    offsets: int64 (n_samples + 1,), starting at 0, non-decreasing, ending at len(cells).
    cells: int32, ``step * n_units + unit``; each cell at most once per sample.
    counts: uint8 >= 1 per cell for a count raster, or None for a bool raster
        (every listed cell is one spike).
    """

    offsets: np.ndarray
    cells: np.ndarray
    counts: np.ndarray | None
    n_steps: int
    n_units: int

    def __post_init__(self) -> None:
        o, c, k = self.offsets, self.cells, self.counts
        if self.n_steps < 1 or self.n_units < 1 or self.n_steps * self.n_units >= 2**31:
            raise ValueError(f"SparseRaster needs 1 <= n_steps * n_units < 2**31, got {self.n_steps} x {self.n_units}")
        if o.dtype != np.int64 or o.ndim != 1 or len(o) < 1 or o[0] != 0 or o[-1] != len(c) or np.any(np.diff(o) < 0):
            raise ValueError("SparseRaster.offsets must be int64, start at 0, not decrease and end at len(cells)")
        if c.dtype != np.int32 or c.ndim != 1:
            raise ValueError(f"SparseRaster.cells must be a 1-D int32 array, got {c.dtype} {c.shape}")
        if c.size and (c.min() < 0 or c.max() >= self.n_steps * self.n_units):
            raise ValueError(f"SparseRaster.cells must lie in 0..{self.n_steps * self.n_units - 1}")
        if k is not None and (k.dtype != np.uint8 or k.shape != c.shape or (k.size and k.min() == 0)):
            raise ValueError("SparseRaster.counts must be None or uint8 >= 1, one per cell")

    def __len__(self) -> int:
        return len(self.offsets) - 1

    @property
    def dtype(self) -> np.dtype:
        """The dense raster's dtype: bool, or uint8 for counts."""
        return np.dtype(bool) if self.counts is None else np.dtype(np.uint8)

    @property
    def nbytes(self) -> int:
        return self.offsets.nbytes + self.cells.nbytes + (0 if self.counts is None else self.counts.nbytes)

    def take(self, index: np.ndarray | slice | list[int]) -> SparseRaster:
        """The samples selected by an index array, boolean mask or slice, in that order."""
        idx = np.arange(len(self))[index]
        starts, lengths = self.offsets[idx], self.offsets[idx + 1] - self.offsets[idx]
        offsets = np.zeros(len(idx) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        pos = np.repeat(starts - offsets[:-1], lengths) + np.arange(offsets[-1])
        counts = None if self.counts is None else self.counts[pos]
        return SparseRaster(offsets, self.cells[pos], counts, self.n_steps, self.n_units)

    def dense(self) -> np.ndarray:
        """The dense raster (n_samples, n_steps, n_units), bool or uint8 counts; a new array each call."""
        n = len(self)
        out = np.zeros((n, self.n_steps * self.n_units), dtype=self.dtype)
        rows = np.repeat(np.arange(n), np.diff(self.offsets))
        out[rows, self.cells] = True if self.counts is None else self.counts
        return out.reshape(n, self.n_steps, self.n_units)

    def compact(self) -> SparseRaster | np.ndarray:
        """Whichever of this store and its dense raster takes fewer bytes (a dense uint8 raster
        wins when more than about a fifth of the cells are occupied, e.g. pooled SHD channels)."""
        dense_bytes = len(self) * self.n_steps * self.n_units * self.dtype.itemsize
        return self.dense() if dense_bytes < self.nbytes else self

    @classmethod
    def from_dense(cls, raster: np.ndarray) -> SparseRaster:
        """Store of a dense bool or uint8 raster (n_samples, n_steps, n_units)."""
        if raster.ndim != 3 or raster.dtype not in (np.bool_, np.uint8):
            raise ValueError(f"raster must be a 3-D bool or uint8 array, got {raster.dtype} {raster.shape}")
        n, t, m = raster.shape
        flat = raster.reshape(n, t * m)
        rows, cells = np.nonzero(flat)
        offsets = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.bincount(rows, minlength=n), out=offsets[1:])
        counts = None if raster.dtype == np.bool_ else flat[rows, cells]
        return cls(offsets, cells.astype(np.int32), counts, t, m)

    @classmethod
    def concatenate(cls, parts: list[SparseRaster]) -> SparseRaster:
        """One store holding the samples of ``parts`` in order (same shape and dtype)."""
        if not parts:
            raise ValueError("concatenate needs at least one SparseRaster")
        first = parts[0]
        if any((p.n_steps, p.n_units, p.dtype) != (first.n_steps, first.n_units, first.dtype) for p in parts):
            raise ValueError("SparseRaster.concatenate: parts differ in n_steps, n_units or dtype")
        lengths = np.concatenate([np.diff(p.offsets) for p in parts])
        offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        counts = None if first.counts is None else np.concatenate([p.counts for p in parts])
        return cls(offsets, np.concatenate([p.cells for p in parts]), counts, first.n_steps, first.n_units)
