"""OpenAI-style evolution strategy (Salimans et al. 2017) as a DEAP strategy object.

Mirrors the ``deap.cma.Strategy`` protocol so it plugs into
``deap.algorithms.eaGenerateUpdate``: ``generate(ind_init)`` returns new
individuals and ``update(population)`` moves the centroid.  ``update`` reads
``ind.fitness.values[0]`` as a LOSS to minimise, so the DEAP creator's fitness
must be declared with ``weights=(-1.0,)``::

    creator.create("FitnessMin", base.Fitness, weights=(-1.0,))

The ES is rank based, so only the order of the losses matters (robust to loss
scale and outliers; NaN losses sort last, i.e. are treated as worst).
All state is explicit (``state_dict``/``load_state_dict``) so long runs can be
checkpointed to HDF5 (``base.write_state``/``base.read_state``) and resumed
bit-identically.  It follows the protocol of :mod:`bioevo.strategies.base`:
``update(population, evaluate=None)`` ignores ``evaluate`` and ``end_epoch()``
does nothing (``sigma`` and ``lr`` are fixed).

``mirrored=True`` is the OpenAI-ES with antithetic sampling; ``mirrored=False``
is the plain score-function ES (independent Gaussian perturbations, same rank
shaping and Adam step), the report's plain-ES baseline.
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from .base import Evaluate, adam_update, losses_of, rng_from_json, rng_state_to_json

__all__ = ["DEFAULTS", "OpenAIES", "compute_centered_ranks"]

#: The hyperparameters a preset may set under ``[strategy.es]``, with their defaults.
DEFAULTS: dict[str, Any] = {"popsize": 64, "sigma": 0.05, "lr": 0.02, "mirrored": True, "weight_decay": 0.0}


def compute_centered_ranks(losses: np.ndarray) -> np.ndarray:
    """Ranks mapped linearly to [-0.5, 0.5]: smallest value -> -0.5, largest -> +0.5.

    Same as ``compute_centered_ranks`` in Salimans et al. 2017 (there applied to
    returns).  Ties get distinct ranks by position (stable argsort).  With one
    element the result is 0.
    """
    x = np.asarray(losses, dtype=np.float64).ravel()
    n = x.size
    if n < 2:
        return np.zeros(n)
    ranks = np.empty(n, dtype=np.float64)
    ranks[np.argsort(x, kind="stable")] = np.arange(n, dtype=np.float64)
    return ranks / (n - 1) - 0.5


class OpenAIES:
    """Gaussian-perturbation ES with centred-rank shaping and an Adam step.

    Each generation samples ``eps_k ~ N(0, I)`` and individuals
    ``centroid + sigma * eps_k``; with ``mirrored=True`` (antithetic sampling,
    lower-variance gradient) the population is ``[+e0, -e0, +e1, -e1, ...]``
    and ``popsize`` must be even.  The losses are turned into utilities
    ``u = -compute_centered_ranks(losses)`` (lowest loss -> +0.5) and the
    utility-ascent direction ``g = sum_k u_k eps_k / (n * sigma)`` (for mirrored
    sampling equal to ``sum_pairs (u+ - u-) eps_k / (2 * n_pairs * sigma)``)
    is fed to bias-corrected Adam: ``centroid += lr * m_hat / (sqrt(v_hat) + eps)``.
    ``weight_decay`` is *decoupled* (AdamW style, applied to the pre-step
    centroid): ``centroid -= lr * weight_decay * centroid``.
    ``sigma`` is kept fixed.
    """

    def __init__(
        self,
        centroid: np.ndarray,
        sigma: float = DEFAULTS["sigma"],
        lr: float = DEFAULTS["lr"],
        popsize: int = DEFAULTS["popsize"],
        *,
        mirrored: bool = DEFAULTS["mirrored"],
        weight_decay: float = DEFAULTS["weight_decay"],
        beta1: float = 0.9,
        beta2: float = 0.999,
        eps: float = 1e-8,
        rng: np.random.Generator | int | None = None,
    ) -> None:
        centroid = np.array(centroid, dtype=np.float64).ravel()
        if centroid.size == 0:
            raise ValueError("centroid must not be empty")
        if not np.all(np.isfinite(centroid)):
            raise ValueError("centroid must be finite")
        if int(popsize) != popsize:
            raise ValueError(f"popsize must be an integer, got {popsize!r}")
        popsize = int(popsize)
        if popsize < 2:
            raise ValueError(f"popsize must be >= 2, got {popsize}")
        if mirrored and popsize % 2:
            raise ValueError(f"popsize must be even with mirrored sampling, got {popsize}")
        if not sigma > 0:
            raise ValueError(f"sigma must be > 0, got {sigma}")
        if not lr > 0:
            raise ValueError(f"lr must be > 0, got {lr}")
        if not weight_decay >= 0:
            raise ValueError(f"weight_decay must be >= 0, got {weight_decay}")
        if not (0 <= beta1 < 1 and 0 <= beta2 < 1):
            raise ValueError(f"beta1 and beta2 must be in [0, 1), got {beta1}, {beta2}")
        if not eps > 0:
            raise ValueError(f"eps must be > 0, got {eps}")
        self.centroid: np.ndarray = centroid
        self.sigma = float(sigma)
        self.lr = float(lr)
        self.popsize = popsize
        self.mirrored = bool(mirrored)
        self.weight_decay = float(weight_decay)
        self.beta1 = float(beta1)
        self.beta2 = float(beta2)
        self.eps = float(eps)
        self.rng: np.random.Generator = np.random.default_rng(rng)
        self.m = np.zeros_like(centroid)
        self.v = np.zeros_like(centroid)
        self.t = 0
        # Noise of the last generate(), one row per individual (mirrored rows
        # included); None once consumed by update().
        self.noise: np.ndarray | None = None

    @property
    def dim(self) -> int:
        return int(self.centroid.size)

    def generate(self, ind_init: Callable[[np.ndarray], Any]) -> list[Any]:
        """Sample a population; each individual is ``ind_init(values)`` with a fresh float64 array."""
        if self.mirrored:
            half = self.rng.standard_normal((self.popsize // 2, self.dim))
            noise = np.empty((self.popsize, self.dim))
            noise[0::2] = half
            noise[1::2] = -half
        else:
            noise = self.rng.standard_normal((self.popsize, self.dim))
        self.noise = noise
        return [ind_init(self.centroid + self.sigma * e) for e in noise]

    def update(self, population: Sequence[Any], evaluate: Evaluate | None = None) -> None:
        """One Adam step from the losses ``ind.fitness.values[0]`` of the last generated population.

        ``evaluate`` (protocol of :mod:`.base`) is accepted and ignored: the ES
        never scores extra candidates.

        The population must be the list from the last ``generate`` in the same
        order (the stored noise is matched by position); a reordered or
        modified (e.g. clipped) population raises ValueError instead of
        silently mis-pairing noise and losses.  float32 individuals are fine.
        """
        if self.noise is None:
            raise RuntimeError("update() called without a preceding generate()")
        if len(population) != self.noise.shape[0]:
            raise ValueError(f"expected {self.noise.shape[0]} individuals, got {len(population)}")
        values = np.asarray([np.asarray(ind, dtype=np.float64).ravel() for ind in population])
        expected = self.centroid + self.sigma * self.noise
        if values.shape != expected.shape or not np.allclose(values, expected, rtol=1e-6, atol=1e-3 * self.sigma):
            raise ValueError("population does not match the last generate() (reordered or modified individuals?)")
        losses = losses_of(population)

        utility = -compute_centered_ranks(losses)  # lowest loss -> +0.5
        grad = utility @ self.noise / (len(losses) * self.sigma)  # ascent direction

        self.t += 1
        self.m, self.v, direction = adam_update(self.m, self.v, self.t, grad, self.beta1, self.beta2, self.eps)
        step = self.lr * direction
        decay = self.lr * self.weight_decay * self.centroid
        self.centroid = self.centroid + step - decay
        self.noise = None

    def end_epoch(self) -> None:
        """Nothing to anneal: ``sigma`` and ``lr`` are fixed."""

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to resume: plain numpy arrays, Python scalars and one JSON string.

        ``noise`` is an empty ``(0, dim)`` array when no generated population is pending.
        """
        noise = self.noise if self.noise is not None else np.zeros((0, self.dim))
        return {
            "centroid": self.centroid.copy(),
            "m": self.m.copy(),
            "v": self.v.copy(),
            "t": int(self.t),
            "noise": noise.copy(),
            "sigma": self.sigma,
            "lr": self.lr,
            "popsize": self.popsize,
            "mirrored": self.mirrored,
            "weight_decay": self.weight_decay,
            "beta1": self.beta1,
            "beta2": self.beta2,
            "eps": self.eps,
            "rng_state": rng_state_to_json(self.rng),
        }

    def load_state_dict(self, d: dict[str, Any]) -> None:
        """Restore from ``state_dict()`` output (values may be numpy scalars/bytes, e.g. read from HDF5)."""
        centroid = np.array(d["centroid"], dtype=np.float64).ravel()
        popsize = int(d["popsize"])
        mirrored = bool(d["mirrored"])
        if mirrored and popsize % 2:
            raise ValueError(f"popsize must be even with mirrored sampling, got {popsize}")
        self.centroid = centroid
        self.m = np.array(d["m"], dtype=np.float64).reshape(centroid.shape)
        self.v = np.array(d["v"], dtype=np.float64).reshape(centroid.shape)
        self.t = int(d["t"])
        noise = np.array(d["noise"], dtype=np.float64).reshape(-1, centroid.size)
        self.noise = noise if noise.shape[0] else None
        self.sigma = float(d["sigma"])
        self.lr = float(d["lr"])
        self.popsize = popsize
        self.mirrored = mirrored
        self.weight_decay = float(d["weight_decay"])
        self.beta1 = float(d["beta1"])
        self.beta2 = float(d["beta2"])
        self.eps = float(d["eps"])
        self.rng = rng_from_json(d["rng_state"])

    @classmethod
    def from_state_dict(cls, d: dict[str, Any]) -> "OpenAIES":
        """Build a strategy directly from a checkpoint."""
        obj = cls(np.asarray(d["centroid"]), float(d["sigma"]), float(d["lr"]), int(d["popsize"]),
                  mirrored=bool(d["mirrored"]))
        obj.load_state_dict(d)
        return obj
