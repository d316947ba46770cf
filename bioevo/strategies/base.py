"""What every strategy shares: the protocol, random-generator state as JSON,
and HDF5 round trips of a strategy's state.

Protocol (like ``deap.cma.Strategy``, plus what resumable evolution needs)::

    generate(ind_init) -> list        # new individuals, ind_init(np.ndarray) makes one
    update(population, evaluate=None) # read ind.fitness.values[0] (a LOSS, minimised) and
                                      # ind.accuracy (batch accuracy, may be absent);
                                      # evaluate(genomes (n, N)) -> (losses (n,), accuracies (n,))
                                      # scores extra candidates on the same batch (pooling)
    end_epoch()                       # once per pass over the training set (annealing)
    centroid: np.ndarray              # the current estimate: what is validated and kept
    state_dict() -> dict              # numpy arrays, scalars, strings only
    load_state_dict(d)                # restore exactly; generate() then continues identically

The DEAP creator's fitness must be declared with ``weights=(-1.0,)``.
"""
from __future__ import annotations

import json
import math
from typing import Any, Callable, Protocol

import h5py
import numpy as np

Evaluate = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]


class Strategy(Protocol):
    centroid: np.ndarray

    def generate(self, ind_init: Callable[[np.ndarray], Any]) -> list: ...
    def update(self, population: list, evaluate: Evaluate | None = None) -> None: ...
    def end_epoch(self) -> None: ...
    def state_dict(self) -> dict[str, Any]: ...
    def load_state_dict(self, d: dict[str, Any]) -> None: ...


def rng_state_to_json(rng: np.random.Generator) -> str:
    def default(o: Any) -> Any:
        if isinstance(o, np.ndarray):
            return o.tolist()
        if isinstance(o, np.integer):
            return int(o)
        raise TypeError(f"cannot serialise {type(o)!r}")

    return json.dumps(rng.bit_generator.state, default=default)


def rng_from_json(s: str | bytes) -> np.random.Generator:
    if isinstance(s, bytes):
        s = s.decode("utf-8")
    state = json.loads(str(s))
    bitgen = getattr(np.random, state["bit_generator"])()
    if "key" in state.get("state", {}):  # MT19937 wants an array key
        state["state"]["key"] = np.asarray(state["state"]["key"], dtype=np.uint32)
    bitgen.state = state
    return np.random.Generator(bitgen)


def losses_of(population: list) -> np.ndarray:
    """The losses of an evaluated population, refusing unevaluated individuals."""
    if any(not ind.fitness.valid for ind in population):
        raise ValueError("every individual needs a fitness before update()")
    return np.array([ind.fitness.values[0] for ind in population], dtype=np.float64)


def accuracies_of(population: list) -> np.ndarray:
    """Batch accuracies (``ind.accuracy``), NaN where absent."""
    return np.array([getattr(ind, "accuracy", np.nan) for ind in population], dtype=np.float64)


def write_state(group: h5py.Group, state: dict[str, Any]) -> None:
    """Store a state_dict in an HDF5 group: arrays as datasets, the rest as attributes."""
    for key, value in state.items():
        if isinstance(value, np.ndarray):
            group.create_dataset(key, data=value)
        elif value is None:
            group.attrs[key] = "__none__"
        else:
            group.attrs[key] = value


def read_state(group: h5py.Group) -> dict[str, Any]:
    """Inverse of :func:`write_state`."""
    out: dict[str, Any] = {key: group[key][()] for key in group}
    for key, value in group.attrs.items():
        if isinstance(value, bytes):
            value = value.decode()
        if isinstance(value, np.generic):
            value = value.item()
        out[key] = None if value == "__none__" else value
    return out


def adam_update(m: np.ndarray, v: np.ndarray, t: int, grad: np.ndarray, beta1: float = 0.9,
                beta2: float = 0.999, eps: float = 1e-8) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One bias-corrected Adam step on an ascent direction ``grad`` (``t`` counts
    steps, this one included): returns the new moments and ``m_hat / (sqrt(v_hat) + eps)``,
    a per-entry normalised direction the caller scales by its learning rate."""
    m = beta1 * m + (1.0 - beta1) * grad
    v = beta2 * v + (1.0 - beta2) * grad**2
    m_hat = m / (1.0 - beta1**t)
    v_hat = v / (1.0 - beta2**t)
    return m, v, m_hat / (np.sqrt(v_hat) + eps)


# Validation shared by the strategies' constructors and updates.
def _int_param(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _float_param(name: str, value: Any, *, low: float, high: float = math.inf, low_open: bool = False,
                 high_open: bool = False) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, got {value!r}") from None
    ok = (v > low if low_open else v >= low) and (v < high if high_open else v <= high)
    if not ok or math.isnan(v):
        lo = f"{'(' if low_open else '['}{low:g}"
        hi = f"{high:g}{')' if high_open else ']'}"
        raise ValueError(f"{name} must be in {lo}, {hi}, got {value!r}")
    return v


def _centroid(centroid: Any) -> np.ndarray:
    c = np.array(centroid, dtype=np.float64).ravel()
    if c.size == 0:
        raise ValueError("centroid must not be empty")
    if not np.all(np.isfinite(c)):
        raise ValueError("centroid must be finite")
    return c


def _genomes(population: list, dim: int) -> np.ndarray:
    if len(population) == 0:
        raise ValueError("update() needs a non-empty population")
    x = np.asarray([np.asarray(ind, dtype=np.float64).ravel() for ind in population])
    if x.ndim != 2 or x.shape[1] != dim:
        raise ValueError(f"individuals must have {dim} genes, got shape {x.shape}")
    return x
