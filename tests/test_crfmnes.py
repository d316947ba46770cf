"""CR-FM-NES (``cr-fm-nes``): its constants, one update against the equations, the
infeasible-sample ranking, convergence in 10-D, and evaluations to a target
against the authors' published figures (the shared checks are in
test_strategy_conformance.py).

Published figures.  The authors' implementation (github.com/nomuramasahir0/crfmnes,
commit df30db19b5446fbcd5e7f62cd951fc5ad583932c, ``tests/test_ellipsoid.py``,
``tests/test_ktablet.py``, ``tests/test_rosenbrock_chain.py``) states for each problem
the mean and standard deviation of the evaluations CR-FM-NES needs to reach
``f < 1e-12``, as ``allowable_evals = (mean + sd*3) * 1e3`` (its comment: "2 sigma"),
with ``m0 = (3, ..., 3)`` (Rosenbrock: ``0``), ``sigma0 = 2`` and the lambda it gives:

    ellipsoid  f = sum_i (1000^((i-1)/(N-1)) x_i)^2    N=40, lambda=16:  8.8e3 +- 0.5e3
                                                         N=80, lambda=16: 17.5e3 +- 0.6e3
    k-tablet   f = sum_{i<=N/4} x_i^2 + sum_{i>N/4} (100 x_i)^2
                                                         N=40, lambda=16:  9.1e3 +- 0.6e3
                                                         N=80, lambda=16: 18.6e3 +- 0.8e3
    Rosenbrock (chain)                                   N=40, lambda=40: 52.2e3 +- 1.5e3

(The CEC paper's own tables are for N = 200, 600, 1000 and were not available
offline to check; these are the authors' figures for the same algorithm.)  The
check: the mean over a few seeds of ``lambda * generations`` until the best sample of a
generation has ``f < 1e-12`` lies within 15% of the published mean.  ``python
tests/test_crfmnes.py`` prints the table, with the 100-D sphere and ellipsoid at the
default population size (``lambda = 18``) and target ``1e-8`` as well (no published
figure for these: the authors' code at the commit above, run here with the same
start, ``m0 = 3``, ``sigma0 = 2``, seeds 0-2, took 8484 (sphere) and 18966 (ellipsoid)
evaluations on average; this implementation, fed the same normal draws, follows the
authors' trajectory to rounding error).
"""
from __future__ import annotations

import math

import numpy as np
import pytest

from bioevo.strategies.crfmnes import CRFMNES, default_popsize, h_inv, ranking
from bioevo.bench_strategies import CRFMNES_FUNCTIONS as FUNCTIONS, CRFMNES_PUBLISHED as PUBLISHED
from bioevo.bench_strategies import crfmnes_evaluations_to_target as evaluations_to_target
from bioevo.bench_strategies import crfmnes_mean_evaluations, report, rosenbrock, sphere
from strategy_testing import Individual, population, scored


TOLERANCE = 0.15  # relative, on the mean of SEEDS runs
SEEDS = range(3)


