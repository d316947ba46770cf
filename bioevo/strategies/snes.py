"""Separable natural evolution strategy, SNES: T. Schaul, T. Glasmachers and
J. Schmidhuber, "High Dimensions and Heavy Tails for Natural Evolution
Strategies", GECCO 2011; defaults as in Wierstra et al., "Natural Evolution
Strategies", JMLR 15, 2014.

A diagonal Gaussian ``N(mu, diag(sigma**2))`` moved along its natural
gradient: O(N) memory and work per sample, so it suits genomes of thousands of
genes, and rank-based utilities make it invariant to monotone transforms of
the loss.  With ``lambda`` individuals::

    start:     sigma = sigma_0 * scale      (per gene: the step scales of :mod:`.base`)
    generate:  z_k = mu + sigma * s_k      s: one rng.standard_normal((lambda, N)) draw
    update:    s_k = (z_k - mu) / sigma, read from the genomes, sorted best first
               (NaN last, ties by position); with n individuals and k = 1..n
               u_k = max(0, ln(n/2 + 1) - ln k) / sum_j max(0, ln(n/2 + 1) - ln j) - 1/n
               mu    <- mu + lr * sigma * sum_k u_k s_k
               sigma <- sigma * exp(lr_sigma / 2 * sum_k u_k (s_k**2 - 1))
"""
from __future__ import annotations

import math

import numpy as np

from .base import Evaluate, Param, elite_indices, genomes_of, losses_of
from .cem import DiagonalGaussian
from .cma import AutoPopsize


def utilities(n: int) -> np.ndarray:
    """NES fitness shaping for ranks 1..n (best first): they sum to zero, the worse half gets ``-1/n``."""
    u = np.maximum(0.0, math.log(n / 2 + 1) - np.log(np.arange(1, n + 1)))
    return u / u.sum() - 1.0 / n


class SNES(AutoPopsize, DiagonalGaussian):
    """Separable NES (module docstring): ``centroid`` is ``mu``, ``std`` is ``sigma``."""

    name = "snes"
    PARAMS = AutoPopsize.PARAMS + (
        Param("lr", 1.0, "learning rate of the mean", gt=0),
        Param("lr_sigma", 0.0, "learning rate of the widths (0: (3 + ln N) / (5 sqrt N))", ge=0),
    )

    def setup(self, dim: int) -> None:
        super().setup(dim)
        self.eta_sigma = self.params["lr_sigma"] or (3 + math.log(dim)) / (5 * math.sqrt(dim))

    def update(self, population: list, evaluate: Evaluate | None = None) -> None:
        x = genomes_of(population, self.dim)
        s = (x[elite_indices(losses_of(population), len(x))] - self.centroid) / self.std
        u = utilities(len(x))
        self.centroid = self.centroid + self.lr * self.std * (u @ s)
        self.std = self.std * np.exp(self.eta_sigma / 2 * (u @ (s**2 - 1.0)))
        self.generation += 1
