"""Hybrid of a Gaussian-sampling ES and a one-particle swarm, with offspring
pooling while the batch accuracy is low and annealed sampling width.

One mean ``theta`` (``centroid``) moves with a velocity ``v`` (a single PSO
particle) whose "group" is a cloud of Gaussian samples around it.  NaN losses
count as +inf.

**generate** (``n = popsize_e`` individuals, current annealed size)::

    row 0        theta                          (so the mean's loss is known)
    row 1        p, the personal best mean      (re-scored on every batch)
    rows 2..n-1  theta + sigma_e * scale * eps_k,  eps = rng.standard_normal((n - 2, dim))

Widths and steps are per gene in units of ``scale`` (the strategy's step scales,
:mod:`.base`): samples and offspring ``sigma_e * scale``, the ES step
``step * scale * d`` and the velocity clamp ``v_max * scale``.

Before the first update ``p = theta`` (row 1 duplicates row 0 once).

**update(population, evaluate)** on the population of the last ``generate``:

1. *Personal best* (judged on the current batch, which is robust to minibatch
   noise): ``p <- theta`` if ``loss[0] < loss[1]`` (strictly), and the personal
   best's loss for this batch is ``min(loss[0], loss[1])``.  So ``p`` is the
   best mean so far in a running tournament: the champion is challenged by
   the current mean on each new batch.
2. *Group best* ``g``, chosen by ``group``:

   - ``"best"`` (the report's rule): the row with the lowest loss of this
     generation (first index on ties; may be row 0 or 1).
   - ``"recombined"``: the log-rank-weighted mean of the better half of the
     rows (CMA-ES weights).
   - ``"gradient"`` (our addition, see *Why gradient* below): the point one
     normalised ES step ahead, ``g = theta + step * d``.  ``d`` is Adam's
     bias-corrected ``m_hat / (sqrt(v_hat) + 1e-8)`` (beta 0.9, 0.999) of the
     centred-rank ES estimate ``sum_k u_k eps_k / (K sigma_e)`` over the K
     Gaussian rows (``u = -centred rank``, best +0.5, as in
     :mod:`bioevo.strategies.es`); when pooling triggers (step 4) the
     offspring's own estimate is pooled into it (weighted by counts) before
     the Adam step.  In this mode the Gaussian rows are mirrored pairs
     ``+eps, -eps`` (plus one unpaired row when ``n - 2`` is odd).
3. *Velocity*: ``r1 = rng.random(dim)`` then ``r2 = rng.random(dim)`` (one draw
   per dimension, in that order), ``v <- inertia v + c1 r1 (p - theta) + c2 r2
   (g - theta)``, clamped to ``|v| <= v_max`` elementwise if ``v_max > 0``.
4. *Pooling* if the accuracy ``ind.accuracy`` of the row with the lowest loss
   is below ``pool_threshold`` (NaN, a missing accuracy, never pools): the
   best ``k = ceil(pool_fraction * n)`` rows parent ``m = n_offspring`` (0:
   ``popsize_e``) offspring ``parent[j % k] + sigma_e * rng.standard_normal((m,
   dim))[j]``, scored by ``evaluate`` on the same batch (ValueError, before
   any change, without it); ``theta <-`` the mean of the best ``ceil(pool_keep
   * m)``, and the best offspring becomes the personal best if strictly below
   the personal best's loss of this batch.  ``v`` keeps its step 3 value.
   With ``group = "gradient"`` the offspring are the same, but instead of
   replacing ``theta`` by their mean they add their estimate
   ``sum_j u_j eta_j / (m sigma_e)`` (ranks among the offspring, ``eta`` their
   fresh noise, so each offspring is a score-function probe around its
   parent) to the direction of step 2, ``theta`` moves by step 5, and the
   personal best stays a mean (a lone offspring that won on this batch sits
   ``sigma_e`` away in every coordinate: pulling towards it is mostly noise).
5. Otherwise (or with ``group = "gradient"``) ``theta <- theta + lr v``.

*Why gradient.*  With thousands of genes and minibatch losses the single best
of a few dozen samples is mostly noise (10-class Randman: ``"best"`` never
reached 95% validation in 1629 generations, ``"recombined"`` at best 81% in
600); a rank-weighted estimate over all samples is far less noisy.

**end_epoch()**: ``epoch += 1``, ``sigma_e = sigma_final + (sigma -
sigma_final) decay**epoch`` and ``popsize_e = max(3, round(popsize_final +
(popsize - popsize_final) decay**epoch))``; with ``step_final > 0`` the
"gradient" step anneals the same way, ``step_e = step_final + (step -
step_final) decay**epoch`` (a constant step that is fast early can be too
coarse to settle: Randman-10, ``results/compare-randman-10/``).

Random draws, in order: ``generate`` one normal block (``"gradient"``: half a
block, mirrored); ``update`` r1, r2, then (only when pooling) one normal
block for the offspring.

Defaults target ~2000 genes of unit initial spread: ``sigma = 0.2`` (20% of
it, annealed to 0.02) beat 0.1 and 1.0 on 2-class Randman (seeds 0-2); ``lr = 1``,
``inertia = 0.5``, ``c1 = c2 = 1.5`` are the usual PSO coefficients.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from .base import (Evaluate, Param, Strategy, accuracies_of, adam_update, breed, elite_indices, losses_of,
                   matching_genomes, mirrored_noise)
from .es import compute_centered_ranks
from .pso import C1


@dataclass
class HybridState:
    theta: np.ndarray
    v: np.ndarray
    pbest: np.ndarray
    pbest_loss: float  # the personal best's loss on the last batch
    particles: np.ndarray | None  # rows of the pending generate(), None once consumed by update()
    epoch: int
    sigma_e: float  # the annealed sampling width
    popsize_e: int  # the annealed population
    t: int  # updates
    n_pooled: int  # updates that pooled
    last_pooled: bool
    adam_m: np.ndarray  # Adam of the "gradient" group direction
    adam_v: np.ndarray
    adam_t: int


class Hybrid(Strategy):
    """One-particle swarm over a Gaussian sample cloud, with offspring pooling and annealing (module docstring)."""

    name = "hybrid"
    PARAMS = (
        Param("popsize", 32, "individuals per generation at the start", ge=3),
        Param("popsize_final", 16, "population the annealing tends to", ge=3),
        Param("sigma", 0.2, "initial sampling width", gt=0),
        Param("sigma_final", 0.02, "sampling width the annealing tends to", gt=0),
        Param("decay", 0.97, "annealing factor per epoch", gt=0, le=1),
        Param("lr", 1.0, "position step: theta += lr * v", gt=0),
        Param("inertia", 0.5, "velocity inertia", ge=0),
        C1,
        Param("c2", 1.5, "pull towards the group best", ge=0),
        Param("pool_threshold", 0.95, "pool offspring while the best batch accuracy is below (0: never)", ge=0, le=1),
        Param("pool_fraction", 0.25, "share of the rows that parent offspring", gt=0, le=1),
        Param("pool_keep", 0.5, "share of the offspring the new mean averages", gt=0, le=1),
        Param("n_offspring", 0, "offspring per pooling step (0: the current population)", ge=0),
        Param("v_max", 0.0, "elementwise velocity clamp (0: none)", ge=0),
        Param("group", "best", "group best: the best row, a recombination or an ES step",
              choices=("best", "recombined", "gradient")),
        Param("step", 0.03, "length of the ES step of group 'gradient'", gt=0),
        Param("step_final", 0.0, "ES step the annealing tends to, as sigma does (0: step, not annealed)", ge=0),
    )
    State = HybridState

    @property
    def centroid(self) -> np.ndarray:
        return self.theta

    def initial_state(self, centroid: np.ndarray) -> HybridState:
        zeros = np.zeros_like(centroid)
        return HybridState(centroid, zeros, centroid.copy(), math.inf, None, 0, self.params["sigma"],
                           self.params["popsize"], 0, 0, False, zeros.copy(), zeros.copy(), 0)

    def generate(self, ind_init: Callable[[np.ndarray], Any]) -> list[Any]:
        """``popsize_e`` individuals: theta, the personal best, then Gaussian samples around theta."""
        n = self.popsize_e
        rows = np.empty((n, self.dim))
        rows[0] = self.theta
        rows[1] = self.pbest
        if self.group == "gradient":
            noise = mirrored_noise(self.rng, n - 2, self.dim)
        else:
            noise = self.rng.standard_normal((n - 2, self.dim))
        rows[2:] = self.theta + self.sigma_e * self.scale * noise
        self.particles = rows
        return [ind_init(row.copy()) for row in rows]

    def update(self, population: list, evaluate: Evaluate | None = None) -> None:
        """One step (module docstring); ``evaluate`` scores the pooling offspring, needed only when pooling."""
        rows = self.particles
        matching_genomes(population, rows, atol=1e-6)
        losses = losses_of(population)
        losses = np.where(np.isnan(losses), np.inf, losses)
        pool = bool(accuracies_of(population)[int(np.argmin(losses))] < self.pool_threshold)  # NaN: no pooling
        if pool and evaluate is None:
            raise ValueError(
                "Hybrid.update: the best individual's batch accuracy is below pool_threshold "
                f"({self.pool_threshold}), so offspring pooling needs the evaluate callback "
                "(update(population, evaluate=...)); pass it, or set pool_threshold=0 to disable pooling")

        # 1. personal best: the current mean challenges the champion on this batch
        if losses[0] < losses[1]:
            self.pbest = self.theta.copy()
        pbest_loss = float(min(losses[0], losses[1]))
        r1 = self.rng.random(self.dim)
        r2 = self.rng.random(self.dim)
        # 4. (before 2, because the "gradient" direction uses them) pooling offspring
        offspring = self._offspring(rows, losses, evaluate) if pool else None
        # 2. group best of this generation
        if self.group == "gradient":
            g = self.theta + self.step_e * (self.scale * self._direction(rows, losses, offspring))
        elif self.group == "recombined":
            g = self._recombined(rows, losses)
        else:
            g = rows[int(np.argmin(losses))]
        # 3. velocity
        v = self.inertia * self.v + self.c1 * r1 * (self.pbest - self.theta) + self.c2 * r2 * (g - self.theta)
        if self.v_max > 0:
            v = np.clip(v, -self.v_max * self.scale, self.v_max * self.scale)
        self.v = v
        # 4./5. position: pooled offspring replace the mean, except in "gradient" mode (step 2 used them)
        self.n_pooled += offspring is not None
        if offspring is not None and self.group != "gradient":
            x, _, off_losses = offspring
            order = np.argsort(off_losses, kind="stable")
            if off_losses[order[0]] < pbest_loss:
                self.pbest, pbest_loss = x[order[0]].copy(), float(off_losses[order[0]])
            keep = max(1, math.ceil(self.pool_keep * x.shape[0]))
            self.theta = x[order[:keep]].mean(axis=0)
        else:
            self.theta = self.theta + self.lr * v
        self.pbest_loss = pbest_loss
        self.last_pooled = pool
        self.particles = None
        self.t += 1

    @staticmethod
    def _recombined(rows: np.ndarray, losses: np.ndarray) -> np.ndarray:
        """Weighted mean of the better half of the rows, log-rank weights as in CMA-ES."""
        mu = max(1, rows.shape[0] // 2)
        w = np.log(mu + 0.5) - np.log(np.arange(1, mu + 1))
        return (w / w.sum()) @ rows[np.argsort(losses, kind="stable")[:mu]]

    def _offspring(self, rows: np.ndarray, losses: np.ndarray,
                   evaluate: Evaluate) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Score offspring of the best rows on this batch: (offspring, their noise, their losses)."""
        parents = rows[elite_indices(losses, max(1, math.ceil(self.pool_fraction * rows.shape[0])))]
        offspring, noise, off_losses, _ = breed(self.rng, parents, self.n_offspring or self.popsize_e,
                                                self.sigma_e * self.scale, evaluate)
        return offspring, noise, np.where(np.isnan(off_losses), np.inf, off_losses)

    def _direction(self, rows: np.ndarray, losses: np.ndarray,
                   offspring: tuple[np.ndarray, np.ndarray, np.ndarray] | None) -> np.ndarray:
        """Adam-normalised centred-rank ES direction from the Gaussian rows (and the offspring)."""
        noise = (rows[2:] - self.theta) / (self.sigma_e * self.scale)
        utility = -compute_centered_ranks(losses[2:])
        grad_sum, count = utility @ noise, noise.shape[0]
        if offspring is not None:
            _, off_noise, off_losses = offspring
            grad_sum = grad_sum - compute_centered_ranks(off_losses) @ off_noise
            count += off_noise.shape[0]
        grad = grad_sum / (count * self.sigma_e)
        self.adam_t += 1
        self.adam_m, self.adam_v, direction = adam_update(self.adam_m, self.adam_v, self.adam_t, grad)
        return direction

    @property
    def step_e(self) -> float:
        """The annealed ES step of group 'gradient' (``step`` itself while ``step_final`` is 0)."""
        if self.step_final == 0:
            return self.step
        return self.step_final + (self.step - self.step_final) * self.decay ** self.epoch

    def end_epoch(self) -> None:
        """Anneal the sampling width and the population size (module docstring)."""
        self.epoch += 1
        f = self.decay ** self.epoch
        self.sigma_e = self.sigma_final + (self.sigma - self.sigma_final) * f
        self.popsize_e = max(3, int(round(self.popsize_final + (self.popsize - self.popsize_final) * f)))