def test_defaults_follow_the_authors_constants():
    s = CRFMNES(np.zeros(100), 0)
    assert s.popsize == default_popsize(100) == 18  # 4 + floor(3 ln 100) = 17, made even
    assert CRFMNES(np.zeros(3), 0).popsize == 8  # 4 + floor(3.3) = 7 -> 8
    lam, n = 18, 100
    w_hat = np.maximum(0, math.log(lam / 2 + 1) - np.log(np.arange(1, lam + 1)))
    w = w_hat / w_hat.sum() - 1 / lam
    np.testing.assert_allclose(s.w_rank, w, rtol=1e-14)
    assert abs(w.sum()) < 1e-14 and np.all(w[lam // 2:] == -1 / lam)
    mueff = 1 / np.sum((w + 1 / lam) ** 2)
    assert s.mueff == pytest.approx(mueff, rel=1e-14)
    assert s.c_sigma == pytest.approx((mueff + 2) / (n + mueff + 5), rel=1e-14)
    assert s.c_c == pytest.approx((4 + mueff / n) / (n + 4 + 2 * mueff / n), rel=1e-14)
    assert s.c1(lam) == pytest.approx(2 / ((n + 1.3) ** 2 + mueff) * (n - 5) / 6, rel=1e-14)
    assert s.c1(lam // 2) == pytest.approx(s.c1(lam) / 2, rel=1e-14)  # scaled by lambda_F / lambda
    assert s.eta_b(lam) == pytest.approx(math.tanh((min(0.02 * lam, 3 * math.log(n)) + 5) / (0.23 * n + 25)))
    chi = s.chi_n
    assert s.eta_sigma(chi, lam) == 1.0
    assert s.eta_sigma(0.5 * chi, lam) == pytest.approx(math.tanh((0.024 * lam + 0.7 * n + 20) / (n + 12)))
    assert s.eta_sigma(0.05 * chi, lam) == pytest.approx(2 * math.tanh((0.025 * lam + 0.75 * n + 10) / (n + 4)))
    a = h_inv(n)
    assert (1 + a * a) * math.exp(a * a / 2) / 0.24 - 10 - n == pytest.approx(0, abs=1e-9)
    assert s.alpha_dist(lam) == pytest.approx(a * math.sqrt(lam / n))
    np.testing.assert_array_equal(s.D, np.ones(n))
    assert s.sigma == 0.1 and np.linalg.norm(s.v) == pytest.approx(1, abs=0.3)  # v ~ N(0, I/N)


def test_odd_popsize_refused():
    with pytest.raises(ValueError, match=r"^strategy\.cr-fm-nes\.popsize must be 0 .* or an even integer >= 2, got 7$"):
        CRFMNES(np.zeros(3), 0, popsize=7)


def test_samples_are_mirrored_and_shaped_by_d_and_v():
    scale = np.array([1.0, 0.5, 2.0, 1.0])
    s = CRFMNES(np.arange(4.0), 2, popsize=6, sigma=0.3, scale=scale)
    s.D = np.array([1.0, 2.0, 0.5, 1.0])
    x = np.asarray(s.generate(Individual))
    z = s.z
    np.testing.assert_array_equal(z[1::2], -z[0::2])
    # Cov(y) = I + v v^T: y = A z with A the symmetric square root of I + v v^T
    w, q = np.linalg.eigh(np.eye(4) + np.outer(s.v, s.v))
    a = q @ np.diag(np.sqrt(w)) @ q.T
    np.testing.assert_allclose(x, np.arange(4.0) + 0.3 * scale * s.D * (z @ a), rtol=1e-12, atol=1e-13)


def test_ranking_puts_infeasible_last_by_distance():
    z = np.array([[3.0, 0.0], [0.1, 0.0], [1.0, 1.0], [0.0, 0.5], [2.0, 0.0], [0.2, 0.0]])
    losses = np.array([np.nan, 5.0, np.inf, 1.0, -np.inf, 5.0])
    order, feasible = ranking(losses, z)
    assert feasible == 4  # NaN and +inf are infeasible, -inf is a (very good) loss
    np.testing.assert_array_equal(order, [4, 3, 1, 5, 2, 0])  # ties by position; infeasible by |z|


def test_one_update_by_the_equations():
    """One generation recomputed from the module docstring's equations, with a dense
    natural-gradient-free check of the parts that do not involve s and t."""
    n, lam, sigma = 6, 8, 0.4
    s = CRFMNES(np.full(n, 1.0), 5, popsize=lam, sigma=sigma)
    m0, v0, ps0 = s.centroid.copy(), s.v.copy(), s.ps.copy()
    pop = s.generate(Individual)
    z = s.z.copy()
    losses = sphere(np.asarray(pop))
    losses[3] = np.nan
    s.update(scored(pop, losses))
    order = np.argsort(np.where(np.isnan(losses), np.inf, losses), kind="stable")
    zs = z[order]
    vbar = v0 / np.linalg.norm(v0)
    ys = zs + (math.sqrt(1 + v0 @ v0) - 1) * np.outer(zs @ vbar, vbar)
    w_hat = np.maximum(0, math.log(lam / 2 + 1) - np.log(np.arange(1, lam + 1)))
    w = w_hat / w_hat.sum() - 1 / lam
    mueff = 1 / np.sum((w + 1 / lam) ** 2)
    cs = (mueff + 2) / (n + mueff + 5)
    ps = (1 - cs) * ps0 + math.sqrt(cs * (2 - cs) * mueff) * (w @ zs)
    np.testing.assert_allclose(s.ps, ps, rtol=1e-13)
    chi = math.sqrt(n) * (1 - 1 / (4 * n) + 1 / (21 * n * n))
    if np.linalg.norm(ps) >= chi:  # moving: distance weights with lambda_F = 7
        alpha = h_inv(n) * min(1, math.sqrt(lam / n)) * math.sqrt((lam - 1) / lam)
        wd = w_hat * np.exp(alpha * np.linalg.norm(zs, axis=1))
        w = wd / wd.sum() - 1 / lam
        eta = 1.0
    else:
        eta = s.eta_sigma(np.linalg.norm(ps), lam - 1)
    np.testing.assert_allclose(s.centroid, m0 + sigma * (w @ ys), rtol=1e-13)
    np.testing.assert_allclose(s.sigma, sigma * math.exp(eta / 2 * (w @ (np.sum(zs**2, axis=1) - n)) / n),
                               rtol=1e-13)
    # the shape stays normalised: det(D (I + v v^T)^(1/2) D) = 1
    assert np.prod(s.D) * math.sqrt(1 + s.v @ s.v) == pytest.approx(1.0, rel=1e-12)
    assert s.z is None and s.generation == 1
    with pytest.raises(RuntimeError, match="without a preceding generate"):
        s.update(pop)


def test_update_refuses_a_foreign_population():
    s = CRFMNES(np.zeros(3), 0, popsize=4)
    pop = s.generate(Individual)
    with pytest.raises(ValueError, match="does not match the last generate"):
        s.update(population(np.asarray(pop)[::-1], [1.0, 2.0, 3.0, 4.0]))


@pytest.mark.parametrize("name, max_evals", [("sphere", 2500), ("ellipsoid", 9000)])
def test_10d_reaches_1e_minus_8(name, max_evals):
    """10-D, lambda = 10 (the default), m0 = 3, sigma0 = 2, the authors' start."""
    for seed in range(3):
        evals = evaluations_to_target(FUNCTIONS[name], 10, 3.0, 2.0, 0, 1e-8, seed, max_evals)
        assert evals is not None


def test_all_nan_generation_does_not_break_it():
    s = CRFMNES(np.full(5, 1.0), 0, popsize=6, sigma=0.5)
    s.update(scored(s.generate(Individual), [np.nan] * 6))
    assert np.all(np.isfinite(s.centroid)) and np.isfinite(s.sigma) and np.all(np.isfinite(s.D))
    for _ in range(200):
        pop = s.generate(Individual)
        s.update(scored(pop, sphere(np.asarray(pop))))
    assert sphere(s.centroid) < 1e-6


def test_solves_the_nonseparable_rosenbrock_in_10d():
    """Rosenbrock (chain, optimum at 1) from 0 with sigma0 = 2, lambda = 10, as the authors start it."""
    for seed in range(2):
        assert evaluations_to_target(rosenbrock, 10, 0.0, 2.0, 0, 1e-8, seed, 20000) is not None


@pytest.mark.slow
@pytest.mark.parametrize("name, dim, lam, x0, mean, sd", PUBLISHED, ids=[f"{p[0]}-{p[1]}" for p in PUBLISHED])
def test_evaluations_match_the_published_figures(name, dim, lam, x0, mean, sd):
    got = crfmnes_mean_evaluations(name, dim, lam, x0, seeds=SEEDS)
    assert got is not None and abs(got - mean) <= TOLERANCE * mean, (got, mean)


if __name__ == "__main__":
    report(range(5))
