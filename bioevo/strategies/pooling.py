"""Pooling: sample parents around a mean, breed offspring from the best parents,
re-centre the mean on the best offspring.

Follows the protocol of :mod:`bioevo.strategies.base`; ``update`` needs the
``evaluate`` callback (``evaluate(genomes (n, N)) -> (losses (n,), accuracies (n,))``
on the same batch as the population) to score the offspring.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from .base import _centroid, _float_param, _genomes, _int_param, losses_of, rng_from_json, rng_state_to_json
from .cem import elite_indices

__all__ = ["Pooling", "DEFAULTS"]

DEFAULTS: dict[str, Any] = {
    "popsize": 32,
    "parent_fraction": 0.25,
    "n_offspring": 32,
    "sigma": 0.1,
    "keep_fraction": 0.5,
    "sigma_decay": 1.0,
}


class Pooling:
    """Two-stage truncation-selection strategy around a mean ``theta`` (``centroid``).

    Per generation (``n`` = the size of the population given to ``update``)::

        generate:  x_k = theta + sigma * z_k              z: rng.standard_normal((popsize, N))
        update:    P   = the n_par = max(1, floor(parent_fraction * n)) lowest-loss x_k, best first
                   o_j = P[j mod n_par] + sigma * e_j      e: rng.standard_normal((n_offspring, N))
                   (losses_o, accs_o) = evaluate(o)        # same batch as the population
                   theta <- mean of the n_keep = max(1, floor(keep_fraction * n_offspring))
                            lowest-loss offspring
                   sigma <- sigma * sigma_decay            # once per update

    Parents are taken from the genomes of the population given to ``update``
    (hand-made populations are fine).  Ties in either selection are broken by
    position, NaN losses sort last.  Only the offspring decide the new mean
    (parents do not compete with them).  ``last_offspring_losses`` and
    ``last_offspring_accuracies`` keep the latest offspring scores for logging
    (not part of the state).  ``end_epoch`` does nothing: ``sigma_decay``
    applies per update, like every schedule in this package's strategies.
    Each generation costs ``popsize + n_offspring`` evaluations.
    """

    kind = "pooling"
    DEFAULTS = DEFAULTS

    def __init__(self, centroid: Any, rng: np.random.Generator | int | None = None, *,
                 popsize: int = DEFAULTS["popsize"], parent_fraction: float = DEFAULTS["parent_fraction"],
                 n_offspring: int = DEFAULTS["n_offspring"], sigma: float = DEFAULTS["sigma"],
                 keep_fraction: float = DEFAULTS["keep_fraction"],
                 sigma_decay: float = DEFAULTS["sigma_decay"]) -> None:
        self.popsize = _int_param("popsize", popsize, 1)
        self.parent_fraction = _float_param("parent_fraction", parent_fraction, low=0.0, high=1.0, low_open=True)
        self.n_offspring = _int_param("n_offspring", n_offspring, 1)
        self.sigma = _float_param("sigma", sigma, low=0.0, low_open=True)
        self.keep_fraction = _float_param("keep_fraction", keep_fraction, low=0.0, high=1.0, low_open=True)
        self.sigma_decay = _float_param("sigma_decay", sigma_decay, low=0.0, high=1.0, low_open=True)
        self.centroid: np.ndarray = _centroid(centroid)
        self.rng: np.random.Generator = np.random.default_rng(rng)
        self.sigma_init = self.sigma
        self.generation = 0
        self.last_offspring_losses: np.ndarray | None = None
        self.last_offspring_accuracies: np.ndarray | None = None

    @property
    def dim(self) -> int:
        return int(self.centroid.size)

    @property
    def n_keep(self) -> int:
        return max(1, int(self.keep_fraction * self.n_offspring))

    def generate(self, ind_init: Callable[[np.ndarray], Any]) -> list:
        z = self.rng.standard_normal((self.popsize, self.dim))
        return [ind_init(self.centroid + self.sigma * zk) for zk in z]

    def update(self, population: list, evaluate: Callable[[np.ndarray], tuple] | None = None) -> None:
        if evaluate is None:
            raise ValueError("Pooling.update needs evaluate: a callback genomes (n, N) -> (losses, accuracies) "
                             "that scores the offspring on the same batch as the population")
        x = _genomes(population, self.dim)
        losses = losses_of(population)
        n_par = max(1, int(self.parent_fraction * len(population)))
        parents = x[elite_indices(losses, n_par)]
        noise = self.rng.standard_normal((self.n_offspring, self.dim))
        offspring = parents[np.arange(self.n_offspring) % n_par] + self.sigma * noise
        result = evaluate(offspring)
        try:
            off_losses, off_accs = result
        except (TypeError, ValueError):
            raise ValueError("evaluate must return (losses, accuracies)") from None
        off_losses = np.asarray(off_losses, dtype=np.float64).ravel()
        if off_losses.shape != (self.n_offspring,):
            raise ValueError(f"evaluate returned {off_losses.shape[0]} losses for {self.n_offspring} offspring")
        keep = elite_indices(off_losses, self.n_keep)
        self.centroid = offspring[keep].mean(axis=0)
        self.sigma *= self.sigma_decay
        self.generation += 1
        self.last_offspring_losses = off_losses
        self.last_offspring_accuracies = np.asarray(off_accs, dtype=np.float64).ravel()

    def end_epoch(self) -> None:
        """Nothing: sigma decays once per update."""

    def state_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "centroid": self.centroid.copy(),
            "sigma_current": float(self.sigma),
            "generation": int(self.generation),
            "popsize": self.popsize,
            "parent_fraction": self.parent_fraction,
            "n_offspring": self.n_offspring,
            "sigma": self.sigma_init,
            "keep_fraction": self.keep_fraction,
            "sigma_decay": self.sigma_decay,
            "rng_state": rng_state_to_json(self.rng),
        }

    def load_state_dict(self, d: dict[str, Any]) -> None:
        if d.get("kind", self.kind) != self.kind:
            raise ValueError(f"state is for strategy {d['kind']!r}, not {self.kind!r}")
        fresh = type(self)(d["centroid"], 0, **{k: d[k] for k in DEFAULTS})
        fresh.sigma = float(d["sigma_current"])
        fresh.generation = int(d["generation"])
        fresh.rng = rng_from_json(d["rng_state"])
        self.__dict__.update(fresh.__dict__)

    @classmethod
    def from_state_dict(cls, d: dict[str, Any]) -> "Pooling":
        obj = cls(d["centroid"], 0, **{k: d[k] for k in DEFAULTS})
        obj.load_state_dict(d)
        return obj
