"""OpenAI-style evolution strategy (Salimans et al. 2017), and the Adam-stepped
Gaussian ES it shares with CEM-ES (:mod:`.cem`).

Rank based, so only the order of the losses matters (robust to loss scale and
outliers; NaN sorts last).  ``mirrored=False`` is the plain score-function ES
(the report's plain-ES baseline), ``mirrored=True`` adds antithetic sampling.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from .base import Evaluate, Param, Strategy, adam_update, losses_of, matching_genomes, mirrored_noise

POPSIZE = Param("popsize", 64, "individuals per generation (even when mirrored)", ge=2)
MIRRORED = Param("mirrored", True, "antithetic pairs +eps, -eps")


TIES = ("position", "average")


def compute_centered_ranks(losses: np.ndarray, ties: str = "position") -> np.ndarray:
    """Ranks mapped linearly to [-0.5, 0.5]: smallest value -> -0.5, largest -> +0.5
    (Salimans et al. 2017); one element gives 0.  Equal values get distinct ranks
    by position (``ties="position"``, what training uses) or share their average
    rank (``"average"``, so that a tie carries no signal: the I_app demo's spike
    counts)."""
    if ties not in TIES:
        raise ValueError(f"ties must be one of {', '.join(TIES)}, got {ties!r}")
    x = np.asarray(losses, dtype=np.float64).ravel()
    n = x.size
    if n < 2:
        return np.zeros(n)
    if ties == "average":
        from scipy.stats import rankdata  # here, not at the top: importing scipy.stats costs every process 0.6-0.9 s

        ranks = rankdata(x, method="average") - 1.0
    else:
        ranks = np.empty(n, dtype=np.float64)
        ranks[np.argsort(x, kind="stable")] = np.arange(n, dtype=np.float64)
    return ranks / (n - 1) - 0.5


@dataclass
class AdamState:
    centroid: np.ndarray
    m: np.ndarray
    v: np.ndarray
    t: int
    noise: np.ndarray | None  # the rows of the pending generate(), None once consumed by update()


class AdamES(Strategy):
    """Fixed-sigma Gaussian ES stepped by bias-corrected Adam (eps 1e-8) along an ascent
    direction that subclasses estimate (:meth:`gradient`).  ``generate``: ``centroid +
    sigma * scale * eps_k``, one ``rng.standard_normal((popsize, N))`` draw (mirrored:
    ``(popsize // 2, N)``, rows ``+e0, -e0, +e1, ...``); ``update`` matches the population
    to it by position.  The estimate is taken in units of ``sigma * scale`` and the Adam
    step is ``lr * scale * direction``: gene k moves about ``lr * scale_k`` per update.
    """

    State = AdamState

    @classmethod
    def check(cls, params: dict[str, Any]) -> None:
        if params["mirrored"] and params["popsize"] % 2:
            raise cls.refuse("popsize", params["popsize"], "even with mirrored sampling")

    def initial_state(self, centroid: np.ndarray) -> AdamState:
        return AdamState(centroid, np.zeros_like(centroid), np.zeros_like(centroid), 0, None)

    def generate(self, ind_init: Callable[[np.ndarray], Any]) -> list:
        if self.mirrored:
            self.noise = mirrored_noise(self.rng, self.popsize, self.dim)
        else:
            self.noise = self.rng.standard_normal((self.popsize, self.dim))
        return [ind_init(self.centroid + self.sigma * self.scale * e) for e in self.noise]

    def update(self, population: list, evaluate: Evaluate | None = None) -> None:
        """One Adam step from the losses of the last generated population (``evaluate`` is not needed)."""
        matching_genomes(population,
                         None if self.noise is None else self.centroid + self.sigma * self.scale * self.noise,
                         atol=1e-3 * self.sigma)
        grad = self.gradient(losses_of(population))
        self.t += 1
        self.m, self.v, direction = adam_update(self.m, self.v, self.t, grad, self.beta1, self.beta2)
        self.centroid = self.step(direction)
        self.noise = None

    def gradient(self, losses: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def step(self, direction: np.ndarray) -> np.ndarray:
        return self.centroid + self.lr * (self.scale * direction)


class OpenAIES(AdamES):
    """Centred-rank utilities ``u = -compute_centered_ranks(losses)`` (lowest loss
    -> +0.5) give the ascent direction ``g = sum_k u_k eps_k / (n sigma)``; Adam
    (beta 0.9, 0.999) steps ``centroid += lr scale m_hat / (sqrt(v_hat) + eps)``, and
    ``weight_decay`` is decoupled (AdamW, on the pre-step centroid):
    ``centroid -= lr weight_decay centroid``.  ``sigma`` and ``lr`` may decay
    geometrically per update down to a floor (as evosax's OpenES); with decay
    1 (the default) both stay fixed."""

    name = "es"
    PARAMS = (
        POPSIZE,
        Param("sigma", 0.05, "perturbation std (fixed)", gt=0),
        Param("lr", 0.02, "Adam learning rate", gt=0),
        MIRRORED,
        Param("weight_decay", 0.0, "decoupled (AdamW) weight decay", ge=0),
        Param("lr_decay", 1.0, "lr multiplied by this after every update", gt=0, le=1),
        Param("lr_min", 0.0, "floor of the decayed lr (<= lr)", ge=0),
        Param("sigma_decay", 1.0, "sigma multiplied by this after every update", gt=0, le=1),
        Param("sigma_min", 0.0, "floor of the decayed sigma (<= sigma)", ge=0),
    )
    beta1, beta2 = 0.9, 0.999
    ties = "position"  # of equal losses, see compute_centered_ranks (a subclass may choose "average")

    @classmethod
    def check(cls, params: dict[str, Any]) -> None:
        super().check(params)
        for name in ("lr", "sigma"):
            if params[f"{name}_min"] > params[name]:
                raise cls.refuse(f"{name}_min", params[f"{name}_min"], f"<= {name} ({params[name]!r})")

    @property
    def sigma(self) -> float:
        """The perturbation std after ``t`` updates: ``max(sigma_min, sigma * sigma_decay**t)``
        (the configured sigma while the decay is 1)."""
        p = self.params
        return max(p["sigma_min"], p["sigma"] * p["sigma_decay"] ** self.t)

    @property
    def lr(self) -> float:
        """Adam's learning rate in update ``t`` (counted from 1, as Adam counts):
        ``max(lr_min, lr * lr_decay**(t - 1))``, so update k uses the decay of generation k - 1's sigma."""
        p = self.params
        return max(p["lr_min"], p["lr"] * p["lr_decay"] ** max(self.t - 1, 0))

    def gradient(self, losses: np.ndarray) -> np.ndarray:
        return -compute_centered_ranks(losses, self.ties) @ self.noise / (len(losses) * self.sigma)

    def step(self, direction: np.ndarray) -> np.ndarray:
        return self.centroid + self.lr * (self.scale * direction) - self.lr * self.weight_decay * self.centroid
