"""CR-FM-NES: M. Nomura and I. Ono, "Fast Moving Natural Evolution Strategy for
High-Dimensional Problems", IEEE CEC 2022, pp. 1-8 (arXiv:2201.11422).  FM-NES
(Nomura & Ono, IEEE SSCI 2021, arXiv:2108.09455) with the covariance restricted to
``C = D (I + v v^T) D`` so that sampling and update cost O(N) per sample: for
genomes of hundreds to thousands of genes that still have some dependencies.

The search distribution (the paper's "restricted representation" of the covariance)::

    x = m + sigma * scale * D * y,   y = (I + (sqrt(1 + |v|^2) - 1) vbar vbar^T) z,   vbar = v / |v|

so ``Cov(y) = I + v v^T``; ``D`` (N) and ``v`` (N) are the learned shape, ``D``
normalised after every update so that ``det(D (I + v v^T)^(1/2) D) = 1``
(``prod(D) sqrt(1 + |v|^2) = 1``, Alg. 1, the division by ``det(A)^(1/N)``), ``sigma`` the
overall step size.  ``scale`` is the step scales of :mod:`.base` and stays out of the
learned ``D``: the algorithm runs on ``x / scale`` (it is the paper's initial
``D = scale``, with the determinant normalisation applied to the learned factor
only, which keeps every update equivariant to that diagonal rescaling).

One generation (Alg. 1 of the paper; "step 4/6/7" as numbered in evosax's port,
evosax/algorithms/distribution_based/cr_fm_nes.py, which follows Alg. 1; the
constants are those of the authors' implementation, github.com/nomuramasahir0/crfmnes
@ df30db1, ``crfmnes/alg.py``, against which this was checked draw for draw.  The
paper's own equation numbers could not be checked: its text was not available
offline)::

    sample   z_k, k = 1..lambda: mirrored, z_{2j+1} = -z_{2j} (antithetic sampling
             as in FM-NES; lambda must be even)
    rank     by loss, lowest first; NaN and +inf losses are "infeasible" (the paper's
             implicit-constraint handling, after DX-NES-IC: Nomura et al., CEC 2021):
             ranked after all feasible ones, closest to the mean (smallest |z|) first.
             lambda_F = number of feasible samples.
    weights  w_rank_hat_k = max(0, ln(lambda/2 + 1) - ln k),
             w_rank_k = w_rank_hat_k / sum w_rank_hat - 1/lambda,
             mu_eff = 1 / sum (w_rank + 1/lambda)^2
    step 4   p_sigma <- (1 - c_sigma) p_sigma + sqrt(c_sigma (2 - c_sigma) mu_eff) sum_k w_rank_k z_k,
             c_sigma = (mu_eff + 2) / (N + mu_eff + 5)
    step 6   distance weights (used while moving, |p_sigma| >= E|N(0,I)|):
             w_dist_k = w_rank_hat_k exp(alpha |z_k|) / sum_j w_rank_hat_j exp(alpha |z_j|) - 1/lambda,
             alpha = h^-1(N) min(1, sqrt(lambda/N)) sqrt(lambda_F/lambda), h^-1(N) the root a of
             (1 + a^2) exp(a^2/2) / 0.24 - 10 - N = 0; w = w_dist if |p_sigma| >= chi_N else w_rank,
             chi_N = E|N(0,I)| ~ sqrt(N) (1 - 1/(4N) + 1/(21 N^2))
    step 7   learning rate of sigma, the three regimes of FM-NES:
             movement     |p_sigma| >= chi_N:               eta_sigma = 1
             stagnation   0.1 chi_N <= |p_sigma| < chi_N:   eta_sigma = tanh((0.024 lambda_F + 0.7 N + 20) / (N + 12))
             convergence  |p_sigma| < 0.1 chi_N:            eta_sigma = 2 tanh((0.025 lambda_F + 0.75 N + 10) / (N + 4))
    mean     p_c <- (1 - c_c) p_c + sqrt(c_c (2 - c_c) mu_eff) D sum_k w_k y_k,
             c_c = (4 + mu_eff/N) / (N + 4 + 2 mu_eff/N);
             m <- m + eta_m sigma scale D sum_k w_k y_k,   eta_m = 1
    shape    natural gradient of v and D (the closed-form s_k, t_k of the
             restricted Fisher matrix, computed in O(N) per sample as in the authors'
             code, with the "alpha_vd" damping that keeps the update of D defined), from the
             lambda samples y_k with weights eta_B w_k and the rank-one term y = p_c / D
             with weight c_1:
             v <- v + sum t / |v|,   D <- D + D * sum s,   then normalised (above)
             eta_B = tanh((min(0.02 lambda_F, 3 ln N) + 5) / (0.23 N + 25)),
             c_1 = 2 / ((N + 1.3)^2 + mu_eff) * (N - 5) / 6 * lambda_F / lambda
             (c_1 <= 0 for N <= 5: the paper's formula, kept as it is, is meant for N >> 5)
    sigma    sigma <- sigma exp(eta_sigma / 2 * sum_k w_k (|z_k|^2 - N) / N)

Start: ``m`` the centroid, ``D = 1``, ``v ~ N(0, I/N)`` (one ``rng.standard_normal(N)``
draw), ``p_sigma = p_c = 0``, ``sigma`` the hyperparameter.  ``popsize = 0`` means
``lambda = 4 + floor(3 ln N)`` rounded up to even: the authors' code takes lambda from
the user and the paper's experiments set it per problem, so this is CMA-ES's default
made even for mirrored sampling.  ``generate`` draws ``z`` from one
``rng.standard_normal((lambda / 2, N))`` (:func:`.base.mirrored_noise`: rows ``+e0, -e0,
+e1, ...``) and keeps it in the state until ``update``, which refuses a population that
is not the generated one.

Known limitation (the algorithm's, not guarded here): on a quadratic with one long
axis along the diagonal, ``1e4 |x - (u.x) u|^2 + (u.x)^2``, ``u = 1/sqrt(N)``, N = 20,
lambda = 12, ``|v|`` grew without bound and the run ended in NaN after a few hundred
generations, with the authors' code as with this one (same draws, same trajectory).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from .base import Evaluate, Param, losses_of, matching_genomes, mirrored_noise
from .cma import AutoPopsize


def h_inv(dim: int) -> float:
    """The root ``a > 0`` of ``(1 + a^2) exp(a^2 / 2) / 0.24 - 10 - dim`` (the base of the
    distance weights' exponent ``alpha``)."""
    from scipy.optimize import brentq  # here: importing scipy.optimize costs every bioevo process 0.3 s

    def f(a: float) -> float:
        return (1.0 + a * a) * math.exp(a * a / 2.0) / 0.24 - 10.0 - dim
    return float(brentq(f, 0.0, 1.0 + math.sqrt(2.0 * math.log(10.0 + dim)), xtol=1e-14))


def default_popsize(dim: int) -> int:
    """``4 + floor(3 ln N)``, rounded up to an even number (mirrored sampling)."""
    lam = int(4 + 3 * math.log(dim))
    return lam + lam % 2


def ranking(losses: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, int]:
    """The order of the samples, best first, and the number of feasible ones: finite (or
    -inf) losses ascending, ties by position; then NaN / +inf ("infeasible") by ``|z|``
    ascending, ties by position."""
    losses = np.asarray(losses, dtype=np.float64)
    feasible = ~(np.isnan(losses) | (losses == np.inf))
    good = np.flatnonzero(feasible)
    bad = np.flatnonzero(~feasible)
    good = good[np.argsort(losses[good], kind="stable")]
    bad = bad[np.argsort(np.einsum("ij,ij->i", z[bad], z[bad]), kind="stable")]
    return np.concatenate([good, bad]), int(good.size)


@dataclass
class CRFMNESState:
    centroid: np.ndarray
    sigma: float
    D: np.ndarray  # learned diagonal (the step scales apart)
    v: np.ndarray  # learned direction of the rank-one part
    pc: np.ndarray  # evolution path of the mean, in units of sigma * scale
    ps: np.ndarray  # evolution path of sigma (in z)
    generation: int
    z: np.ndarray | None  # the pending generate()'s standard-normal rows, None once consumed by update()


class CRFMNES(AutoPopsize):
    """CR-FM-NES (module docstring): the mean is ``centroid``."""

    name = "cr-fm-nes"
    State = CRFMNESState
    PARAMS = (Param("popsize", 0, "individuals per generation, even (0: 4 + floor(3 ln N) rounded up to even)",
                    ge=0),
              Param("sigma", 0.1, "initial step size", gt=0))

    @classmethod
    def check(cls, params: dict[str, Any]) -> None:
        lam = params["popsize"]
        if lam == 1 or lam % 2:
            raise cls.refuse("popsize", lam, "0 (4 + floor(3 ln N) rounded up to even) or an even integer >= 2")

    def setup(self, dim: int) -> None:
        n = dim
        lam = self.lambda_ = self.params["popsize"] or default_popsize(n)
        self.mu = lam // 2
        w_hat = np.maximum(0.0, math.log(lam / 2 + 1) - np.log(np.arange(1, lam + 1)))
        self.w_rank_hat = w_hat
        self.w_rank = w_hat / w_hat.sum() - 1.0 / lam
        self.mueff = float(1.0 / np.sum((self.w_rank + 1.0 / lam) ** 2))
        self.c_sigma = (self.mueff + 2.0) / (n + self.mueff + 5.0)
        self.c_c = (4.0 + self.mueff / n) / (n + 4.0 + 2.0 * self.mueff / n)
        self.c1_cma = 2.0 / ((n + 1.3) ** 2 + self.mueff)
        self.chi_n = math.sqrt(n) * (1.0 - 1.0 / (4.0 * n) + 1.0 / (21.0 * n * n))
        self.h_inv = h_inv(n)
        self.eta_m = 1.0

    def initial_state(self, centroid: np.ndarray) -> CRFMNESState:
        n = centroid.size
        v = self.rng.standard_normal(n) / math.sqrt(n)
        return CRFMNESState(centroid, self.params["sigma"], np.ones(n), v, np.zeros(n), np.zeros(n), 0, None)

    # learning rates that depend on the number of feasible samples lambda_F
    def alpha_dist(self, lam_f: int) -> float:
        return self.h_inv * min(1.0, math.sqrt(self.lambda_ / self.dim)) * math.sqrt(lam_f / self.lambda_)

    def eta_sigma(self, ps_norm: float, lam_f: int) -> float:
        n = self.dim
        if ps_norm >= self.chi_n:  # movement
            return 1.0
        if ps_norm >= 0.1 * self.chi_n:  # stagnation
            return math.tanh((0.024 * lam_f + 0.7 * n + 20.0) / (n + 12.0))
        return 2.0 * math.tanh((0.025 * lam_f + 0.75 * n + 10.0) / (n + 4.0))  # convergence

    def eta_b(self, lam_f: int) -> float:
        n = self.dim
        return math.tanh((min(0.02 * lam_f, 3.0 * math.log(n)) + 5.0) / (0.23 * n + 25.0))

    def c1(self, lam_f: int) -> float:
        return self.c1_cma * (self.dim - 5) / 6.0 * (lam_f / self.lambda_)

    def shaped(self, z: np.ndarray) -> np.ndarray:
        """``y = (I + (sqrt(1 + |v|^2) - 1) vbar vbar^T) z`` for rows ``z``."""
        nv2 = float(self.v @ self.v)
        vbar = self.v / math.sqrt(nv2)
        return z + (math.sqrt(1.0 + nv2) - 1.0) * np.outer(z @ vbar, vbar)

    def samples(self, z: np.ndarray) -> np.ndarray:
        return self.centroid + self.sigma * (self.scale * self.D) * self.shaped(z)

    def generate(self, ind_init: Callable[[np.ndarray], Any]) -> list:
        self.z = mirrored_noise(self.rng, self.lambda_, self.dim)
        return [ind_init(x) for x in self.samples(self.z)]

    def update(self, population: list, evaluate: Evaluate | None = None) -> None:
        """One generation from the losses of the last generated population (``evaluate`` is not needed)."""
        expected = None if self.z is None else self.samples(self.z)
        matching_genomes(population, expected, atol=1e-6 * self.sigma * float(np.min(self.scale * self.D)))
        order, lam_f = ranking(losses_of(population), self.z)
        z = self.z[order]
        y = self.shaped(z)
        n = self.dim

        # step 4: evolution path of sigma (always the rank weights)
        self.ps = (1.0 - self.c_sigma) * self.ps + math.sqrt(self.c_sigma * (2.0 - self.c_sigma) * self.mueff) * (
            self.w_rank @ z)
        ps_norm = float(np.linalg.norm(self.ps))
        # step 6: distance weights while moving; the exponent is shifted by its maximum (cancels in the ratio)
        if ps_norm >= self.chi_n:
            r = self.alpha_dist(lam_f) * np.sqrt(np.einsum("ij,ij->i", z, z))
            w = self.w_rank_hat * np.exp(r - r.max())
            weights = w / w.sum() - 1.0 / self.lambda_
        else:
            weights = self.w_rank
        # step 7: learning rate of sigma
        eta_sigma = self.eta_sigma(ps_norm, lam_f)

        # mean and its evolution path (y-units: x - m = sigma * scale * D * y)
        wy = weights @ y
        self.pc = (1.0 - self.c_c) * self.pc + math.sqrt(self.c_c * (2.0 - self.c_c) * self.mueff) * (self.D * wy)
        self.centroid = self.centroid + self.eta_m * self.sigma * (self.scale * self.D) * wy

        # natural gradient of v and D from the lambda samples and the rank-one term p_c / D
        s, t = self.shape_gradients(np.vstack([y, self.pc / self.D]))
        coef = np.append(self.eta_b(lam_f) * weights, self.c1(lam_f))
        nv = math.sqrt(float(self.v @ self.v))
        self.v = self.v + (coef @ t) / nv
        self.D = self.D + (coef @ s) * self.D
        # det normalisation: D^N sqrt(1 + |v|^2) = 1
        self.D = self.D / math.exp(float(np.sum(np.log(self.D))) / n + math.log1p(float(self.v @ self.v)) / (2 * n))

        # sigma: weighted |z|^2 against its expectation N
        g_sigma = float(weights @ (np.einsum("ij,ij->i", z, z) - n)) / n
        self.sigma = self.sigma * math.exp(eta_sigma / 2.0 * g_sigma)
        self.generation += 1
        self.z = None

    def shape_gradients(self, yy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per row of ``yy`` (samples in y-units), the natural-gradient directions ``s`` (for
        D, relative) and ``t`` (for v) of the restricted model, each (rows, N), O(N) a row."""
        nv2 = float(self.v @ self.v)
        nv4 = nv2 * nv2
        vbar = self.v / math.sqrt(nv2)
        vb2 = vbar * vbar
        gam = 1.0 + nv2
        a = min(1.0, math.sqrt(nv4 + (2.0 * gam - math.sqrt(gam)) / float(vb2.max())) / (2.0 + nv2))
        a2 = a * a
        yv = yy @ vbar
        t = yy * yv[:, None] - np.outer((yv * yv + gam) / 2.0, vbar)
        b = -(1.0 - a2) * nv4 / gam + 2.0 * a2
        inv_h = 1.0 / (2.0 - (b + 2.0 * a2) * vb2)
        s = yy * yy - (nv2 / gam) * (yy * vbar) * yv[:, None] - 1.0
        s = s - (a / gam) * ((2.0 + nv2) * (t * vbar) - nv2 * np.outer(t @ vbar, vb2))
        ihv = inv_h * vb2
        s = s * inv_h - (b / (1.0 + b * float(vb2 @ ihv))) * np.outer(s @ ihv, ihv)
        t = t - a * ((2.0 + nv2) * (s * vbar) - np.outer(s @ vb2, vbar))
        return s, t
