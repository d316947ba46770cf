"""Losses on readout statistics of evolved spiking networks.

Evolution strategies only need a scalar per individual, so every loss maps a
whole population's readouts to one number per individual (lower is better).
Shapes: ``P`` individuals, ``B`` samples, ``T`` time steps, ``O`` readout
classes; ``trace`` is ``(P, B, T, O)`` (readout membrane potential per step),
``vmax`` is ``(P, B, O)`` (max over time) and ``labels`` is ``(B,)`` int.
Everything is vectorised over ``P`` and ``B`` so a generation is scored in one
numpy call.

A *readout* turns what the simulator recorded into one score per class
``(P, B, O)``, higher meaning more evidence for that class; predictions are its
argmax (ties go to the lowest class index).  ``READOUT_REGISTRY`` and
``LOSSES`` are the one place that says what each readout and loss reads
(``RECORDED``): statistics tracked inside the simulation (max, final value,
sum), the full trace (costs about 2x), or the readout layer's spikes (only
models whose readout layer spikes have those).  A new readout or loss is one
entry there; the scorer and what the simulation records follow from it.
"""
from __future__ import annotations

from collections.abc import Iterator, Mapping, MutableMapping
from typing import Any, Callable, NamedTuple

import numpy as np

from .readout_stats import TRACKED_STATS, stat_of_key

