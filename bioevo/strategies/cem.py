"""Cross-entropy method (CEM) and an elite-only ES gradient (CEM-ES).

The elite (both): the ``max(1, floor(elite_fraction * n))`` lowest losses of
the ``n`` individuals given to ``update``, ties by position, NaN worst.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from .base import Evaluate, Param, Strategy, elite_indices, gaussian_individuals, genomes_of, losses_of
from .es import MIRRORED, POPSIZE, AdamES


def elite_gradient(noise: np.ndarray, losses: np.ndarray, n_elite: int, sigma: float) -> np.ndarray:
    """CEM-ES estimator ``g = sum_{k in E} eps_k / (n_elite * sigma)``, ``E`` the ``n_elite``
    lowest-loss rows of ``noise``: a loss-DESCENT direction (the centroid moves along
    ``+g``); for a linear loss ``a.x`` its expectation is ``-c a / (|a| sigma)``, ``c`` the
    mean of the top-``n_elite`` order statistics of ``n`` standard normals."""
    idx = elite_indices(losses, n_elite)
    return np.asarray(noise, dtype=np.float64)[idx].sum(axis=0) / (len(idx) * float(sigma))


@dataclass
class GaussianState:
    centroid: np.ndarray
    std: np.ndarray  # one per gene
    generation: int


class DiagonalGaussian(Strategy):
    """A Gaussian ``N(centroid, diag(std**2))``, ``std = sigma * scale`` at the start;
    ``generate`` samples ``popsize`` individuals (one ``rng.standard_normal((popsize, N))`` draw)."""

    State = GaussianState

    def initial_state(self, centroid: np.ndarray) -> GaussianState:
        return GaussianState(centroid, self.params["sigma"] * self.scale, 0)

    def generate(self, ind_init: Callable[[np.ndarray], Any]) -> list:
        return gaussian_individuals(ind_init, self.rng, self.popsize, self.centroid, self.std)


class CrossEntropyMethod(DiagonalGaussian):
    """Diagonal-Gaussian CEM (Rubinstein 1999; de Boer et al. 2005) with the extra
    variance of "noisy CEM" (Szita & Lorincz 2006), which keeps the Gaussian from
    collapsing.  ``update`` takes the elite ``E`` from the genomes it is given
    (hand-made populations are fine), with ``a = smoothing``::

        mean_E = mean_{k in E} x_k
        var_E  = mean_{k in E} (x_k - mean_E)**2 + extra_noise * scale**2   # biased (1/n_elite)
        mean   <- a * mean_E + (1 - a) * mean
        std    <- max(sigma_min * scale, a * sqrt(var_E) + (1 - a) * std)   # per dimension

    (``extra_noise`` and ``sigma_min`` are in units of the gene's step scale, like ``sigma``.)
    """

    name = "cem"
    PARAMS = (
        Param("popsize", 64, "individuals per generation", ge=2),
        Param("elite_fraction", 0.2, "share of the population the Gaussian is refitted to", gt=0, le=1),
        Param("sigma", 0.1, "initial std of every dimension", gt=0),
        Param("sigma_min", 1e-3, "floor of every std (<= sigma)", ge=0),
        Param("smoothing", 0.5, "weight of the new fit against the old", gt=0, le=1),
        Param("extra_noise", 0.0, "variance added to the fit (noisy CEM)", ge=0),
    )
    @classmethod
    def check(cls, params: dict[str, Any]) -> None:
        if params["sigma_min"] > params["sigma"]:
            raise cls.refuse("sigma_min", params["sigma_min"], f"<= sigma ({params['sigma']!r})")

    @property
    def n_elite(self) -> int:
        return max(1, int(self.elite_fraction * self.popsize))

    def update(self, population: list, evaluate: Evaluate | None = None) -> None:
        x = genomes_of(population, self.dim)
        losses = losses_of(population)
        n_elite = max(1, int(self.elite_fraction * len(population)))
        elite = x[elite_indices(losses, n_elite)]
        mean_e = elite.mean(axis=0)
        std_e = np.sqrt(np.mean(np.square(elite - mean_e), axis=0) + self.extra_noise * self.scale**2)
        a = self.smoothing
        self.centroid = a * mean_e + (1.0 - a) * self.centroid
        self.std = np.maximum(self.sigma_min * self.scale, a * std_e + (1.0 - a) * self.std)
        self.generation += 1


class CEMES(AdamES):
    """Gaussian ES (sampling as :class:`bioevo.strategies.es.AdamES`) whose
    ascent direction is the elite's mean perturbation, :func:`elite_gradient`:
    losses enter only through the elite membership, so the step is invariant to
    any monotone transform of the loss (mirrored pairs both in the elite cancel)."""

    name = "cem-es"
    PARAMS = (
        POPSIZE,
        Param("elite_fraction", 0.25, "share of the population whose mean perturbation is the step", gt=0, le=1),
        Param("sigma", 0.05, "perturbation std (fixed)", gt=0),
        Param("lr", 0.02, "Adam learning rate", gt=0),
        MIRRORED,
        Param("beta1", 0.9, "Adam's first-moment decay", ge=0, lt=1),
        Param("beta2", 0.999, "Adam's second-moment decay", ge=0, lt=1),
    )
    n_elite = CrossEntropyMethod.n_elite

    def gradient(self, losses: np.ndarray) -> np.ndarray:
        return elite_gradient(self.noise, losses, self.n_elite, self.sigma)
