"""CMA-ES: DEAP's full-covariance strategy made reproducible and checkpointable,
and a numpy separable (diagonal) CMA-ES for large genomes.

Both follow the protocol of :mod:`bioevo.strategies.base` (``generate``,
``update(population, evaluate=None)`` reading ``ind.fitness.values[0]`` as a
LOSS, ``end_epoch`` -- a no-op --, ``centroid``, ``state_dict``/``load_state_dict``).
Ranking: lowest loss first, NaN last, ties by position in the population.
"""
from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np
from deap import cma as deap_cma

from .base import _centroid, _float_param, _genomes, _int_param, losses_of, rng_from_json, rng_state_to_json
from .cem import elite_indices

__all__ = ["CMAES", "SeparableCMAES", "DEFAULTS"]

#: Hyperparameters of :class:`CMAES` and :class:`SeparableCMAES`
#: (``popsize=0``: the default ``int(4 + 3 ln N)``).
DEFAULTS: dict[str, Any] = {"popsize": 0, "sigma": 0.1}

# Attributes of deap.cma.Strategy (deap 1.4) that make up its state; with the
# numpy global RNG state below they determine every later generate()/update().
_DEAP_ARRAYS = ("centroid", "pc", "ps", "C", "diagD", "B", "BD", "weights")
_DEAP_FLOATS = ("sigma", "chiN", "cond", "mueff", "cc", "cs", "ccov1", "ccovmu", "damps")
_DEAP_INTS = ("dim", "lambda_", "update_count", "mu")


def _default_lambda(dim: int) -> int:
    return int(4 + 3 * math.log(dim))


class _Ranked(np.ndarray):
    """A genome carrying only a sortable ``fitness`` (higher = better), fed to DEAP's update."""

    fitness: float


def _ranked_population(x: np.ndarray, losses: np.ndarray) -> list:
    order = elite_indices(losses, len(losses))
    out = []
    for rank, i in enumerate(order):
        r = x[i].copy().view(_Ranked)
        r.fitness = float(-rank)
        out.append(r)
    return out


