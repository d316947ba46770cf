"""Cross-entropy method (CEM) and an elite-only ES gradient (CEM-ES).

Both follow the protocol of :mod:`bioevo.strategies.base`: ``generate(ind_init)``,
``update(population, evaluate=None)`` reading ``ind.fitness.values[0]`` as a
LOSS (minimised; NaN counts as the worst loss), ``end_epoch()`` (a no-op here),
``centroid`` and ``state_dict()``/``load_state_dict()`` for bit-identical
resumption through :func:`bioevo.strategies.base.write_state`/``read_state``.

Elite size (both classes): ``n_elite = max(1, floor(elite_fraction * n))``
individuals with the lowest losses, ``n`` the size of the population given to
``update`` (normally ``popsize``); ties are broken by position in the
population (stable sort).

* :class:`CrossEntropyMethod` -- a diagonal Gaussian ``N(mean, diag(std**2))``
  refitted to the elite each generation (Rubinstein 1999; de Boer et al. 2005;
  "noisy CEM" extra variance of Szita & Lorincz 2006).
* :class:`CEMES` -- a fixed-sigma Gaussian ES whose gradient is the mean
  perturbation of the elite, followed by an Adam step.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from .base import (_centroid, _float_param, _genomes, _int_param, adam_update, losses_of, rng_from_json,
                   rng_state_to_json)

__all__ = ["CrossEntropyMethod", "CEMES", "DEFAULTS", "CEMES_DEFAULTS", "elite_indices", "elite_gradient"]

#: Hyperparameters of :class:`CrossEntropyMethod`.
DEFAULTS: dict[str, Any] = {
    "popsize": 64,
    "elite_fraction": 0.2,
    "sigma": 0.1,
    "sigma_min": 1e-3,
    "smoothing": 0.5,
    "extra_noise": 0.0,
}

#: Hyperparameters of :class:`CEMES`.
CEMES_DEFAULTS: dict[str, Any] = {
    "popsize": 64,
    "elite_fraction": 0.25,
    "sigma": 0.05,
    "lr": 0.02,
    "mirrored": True,
    "beta1": 0.9,
    "beta2": 0.999,
}



def elite_indices(losses: np.ndarray, n_elite: int) -> np.ndarray:
    """Indices of the ``n_elite`` lowest losses, best first; NaN sorts last, ties by position."""
    losses = np.asarray(losses, dtype=np.float64)
    order = np.argsort(np.where(np.isnan(losses), np.inf, losses), kind="stable")
    return order[:n_elite]


def elite_gradient(noise: np.ndarray, losses: np.ndarray, n_elite: int, sigma: float) -> np.ndarray:
    """CEM-ES estimator ``g = sum_{k in E} eps_k / (n_elite * sigma)``.

    ``E`` are the ``n_elite`` lowest-loss rows of ``noise`` (standard-normal
    perturbations, individual ``k`` = ``centroid + sigma * eps_k``).  ``g`` points
    from the centroid toward the elite's mean perturbation, i.e. it is a DESCENT
    direction of the loss (the centroid moves along ``+g``).  For a linear loss
    ``L(x) = a.x`` its expectation is ``-c * a / (|a| sigma)`` with ``c`` the mean
    of the top-``n_elite`` order statistics of ``n`` standard normals.
    """
    idx = elite_indices(losses, n_elite)
    return np.asarray(noise, dtype=np.float64)[idx].sum(axis=0) / (len(idx) * float(sigma))


# --------------------------------------------------------------------------- CEM
class CrossEntropyMethod:
    """Diagonal-Gaussian cross-entropy method.

    ``generate`` samples ``x_k = mean + std * eps_k`` with ``eps_k ~ N(0, I)``
    (one ``rng.standard_normal((popsize, N))`` draw).  ``update`` takes the elite
    ``E`` (``n_elite`` lowest losses, see module docstring) **from the genomes of
    the population it is given** (so hand-made or modified populations are fine)
    and, with ``a = smoothing``::

        mean_E = mean_{k in E} x_k
        var_E  = mean_{k in E} (x_k - mean_E)**2 + extra_noise   # biased (1/n_elite) estimate
        mean   <- a * mean_E + (1 - a) * mean
        std    <- max(sigma_min, a * sqrt(var_E) + (1 - a) * std)   # per dimension

    ``extra_noise`` is a *variance* (constant noise of Szita & Lorincz 2006)
    that keeps the distribution from collapsing; ``sigma_min`` floors every
    std after smoothing.  ``sigma`` is the initial std of every dimension.
    ``centroid`` is ``mean``.  ``end_epoch`` does nothing.
    """

    kind = "cem"
    DEFAULTS = DEFAULTS

    def __init__(self, centroid: Any, rng: np.random.Generator | int | None = None, *,
                 popsize: int = DEFAULTS["popsize"], elite_fraction: float = DEFAULTS["elite_fraction"],
                 sigma: float = DEFAULTS["sigma"], sigma_min: float = DEFAULTS["sigma_min"],
                 smoothing: float = DEFAULTS["smoothing"], extra_noise: float = DEFAULTS["extra_noise"]) -> None:
        self.popsize = _int_param("popsize", popsize, 2)
        self.elite_fraction = _float_param("elite_fraction", elite_fraction, low=0.0, high=1.0, low_open=True)
        self.sigma = _float_param("sigma", sigma, low=0.0, low_open=True)
        self.sigma_min = _float_param("sigma_min", sigma_min, low=0.0)
        self.smoothing = _float_param("smoothing", smoothing, low=0.0, high=1.0, low_open=True)
        self.extra_noise = _float_param("extra_noise", extra_noise, low=0.0)
        if self.sigma_min > self.sigma:
            raise ValueError(f"sigma_min must be <= sigma, got sigma_min={sigma_min!r} > sigma={sigma!r}")
        self.centroid: np.ndarray = _centroid(centroid)
        self.std = np.full(self.centroid.size, self.sigma)
        self.rng: np.random.Generator = np.random.default_rng(rng)
        self.generation = 0

    @property
    def dim(self) -> int:
        return int(self.centroid.size)

    @property
    def n_elite(self) -> int:
        return max(1, int(self.elite_fraction * self.popsize))

    def generate(self, ind_init: Callable[[np.ndarray], Any]) -> list:
        eps = self.rng.standard_normal((self.popsize, self.dim))
        return [ind_init(self.centroid + self.std * e) for e in eps]

    def update(self, population: list, evaluate: Callable | None = None) -> None:
        x = _genomes(population, self.dim)
        losses = losses_of(population)
        n_elite = max(1, int(self.elite_fraction * len(population)))
        elite = x[elite_indices(losses, n_elite)]
        mean_e = elite.mean(axis=0)
        std_e = np.sqrt(np.mean(np.square(elite - mean_e), axis=0) + self.extra_noise)
        a = self.smoothing
        self.centroid = a * mean_e + (1.0 - a) * self.centroid
        self.std = np.maximum(self.sigma_min, a * std_e + (1.0 - a) * self.std)
        self.generation += 1

    def end_epoch(self) -> None:
        """Nothing: CEM has no per-epoch schedule."""

    def state_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "centroid": self.centroid.copy(),
            "std": self.std.copy(),
            "generation": int(self.generation),
            "popsize": self.popsize,
            "elite_fraction": self.elite_fraction,
            "sigma": self.sigma,
            "sigma_min": self.sigma_min,
            "smoothing": self.smoothing,
            "extra_noise": self.extra_noise,
            "rng_state": rng_state_to_json(self.rng),
        }

    def load_state_dict(self, d: dict[str, Any]) -> None:
        if d.get("kind", self.kind) != self.kind:
            raise ValueError(f"state is for strategy {d['kind']!r}, not {self.kind!r}")
        fresh = type(self)(d["centroid"], 0, **{k: d[k] for k in DEFAULTS})  # validates the hyperparameters
        fresh.std = np.array(d["std"], dtype=np.float64).reshape(fresh.centroid.shape)
        fresh.generation = int(d["generation"])
        fresh.rng = rng_from_json(d["rng_state"])
        self.__dict__.update(fresh.__dict__)

    @classmethod
    def from_state_dict(cls, d: dict[str, Any]) -> "CrossEntropyMethod":
        obj = cls(d["centroid"], 0, **{k: d[k] for k in DEFAULTS})
        obj.load_state_dict(d)
        return obj


# --------------------------------------------------------------------------- CEM-ES
class CEMES:
    """Fixed-sigma Gaussian ES with an elite-only gradient estimate and Adam.

    ``generate`` draws ``eps ~ N(0, I)`` and returns ``centroid + sigma * eps_k``;
    with ``mirrored=True`` one ``rng.standard_normal((popsize // 2, N))`` draw
    gives the rows ``[+e0, -e0, +e1, -e1, ...]`` (``popsize`` must be even),
    otherwise one ``(popsize, N)`` draw.  ``update`` matches the population to
    the stored noise by position (a reordered or modified population raises
    ValueError) and uses the estimator (see :func:`elite_gradient`)::

        g = sum_{k in E} eps_k / (n_elite * sigma)       # E: n_elite lowest losses

    i.e. the direction from the centroid toward the elite's mean perturbation
    (a loss-descent direction; for mirrored pairs with both members in ``E``
    the two cancel).  Losses enter only through the elite membership, so the
    estimate is invariant to any monotone transform of the loss.  ``g`` feeds
    bias-corrected Adam (``eps`` = 1e-8)::

        m <- beta1 m + (1 - beta1) g ;  v <- beta2 v + (1 - beta2) g**2
        centroid <- centroid + lr * m_hat / (sqrt(v_hat) + 1e-8)

    ``sigma`` stays fixed; ``end_epoch`` does nothing.
    """

    kind = "cemes"
    DEFAULTS = CEMES_DEFAULTS

    def __init__(self, centroid: Any, rng: np.random.Generator | int | None = None, *,
                 popsize: int = CEMES_DEFAULTS["popsize"], elite_fraction: float = CEMES_DEFAULTS["elite_fraction"],
                 sigma: float = CEMES_DEFAULTS["sigma"], lr: float = CEMES_DEFAULTS["lr"],
                 mirrored: bool = CEMES_DEFAULTS["mirrored"], beta1: float = CEMES_DEFAULTS["beta1"],
                 beta2: float = CEMES_DEFAULTS["beta2"]) -> None:
        self.popsize = _int_param("popsize", popsize, 2)
        if not isinstance(mirrored, (bool, np.bool_)):
            raise ValueError(f"mirrored must be True or False, got {mirrored!r}")
        self.mirrored = bool(mirrored)
        if self.mirrored and self.popsize % 2:
            raise ValueError(f"popsize must be even with mirrored sampling, got {popsize!r}")
        self.elite_fraction = _float_param("elite_fraction", elite_fraction, low=0.0, high=1.0, low_open=True)
        self.sigma = _float_param("sigma", sigma, low=0.0, low_open=True)
        self.lr = _float_param("lr", lr, low=0.0, low_open=True)
        self.beta1 = _float_param("beta1", beta1, low=0.0, high=1.0, high_open=True)
        self.beta2 = _float_param("beta2", beta2, low=0.0, high=1.0, high_open=True)
        self.centroid: np.ndarray = _centroid(centroid)
        self.rng: np.random.Generator = np.random.default_rng(rng)
        self.m = np.zeros_like(self.centroid)
        self.v = np.zeros_like(self.centroid)
        self.t = 0
        self.noise: np.ndarray | None = None  # noise of the pending generate(), None once consumed

    @property
    def dim(self) -> int:
        return int(self.centroid.size)

    @property
    def n_elite(self) -> int:
        return max(1, int(self.elite_fraction * self.popsize))

    def generate(self, ind_init: Callable[[np.ndarray], Any]) -> list:
        if self.mirrored:
            half = self.rng.standard_normal((self.popsize // 2, self.dim))
            noise = np.empty((self.popsize, self.dim))
            noise[0::2] = half
            noise[1::2] = -half
        else:
            noise = self.rng.standard_normal((self.popsize, self.dim))
        self.noise = noise
        return [ind_init(self.centroid + self.sigma * e) for e in noise]

    def update(self, population: list, evaluate: Callable | None = None) -> None:
        if self.noise is None:
            raise RuntimeError("update() called without a preceding generate()")
        if len(population) != self.noise.shape[0]:
            raise ValueError(f"expected {self.noise.shape[0]} individuals, got {len(population)}")
        x = _genomes(population, self.dim)
        expected = self.centroid + self.sigma * self.noise
        if not np.allclose(x, expected, rtol=1e-6, atol=1e-3 * self.sigma):
            raise ValueError("population does not match the last generate() (reordered or modified individuals?)")
        losses = losses_of(population)
        grad = elite_gradient(self.noise, losses, self.n_elite, self.sigma)
        self.t += 1
        self.m, self.v, direction = adam_update(self.m, self.v, self.t, grad, self.beta1, self.beta2)
        self.centroid = self.centroid + self.lr * direction
        self.noise = None

    def end_epoch(self) -> None:
        """Nothing: sigma and lr are fixed."""

    def state_dict(self) -> dict[str, Any]:
        """``noise`` is an empty ``(0, N)`` array when no generated population is pending."""
        noise = self.noise if self.noise is not None else np.zeros((0, self.dim))
        return {
            "kind": self.kind,
            "centroid": self.centroid.copy(),
            "m": self.m.copy(),
            "v": self.v.copy(),
            "t": int(self.t),
            "noise": noise.copy(),
            "popsize": self.popsize,
            "elite_fraction": self.elite_fraction,
            "sigma": self.sigma,
            "lr": self.lr,
            "mirrored": self.mirrored,
            "beta1": self.beta1,
            "beta2": self.beta2,
            "rng_state": rng_state_to_json(self.rng),
        }

    def load_state_dict(self, d: dict[str, Any]) -> None:
        if d.get("kind", self.kind) != self.kind:
            raise ValueError(f"state is for strategy {d['kind']!r}, not {self.kind!r}")
        hp = {k: d[k] for k in CEMES_DEFAULTS}
        hp["mirrored"] = bool(hp["mirrored"])
        fresh = type(self)(d["centroid"], 0, **hp)
        shape = fresh.centroid.shape
        fresh.m = np.array(d["m"], dtype=np.float64).reshape(shape)
        fresh.v = np.array(d["v"], dtype=np.float64).reshape(shape)
        fresh.t = int(d["t"])
        noise = np.array(d["noise"], dtype=np.float64).reshape(-1, fresh.dim)
        fresh.noise = noise if noise.shape[0] else None
        fresh.rng = rng_from_json(d["rng_state"])
        self.__dict__.update(fresh.__dict__)

    @classmethod
    def from_state_dict(cls, d: dict[str, Any]) -> "CEMES":
        obj = cls(d["centroid"], 0, **{k: d[k] for k in CEMES_DEFAULTS})
        obj.load_state_dict(d)
        return obj
