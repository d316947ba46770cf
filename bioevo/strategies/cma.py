"""CMA-ES by DEAP's ``cma.Strategy``, and a numpy separable (diagonal) CMA-ES
for large genomes.  Ranking: lowest loss first, NaN last, ties by position in
the population.  ``popsize = 0`` means the usual ``int(4 + 3 ln N)``."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
from deap import cma as deap_cma

from .base import (Evaluate, Param, Strategy, elite_indices, gaussian_individuals, genomes_of, losses_of,
                   rng_from_json, rng_state_to_json)


class AutoPopsize(Strategy):
    """A strategy whose ``popsize = 0`` means ``lambda_ = int(4 + 3 ln N)``, with ``mu = lambda_ // 2``."""

    PARAMS = (Param("popsize", 0, "individuals per generation (0: int(4 + 3 ln N))", ge=0),
              Param("sigma", 0.1, "initial step size", gt=0))

    @classmethod
    def check(cls, params: dict[str, Any]) -> None:
        if params["popsize"] == 1:
            raise cls.refuse("popsize", 1, "0 (int(4 + 3 ln N)) or an integer >= 2")

    def setup(self, dim: int) -> None:
        self.lambda_ = self.params["popsize"] or int(4 + 3 * math.log(dim))
        self.mu = self.lambda_ // 2

    @property
    def popsize(self) -> int:
        return self.lambda_

    def _mu_best(self, population: list) -> tuple[np.ndarray, np.ndarray]:
        """The genomes and their order by loss (best first); fewer than mu individuals are refused."""
        if len(population) < self.mu:
            raise ValueError(f"update() needs at least mu={self.mu} individuals, got {len(population)}")
        return genomes_of(population, self.dim), elite_indices(losses_of(population), len(population))


class _Ranked(np.ndarray):
    """A genome carrying only a sortable ``fitness`` (higher = better), fed to DEAP's update."""


@dataclass
class CMAState:
    centroid: np.ndarray
    sigma: float
    C: np.ndarray
    pc: np.ndarray
    ps: np.ndarray
    update_count: int
    sampler: str  # the legacy MT19937 normal stream the samples are drawn from, as JSON


class CMAES(AutoPopsize):
    """Full CMA-ES (Hansen & Ostermeier 2001): ``deap.cma.Strategy`` (in ``strategy``), its update unchanged.

    ``update`` ranks by loss itself and hands DEAP sorted copies (``fitness =
    -rank``), so the caller's list keeps its order.  DEAP samples from numpy's
    global state; ``generate`` draws DEAP's ``x_k = m + sigma B D z_k`` with ``z``
    from a private legacy ``RandomState`` seeded by one ``rng.integers(2**32)``
    (what DEAP would draw after ``np.random.seed`` of that seed), leaving global
    randomness alone.  DEAP has no state API: a restore builds its strategy with
    ``cmatrix=C`` (the same eigendecomposition, bit for bit) and sets the
    evolution paths and update count, which its constructor does not take.

    The step scales enter as the initial covariance ``C = diag(scale**2)`` (CMA-ES then
    behaves as on ``x / scale`` started at ``C = I``).

    Cost: ``N x N`` matrices (~96 MB at N = 2000), an O(N^3) eigendecomposition
    per update, O(N^2) checkpoints; for N ~ 2000+ prefer :class:`SeparableCMAES`.
    """

    name = "cma"
    State = CMAState

    def initial_state(self, centroid: np.ndarray) -> CMAState:
        sampler = np.random.RandomState(int(self.rng.integers(2**32)))
        zeros = np.zeros_like(centroid)
        return CMAState(centroid, self.params["sigma"], np.diag(self.scale**2), zeros, zeros.copy(), 0,
                        rng_state_to_json(sampler))

    @property
    def state(self) -> CMAState:
        s = self.strategy
        return CMAState(s.centroid, s.sigma, s.C, s.pc, s.ps, s.update_count, rng_state_to_json(self.sampler))

    @state.setter
    def state(self, st: CMAState) -> None:
        self.setup(st.centroid.size)
        strategy = deap_cma.Strategy(st.centroid, st.sigma, cmatrix=st.C, lambda_=self.lambda_)
        strategy.pc, strategy.ps, strategy.update_count = st.pc, st.ps, st.update_count
        self.strategy, self.sampler = strategy, rng_from_json(st.sampler)

    @property
    def centroid(self) -> np.ndarray:
        return self.strategy.centroid

    @property
    def sigma(self) -> float:
        return float(self.strategy.sigma)

    @property
    def np_random_state(self) -> tuple:  # the sampler's state as np.random.get_state() gives it
        return self.sampler.get_state()

    def generate(self, ind_init: Callable[[np.ndarray], Any]) -> list:
        s = self.strategy
        z = self.sampler.standard_normal((s.lambda_, s.dim))
        return [ind_init(a) for a in s.centroid + s.sigma * np.dot(z, s.BD.T)]

    def update(self, population: list, evaluate: Evaluate | None = None) -> None:
        x, order = self._mu_best(population)
        ranked = []
        for rank, i in enumerate(order):
            r = x[i].copy().view(_Ranked)
            r.fitness = float(-rank)
            ranked.append(r)
        self.strategy.update(ranked)


