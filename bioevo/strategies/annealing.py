"""Population-proposal simulated annealing (Metropolis acceptance of the best proposal)."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from .base import Evaluate, Param, Strategy, genomes_of, losses_of

TARGET_SUCCESS = 0.2  # adapt_step: the step is stationary at 20 % strictly improving moves
ADAPT_DAMPING = 3.0


@dataclass
class AnnealingState:
    centroid: np.ndarray  # the current point x
    x_loss: float | None  # its loss, None until evaluated
    step: float  # the current proposal width
    temperature: float
    best: np.ndarray
    best_loss: float
    last_accepted: bool | None  # None when the last update had no proposal
    n_accepted: int
    n_updates: int


class SimulatedAnnealing(Strategy):
    """Simulated annealing with ``popsize`` Gaussian proposals per generation;
    ``centroid`` is the point ``x`` the Metropolis chain sits on, not the best one.

    ``generate``: one ``rng.standard_normal((n, N))`` draw and candidates
    ``x + step * scale * z``.  While ``x_loss`` is unknown (the first generation, also
    after a checkpoint taken before the first update) candidate 0 is ``x``
    itself and ``n = popsize - 1``; afterwards ``n = popsize``.

    ``update`` (order of operations, which fixes the random stream):

    1. after checking the population, draw exactly one ``u = rng.random()``
       (always, even when it is not needed);
    2. if ``x_loss`` is unknown, candidate 0 must equal ``x`` and its loss becomes
       ``x_loss``; the other candidates are the proposals;
    3. the proposal ``b`` with the lowest loss (NaN counts as +inf, ties by
       position) gives ``dL = L_b - x_loss``; accept iff ``dL <= 0`` or ``u <
       exp(-dL / T)`` (an infinite or NaN ``dL`` other than ``-inf`` is rejected);
    4. the best point seen is updated from every evaluated candidate;
    5. with ``adapt_step`` the step follows a smooth 1/5th success rule
       ``step *= exp((success - 0.2) / 3)``, success = ``dL < 0``;
    6. cooling, once per update: ``T <- max(t_final, T * cooling)``.

    Losses of different generations are compared as they are: with minibatch
    losses ``x_loss`` is the loss on the batch where ``x`` was scored, unless
    ``rescore``: then every generation has ``x`` as candidate 0 (``n = popsize
    - 1`` proposals) and ``x_loss`` is always from the current batch, so a
    lucky batch cannot pin the chain (use it with minibatches).
    """

    name = "annealing"
    PARAMS = (
        Param("popsize", 16, "candidates per generation", ge=1),
        Param("step", 0.1, "initial proposal std", gt=0),
        Param("t_init", 1.0, "initial temperature", gt=0),
        Param("t_final", 1e-3, "floor of the temperature (<= t_init)", gt=0),
        Param("cooling", 0.95, "T <- max(t_final, T * cooling) per update", gt=0, le=1),
        Param("adapt_step", False, "adapt the step by a 1/5th success rule"),
        Param("rescore", False, "re-score x on every batch (for minibatch losses)"),
    )
    State = AnnealingState

    @classmethod
    def check(cls, params: dict[str, Any]) -> None:
        if params["t_final"] > params["t_init"]:
            raise cls.refuse("t_final", params["t_final"], f"<= t_init ({params['t_init']!r})")
        if params["rescore"] and params["popsize"] < 2:
            raise cls.refuse("rescore", True, "false with popsize 1 (rescore needs popsize >= 2: x and a proposal)")

    def initial_state(self, centroid: np.ndarray) -> AnnealingState:
        return AnnealingState(centroid, None, self.params["step"], self.t_init, centroid.copy(), math.inf, None, 0, 0)

    def generate(self, ind_init: Callable[[np.ndarray], Any]) -> list:
        include_x = self.x_loss is None or self.rescore
        z = self.rng.standard_normal((self.popsize - include_x, self.dim))
        rows = [self.centroid.copy()] if include_x else []
        rows += [self.centroid + self.step * self.scale * zk for zk in z]
        return [ind_init(r) for r in rows]

    def update(self, population: list, evaluate: Evaluate | None = None) -> None:
        x = genomes_of(population, self.dim)
        losses = losses_of(population)
        losses = np.where(np.isnan(losses), np.inf, losses)
        rescored = self.x_loss is None or self.rescore
        if rescored and not np.array_equal(x[0], self.centroid):
            raise ValueError("this generation must have the current state as candidate 0 "
                             "(use the population from generate())")
        u = float(self.rng.random())
        if rescored:
            self.x_loss = float(losses[0])
            x, losses = x[1:], losses[1:]
        all_x = np.vstack([self.centroid[None], x])
        all_l = np.concatenate([[self.x_loss], losses])
        self.last_accepted = None
        if losses.size:
            b = int(np.argmin(losses))
            dl = float(losses[b]) - self.x_loss
            accept = bool(dl <= 0 or (math.isfinite(dl) and u < math.exp(-dl / self.temperature)))
            if accept:
                self.centroid, self.x_loss = x[b].copy(), float(losses[b])
                self.n_accepted += 1
            self.last_accepted = accept
            if self.adapt_step:
                success = 1.0 if dl < 0 else 0.0
                self.step *= math.exp((success - TARGET_SUCCESS) / ADAPT_DAMPING)
        i = int(np.argmin(all_l))
        if all_l[i] < self.best_loss:
            self.best, self.best_loss = all_x[i].copy(), float(all_l[i])
        self.temperature = max(self.t_final, self.temperature * self.cooling)
        self.n_updates += 1
