"""Standard (global-best) particle swarm optimisation as a strategy object.

Follows the protocol of :mod:`bioevo.strategies.base`: ``generate(ind_init)``
returns the current particle positions, ``update(population)`` reads
``ind.fitness.values[0]`` as a LOSS (minimised; NaN counts as +inf) and moves
the swarm.  ``evaluate`` is ignored and ``end_epoch()`` does nothing (the
inertia anneals per update, see below).

Per particle ``i`` the swarm keeps a position ``x_i``, a velocity ``v_i`` and a
personal best ``p_i`` (position and loss); ``g`` is the global best (the best
personal best).  Conventions:

* Start: ``x_0 = centroid`` exactly, ``x_i = centroid + init_spread * N(0, I)``
  for ``i >= 1`` (one ``rng.standard_normal((popsize - 1, dim))`` draw in the
  constructor), clipped to the bounds; all velocities start at 0.  Personal
  bests start at the initial positions with loss +inf, ``g = centroid``.
* ``generate`` draws nothing; it returns copies of the current positions.  The
  first ``generate`` returns the initial positions.
* ``update``: (1) ``p_i <- x_i`` where the particle's loss is *strictly* lower
  than its personal-best loss; (2) ``g <- p_j`` with ``j`` the first index of the
  lowest personal-best loss, if that loss is strictly lower than the current
  global-best loss; (3) ``r1 = rng.random((popsize, dim))`` then
  ``r2 = rng.random((popsize, dim))`` (U[0, 1) per particle per dimension, in
  that order, and nothing else is drawn); (4)
  ``v <- w v + c1 r1 (p - x) + c2 r2 (g - x)``; (5) clamp ``|v| <= v_max``
  elementwise (``v_max = 0`` or ``inf``: no clamp); (6) ``x <- x + v``, clipped to
  ``[lower, upper]`` if bounds are given (the velocity is left as computed);
  (7) ``w <- max(inertia_min, w * inertia_decay)``.
* ``centroid`` is the global best position (the initial centroid before any
  particle has a finite loss).

Personal bests are compared across generations; with minibatch losses they are
losses on *different* batches (the classic PSO bookkeeping; the report found
PSO stalls on noisy minibatch losses, the hybrid strategy addresses this).
"""
from __future__ import annotations

import math
from typing import Any, Callable, Sequence

import numpy as np

from .base import Evaluate, losses_of, rng_from_json, rng_state_to_json

__all__ = ["DEFAULTS", "ParticleSwarm"]

#: The hyperparameters a preset may set under ``[strategy.pso]``, with their defaults.
DEFAULTS: dict[str, Any] = {
    "popsize": 32, "inertia": 0.7, "c1": 1.5, "c2": 1.5, "init_spread": 1.0, "v_max": 0.5,
    "inertia_decay": 1.0, "inertia_min": 0.4, "lower": -math.inf, "upper": math.inf,
}
# Unbounded is -inf/inf rather than None so that DEFAULTS round-trip through TOML (which has no null);
# the constructor also takes None (unbounded), a number, or one value per dimension.


def _bound(value: Any, name: str, dim: int, fill: float) -> np.ndarray:
    if value is None:
        return np.full(dim, fill)
    arr = np.array(value, dtype=np.float64)
    if arr.ndim == 0:
        arr = np.full(dim, float(arr))
    if arr.shape != (dim,):
        raise ValueError(f"{name} must be None, a number or a sequence of {dim} numbers, got shape {arr.shape}")
    if np.any(np.isnan(arr)):
        raise ValueError(f"{name} must not contain NaN")
    return arr


