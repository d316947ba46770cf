"""PGPE with the ClipUp optimiser.

* F. Sehnke, C. Osendorfer, T. Rueckstiess, A. Graves, J. Peters and
  J. Schmidhuber, "Parameter-exploring policy gradients", Neural Networks 23(4),
  551-559, 2010 (PGPE): a diagonal Gaussian ``N(mu, diag(sigma**2))`` over the
  genome, its mean and per-gene widths moved along the likelihood-ratio
  gradient, here in its *symmetric sampling* form (their Sec. 2.4, "Symmetric
  sampling": the mean from the difference of a mirrored pair, the widths from
  the pair's average against a baseline).
* N. E. Toklu, P. Liskowski and R. K. Srivastava, "ClipUp: A Simple and Powerful
  Optimizer for Distribution-based Policy Evolution", PPSN XVI, 2020
  (arXiv:2008.02387): Sec. 2 restates PGPE with symmetric sampling and centred
  ranks; Algorithm 1 is ClipUp, which steps the mean.

Fitness.  PGPE maximises a fitness ``f``; bioevo minimises a loss, so ``f = -loss``
before anything else.  With ``ranking = true`` (the default, as in the authors'
pgpelib, evotorch and EvoJAX) ``f`` is replaced by centred ranks in [-0.5, 0.5]
(Salimans et al. 2017; lowest loss -> +0.5), equal losses sharing their average
rank so that a tie carries no signal; NaN counts as the worst loss.  With
``ranking = false`` the raw ``-loss`` is used, a NaN or infinite loss replaced by
the worst finite one (all non-finite: no signal, nothing moves but the momentum).

One generation, ``n = popsize / 2`` mirrored pairs, in the units ``y = x / scale``
of :mod:`.base` (``sigma`` below is ``std / scale``; ``std``, the state, is in
genome units)::

    generate: z_i ~ N(0, I)  (one rng.standard_normal((n, N)) draw), eps_i = sigma * z_i
              individuals mu + eps_0, mu - eps_0, mu + eps_1, mu - eps_1, ...  (x = mu + std * (+-z_i))
    update:   f_i+, f_i-  the shaped fitnesses of a pair, b = mean of all 2n (the baseline)
              g_mu    = 1/n sum_i (f_i+ - f_i-) / 2 * eps_i                          (Sehnke Sec. 2.4; Toklu Sec. 2)
              g_sigma = 1/n sum_i ((f_i+ + f_i-) / 2 - b) * (eps_i**2 - sigma**2) / sigma     (same places)
              mean step (``optimizer``):
                clipup:  v <- momentum * v + center_lr * g_mu / |g_mu|                 (Toklu Alg. 1, velocity update)
                         v <- max_speed * v / |v|   if |v| > max_speed               (Toklu Alg. 1, clipping)
                         mu <- mu + scale * v                                         (Toklu Alg. 1, position update)
                adam:    mu <- mu + center_lr * scale * m_hat / (sqrt(v_hat) + 1e-8)  (Kingma & Ba 2015; beta 0.9, 0.999)
                sgd:     mu <- mu + center_lr * scale * g_mu                           (Sehnke Sec. 2.4, alpha_mu = center_lr)
              sigma <- sigma + stdev_lr * g_sigma                                      (Sehnke Sec. 2.4, alpha_sigma = stdev_lr)
              sigma <- clip(sigma, (1 - c) sigma_old, (1 + c) sigma_old), c = stdev_max_change  (pgpelib/evotorch; c = 0: no clip)

``g_mu`` is Sehnke's symmetric-sampling estimate, which is the likelihood-ratio
gradient ``E[f (x - mu) / sigma**2]`` multiplied gene by gene by ``sigma**2``
(their choice of per-parameter step sizes ``alpha_i = alpha sigma_i**2``, Sec. 2.2),
so the SGD step is in units of ``sigma``; ClipUp normalises it away anyway.  With
``|g_mu| = 0`` (every loss tied) ClipUp adds nothing to the velocity.  A width the
unclipped rule (``stdev_max_change = 0``) would make non-positive is floored at
``1e-12 * scale`` (documented safeguard; the clipped rule never gets there).

Hyperparameter defaults.  ``stdev_init = 0.1`` per gene (times the gene's scale),
unless ``radius_init > 0``: then every gene starts with ``radius_init / sqrt(N)``
(times scale), so that ``|sigma| = radius_init`` (the authors' pgpelib, evotorch).
``max_speed = 0`` takes ``|sigma_0| / 15`` (the radius is 15 times the maximum
speed in the authors' reference training script, pgpelib ``train_agents/train.py``),
and ``center_lr = 0`` takes ``max_speed / 2`` (Toklu et al. 2020's recommendation,
alpha = v_max / 2) for ClipUp and Adam, and 1 for SGD (bioevo's choice: its step is a
sigma-scaled gradient; pgpelib's default 0.15 is too slow to pass bioevo's
conformance check of 150 generations on a 5-D quadratic).  ``momentum = 0.9``, ``stdev_lr = 0.1``,
``stdev_max_change = 0.2`` as in pgpelib.  ClipUp bounds the step, so with a fixed
``max_speed`` the mean jitters at a distance of about ``center_lr`` around an
optimum: it is not meant to reach 1e-8 on a sphere (see tests/test_pgpe.py).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from .base import Evaluate, Param, Strategy, adam_update, losses_of, matching_genomes, mirrored_noise
from .es import compute_centered_ranks

RADIUS_PER_SPEED = 15.0  # pgpelib train_agents/train.py: radius = max_speed * 15
STD_FLOOR = 1e-12
SGD_LR = 1.0  # bioevo's default alpha_mu: the SGD step is in units of sigma (module docstring)


def shaped_fitness(losses: np.ndarray, ranking: bool) -> np.ndarray:
    """The fitness PGPE maximises, from losses (module docstring): centred ranks of ``-loss``
    (ties share their rank, NaN worst) or ``-loss`` with non-finite losses made the worst finite one."""
    losses = np.asarray(losses, dtype=np.float64)
    if ranking:
        return -compute_centered_ranks(np.where(np.isnan(losses), np.inf, losses), ties="average")
    finite = np.isfinite(losses)
    if not finite.any():
        return np.zeros_like(losses)
    return -np.where(finite, losses, losses[finite].max())


def pgpe_gradients(fitness: np.ndarray, z: np.ndarray, sigma: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sehnke et al.'s symmetric-sampling estimates ``(g_mu, g_sigma)`` (module docstring) from the
    fitnesses of rows ``+z_0, -z_0, +z_1, ...`` sampled as ``mu +- sigma * z_i`` (``z``: the 2n rows)."""
    f_plus, f_minus = fitness[0::2], fitness[1::2]
    if f_plus.size != f_minus.size:
        raise ValueError("PGPE needs mirrored pairs (an even population)")
    eps = sigma * z[0::2]
    n = f_plus.size
    g_mu = ((f_plus - f_minus) / 2.0) @ eps / n
    g_sigma = ((f_plus + f_minus) / 2.0 - fitness.mean()) @ ((eps**2 - sigma**2) / sigma) / n
    return g_mu, g_sigma