__all__ = [
    "membrane_hinge",
    "final_step_hinge",
    "max_cross_entropy",
    "cross_entropy",
    "spike_count_hinge",
    "smoothness_penalty",
    "accuracy",
    "predictions",
    "l2_penalty",
    "scores_of",
    "loss_values",
    "recorded_input",
    "RECORDED",
    "READOUT_REGISTRY",
    "READOUTS",
    "SPIKE_INPUTS",
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
    """Hinge on the last step only: lets the network decide late (read out at trial end).

    ``trace`` is the whole trace ``(P, B, T, O)`` or just its last step ``(P, B, O)``
    (the "final" statistic the simulation tracks); shape ``(P,)``."""
    if np.ndim(trace) == 3:
        final, labels = _check(trace, labels, 3, "final")
        return _hinge(final[:, :, None, :], labels, float(margin))
    trace, labels = _check(trace, labels, 4, "trace")
    return _hinge(trace[:, :, -1:, :], labels, float(margin))


def _logsumexp(x: np.ndarray, axis: int = -1) -> np.ndarray:
    m = np.max(x, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    return np.squeeze(m, axis=axis) + np.log(np.sum(np.exp(x - m), axis=axis))


def cross_entropy(scores: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Softmax cross-entropy of per-class scores ``(P, B, O)``, mean over samples; shape ``(P,)``.

    Uses log-sum-exp so large membrane potentials (mV scale) do not overflow.
    """
    scores, labels = _check(scores, labels, 3, "scores")
    lse = _logsumexp(scores, axis=-1)  # (P, B)
    v_true = scores[:, np.arange(scores.shape[1]), labels]  # (P, B)
    return (lse - v_true).mean(axis=1)


def max_cross_entropy(vmax: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Cross-entropy on max-over-time readouts (the report's loss); shape ``(P,)``."""
    return cross_entropy(vmax, labels)


def spike_count_hinge(counts: np.ndarray, labels: np.ndarray, margin: float = 0.0) -> np.ndarray:
    """``mean_b mean_{o != y_b} max(0, n[p,b,o] - n[p,b,y_b] + margin)`` on readout spike counts
    ``(P, B, O)``: the true class must fire at least ``margin`` spikes more than every other; shape ``(P,)``."""
    counts, labels = _check(counts, labels, 3, "counts")
    return _hinge(counts[:, :, None, :], labels, float(margin))


def smoothness_penalty(trace: np.ndarray, weight: float) -> np.ndarray:
    """``weight * mean_{b,t,o} (V[t+1] - V[t])^2``: discourages jittery readout potentials; shape ``(P,)``."""
    trace = np.asarray(trace, dtype=np.float64)
    if trace.ndim != 4:
        raise ValueError(f"trace must have 4 dimensions, got shape {trace.shape}")
    if trace.shape[2] < 2:
        return np.zeros(trace.shape[0])
    return float(weight) * np.mean(np.diff(trace, axis=2) ** 2, axis=(1, 2, 3))


#: What the simulation can record from the readout layer, shaped (P, B, ...): the statistics of
#: ``readout_stats.TRACKED_STATS`` under their keys ("vmax", "vfinal", "vsum": P, B, O; tracked
#: inside the simulation), "trace" (P, B, T, O; costs about 2x) and "spike_counts", "first_spikes"
#: (P, B, O; the readout layer's spikes, only where that layer spikes).  ``recorded`` dicts passed to
#: :func:`scores_of` and :func:`loss_values` use these keys.
RECORDED = (*(stat.key for stat in TRACKED_STATS.values()), "trace", "spike_counts", "first_spikes")
#: what READOUTS and LOSSES read from the readout layer's spikes
SPIKE_INPUTS = ("spike_counts", "first_spikes")


class Readout(NamedTuple):
    """How per-class scores (P, B, O) come from what was recorded: ``sign * recorded[reads]``."""

    reads: str  # a key of RECORDED
    sign: float
    doc: str


class Loss(NamedTuple):
    """A loss function and what it reads: a key of RECORDED, or "readout" (the configured readout's scores)."""

    fn: Callable[..., np.ndarray]
    reads: str
    takes_margin: bool
    takes_temperature: bool = False  # a softmax loss: fitness.temperature divides its scores


class _ReadoutRegistry(MutableMapping):
    """Readout name -> Readout: one per entry of ``readout_stats.TRACKED_STATS`` (read at every
    lookup, so that a statistic added there is a readout at once), then the readouts of the readout
    layer's spikes and any added here."""

    def __init__(self, others: dict[str, Readout]) -> None:
        self._others = others

    def _entries(self) -> dict[str, Readout]:
        stats = {name: Readout(stat.key, 1.0, stat.doc) for name, stat in TRACKED_STATS.items()}
        return {**stats, **self._others}

    def __getitem__(self, name: str) -> Readout:
        return self._entries()[name]

    def __setitem__(self, name: str, readout: Readout) -> None:
        if name in TRACKED_STATS:
            raise KeyError(f"readout {name!r} is declared by readout_stats.TRACKED_STATS; change it there")
        self._others[name] = readout

    def __delitem__(self, name: str) -> None:
        del self._others[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries())

    def __len__(self) -> int:
        return len(self._entries())


class _ReadoutReads(Mapping):
    """Readout name -> the key of what it reads (a view of a readout registry)."""

    def __init__(self, registry: Mapping[str, Readout]) -> None:
        self._registry = registry

    def __getitem__(self, name: str) -> str:
        return self._registry[name].reads

    def __iter__(self) -> Iterator[str]:
        return iter(self._registry)

    def __len__(self) -> int:
        return len(self._registry)


#: The one registry of readouts (``fitness.readout``): name -> what it reads and how it scores.
READOUT_REGISTRY: MutableMapping[str, Readout] = _ReadoutRegistry({
    "spike_count": Readout("spike_counts", 1.0, "spikes of each readout neuron in the sample"),
    "first_spike": Readout("first_spikes", -1.0, "minus the step of its first spike (none: minus the sample length)"),
})
#: readout name -> what it reads (a view of READOUT_REGISTRY)
READOUTS: Mapping[str, str] = _ReadoutReads(READOUT_REGISTRY)


def recorded_input(recorded: dict[str, Any], name: str, who: str) -> np.ndarray:
    """``recorded[name]`` as float64, computed from the trace when only that was recorded."""
    data = recorded.get(name)
    stat = stat_of_key(name)
    if data is None and stat is not None and recorded.get("trace") is not None:
        data = TRACKED_STATS[stat].of_trace(np.asarray(recorded["trace"], dtype=np.float64))
    if data is None:
        raise ValueError(f"{who} needs '{name}', which the simulation did not record")
    return np.asarray(data, dtype=np.float64)


def scores_of(kind: str, recorded: dict[str, Any]) -> np.ndarray:
    """Per-class scores ``(P, B, O)`` of readout ``kind`` from a ``recorded`` dict (keys: RECORDED)."""
    if kind not in READOUT_REGISTRY:
        raise ValueError(f"unknown readout {kind!r}; allowed: {', '.join(READOUT_REGISTRY)}")
    readout = READOUT_REGISTRY[kind]
    data = recorded_input(recorded, readout.reads, f"readout {kind!r}")
    if data.ndim != 3:
        raise ValueError(f"readout {kind!r}: data must have shape (P, B, O), got {data.shape}")
    return data if readout.sign == 1.0 else readout.sign * data


def predictions(scores: np.ndarray) -> np.ndarray:
    """Predicted class per individual and sample from readout scores ``(P, B, O)``, shape ``(P, B)``;
    ties go to the lowest class index."""
    scores = np.asarray(scores)
    if scores.ndim != 3:
        raise ValueError(f"scores must have 3 dimensions, got shape {scores.shape}")
    return np.argmax(scores, axis=-1)


def accuracy(scores: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Fraction of samples whose argmax readout score is the label, shape ``(P,)`` (higher is better)."""
    scores, labels = _check(scores, labels, 3, "scores")
    return (predictions(scores) == labels[None, :]).mean(axis=1)


def l2_penalty(genomes: np.ndarray, weight: float) -> np.ndarray:
    """``weight * mean(genome**2)`` per individual: keeps evolved weights small; shape ``(P,)``."""
    genomes = np.asarray(genomes, dtype=np.float64)
    if genomes.ndim != 2:
        raise ValueError(f"genomes must have shape (P, N), got {genomes.shape}")
    return float(weight) * np.mean(genomes**2, axis=1)


#: The one registry of losses (``fitness.loss``): name -> function, what it reads, whether it takes
#: ``margin``.  Only what the loss and the readout read is recorded (the trace costs about 2x).
LOSSES: dict[str, Loss] = {
    "membrane_hinge": Loss(membrane_hinge, "trace", True),
    "final_step_hinge": Loss(final_step_hinge, "vfinal", True),
    "max_cross_entropy": Loss(max_cross_entropy, "vmax", False, True),
    "cross_entropy": Loss(cross_entropy, "readout", False, True),
    "spike_count_hinge": Loss(spike_count_hinge, "spike_counts", True),
}


def get_loss(name: str) -> Loss:
    """Look up a loss by name; raises ValueError listing allowed names."""
    try:
        return LOSSES[name]
    except (KeyError, TypeError):
        allowed = ", ".join(sorted(LOSSES))
        raise ValueError(f"unknown loss {name!r}; allowed: {allowed}") from None


def loss_values(name: str, recorded: dict[str, Any], scores: np.ndarray, labels: np.ndarray,
                margin: float = 0.0, temperature: float = 1.0) -> np.ndarray:
    """Loss ``name`` per individual, shape ``(P,)``, from a ``recorded`` dict (keys: RECORDED) and the
    configured readout's ``scores`` (what a loss reading "readout" takes).  A softmax loss reads its
    scores divided by ``temperature``: above 1 it flattens the softmax, so that a confident wrong answer
    costs about as much as a confident right one saves (see fitness.temperature in docs/training.md)."""
    loss = get_loss(name)
    data = scores if loss.reads == "readout" else recorded_input(recorded, loss.reads, f"loss {name!r}")
    if temperature != 1.0:
        if not loss.takes_temperature:
            raise ValueError(f"loss {name!r} takes no temperature (got {temperature})")
        data = np.asarray(data, dtype=np.float64) / temperature
    return loss.fn(data, labels, margin=margin) if loss.takes_margin else loss.fn(data, labels)