def _check_int(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or int(value) != value or int(value) < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


class ParticleSwarm:
    """Global-best PSO with inertia, velocity clamp and optional box bounds (see the module docstring)."""

    def __init__(
        self,
        centroid: np.ndarray,
        rng: np.random.Generator | int | None = None,
        *,
        popsize: int = DEFAULTS["popsize"],
        inertia: float = DEFAULTS["inertia"],
        c1: float = DEFAULTS["c1"],
        c2: float = DEFAULTS["c2"],
        init_spread: float = DEFAULTS["init_spread"],
        v_max: float = DEFAULTS["v_max"],
        inertia_decay: float = DEFAULTS["inertia_decay"],
        inertia_min: float = DEFAULTS["inertia_min"],
        lower: float | Sequence[float] | np.ndarray | None = DEFAULTS["lower"],
        upper: float | Sequence[float] | np.ndarray | None = DEFAULTS["upper"],
    ) -> None:
        centroid = np.array(centroid, dtype=np.float64).ravel()
        if centroid.size == 0:
            raise ValueError("centroid must not be empty")
        if not np.all(np.isfinite(centroid)):
            raise ValueError("centroid must be finite")
        self.popsize = _check_int("popsize", popsize, 2)
        for name, value in (("inertia", inertia), ("c1", c1), ("c2", c2), ("init_spread", init_spread),
                            ("v_max", v_max), ("inertia_min", inertia_min)):
            if not float(value) >= 0:
                raise ValueError(f"{name} must be >= 0, got {value!r}")
        if not 0 < float(inertia_decay) <= 1:
            raise ValueError(f"inertia_decay must be in (0, 1], got {inertia_decay!r}")
        if float(inertia_min) > float(inertia):
            raise ValueError(f"inertia_min must be <= inertia ({inertia}), got {inertia_min!r}")
        dim = centroid.size
        lo, hi = _bound(lower, "lower", dim, -np.inf), _bound(upper, "upper", dim, np.inf)
        if np.any(lo >= hi):
            raise ValueError("lower must be < upper in every dimension")
        if np.any(centroid < lo) or np.any(centroid > hi):
            raise ValueError("centroid must lie within [lower, upper]")

        self.inertia = float(inertia)  # the initial value; the current one is self.w
        self.c1, self.c2 = float(c1), float(c2)
        self.init_spread = float(init_spread)
        self.v_max = float(v_max)
        self.inertia_decay = float(inertia_decay)
        self.inertia_min = float(inertia_min)
        self.lower, self.upper = lo, hi
        self.rng: np.random.Generator = np.random.default_rng(rng)

        x = np.empty((self.popsize, dim))
        x[0] = centroid
        x[1:] = centroid + self.init_spread * self.rng.standard_normal((self.popsize - 1, dim))
        self.x = self._clip(x)
        self.v = np.zeros_like(self.x)
        self.pbest_x = self.x.copy()
        self.pbest_loss = np.full(self.popsize, np.inf)
        self.gbest_x = centroid.copy()
        self.gbest_loss = np.inf
        self.w = self.inertia
        self.t = 0  # number of updates

    # -- helpers ---------------------------------------------------------------------------
    @property
    def dim(self) -> int:
        return int(self.gbest_x.size)

    @property
    def centroid(self) -> np.ndarray:
        """The global best position (the initial centroid until a particle has a finite loss)."""
        return self.gbest_x

    @property
    def bounded(self) -> bool:
        return bool(np.any(np.isfinite(self.lower)) or np.any(np.isfinite(self.upper)))

    def _clip(self, x: np.ndarray) -> np.ndarray:
        return np.clip(x, self.lower, self.upper) if self.bounded else x

    # -- protocol --------------------------------------------------------------------------
    def generate(self, ind_init: Callable[[np.ndarray], Any]) -> list[Any]:
        """The current positions, one ``ind_init(array)`` per particle (fresh float64 copies)."""
        return [ind_init(row.copy()) for row in self.x]

    def update(self, population: Sequence[Any], evaluate: Evaluate | None = None) -> None:
        """Bookkeeping of the bests from the losses, then one velocity and position step.

        ``population`` must be the current positions in particle order (as
        returned by ``generate``); anything else raises ValueError.  ``evaluate``
        is ignored.
        """
        if len(population) != self.popsize:
            raise ValueError(f"expected {self.popsize} individuals, got {len(population)}")
        values = np.asarray([np.asarray(ind, dtype=np.float64).ravel() for ind in population])
        if values.shape != self.x.shape or not np.allclose(values, self.x, rtol=1e-6, atol=1e-6):
            raise ValueError("population does not match the current particle positions "
                             "(reordered, modified, or not from the last generate()?)")
        losses = losses_of(population)
        losses = np.where(np.isnan(losses), np.inf, losses)

        improved = losses < self.pbest_loss
        self.pbest_x[improved] = self.x[improved]
        self.pbest_loss[improved] = losses[improved]
        j = int(np.argmin(self.pbest_loss))
        if self.pbest_loss[j] < self.gbest_loss:
            self.gbest_x = self.pbest_x[j].copy()
            self.gbest_loss = float(self.pbest_loss[j])

        r1 = self.rng.random(self.x.shape)
        r2 = self.rng.random(self.x.shape)
        v = self.w * self.v + self.c1 * r1 * (self.pbest_x - self.x) + self.c2 * r2 * (self.gbest_x - self.x)
        if 0 < self.v_max < np.inf:
            v = np.clip(v, -self.v_max, self.v_max)
        self.v = v
        self.x = self._clip(self.x + v)
        self.w = max(self.inertia_min, self.w * self.inertia_decay)
        self.t += 1

    def end_epoch(self) -> None:
        """Nothing per epoch: the inertia anneals per update (``inertia_decay``)."""

    # -- state -----------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """Everything needed to resume: numpy arrays, Python scalars and the rng as a JSON string."""
        return {
            "x": self.x.copy(), "v": self.v.copy(),
            "pbest_x": self.pbest_x.copy(), "pbest_loss": self.pbest_loss.copy(),
            "gbest_x": self.gbest_x.copy(), "gbest_loss": float(self.gbest_loss),
            "w": float(self.w), "t": int(self.t),
            "lower": self.lower.copy(), "upper": self.upper.copy(),
            "popsize": self.popsize, "inertia": self.inertia, "c1": self.c1, "c2": self.c2,
            "init_spread": self.init_spread, "v_max": self.v_max, "inertia_decay": self.inertia_decay,
            "inertia_min": self.inertia_min,
            "rng_state": rng_state_to_json(self.rng),
        }

    def load_state_dict(self, d: dict[str, Any]) -> None:
        """Restore from ``state_dict()`` output (values may be numpy scalars/bytes, e.g. via ``base.read_state``)."""
        x = np.array(d["x"], dtype=np.float64)
        if x.ndim != 2 or x.shape[0] != int(d["popsize"]):
            raise ValueError(f"state x has shape {x.shape}, expected (popsize={int(d['popsize'])}, dim)")
        shape = x.shape
        self.x = x
        self.v = np.array(d["v"], dtype=np.float64).reshape(shape)
        self.pbest_x = np.array(d["pbest_x"], dtype=np.float64).reshape(shape)
        self.pbest_loss = np.array(d["pbest_loss"], dtype=np.float64).reshape(shape[0])
        self.gbest_x = np.array(d["gbest_x"], dtype=np.float64).reshape(shape[1])
        self.gbest_loss = float(d["gbest_loss"])
        self.w = float(d["w"])
        self.t = int(d["t"])
        self.lower = np.array(d["lower"], dtype=np.float64).reshape(shape[1])
        self.upper = np.array(d["upper"], dtype=np.float64).reshape(shape[1])
        self.popsize = int(d["popsize"])
        self.inertia = float(d["inertia"])
        self.c1, self.c2 = float(d["c1"]), float(d["c2"])
        self.init_spread = float(d["init_spread"])
        self.v_max = float(d["v_max"])
        self.inertia_decay = float(d["inertia_decay"])
        self.inertia_min = float(d["inertia_min"])
        self.rng = rng_from_json(d["rng_state"])