@dataclass
class SepCMAState:
    centroid: np.ndarray
    sigma: float
    diag_c: np.ndarray
    pc: np.ndarray
    ps: np.ndarray
    update_count: int


class SeparableCMAES(AutoPopsize):
    """Separable (diagonal) CMA-ES of R. Ros and N. Hansen, "A Simple Modification in
    CMA-ES Achieving Linear Time and Space Complexity", PPSN X, LNCS 5199, 2008.

    CMA-ES restricted to a diagonal covariance ``C = diag(c)``: O(N) memory and
    work per sample, for genomes of thousands of genes.  DEAP's defaults for the
    shared constants; the covariance learning rate is the paper's
    ``c_cov_sep = min(1, c_cov (N + 2) / 3)`` with ``mu_cov = mu_eff``.  ``generate``
    draws ``x_k = m + sigma sqrt(c) z_k`` (one ``rng.standard_normal((lambda, N))``);
    ``update`` reads the genomes of the mu best (``y_i = (x_i - m) / sigma``) and
    adapts ``m``, the paths ``p_s`` (scaled by ``1 / sqrt(c)``) and ``p_c``, ``c``
    (rank one and rank mu) and ``sigma`` (path length) as in the paper.  The step
    scales are the initial ``c = scale**2``; every update is equivariant to that
    diagonal rescaling, so this is the algorithm on ``x / scale`` started at ``c = 1``.
    """

    name = "sep-cma"
    State = SepCMAState

    def setup(self, dim: int) -> None:
        super().setup(dim)
        n = dim
        w = math.log(self.mu + 0.5) - np.log(np.arange(1, self.mu + 1))
        self.weights = w / w.sum()
        self.mueff = float(1.0 / np.sum(self.weights**2))
        self.cs = (self.mueff + 2.0) / (n + self.mueff + 3.0)
        self.damps = 1.0 + 2.0 * max(0.0, math.sqrt((self.mueff - 1.0) / (n + 1.0)) - 1.0) + self.cs
        self.cc = 4.0 / (n + 4.0)
        self.mucov = self.mueff
        ccov = (1.0 / self.mucov) * 2.0 / (n + math.sqrt(2.0)) ** 2 + (1.0 - 1.0 / self.mucov) * min(
            1.0, (2.0 * self.mueff - 1.0) / ((n + 2.0) ** 2 + self.mueff))
        self.ccov = min(1.0, ccov * (n + 2.0) / 3.0)
        self.chiN = math.sqrt(n) * (1.0 - 1.0 / (4.0 * n) + 1.0 / (21.0 * n**2))

    def initial_state(self, centroid: np.ndarray) -> SepCMAState:
        return SepCMAState(centroid, self.params["sigma"], self.scale**2, np.zeros(centroid.size),
                           np.zeros(centroid.size), 0)

    def generate(self, ind_init: Callable[[np.ndarray], Any]) -> list:
        return gaussian_individuals(ind_init, self.rng, self.lambda_, self.centroid, self.sigma * np.sqrt(self.diag_c))

    def update(self, population: list, evaluate: Evaluate | None = None) -> None:
        x, order = self._mu_best(population)
        best = x[order[:self.mu]]
        y = (best - self.centroid) / self.sigma
        y_w = self.weights @ y
        d = np.sqrt(self.diag_c)
        self.centroid = self.centroid + self.sigma * y_w
        self.ps = (1.0 - self.cs) * self.ps + math.sqrt(self.cs * (2.0 - self.cs) * self.mueff) * y_w / d
        ps_norm = float(np.linalg.norm(self.ps))
        hsig = float(ps_norm / math.sqrt(1.0 - (1.0 - self.cs) ** (2.0 * (self.update_count + 1))) / self.chiN
                     < 1.4 + 2.0 / (self.dim + 1.0))
        self.pc = (1.0 - self.cc) * self.pc + hsig * math.sqrt(self.cc * (2.0 - self.cc) * self.mueff) * y_w
        rank_one = self.pc**2 + (1.0 - hsig) * self.cc * (2.0 - self.cc) * self.diag_c
        rank_mu = self.weights @ (y**2)
        self.diag_c = ((1.0 - self.ccov) * self.diag_c + self.ccov / self.mucov * rank_one
                       + self.ccov * (1.0 - 1.0 / self.mucov) * rank_mu)
        self.sigma *= math.exp(self.cs / self.damps * (ps_norm / self.chiN - 1.0))
        self.update_count += 1
