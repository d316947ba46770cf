"""Standard (global-best) particle swarm optimisation.

Per particle a position ``x_i``, a velocity ``v_i`` and a personal best ``p_i``
(position and loss); ``g`` is the best personal best, and the ``centroid``
(the initial centroid until a particle has a finite loss).  NaN losses count
as +inf.  Conventions, which fix the random stream:

* Start: ``x_0 = centroid``, ``x_i = centroid + init_spread * scale * N(0, I)`` (one
  ``rng.standard_normal((popsize - 1, N))`` draw in the constructor), clipped
  to the bounds; velocities 0; personal-best losses +inf.
* ``generate`` draws nothing: copies of the current positions.
* ``update``: (1) ``p_i <- x_i`` where the loss is *strictly* lower than the
  personal best's; (2) ``g <- p_j``, ``j`` the first lowest personal best, if
  strictly lower than ``g``'s loss; (3) ``r1``, then ``r2 = rng.random((popsize,
  N))``; (4) ``v <- w v + c1 r1 (p - x) + c2 r2 (g - x)``, clamped to
  ``|v| <= v_max * scale`` (0: no clamp); (5) ``x <- x + v`` clipped to ``[lower,
  upper]`` (``v`` unchanged); (6) ``w <- max(inertia_min, w * inertia_decay)``.

With minibatch losses, personal bests are compared across generations on
*different* batches unless ``rescore``.  That is why the swarm stalls (found on
randman-2, weights only, seed 3; ``results/closing-the-gap/pso/``): a recorded
best keeps the loss of the luckiest batch it ever met, the minimum of many noisy
draws, which later fresh draws near the same loss almost never beat.  After
about 110 generations no personal best improved again in 100 generations, ``g``
froze, and the particles circled fixed attractors with nothing left to learn
from.  ``rescore``: at each update every finite personal best is scored again
on the current batch (``evaluate``, ``popsize`` more evaluations) before (1), so
``x_i`` and ``p_i`` are compared on the same batch, and (2) takes ``g`` among
these fresh losses (``g`` may then get worse on paper: it is the best known
position as this batch sees it, not a record of the best luck).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from .base import Evaluate, Param, Strategy, losses_of, matching_genomes


@dataclass
class SwarmState:
    x: np.ndarray
    v: np.ndarray
    pbest_x: np.ndarray
    pbest_loss: np.ndarray
    gbest_x: np.ndarray
    gbest_loss: float
    w: float  # the current inertia
    t: int  # updates


C1 = Param("c1", 1.5, "pull towards the personal best", ge=0)


class ParticleSwarm(Strategy):
    """Global-best PSO with inertia, velocity clamp and optional box bounds (module docstring)."""

    name = "pso"
    PARAMS = (
        Param("popsize", 32, "particles", ge=2),
        Param("inertia", 0.7, "initial inertia w", ge=0),
        C1,
        Param("c2", 1.5, "pull towards the global best", ge=0),
        Param("init_spread", 1.0, "std of the initial positions around the centroid", ge=0),
        Param("v_max", 0.5, "elementwise velocity clamp (0: none)", ge=0),
        Param("inertia_decay", 1.0, "w <- max(inertia_min, w * inertia_decay) per update", gt=0, le=1),
        Param("inertia_min", 0.4, "floor of the inertia (<= inertia)", ge=0),
        # -inf/inf rather than None so that the defaults round-trip through TOML (which has no null)
        Param("lower", -math.inf, "lower box bound of every gene", bound=True),
        Param("upper", math.inf, "upper box bound of every gene", bound=True),
        Param("rescore", False, "re-score the personal bests on every batch (for minibatch losses)"),
    )
    State = SwarmState

    @classmethod
    def check(cls, params: dict[str, Any]) -> None:
        if params["inertia_min"] > params["inertia"]:
            raise cls.refuse("inertia_min", params["inertia_min"], f"<= inertia ({params['inertia']!r})")

    def setup(self, dim: int) -> None:
        bounds = []
        for key in ("lower", "upper"):
            if np.size(self.params[key]) not in (1, dim):
                raise self.refuse(key, self.params[key], f"None, a number or a sequence of {dim} numbers")
            bounds.append(np.broadcast_to(self.params[key], (dim,)).astype(np.float64))
        self.lo, self.hi = bounds
        if np.any(self.lo >= self.hi):
            raise self.refuse("lower", self.params["lower"], "< upper in every dimension")
        self.bounded = bool(np.any(np.isfinite(self.lo)) or np.any(np.isfinite(self.hi)))

    @property
    def centroid(self) -> np.ndarray:
        return self.gbest_x

    def _clip(self, x: np.ndarray) -> np.ndarray:
        return np.clip(x, self.lo, self.hi) if self.bounded else x

    def initial_state(self, centroid: np.ndarray) -> SwarmState:
        if np.any(centroid < self.lo) or np.any(centroid > self.hi):
            raise ValueError("centroid must lie within [lower, upper]")
        x = np.empty((self.popsize, centroid.size))
        x[0] = centroid
        x[1:] = centroid + self.init_spread * self.scale * self.rng.standard_normal((self.popsize - 1, centroid.size))
        x = self._clip(x)
        return SwarmState(x, np.zeros_like(x), x.copy(), np.full(self.popsize, np.inf), centroid.copy(), math.inf,
                          self.params["inertia"], 0)

    def generate(self, ind_init: Callable[[np.ndarray], Any]) -> list[Any]:
        return [ind_init(row.copy()) for row in self.x]

    def update(self, population: list, evaluate: Evaluate | None = None) -> None:
        matching_genomes(population, self.x, atol=1e-6)
        losses = losses_of(population)
        losses = np.where(np.isnan(losses), np.inf, losses)
        if self.rescore:
            self._rescore_bests(evaluate)

        improved = losses < self.pbest_loss
        self.pbest_x[improved] = self.x[improved]
        self.pbest_loss[improved] = losses[improved]
        j = int(np.argmin(self.pbest_loss))
        if self.pbest_loss[j] < self.gbest_loss or self.rescore:
            self.gbest_x = self.pbest_x[j].copy()
            self.gbest_loss = float(self.pbest_loss[j])

        r1 = self.rng.random(self.x.shape)
        r2 = self.rng.random(self.x.shape)
        v = self.w * self.v + self.c1 * r1 * (self.pbest_x - self.x) + self.c2 * r2 * (self.gbest_x - self.x)
        if self.v_max > 0:
            v = np.clip(v, -self.v_max * self.scale, self.v_max * self.scale)
        self.v = v
        self.x = self._clip(self.x + v)
        self.w = max(self.inertia_min, self.w * self.inertia_decay)
        self.t += 1

    def _rescore_bests(self, evaluate: Evaluate | None) -> None:
        """The personal bests' losses on the current batch (module docstring, ``rescore``)."""
        if evaluate is None:
            raise ValueError("ParticleSwarm.update with rescore=True needs evaluate: a callback genomes (n, N) -> "
                             "(losses, accuracies) on the current batch; pass it, or set rescore=false")
        known = np.isfinite(self.pbest_loss)
        if known.any():
            fresh, _ = evaluate(self.pbest_x[known].copy())
            fresh = np.asarray(fresh, dtype=np.float64)
            self.pbest_loss[known] = np.where(np.isnan(fresh), np.inf, fresh)