class CMAES:
    """Full CMA-ES (Hansen & Ostermeier 2001) by ``deap.cma.Strategy``.

    The algorithm is DEAP's, unchanged (``lambda_ = popsize`` when ``popsize > 0``,
    else DEAP's default ``int(4 + 3 ln N)``; ``mu = lambda_ // 2``,
    superlinear weights; ``sigma`` is the initial step size).  This class only

    * **makes sampling reproducible**: DEAP samples with the global
      ``numpy.random`` state.  At construction one ``rng.integers(2**32)`` draw
      seeds a private legacy ``RandomState`` (MT19937) whose state this object
      keeps (``np_random_state``).  ``generate`` saves the caller's global state
      (``np.random.get_state()``), installs the private one, calls DEAP's
      ``generate``, stores the advanced private state and restores the caller's
      state (also on error).  Callers' global numpy randomness is therefore
      untouched, and DEAP's stream is part of the checkpoint.  Not thread safe
      (nothing else may use the global numpy RNG during ``generate``).
    * **ranks robustly without touching the caller's list**: ``update`` ranks by
      loss itself (NaN last, ties by position) and hands DEAP a sorted list of
      copies whose ``fitness`` is ``-rank``, so DEAP's in-place sort sees the
      same order and the caller's population is not reordered.
    * **checkpoints**: ``state_dict`` holds every attribute of DEAP's strategy
      (centroid, sigma, C, pc, ps, B, diagD, BD, cond, chiN, update_count,
      lambda_, mu, weights, mueff, cc, cs, ccov1, ccovmu, damps, dim) plus the
      private MT19937 state and the memory order of the matrices (``eigh``
      leaves ``B``/``BD`` Fortran-ordered and BLAS may round differently for
      another layout); ``load_state_dict`` rebuilds the DEAP object from them
      without recomputing anything, so continuation is bit-identical.

    Cost: DEAP keeps the full ``N x N`` covariance (``C``, ``B``, ``BD``: three
    dense float64 matrices, ~96 MB at N = 2000 and growing as O(N^2)), every
    ``update`` runs an O(N^3) eigendecomposition (``numpy.linalg.eigh``) and every
    sample an O(N^2) product; checkpoints are O(N^2) too.  For genomes of
    N ~ 2000+ parameters prefer :class:`SeparableCMAES`.  ``end_epoch`` does
    nothing.
    """

    kind = "cmaes"
    DEFAULTS = DEFAULTS

    def __init__(self, centroid: Any, rng: np.random.Generator | int | None = None, *,
                 popsize: int = DEFAULTS["popsize"], sigma: float = DEFAULTS["sigma"]) -> None:
        popsize = _int_param("popsize", popsize, 0)
        if popsize == 1:
            raise ValueError("popsize must be 0 (DEAP's default 4 + 3 ln N) or an integer >= 2, got 1")
        sigma = _float_param("sigma", sigma, low=0.0, low_open=True)
        c = _centroid(centroid)
        self.popsize = popsize
        self.sigma_init = sigma
        self.rng: np.random.Generator = np.random.default_rng(rng)
        seed = int(self.rng.integers(2**32))
        self.np_random_state: tuple = np.random.RandomState(seed).get_state()
        kwargs = {"lambda_": popsize} if popsize else {}
        self.strategy = deap_cma.Strategy(c, sigma, **kwargs)

    # -- views on DEAP's strategy -------------------------------------------------
    @property
    def centroid(self) -> np.ndarray:
        return self.strategy.centroid

    @centroid.setter
    def centroid(self, value: Any) -> None:
        self.strategy.centroid = np.array(value, dtype=np.float64).reshape(self.strategy.centroid.shape)

    @property
    def sigma(self) -> float:
        return float(self.strategy.sigma)

    @property
    def dim(self) -> int:
        return int(self.strategy.dim)

    @property
    def lambda_(self) -> int:
        return int(self.strategy.lambda_)

    # -- protocol -----------------------------------------------------------------
    def generate(self, ind_init: Callable[[np.ndarray], Any]) -> list:
        caller_state = np.random.get_state()
        np.random.set_state(self.np_random_state)
        try:
            population = self.strategy.generate(ind_init)
            self.np_random_state = np.random.get_state()
        finally:
            np.random.set_state(caller_state)
        return population

    def update(self, population: list, evaluate: Callable | None = None) -> None:
        if len(population) < self.strategy.mu:
            raise ValueError(f"update() needs at least mu={self.strategy.mu} individuals, got {len(population)}")
        x = _genomes(population, self.dim)
        self.strategy.update(_ranked_population(x, losses_of(population)))

    def end_epoch(self) -> None:
        """Nothing: CMA-ES adapts sigma itself."""

    def state_dict(self) -> dict[str, Any]:
        s = self.strategy
        d: dict[str, Any] = {"kind": self.kind, "popsize": self.popsize, "sigma": self.sigma_init,
                             "rng_state": rng_state_to_json(self.rng)}
        fortran = []
        for k in _DEAP_ARRAYS:
            a = np.asarray(getattr(s, k), dtype=np.float64)
            d["deap_" + k] = a.copy()
            if a.ndim > 1 and a.flags.f_contiguous and not a.flags.c_contiguous:
                fortran.append(k)
        # eigh() leaves B and BD Fortran-ordered; BLAS may round differently for another
        # layout, so the layout is part of a bit-identical state.
        d["deap_fortran_arrays"] = ",".join(fortran)
        for k in _DEAP_FLOATS:
            d["deap_" + k] = float(getattr(s, k))
        for k in _DEAP_INTS:
            d["deap_" + k] = int(getattr(s, k))
        name, key, pos, has_gauss, cached = self.np_random_state
        d.update(np_random_name=str(name), np_random_key=np.array(key, dtype=np.uint32), np_random_pos=int(pos),
                 np_random_has_gauss=int(has_gauss), np_random_cached_gaussian=float(cached))
        return d

    def load_state_dict(self, d: dict[str, Any]) -> None:
        if d.get("kind", self.kind) != self.kind:
            raise ValueError(f"state is for strategy {d['kind']!r}, not {self.kind!r}")
        popsize = _int_param("popsize", d["popsize"], 0)
        sigma_init = _float_param("sigma", d["sigma"], low=0.0, low_open=True)
        s = deap_cma.Strategy.__new__(deap_cma.Strategy)  # no __init__: nothing is recomputed
        s.params = {"lambda_": popsize} if popsize else {}
        fortran = set(filter(None, str(d.get("deap_fortran_arrays", "")).split(",")))
        for k in _DEAP_ARRAYS:
            setattr(s, k, np.array(d["deap_" + k], dtype=np.float64, order="F" if k in fortran else "C"))
        for k in _DEAP_FLOATS:
            setattr(s, k, float(d["deap_" + k]))
        for k in _DEAP_INTS:
            setattr(s, k, int(d["deap_" + k]))
        n = s.dim
        if s.centroid.shape != (n,) or s.C.shape != (n, n) or s.weights.shape != (s.mu,):
            raise ValueError("inconsistent CMA-ES state (shapes of centroid, C, weights)")
        self.popsize = popsize
        self.sigma_init = sigma_init
        self.rng = rng_from_json(d["rng_state"])
        self.np_random_state = (str(d["np_random_name"]), np.array(d["np_random_key"], dtype=np.uint32),
                                int(d["np_random_pos"]), int(d["np_random_has_gauss"]),
                                float(d["np_random_cached_gaussian"]))
        self.strategy = s

    @classmethod
    def from_state_dict(cls, d: dict[str, Any]) -> "CMAES":
        obj = cls.__new__(cls)
        obj.load_state_dict(d)
        return obj


