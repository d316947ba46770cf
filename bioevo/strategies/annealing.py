"""Population-proposal simulated annealing as a strategy object.

Follows the protocol of :mod:`bioevo.strategies.base` (``generate``,
``update(population, evaluate=None)`` reading ``ind.fitness.values[0]`` as a
LOSS, ``end_epoch``, ``centroid``, ``state_dict``/``load_state_dict``).
"""
from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

from .base import _centroid, _float_param, _genomes, _int_param, losses_of, rng_from_json, rng_state_to_json

__all__ = ["SimulatedAnnealing", "DEFAULTS"]

DEFAULTS: dict[str, Any] = {
    "popsize": 16,
    "step": 0.1,
    "t_init": 1.0,
    "t_final": 1e-3,
    "cooling": 0.95,
    "adapt_step": False,
    "rescore": False,
}

#: ``adapt_step``: a smooth 1/5th success rule, ``step *= exp((success - 1/5) / 3)``
#: per update, stationary at a 20 % rate of strictly improving moves.
TARGET_SUCCESS = 0.2
ADAPT_DAMPING = 3.0


class SimulatedAnnealing:
    """Simulated annealing with ``popsize`` Gaussian proposals per generation.

    State: the current point ``x`` with its loss ``x_loss`` (``None`` until
    evaluated), the temperature ``T`` (``temperature``), the proposal ``step``
    and the best point seen (``best``, ``best_loss``).  ``centroid`` is the
    current point ``x`` (what the Metropolis chain sits on), not the best one.

    ``generate``: one ``rng.standard_normal((n, N))`` draw and candidates
    ``x + step * z``.  While ``x_loss`` is unknown (the first generation, also
    after a checkpoint taken before the first update) candidate 0 is ``x``
    itself and ``n = popsize - 1``; afterwards ``n = popsize``.

    ``update`` (order of operations, which fixes the random stream):

    1. after checking the population, draw exactly one ``u = rng.random()``
       (always, even when it is not needed);
    2. if ``x_loss`` is unknown, candidate 0 must equal ``x`` and its loss becomes
       ``x_loss``; the other candidates are the proposals;
    3. the proposal ``b`` with the lowest loss (NaN counts as +inf, ties by
       position) gives ``dL = L_b - x_loss``; accept iff ``dL <= 0`` or
       ``u < exp(-dL / T)``; on acceptance ``x, x_loss <- b, L_b``
       (an infinite or NaN ``dL`` other than ``-inf`` is rejected);
    4. the best point seen is updated from every evaluated candidate;
    5. with ``adapt_step`` the step follows a smooth 1/5th success rule
       ``step *= exp((success - 0.2) / 3)``, success = ``dL < 0``;
    6. cooling, once per update: ``T <- max(t_final, T * cooling)``.
       The temperature used by update ``k`` (from 0) is thus
       ``max(t_final, t_init * cooling**k)``.

    Losses of different generations are compared as they are: with minibatch
    losses ``x_loss`` is the loss on the batch where ``x`` was scored, unless
    ``rescore``: then every generation has ``x`` as candidate 0 (``n = popsize
    - 1`` proposals) and ``x_loss`` is always from the current batch, so a
    lucky batch cannot pin the chain (use it with minibatches).
    ``end_epoch`` does nothing (cooling is per update).
    ``last_accepted``, ``n_accepted`` and ``n_updates`` record the Metropolis
    outcomes (``last_accepted`` is None when an update had no proposal).
    """

    kind = "annealing"
    DEFAULTS = DEFAULTS

    def __init__(self, centroid: Any, rng: np.random.Generator | int | None = None, *,
                 popsize: int = DEFAULTS["popsize"], step: float = DEFAULTS["step"],
                 t_init: float = DEFAULTS["t_init"], t_final: float = DEFAULTS["t_final"],
                 cooling: float = DEFAULTS["cooling"], adapt_step: bool = DEFAULTS["adapt_step"],
                 rescore: bool = DEFAULTS["rescore"]) -> None:
        self.popsize = _int_param("popsize", popsize, 1)
        self.step_init = _float_param("step", step, low=0.0, low_open=True)
        self.t_init = _float_param("t_init", t_init, low=0.0, low_open=True)
        self.t_final = _float_param("t_final", t_final, low=0.0, low_open=True)
        if self.t_final > self.t_init:
            raise ValueError(f"t_final must be <= t_init, got t_final={t_final!r} > t_init={t_init!r}")
        self.cooling = _float_param("cooling", cooling, low=0.0, high=1.0, low_open=True)
        if not isinstance(adapt_step, (bool, np.bool_)):
            raise ValueError(f"adapt_step must be True or False, got {adapt_step!r}")
        self.adapt_step = bool(adapt_step)
        if not isinstance(rescore, (bool, np.bool_)):
            raise ValueError(f"rescore must be True or False, got {rescore!r}")
        if rescore and self.popsize < 2:
            raise ValueError(f"rescore needs popsize >= 2 (x plus at least one proposal), got {popsize!r}")
        self.rescore = bool(rescore)
        self.centroid: np.ndarray = _centroid(centroid)
        self.rng: np.random.Generator = np.random.default_rng(rng)
        self.x_loss: float | None = None
        self.step = self.step_init
        self.temperature = self.t_init
        self.best = self.centroid.copy()
        self.best_loss = math.inf
        self.last_accepted: bool | None = None
        self.n_accepted = 0
        self.n_updates = 0

    @property
    def dim(self) -> int:
        return int(self.centroid.size)

    def generate(self, ind_init: Callable[[np.ndarray], Any]) -> list:
        include_x = self.x_loss is None or self.rescore
        z = self.rng.standard_normal((self.popsize - include_x, self.dim))
        rows = [self.centroid.copy()] if include_x else []
        rows += [self.centroid + self.step * zk for zk in z]
        return [ind_init(r) for r in rows]

    def update(self, population: list, evaluate: Callable | None = None) -> None:
        x = _genomes(population, self.dim)
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
        if losses.size:
            b = int(np.argmin(losses))
            dl = float(losses[b]) - self.x_loss
            accept = bool(dl <= 0 or (math.isfinite(dl) and u < math.exp(-dl / self.temperature)))
            if accept:
                self.centroid = x[b].copy()
                self.x_loss = float(losses[b])
                self.n_accepted += 1
            self.last_accepted = accept
            if self.adapt_step:
                success = 1.0 if dl < 0 else 0.0
                self.step *= math.exp((success - TARGET_SUCCESS) / ADAPT_DAMPING)
        else:
            self.last_accepted = None
        i = int(np.argmin(all_l))
        if all_l[i] < self.best_loss:
            self.best, self.best_loss = all_x[i].copy(), float(all_l[i])
        self.temperature = max(self.t_final, self.temperature * self.cooling)
        self.n_updates += 1

    def end_epoch(self) -> None:
        """Nothing: the temperature cools once per update."""

    def state_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "centroid": self.centroid.copy(),
            "x_loss": self.x_loss,
            "best": self.best.copy(),
            "best_loss": float(self.best_loss),
            "temperature": float(self.temperature),
            "step_current": float(self.step),
            "last_accepted": -1 if self.last_accepted is None else int(self.last_accepted),
            "n_accepted": int(self.n_accepted),
            "n_updates": int(self.n_updates),
            "popsize": self.popsize,
            "step": self.step_init,
            "t_init": self.t_init,
            "t_final": self.t_final,
            "cooling": self.cooling,
            "adapt_step": self.adapt_step,
            "rescore": self.rescore,
            "rng_state": rng_state_to_json(self.rng),
        }

    def load_state_dict(self, d: dict[str, Any]) -> None:
        if d.get("kind", self.kind) != self.kind:
            raise ValueError(f"state is for strategy {d['kind']!r}, not {self.kind!r}")
        hp = {k: d[k] for k in DEFAULTS}
        hp["adapt_step"] = bool(hp["adapt_step"])
        hp["rescore"] = bool(hp["rescore"])
        fresh = type(self)(d["centroid"], 0, **hp)
        fresh.x_loss = None if d["x_loss"] is None else float(d["x_loss"])
        fresh.best = np.array(d["best"], dtype=np.float64).reshape(fresh.centroid.shape)
        fresh.best_loss = float(d["best_loss"])
        fresh.temperature = float(d["temperature"])
        fresh.step = float(d["step_current"])
        la = int(d["last_accepted"])
        fresh.last_accepted = None if la < 0 else bool(la)
        fresh.n_accepted = int(d["n_accepted"])
        fresh.n_updates = int(d["n_updates"])
        fresh.rng = rng_from_json(d["rng_state"])
        self.__dict__.update(fresh.__dict__)

    @classmethod
    def from_state_dict(cls, d: dict[str, Any]) -> "SimulatedAnnealing":
        obj = cls(d["centroid"], 0, **{k: d[k] for k in DEFAULTS if k not in ("adapt_step", "rescore")},
                  adapt_step=bool(d["adapt_step"]), rescore=bool(d["rescore"]))
        obj.load_state_dict(d)
        return obj
