"""Pooling: sample parents around a mean, breed offspring from the best parents,
re-centre the mean on the best offspring.  ``update`` needs the ``evaluate``
callback to score the offspring on the same batch as the population."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from .base import Evaluate, Param, Strategy, breed, elite_indices, gaussian_individuals, genomes_of, losses_of


@dataclass
class PoolingState:
    centroid: np.ndarray
    sigma: float  # the current (decayed) sampling width
    generation: int


class Pooling(Strategy):
    """Two-stage truncation-selection strategy around a mean ``theta`` (``centroid``).

    Per generation (``n`` = the size of the population given to ``update``)::

        generate:  x_k = theta + sigma * scale * z_k      z: rng.standard_normal((popsize, N))
        update:    P   = the n_par = max(1, floor(parent_fraction * n)) lowest-loss x_k, best first
                   o_j = P[j mod n_par] + sigma * scale * e_j   e: rng.standard_normal((n_offspring, N))
                   (losses_o, accs_o) = evaluate(o)        # same batch as the population
                   theta <- mean of the n_keep = max(1, floor(keep_fraction * n_offspring))
                            lowest-loss offspring
                   sigma <- sigma * sigma_decay            # once per update

    Parents come from the genomes given to ``update`` (hand-made populations are
    fine); ties by position, NaN last; only the offspring decide the new mean.
    Each generation costs ``popsize + n_offspring`` evaluations.
    """

    name = "pooling"
    PARAMS = (
        Param("popsize", 32, "samples around the mean per generation", ge=1),
        Param("parent_fraction", 0.25, "share of the samples that parent offspring", gt=0, le=1),
        Param("n_offspring", 32, "offspring per generation", ge=1),
        Param("sigma", 0.1, "initial sampling width", gt=0),
        Param("keep_fraction", 0.5, "share of the offspring the new mean averages", gt=0, le=1),
        Param("sigma_decay", 1.0, "sigma <- sigma * sigma_decay per update", gt=0, le=1),
    )
    State = PoolingState

    def setup(self, dim: int) -> None:  # the latest offspring scores, for logging (not state)
        self.last_offspring_losses = self.last_offspring_accuracies = None

    def initial_state(self, centroid: np.ndarray) -> PoolingState:
        return PoolingState(centroid, self.params["sigma"], 0)

    @property
    def n_keep(self) -> int:
        return max(1, int(self.keep_fraction * self.n_offspring))

    def generate(self, ind_init: Callable[[np.ndarray], Any]) -> list:
        return gaussian_individuals(ind_init, self.rng, self.popsize, self.centroid, self.sigma * self.scale)

    def update(self, population: list, evaluate: Evaluate | None = None) -> None:
        if evaluate is None:
            raise ValueError("Pooling.update needs evaluate: a callback genomes (n, N) -> (losses, accuracies) "
                             "that scores the offspring on the same batch as the population")
        x = genomes_of(population, self.dim)
        n_par = max(1, int(self.parent_fraction * len(population)))
        parents = x[elite_indices(losses_of(population), n_par)]
        offspring, _, off_losses, off_accs = breed(self.rng, parents, self.n_offspring, self.sigma * self.scale,
                                                   evaluate)
        keep = elite_indices(off_losses, self.n_keep)
        self.centroid = offspring[keep].mean(axis=0)
        self.sigma *= self.sigma_decay
        self.generation += 1
        self.last_offspring_losses, self.last_offspring_accuracies = off_losses, off_accs
