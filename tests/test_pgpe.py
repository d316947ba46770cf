"""PGPE with ClipUp: one update by hand, the estimator's expected values, ClipUp's speed
limit, mirrored pairs, NaN losses, convergence, and the authors' published Rastrigin run
(the shared checks are in test_strategy_conformance.py).

Published figure.  No generation counts for PGPE(+ClipUp) on the sphere or the
ellipsoid to 1e-8 (or any target) were found: Toklu et al. 2020 report RL tasks
(LunarLanderContinuous, Walker2d, Humanoid), and a fixed ``max_speed`` keeps the mean
jittering at about ``center_lr`` from the optimum, so 1e-8 is out of reach by design.
What the authors did publish on a test function is the example notebook of their
reference implementation, pgpelib (github.com/nnaisense/pgpelib,
``examples/01-rastrigin.ipynb``): 100-D Rastrigin from x0 ~ U(-5.12, 5.12), popsize 250,
center_lr 0.03, max_speed 0.06, stdev_init 1.0, stdev_lr 0.1, stdev_max_change 0.2,
centred ranks; its printed cost of the centre (every 100 iterations) is 12.6 at 2500,
first below 5 at 2600 (3.88), and 1.28-2.55 from 2800 to 5000 (1.83 at 5000).  One
unseeded run, so :func:`test_pgpelib_rastrigin_run` allows first-below-5 within
2600 +- 25% and a mean cost over generations 4001-5000 below 3 (measured here, seeds
0 and 1: first below 5 at 2581 and 2576, final cost 1.79 and 1.84).
"""
from __future__ import annotations

import math

import numpy as np
import pytest

from bioevo.strategies.pgpe import PGPE, clipup_step, pgpe_gradients, shaped_fitness
from bioevo.bench_strategies import one_generation, ellipsoid, rastrigin, sphere
from bioevo.bench_strategies import pgpe_generations_to as generations_to
from bioevo.bench_strategies import pgpe_rastrigin_run as pgpelib_rastrigin_run
from bioevo.bench_strategies import pgpe_sphere_ellipsoid_100d as sphere_ellipsoid_100d
from strategy_testing import Individual, population


def generation(s: PGPE, f, losses=None) -> None:
    one_generation(s, f, losses)


# -- by hand ---------------------------------------------------------------------------------

def test_one_update_hand_computed():
    # N = 2, two mirrored pairs, sigma0 = 0.5, ClipUp's first step: v = alpha g / |g| (|v| < max_speed)
    s = PGPE(np.array([1.0, -1.0]), 3, popsize=4, stdev_init=0.5, max_speed=0.3, center_lr=0.1)
    pop = s.generate(Individual)
    z = np.random.default_rng(3).standard_normal((2, 2))
    np.testing.assert_allclose(np.array(pop), [[1, -1] + 0.5 * z[0], [1, -1] - 0.5 * z[0],
                                               [1, -1] + 0.5 * z[1], [1, -1] - 0.5 * z[1]], rtol=0, atol=1e-15)
    losses = [0.4, 0.1, 0.3, 0.9]
    fit = np.array([-1 / 6, 0.5, 1 / 6, -0.5])  # ascending losses 0.1, 0.3, 0.4, 0.9 get +0.5, +1/6, -1/6, -0.5
    np.testing.assert_allclose(shaped_fitness(np.array(losses), True), fit, rtol=1e-15)
    eps = 0.5 * z
    g_mu = ((fit[0] - fit[1]) / 2 * eps[0] + (fit[2] - fit[3]) / 2 * eps[1]) / 2
    b = 0.0  # centred ranks average to zero
    g_sigma = (((fit[0] + fit[1]) / 2 - b) * (eps[0] ** 2 - 0.25) / 0.5
               + ((fit[2] + fit[3]) / 2 - b) * (eps[1] ** 2 - 0.25) / 0.5) / 2
    s.update(population(pop, losses))
    np.testing.assert_allclose(s.velocity, 0.1 * g_mu / np.linalg.norm(g_mu), rtol=1e-14)
    np.testing.assert_allclose(s.centroid, [1, -1] + 0.1 * g_mu / np.linalg.norm(g_mu), rtol=1e-14)
    np.testing.assert_allclose(s.std, np.clip(0.5 + 0.1 * g_sigma, 0.4, 0.6), rtol=1e-14)
    assert s.t == s.generation == 1 and s.noise is None