def clipup_step(velocity: np.ndarray, grad: np.ndarray, step_size: float, momentum: float,
                max_speed: float) -> np.ndarray:
    """ClipUp (Toklu et al. 2020, Algorithm 1): the new velocity ``m v + alpha g / |g|``, clipped to
    norm ``max_speed``; a zero gradient adds nothing."""
    norm = float(np.linalg.norm(grad))
    v = momentum * velocity + (step_size / norm) * grad if norm > 0 else momentum * velocity
    speed = float(np.linalg.norm(v))
    return v * (max_speed / speed) if speed > max_speed else v


@dataclass
class PGPEState:
    centroid: np.ndarray
    std: np.ndarray  # per gene, in genome units (sigma * scale)
    velocity: np.ndarray  # ClipUp's velocity in units of scale (zeros for adam and sgd)
    adam_m: np.ndarray  # Adam's moments (zeros unless optimizer = "adam")
    adam_v: np.ndarray
    t: int  # updates done
    noise: np.ndarray | None  # the z rows of the pending generate(), None once consumed by update()


class PGPE(Strategy):
    """PGPE with symmetric sampling, per-gene widths and a ClipUp (or Adam, or SGD) mean step
    (module docstring).  ``centroid`` is ``mu``, ``std`` is ``sigma * scale``."""

    name = "pgpe"
    State = PGPEState
    PARAMS = (
        Param("popsize", 64, "individuals per generation (even: mirrored pairs)", ge=2),
        Param("stdev_init", 0.1, "initial width of every gene (times its scale), unless radius_init > 0", gt=0),
        Param("radius_init", 0.0, "if > 0: initial widths radius_init / sqrt(N), so |sigma| = radius_init", ge=0),
        Param("optimizer", "clipup", "what steps the mean along the PGPE gradient",
              choices=("clipup", "adam", "sgd")),
        Param("max_speed", 0.0, "ClipUp's largest step norm (0: initial radius |sigma| / 15)", ge=0),
        Param("center_lr", 0.0, "ClipUp's step size alpha, Adam's and SGD's learning rate "
              "(0: max_speed / 2; with sgd 1)", ge=0),
        Param("momentum", 0.9, "ClipUp's momentum", ge=0, lt=1),
        Param("stdev_lr", 0.1, "learning rate of the widths", ge=0),
        Param("stdev_max_change", 0.2, "largest relative change of a width per update (0: no limit)", ge=0, lt=1),
        Param("ranking", True, "centred-rank fitness shaping (false: raw -loss)"),
    )

    @classmethod
    def check(cls, params: dict[str, Any]) -> None:
        if params["popsize"] % 2:
            raise cls.refuse("popsize", params["popsize"], "even (PGPE samples mirrored pairs)")

    def setup(self, dim: int) -> None:
        p = self.params
        self.sigma0 = p["radius_init"] / math.sqrt(dim) if p["radius_init"] > 0 else p["stdev_init"]
        self.radius0 = self.sigma0 * math.sqrt(dim)
        self.speed = p["max_speed"] or self.radius0 / RADIUS_PER_SPEED
        self.step_size = p["center_lr"] or (SGD_LR if p["optimizer"] == "sgd" else self.speed / 2.0)

    def initial_state(self, centroid: np.ndarray) -> PGPEState:
        zeros = np.zeros_like(centroid)
        return PGPEState(centroid, self.sigma0 * self.scale, zeros, zeros.copy(), zeros.copy(), 0, None)

    @property
    def generation(self) -> int:
        return self.t

    def generate(self, ind_init: Callable[[np.ndarray], Any]) -> list:
        self.noise = mirrored_noise(self.rng, self.popsize, self.dim)
        return [ind_init(self.centroid + self.std * z) for z in self.noise]

    def update(self, population: list, evaluate: Evaluate | None = None) -> None:
        """One PGPE step from the losses of the last generated population (``evaluate`` is not needed)."""
        matching_genomes(population, None if self.noise is None else self.centroid + self.std * self.noise,
                         atol=1e-3 * float(np.min(self.std)))
        fitness = shaped_fitness(losses_of(population), self.ranking)
        sigma = self.std / self.scale  # in units of scale
        g_mu, g_sigma = pgpe_gradients(fitness, self.noise, sigma)
        self.t += 1
        if self.optimizer == "clipup":
            self.velocity = clipup_step(self.velocity, g_mu, self.step_size, self.momentum, self.speed)
            step = self.velocity
        elif self.optimizer == "adam":
            self.adam_m, self.adam_v, direction = adam_update(self.adam_m, self.adam_v, self.t, g_mu)
            step = self.step_size * direction
        else:
            step = self.step_size * g_mu
        self.centroid = self.centroid + self.scale * step
        new = sigma + self.stdev_lr * g_sigma
        if self.stdev_max_change > 0:
            new = np.clip(new, (1.0 - self.stdev_max_change) * sigma, (1.0 + self.stdev_max_change) * sigma)
        self.std = np.maximum(new, STD_FLOOR) * self.scale
        self.noise = None
