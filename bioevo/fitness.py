"""Losses on readout statistics of evolved spiking networks.

Evolution strategies only need a scalar per individual, so every loss maps a
whole population's readouts to one number per individual (lower is better).
Shapes: ``P`` individuals, ``B`` samples, ``T`` time steps, ``O`` readout
classes; ``trace`` is ``(P, B, T, O)`` (readout membrane potential per step),
``vmax`` is ``(P, B, O)`` (max over time) and ``labels`` is ``(B,)`` int.
Everything is vectorised over ``P`` and ``B`` so a generation is scored in one
numpy call.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

__all__ = [
    "membrane_hinge",
    "final_step_hinge",
    "max_cross_entropy",
    "accuracy",
    "predictions",
    "l2_penalty",
    "LOSSES",
    "get_loss",
]


def _check(x: np.ndarray, labels: np.ndarray, ndim: int, name: str) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(x, dtype=np.float64)
    labels = np.asarray(labels)
    if x.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimensions, got shape {x.shape}")
    if labels.ndim != 1 or labels.shape[0] != x.shape[1]:
        raise ValueError(f"labels must have shape ({x.shape[1]},), got {labels.shape}")
    if not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"labels must be integers, got dtype {labels.dtype}")
    n_classes = x.shape[-1]
    if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
        raise ValueError(f"labels must lie in [0, {n_classes}), got range [{labels.min()}, {labels.max()}]")
    return x, labels.astype(np.intp)


def _hinge(trace: np.ndarray, labels: np.ndarray, margin: float) -> np.ndarray:
    """Mean over wrong classes, steps and samples of max(0, V_wrong - V_true + margin)."""
    n_classes = trace.shape[-1]
    if n_classes < 2:
        raise ValueError("hinge losses need at least 2 readout classes")
    idx = labels[None, :, None, None]  # (1, B, 1, 1), broadcast over P and T
    v_true = np.take_along_axis(trace, np.broadcast_to(idx, trace.shape[:3] + (1,)), axis=-1)
    viol = np.maximum(0.0, trace - v_true + margin)
    wrong = np.arange(n_classes)[None, :] != labels[:, None]  # (B, O)
    viol = viol * wrong[None, :, None, :]
    per_step = viol.sum(axis=-1) / (n_classes - 1)  # (P, B, T)
    return per_step.mean(axis=(1, 2))


def membrane_hinge(trace: np.ndarray, labels: np.ndarray, margin: float = 0.0) -> np.ndarray:
    """Hinge on every time step: pushes the true readout above all others throughout the trial.

    ``mean_{b,t} mean_{o != y_b} max(0, V[p,b,t,o] - V[p,b,t,y_b] + margin)``; shape ``(P,)``.
    """
    trace, labels = _check(trace, labels, 4, "trace")
    return _hinge(trace, labels, float(margin))


def final_step_hinge(trace: np.ndarray, labels: np.ndarray, margin: float = 0.0) -> np.ndarray:
    """Hinge on the last step only: lets the network decide late (read out at trial end)."""
    trace, labels = _check(trace, labels, 4, "trace")
    return _hinge(trace[:, :, -1:, :], labels, float(margin))


def _logsumexp(x: np.ndarray, axis: int = -1) -> np.ndarray:
    m = np.max(x, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    return np.squeeze(m, axis=axis) + np.log(np.sum(np.exp(x - m), axis=axis))


def max_cross_entropy(vmax: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Softmax cross-entropy on max-over-time readouts, mean over samples; shape ``(P,)``.

    Uses log-sum-exp so large membrane potentials (mV scale) do not overflow.
    """
    vmax, labels = _check(vmax, labels, 3, "vmax")
    lse = _logsumexp(vmax, axis=-1)  # (P, B)
    v_true = vmax[:, np.arange(vmax.shape[1]), labels]  # (P, B)
    return (lse - v_true).mean(axis=1)


def predictions(vmax: np.ndarray) -> np.ndarray:
    """Predicted class per individual and sample, ``(P, B)``; ties go to the lowest class index."""
    vmax = np.asarray(vmax)
    if vmax.ndim != 3:
        raise ValueError(f"vmax must have 3 dimensions, got shape {vmax.shape}")
    return np.argmax(vmax, axis=-1)


def accuracy(vmax: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Fraction of samples whose argmax readout is the label, shape ``(P,)`` (higher is better)."""
    vmax, labels = _check(vmax, labels, 3, "vmax")
    return (predictions(vmax) == labels[None, :]).mean(axis=1)


def l2_penalty(genomes: np.ndarray, weight: float) -> np.ndarray:
    """``weight * mean(genome**2)`` per individual: keeps evolved weights small; shape ``(P,)``."""
    genomes = np.asarray(genomes, dtype=np.float64)
    if genomes.ndim != 2:
        raise ValueError(f"genomes must have shape (P, N), got {genomes.shape}")
    return float(weight) * np.mean(genomes**2, axis=1)


LossFn = Callable[..., np.ndarray]

#: name -> (loss function, needs_trace). ``needs_trace`` False means the loss
#: takes ``vmax`` (P, B, O) instead of the full trace, so the simulator can skip
#: recording per-step readouts.
LOSSES: dict[str, tuple[LossFn, bool]] = {
    "membrane_hinge": (membrane_hinge, True),
    "final_step_hinge": (final_step_hinge, True),
    "max_cross_entropy": (max_cross_entropy, False),
}


def get_loss(name: str) -> tuple[LossFn, bool]:
    """Look up ``(function, needs_trace)`` by name; raises ValueError listing allowed names."""
    try:
        return LOSSES[name]
    except (KeyError, TypeError):
        allowed = ", ".join(sorted(LOSSES))
        raise ValueError(f"unknown loss {name!r}; allowed: {allowed}") from None
