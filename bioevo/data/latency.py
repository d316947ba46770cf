"""Latency code for images: bright pixels fire early, dark pixels not at all.

The report's formula t = tau_max (1 - I / I_max), on ``n_steps`` steps of one
input step each, with I_max the data set's full scale (16 for the 8x8
digits, 255 for MNIST; the pooled MNIST mean keeps 255):

    step = floor(n_steps * (1 - I / I_max))   for I > threshold, else silent.

Rounding: floor, the same discretisation as Randman's spike times, so each
step holds an equal slice of intensities, step k the I in
(I_max (1 - (k+1)/n_steps), I_max (1 - k/n_steps)]: the full-scale value
fires at step 0 and the faintest firing pixel at step n_steps - 1 at the
latest. With n_steps = I_max (16 steps for the digits) each grey level has its
own step and the code is lossless. Each pixel fires at most once. The step is
computed as floor(n_steps * (I_max - I) / I_max) from integer I and I_max
(pooled images pass block sums and the scaled full scale), so an intensity
that lands exactly on a step boundary is placed exactly.
"""
from __future__ import annotations

import numpy as np

from .sparse import SparseRaster

__all__ = ["latency_steps", "latency_encode", "latency_decode", "SILENT"]

SILENT = -1
_CHUNK = 2048  # images per chunk: bounds the temporaries of a 60,000-image encode


def latency_steps(images: np.ndarray, i_max: float, n_steps: int, threshold: float = 0.0) -> np.ndarray:
    """Spike step of every pixel, int16 (n_images, n_pixels); SILENT (-1) where I <= threshold.

    images: (n_images, n_pixels), values in 0..i_max. threshold >= 0 in the same units.
    """
    img = np.asarray(images, dtype=np.float64)
    step = n_steps * (i_max - img)
    step /= i_max
    out = np.floor(step, out=step).astype(np.int16)
    out[img <= threshold] = SILENT
    return out


def latency_encode(images: np.ndarray, i_max: float, n_steps: int, threshold: float = 0.0) -> SparseRaster:
    """Bool spike store (n_images, n_steps, n_pixels) of the latency code, built in chunks."""
    n, n_pix = images.shape
    parts = []
    for a in range(0, max(n, 1), _CHUNK):
        steps = latency_steps(images[a:a + _CHUNK], i_max, n_steps, threshold)
        rows, pix = np.nonzero(steps != SILENT)
        offsets = np.zeros(len(steps) + 1, dtype=np.int64)
        np.cumsum(np.bincount(rows, minlength=len(steps)), out=offsets[1:])
        cells = (steps[rows, pix].astype(np.int32) * n_pix + pix).astype(np.int32)
        parts.append(SparseRaster(offsets, cells, None, n_steps, n_pix))
    return SparseRaster.concatenate(parts)


def latency_decode(raster: np.ndarray, i_max: float = 1.0) -> np.ndarray:
    """Approximate images (n, n_pixels) from a latency raster (n, n_steps, n_pixels).

    A pixel whose first spike is at step k decodes to i_max (1 - k / n_steps), the
    brightest intensity of its step (exact for the full scale and for any grey level
    on a step boundary, e.g. every digits level at 16 steps); a silent pixel to 0.
    """
    r = np.asarray(raster) > 0
    n_steps = r.shape[1]
    fired = r.any(axis=1)
    first = r.argmax(axis=1)
    return np.where(fired, i_max * (1.0 - first / n_steps), 0.0)
