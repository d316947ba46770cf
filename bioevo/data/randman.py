"""Randman: spike-timing classification data on smooth random manifolds.

A numpy re-implementation of Zenke & Vogels' random manifold generator
(github.com/fzenke/randman, ``Randman`` + the "spiking dataset generation"
notebook). Each class is one random smooth manifold embedded in unit space;
a sample's point on it sets *when* each unit fires, so the information lies
purely in spike timing (every unit fires the same number of spikes).

Details kept from the reference: theta ~ U(0,1) with the constant term
theta[:, :, 0, 0] = 0, spectrum 1/((i+1)^alpha + 1), product over manifold
dimensions, per-class min-max normalisation over all samples of the class, and
for nb_spikes > 1 one independent manifold per spike sharing the sample's x.
Differences: numpy float64 instead of torch float32, one ``np.random.Generator``
instead of global seeds, normalisation without the reference's 1e-7 epsilon
(so each unit's extremes land exactly on steps 0 and T-1), and times are
discretised to integer steps floor(value * T) clipped to T-1.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from numbers import Integral, Real

import numpy as np

from .spikes import SpikeData, raster_from_steps

__all__ = [
    "RandmanConfig",
    "make_randman",
    "make_randman_steps",
    "f_cutoff",
    "spectrum",
    "eval_manifold",
]

PREC = 1e-3
MAX_F_CUTOFF = 1000
SPLITS = ("train", "val", "test")
_CHUNK_ELEMS = 1 << 22  # bound on temporary (functions x samples x freqs) array size


@dataclass
class RandmanConfig:
    """Randman task parameters; ``split`` counts samples per class for train/val/test."""

    n_classes: int = 2
    n_units: int = 30
    dim_manifold: int = 1
    alpha: float = 2.0
    n_steps: int = 50
    split: tuple[int, int, int] = (800, 100, 100)
    nb_spikes: int = 1
    seed: int = 0

    def validate(self, prefix: str = "randman") -> None:
        """Raise ValueError naming the first bad field as ``prefix.field``, its value and what is
        allowed (a config's [data] table: prefix "data")."""
        _check_int(f"{prefix}.n_classes", self.n_classes, 2)
        _check_int(f"{prefix}.n_units", self.n_units, 1)
        _check_int(f"{prefix}.dim_manifold", self.dim_manifold, 1)
        a = self.alpha
        if isinstance(a, bool) or not isinstance(a, Real) or not math.isfinite(a) or a <= 0:
            raise ValueError(f"{prefix}.alpha must be a finite number > 0, got {a!r}")
        _check_int(f"{prefix}.n_steps", self.n_steps, 1)
        sp = self.split
        if not isinstance(sp, (tuple, list)) or len(sp) != 3:
            raise ValueError(
                f"{prefix}.split must be three integers >= 1 (train, val, test samples per class), got {sp!r}"
            )
        for name, v in zip(SPLITS, sp):
            if isinstance(v, bool) or not isinstance(v, Integral) or v < 1:
                raise ValueError(f"{prefix}.split must be three integers >= 1 (train, val, test samples per class); "
                                 f"{name} is {v!r}")
        _check_int(f"{prefix}.nb_spikes", self.nb_spikes, 1)
        _check_int(f"{prefix}.seed", self.seed, 0)


def _check_int(key: str, value: object, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, Integral) or value < minimum:
        raise ValueError(f"{key} must be an integer >= {minimum}, got {value!r}")


def f_cutoff(alpha: float, prec: float = PREC, max_f_cutoff: int = MAX_F_CUTOFF) -> int:
    """Number of Fourier terms: where the power-law spectrum falls below ``prec``."""
    return int(min(math.ceil(prec ** (-1.0 / alpha)), max_f_cutoff))


def spectrum(alpha: float, n_freq: int) -> np.ndarray:
    """Amplitude envelope s_i = 1 / ((i+1)^alpha + 1); larger alpha = smoother manifold."""
    return 1.0 / ((np.arange(n_freq, dtype=np.float64) + 1.0) ** alpha + 1.0)


def eval_manifold(x: np.ndarray, theta: np.ndarray, alpha: float) -> np.ndarray:
    """Evaluate M random functions at points x.

    x: (n, D) manifold coordinates; theta: (M, D, 3, F) parameters.
    Returns (n, M): out[:, m] = prod_d sum_i theta[m,d,0,i] s_i sin(2 pi (i x_d theta[m,d,1,i] + theta[m,d,2,i])).
    """
    x = np.asarray(x, dtype=np.float64)
    theta = np.asarray(theta, dtype=np.float64)
    n, dim = x.shape
    n_fun, dim_t, n_par, n_freq = theta.shape
    if dim_t != dim or n_par != 3:
        raise ValueError(f"theta shape {theta.shape} does not match x shape {x.shape} (need (M, D, 3, F))")
    s = spectrum(alpha, n_freq)
    i = np.arange(n_freq, dtype=np.float64)
    out = np.ones((n, n_fun), dtype=np.float64)
    chunk = max(1, _CHUNK_ELEMS // max(1, n * n_freq))
    for m0 in range(0, n_fun, chunk):
        th = theta[m0:m0 + chunk]  # (m, D, 3, F)
        for d in range(dim):
            amp = th[:, d, 0, :] * s  # (m, F)
            freq = th[:, d, 1, :] * i  # (m, F)
            phase = x[None, :, d, None] * freq[:, None, :] + th[:, d, 2, None, :]  # (m, n, F)
            out[:, m0:m0 + chunk] *= np.einsum("mnf,mf->nm", np.sin(2.0 * np.pi * phase), amp)
    return out


def _normalise(values: np.ndarray) -> np.ndarray:
    """Min-max scale each column to [0, 1]; a constant column maps to 0."""
    lo = values.min(axis=0)
    span = values.max(axis=0) - lo
    safe = np.where(span > 0, span, 1.0)
    return np.where(span > 0, (values - lo) / safe, 0.0)


def make_randman_steps(cfg: RandmanConfig) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Integer spike steps per split: {split: (steps (n, n_units, nb_spikes) int64, labels int64)}.

    Kept separate from the raster so plots and checks can see every spike time,
    including spikes of one unit that share a step (merged in the raster).
    """
    cfg.validate()
    rng = np.random.default_rng(cfg.seed)
    n_freq = f_cutoff(cfg.alpha)
    per_class = sum(cfg.split)
    bounds = np.cumsum((0,) + tuple(cfg.split))
    parts: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {k: [] for k in SPLITS}
    for label in range(cfg.n_classes):
        # One manifold per (spike copy, unit); copy-major like the reference's sub-manifolds.
        theta = rng.random((cfg.nb_spikes * cfg.n_units, cfg.dim_manifold, 3, n_freq))
        theta[:, :, 0, 0] = 0.0
        x = rng.random((per_class, cfg.dim_manifold))
        values = _normalise(eval_manifold(x, theta, cfg.alpha))  # (per_class, nb_spikes*units)
        steps = np.clip(np.floor(values * cfg.n_steps), 0, cfg.n_steps - 1).astype(np.int64)
        steps = steps.reshape(per_class, cfg.nb_spikes, cfg.n_units).transpose(0, 2, 1)
        for k, name in enumerate(SPLITS):
            sel = steps[bounds[k]:bounds[k + 1]]
            parts[name].append((sel, np.full(len(sel), label, dtype=np.int64)))
    out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for name in SPLITS:
        steps = np.concatenate([p[0] for p in parts[name]])
        labels = np.concatenate([p[1] for p in parts[name]])
        perm = rng.permutation(len(labels))
        out[name] = (np.ascontiguousarray(steps[perm]), labels[perm])
    return out


def make_randman(cfg: RandmanConfig) -> dict[str, SpikeData]:
    """Randman data set as rasters: {'train', 'val', 'test'} -> SpikeData.

    Deterministic in ``cfg.seed`` alone. With nb_spikes > 1 a unit may have two
    spikes in one step; the raster then holds a single True for them.
    """
    return {
        name: SpikeData(raster_from_steps(steps, cfg.n_steps), labels, cfg.n_classes)
        for name, (steps, labels) in make_randman_steps(cfg).items()
    }