def test_defaults_follow_the_authors_recipe():
    s = PGPE(np.zeros(400), 0)
    assert s.popsize == 64
    np.testing.assert_array_equal(s.std, np.full(400, 0.1))
    assert s.speed == pytest.approx(0.1 * math.sqrt(400) / 15, rel=1e-15)  # radius = 15 max_speed
    assert s.step_size == pytest.approx(s.speed / 2, rel=1e-15)  # alpha = max_speed / 2
    r = PGPE(np.zeros(400), 0, radius_init=3.0, max_speed=0.5)
    np.testing.assert_allclose(r.std, np.full(400, 3.0 / 20), rtol=1e-15)
    assert np.linalg.norm(r.std) == pytest.approx(3.0) and r.speed == 0.5 and r.step_size == 0.25
    assert PGPE(np.zeros(4), 0, optimizer="sgd").step_size == 1.0
    assert PGPE(np.zeros(4), 0, center_lr=0.07).step_size == 0.07
    with pytest.raises(ValueError, match="strategy.pgpe.popsize must be even"):
        PGPE(np.zeros(3), 0, popsize=7)


# -- the estimator (independent expected values) ---------------------------------------------

def test_mirrored_pairs_are_exactly_symmetric():
    c = np.arange(5.0)
    s = PGPE(c, 1, popsize=8, stdev_init=0.3)
    pop = np.array(s.generate(Individual))
    np.testing.assert_array_equal(s.noise[1::2], -s.noise[0::2])
    np.testing.assert_array_equal(pop, c + s.std * s.noise)
    np.testing.assert_allclose(pop[0::2] - c, -(pop[1::2] - c), rtol=0, atol=1e-15)
    assert not np.allclose(pop[0], pop[2])


def test_gradient_on_a_linear_loss_has_the_expected_direction_and_size():
    """Loss a.x, raw fitness -a.x: each pair gives (f+ - f-) / 2 eps = -(a.eps) eps, so
    E[g_mu] = -sigma**2 * a (Sehnke's sigma**2-scaled gradient); the pair average equals the
    baseline f(mu) exactly, so g_sigma = 0: a linear loss never changes the widths."""
    rng = np.random.default_rng(0)
    a, sigma, n = np.array([1.0, -2.0, 0.5]), np.array([0.2, 0.1, 0.4]), 40000
    z = np.repeat(rng.standard_normal((n, 3)), 2, axis=0)
    z[1::2] *= -1
    losses = (np.ones(3) + sigma * z) @ a
    g_mu, g_sigma = pgpe_gradients(shaped_fitness(losses, False), z, sigma)
    np.testing.assert_allclose(g_mu, -sigma**2 * a, rtol=0.03)
    np.testing.assert_allclose(g_sigma, 0.0, atol=1e-12)
    ranked, _ = pgpe_gradients(shaped_fitness(losses, True), z, sigma)  # ranks: same direction
    cos = -ranked @ (sigma**2 * a) / (np.linalg.norm(ranked) * np.linalg.norm(sigma**2 * a))
    assert cos > 0.99


def test_sigma_gradient_on_the_sphere_is_minus_two_sigma_cubed():
    """Loss |x|^2 at mu = 0, raw fitness: a pair's average is -|eps|^2, so
    E[g_sigma_j] = -Cov(|eps|^2, eps_j^2) / sigma_j = -2 sigma_j**3 (the widths shrink), E[g_mu] = 0."""
    rng = np.random.default_rng(1)
    sigma, n = np.array([0.5, 1.0, 0.8]), 200000
    z = np.repeat(rng.standard_normal((n, 3)), 2, axis=0)
    z[1::2] *= -1
    g_mu, g_sigma = pgpe_gradients(shaped_fitness(sphere(sigma * z), False), z, sigma)
    np.testing.assert_allclose(g_sigma, -2 * sigma**3, rtol=0.03)
    np.testing.assert_array_equal(g_mu, 0.0)  # f+ = f-: symmetric sampling cancels even functions


# -- ClipUp -----------------------------------------------------------------------------------

def test_clipup_algorithm_1():
    v = clipup_step(np.zeros(2), np.array([3.0, 4.0]), 0.1, 0.9, 1.0)
    np.testing.assert_allclose(v, [0.06, 0.08], rtol=1e-15)  # alpha g / |g|
    v = clipup_step(np.array([0.0, 0.5]), np.array([0.0, -7.0]), 0.1, 0.9, 1.0)
    np.testing.assert_allclose(v, [0.0, 0.35], rtol=1e-15)  # m v + alpha g / |g|
    v = clipup_step(np.array([2.0, 0.0]), np.array([1.0, 0.0]), 0.5, 0.9, 1.0)
    np.testing.assert_allclose(v, [1.0, 0.0], rtol=1e-15)  # |2.3| clipped to max_speed
    np.testing.assert_array_equal(clipup_step(np.array([1.0, 0.0]), np.zeros(2), 0.5, 0.9, 2.0), [0.9, 0.0])