class SeparableCMAES:
    """Separable (diagonal) CMA-ES, sep-CMA-ES, of Ros & Hansen (2008).

    R. Ros and N. Hansen, "A Simple Modification in CMA-ES Achieving Linear
    Time and Space Complexity", Parallel Problem Solving from Nature (PPSN X),
    LNCS 5199, pp. 296-305, Springer, 2008.

    CMA-ES restricted to a diagonal covariance ``C = diag(c)`` (``D = sqrt(c)``),
    O(N) memory and O(N) work per sample, so it suits genomes of thousands of
    parameters.  Parameters (DEAP's defaults for the shared ones)::

        lambda = popsize or int(4 + 3 ln N);  mu = lambda // 2
        w_i ∝ ln(mu + 1/2) - ln i (i = 1..mu, sum 1);  mu_eff = 1 / sum w_i^2
        c_s = (mu_eff + 2) / (N + mu_eff + 3);  d_s = 1 + 2 max(0, sqrt((mu_eff-1)/(N+1)) - 1) + c_s
        c_c = 4 / (N + 4);  mu_cov = mu_eff
        c_cov = (1/mu_cov) 2/(N+sqrt2)^2 + (1 - 1/mu_cov) min(1, (2 mu_eff - 1)/((N+2)^2 + mu_eff))
        c_cov_sep = min(1, c_cov (N + 2) / 3)          # the paper's learning-rate scaling

    ``generate``: ``z ~ N(0, I)`` (one ``rng.standard_normal((lambda, N))`` draw),
    ``x_k = m + sigma D z_k``.  ``update`` (genomes read from the population,
    ``y_i = (x_i:lambda - m) / sigma`` for the mu best, ``<y> = sum w_i y_i``)::

        m   <- m + sigma <y>
        p_s <- (1 - c_s) p_s + sqrt(c_s (2 - c_s) mu_eff) <y> / D
        h_s  = |p_s| / sqrt(1 - (1 - c_s)^(2 (g + 1))) / chi_N < 1.4 + 2 / (N + 1)
        p_c <- (1 - c_c) p_c + h_s sqrt(c_c (2 - c_c) mu_eff) <y>
        c   <- (1 - c_cov_sep) c + c_cov_sep / mu_cov (p_c^2 + (1 - h_s) c_c (2 - c_c) c)
                 + c_cov_sep (1 - 1/mu_cov) sum w_i y_i^2
        sigma <- sigma exp(c_s / d_s (|p_s| / chi_N - 1));  D = sqrt(c);  g <- g + 1

    with ``chi_N = sqrt(N) (1 - 1/(4N) + 1/(21 N^2))``.  ``end_epoch`` does nothing.
    """

    kind = "sep_cmaes"
    DEFAULTS = DEFAULTS

    def __init__(self, centroid: Any, rng: np.random.Generator | int | None = None, *,
                 popsize: int = DEFAULTS["popsize"], sigma: float = DEFAULTS["sigma"]) -> None:
        popsize = _int_param("popsize", popsize, 0)
        if popsize == 1:
            raise ValueError("popsize must be 0 (default 4 + 3 ln N) or an integer >= 2, got 1")
        self.popsize = popsize
        self.sigma_init = _float_param("sigma", sigma, low=0.0, low_open=True)
        self.centroid: np.ndarray = _centroid(centroid)
        self.rng: np.random.Generator = np.random.default_rng(rng)
        self.sigma = self.sigma_init
        self.diag_c = np.ones(self.dim)
        self.pc = np.zeros(self.dim)
        self.ps = np.zeros(self.dim)
        self.update_count = 0
        self._compute_params()

    @property
    def dim(self) -> int:
        return int(self.centroid.size)

    def _compute_params(self) -> None:
        n = self.dim
        self.lambda_ = self.popsize or _default_lambda(n)
        self.mu = self.lambda_ // 2
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

    def generate(self, ind_init: Callable[[np.ndarray], Any]) -> list:
        z = self.rng.standard_normal((self.lambda_, self.dim))
        scale = self.sigma * np.sqrt(self.diag_c)
        return [ind_init(self.centroid + scale * zk) for zk in z]

    def update(self, population: list, evaluate: Callable | None = None) -> None:
        if len(population) < self.mu:
            raise ValueError(f"update() needs at least mu={self.mu} individuals, got {len(population)}")
        x = _genomes(population, self.dim)
        best = x[elite_indices(losses_of(population), self.mu)]
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

    def end_epoch(self) -> None:
        """Nothing: sigma adapts itself."""

    def state_dict(self) -> dict[str, Any]:
        """Dynamic state and hyperparameters; the derived constants are recomputed on load."""
        return {
            "kind": self.kind,
            "centroid": self.centroid.copy(),
            "sigma_current": float(self.sigma),
            "diag_c": self.diag_c.copy(),
            "pc": self.pc.copy(),
            "ps": self.ps.copy(),
            "update_count": int(self.update_count),
            "popsize": self.popsize,
            "sigma": self.sigma_init,
            "rng_state": rng_state_to_json(self.rng),
        }

    def load_state_dict(self, d: dict[str, Any]) -> None:
        if d.get("kind", self.kind) != self.kind:
            raise ValueError(f"state is for strategy {d['kind']!r}, not {self.kind!r}")
        fresh = type(self)(d["centroid"], 0, popsize=d["popsize"], sigma=d["sigma"])
        shape = fresh.centroid.shape
        fresh.sigma = float(d["sigma_current"])
        fresh.diag_c = np.array(d["diag_c"], dtype=np.float64).reshape(shape)
        fresh.pc = np.array(d["pc"], dtype=np.float64).reshape(shape)
        fresh.ps = np.array(d["ps"], dtype=np.float64).reshape(shape)
        fresh.update_count = int(d["update_count"])
        fresh.rng = rng_from_json(d["rng_state"])
        self.__dict__.update(fresh.__dict__)

    @classmethod
    def from_state_dict(cls, d: dict[str, Any]) -> "SeparableCMAES":
        obj = cls(d["centroid"], 0, popsize=d["popsize"], sigma=d["sigma"])
        obj.load_state_dict(d)
        return obj