@pytest.mark.parametrize("f", [sphere, ellipsoid, rastrigin])
def test_clipup_speed_never_exceeds_max_speed(f):
    scale = np.linspace(0.5, 2.0, 10)
    s = PGPE(np.full(10, 3.0) * scale, 2, popsize=20, max_speed=0.05, scale=scale)
    speeds = []
    for _ in range(200):
        before = s.centroid.copy()
        generation(s, lambda x: f(x / scale))
        speeds.append(np.linalg.norm((s.centroid - before) / scale))  # in units of the scale
        assert np.linalg.norm(s.velocity) <= 0.05 * (1 + 1e-12)
    assert max(speeds) <= 0.05 * (1 + 1e-12)
    assert max(speeds) > 0.05 * (1 - 1e-9)  # and it does travel at max_speed when far away


def test_clipup_travels_at_max_speed_on_a_consistent_gradient():
    """From |x0| = D the mean cannot reach the sphere's radius r before (D - r) / max_speed
    generations; with a consistent gradient ClipUp's velocity saturates (alpha / (1 - m) = 5 v_max),
    so it takes little more (10-D, defaults: measured 159-160, bound 145)."""
    s = PGPE(np.ones(10), 0, popsize=20)
    g = generations_to(s, sphere, 1e-2, 400)
    bound = (math.sqrt(10) - 0.1) / s.speed
    assert g is not None and bound <= g <= 1.2 * bound


# -- robustness ------------------------------------------------------------------------------

@pytest.mark.parametrize("ranking", [True, False])
def test_nan_losses_count_as_worst(ranking):
    s = PGPE(np.ones(6), 4, popsize=12, ranking=ranking)

    def f(x):
        out = sphere(x)
        out[::5] = np.nan  # every fifth individual fails
        return out
    for _ in range(300):
        generation(s, f)
    assert np.all(np.isfinite(s.centroid)) and np.all(np.isfinite(s.std)) and np.all(s.std > 0)
    assert sphere(s.centroid) < 0.01 * sphere(np.ones(6))


def test_all_nan_losses_move_only_the_momentum():
    s = PGPE(np.zeros(4), 5, popsize=6, max_speed=0.2)
    generation(s, sphere, losses=[1.0, 2.0, 0.5, 0.7, 3.0, 0.1])
    v, c, std = s.velocity.copy(), s.centroid.copy(), s.std.copy()
    generation(s, sphere, losses=[np.nan] * 6)
    np.testing.assert_allclose(s.velocity, 0.9 * v, rtol=1e-15)
    np.testing.assert_allclose(s.centroid, c + 0.9 * v, rtol=1e-15)
    np.testing.assert_array_equal(s.std, std)


# -- convergence (fast) -----------------------------------------------------------------------

@pytest.mark.parametrize("optimizer", ["clipup", "adam", "sgd"])
def test_10d_sphere(optimizer):
    # clipup, defaults: f < 1e-2 after 159-160 generations (seeds 0-2), bounded below by ClipUp's speed
    params = {"adam": {"center_lr": 0.05}}.get(optimizer, {})
    g = generations_to(PGPE(np.ones(10), 0, popsize=20, optimizer=optimizer, **params), sphere, 1e-2, 400)
    assert g is not None and g <= 250


def test_10d_ellipsoid():
    # f = sum 1000^((i-1)/(n-1)) x_i^2 from ones (f0 = 2.2e3): f < 1e-1 after 235-252 generations (seeds 0-2)
    g = generations_to(PGPE(np.ones(10), 1, popsize=20), ellipsoid, 1e-1, 400)
    assert g is not None and g <= 320


def test_plateau_is_set_by_the_step_size():
    """A fixed ClipUp step keeps the mean jittering near the optimum: halving center_lr and
    max_speed lowers the sphere's plateau (not a convergence to 1e-8)."""
    ends = []
    for speed in (0.04, 0.01):
        s = PGPE(np.ones(10), 2, popsize=20, max_speed=speed)
        late = []
        for g in range(900):
            generation(s, sphere)
            late += [sphere(s.centroid)] if g >= 800 else []
        ends.append(np.mean(late))
    assert ends[1] < ends[0] / 4


# -- the authors' published Rastrigin run (slow) ------------------------------------------------

@pytest.mark.slow
def test_pgpelib_rastrigin_run():
    out = pgpelib_rastrigin_run(0)
    assert out["first_below_5"] is not None and 1950 <= out["first_below_5"] <= 3250, out
    assert out["mean_cost_last_1000"] < 3.0, out


def test_100d_sphere_and_ellipsoid():
    out = sphere_ellipsoid_100d()
    assert out["sphere"] is not None and out["sphere_lower_bound"] <= out["sphere"] <= 1.3 * out["sphere_lower_bound"], out
    assert out["ellipsoid"] is not None and out["ellipsoid"] <= 500, out
