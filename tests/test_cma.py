"""CMAES (DEAP) and SeparableCMAES: hand-computed steps and what only they do (the
shared checks are in test_strategy_conformance.py)."""
import math

import numpy as np
import pytest
from deap import benchmarks
from deap import cma as deap_cma

from bioevo.strategies.cma import CMAES, SeparableCMAES
from strategy_testing import Individual, assert_refused, population, run


# ----------------------------------------------------------------------------- CMAES (DEAP)
def test_defaults_and_popsize():
    assert CMAES.DEFAULTS == SeparableCMAES.DEFAULTS == {"popsize": 0, "sigma": 0.1}
    assert CMAES(np.zeros(10), 0).lambda_ == int(4 + 3 * math.log(10)) == 10
    assert CMAES(np.zeros(10), 0, popsize=12).lambda_ == 12
    assert SeparableCMAES(np.zeros(2000), 0).lambda_ == int(4 + 3 * math.log(2000)) == 26
    assert SeparableCMAES(np.zeros(10), 0, popsize=7).mu == 3


@pytest.mark.parametrize("cls", [CMAES, SeparableCMAES])
def test_popsize_one_refused(cls):
    assert_refused(cls, f"strategy.{cls.name}.popsize", popsize=1)


def test_first_generation_equals_deap_and_global_state_untouched():
    c = np.array([1.0, -2.0, 0.5, 3.0])
    cma = CMAES(c, 7, sigma=0.3)
    np.random.seed(123)
    caller = np.random.get_state()

    pop = cma.generate(Individual)
    after = np.random.get_state()  # the caller's global state is restored
    assert after[0] == caller[0] and np.array_equal(after[1], caller[1]) and after[2:] == caller[2:]

    seed = int(np.random.default_rng(7).integers(2**32))  # the documented seeding
    np.random.seed(seed)
    ref = deap_cma.Strategy(c, 0.3).generate(Individual)
    np.random.set_state(caller)
    np.testing.assert_array_equal(np.asarray(pop), np.asarray(ref))
    assert len(pop) == int(4 + 3 * math.log(4)) and all(isinstance(i, Individual) for i in pop)
    # the second generation continues DEAP's stream, not a reseeded one
    np.random.seed(seed)
    ref_s = deap_cma.Strategy(c, 0.3)
    ref_s.generate(list)
    second_ref = np.asarray(ref_s.generate(list))
    np.random.set_state(caller)
    np.testing.assert_array_equal(np.asarray(cma.generate(list)), second_ref)


def test_update_equals_deap_update_without_reordering_caller_list():
    c = np.array([2.0, -1.0, 0.5])
    cma = CMAES(c, 3, popsize=8, sigma=0.5)
    ref = deap_cma.Strategy(c, 0.5, lambda_=8)
    for _ in range(4):
        saved = np.random.get_state()
        np.random.set_state(cma.np_random_state)
        ref_pop = ref.generate(Individual)
        np.random.set_state(saved)
        pop = cma.generate(Individual)
        for ind, rind in zip(pop, ref_pop):
            ind.fitness.values = rind.fitness.values = benchmarks.rastrigin(ind)
        order = [id(ind) for ind in pop]
        cma.update(pop)
        ref.update(ref_pop)
        assert [id(ind) for ind in pop] == order
        for k in ("centroid", "C", "B", "diagD", "BD", "pc", "ps"):
            np.testing.assert_array_equal(getattr(cma.strategy, k), getattr(ref, k), err_msg=k)
        assert cma.sigma == ref.sigma and cma.strategy.update_count == ref.update_count
    np.testing.assert_array_equal(cma.centroid, ref.centroid)


def test_nan_loss_ranks_as_worst():
    a, b = CMAES(np.zeros(3), 0, popsize=6), CMAES(np.zeros(3), 0, popsize=6)
    pa, pb = a.generate(Individual), b.generate(Individual)
    losses = [3.0, 1.0, 2.0, 5.0, 4.0, 0.0]
    for i, (x, y) in enumerate(zip(pa, pb)):
        x.fitness.values = (np.nan if i == 0 else losses[i],)
        y.fitness.values = (1e300 if i == 0 else losses[i],)
    a.update(pa)
    b.update(pb)
    np.testing.assert_array_equal(a.centroid, b.centroid)
    np.testing.assert_array_equal(a.strategy.C, b.strategy.C)


# ----------------------------------------------------------------------------- separable CMA-ES
def test_sep_parameters_ros_hansen_2008():
    n = 10
    s = SeparableCMAES(np.zeros(n), 0)  # lambda 10, mu 5
    w = np.log(5.5) - np.log(np.arange(1, 6))
    w /= w.sum()
    mueff = 1 / np.sum(w**2)
    ccov = (1 / mueff) * 2 / (n + 2**0.5) ** 2 + (1 - 1 / mueff) * min(1, (2 * mueff - 1) / ((n + 2) ** 2 + mueff))
    np.testing.assert_allclose(s.weights, w, rtol=1e-14)
    assert s.mueff == pytest.approx(mueff, rel=1e-14)
    assert s.ccov == pytest.approx(ccov * 12 / 3, rel=1e-14)  # (N + 2) / 3 = 4
    assert s.cc == 4 / 14 and s.cs == pytest.approx((mueff + 2) / (n + mueff + 3), rel=1e-14)


def test_sep_one_update_hand_computed():
    # N = 2, lambda = 4, mu = 2: weights (ln 2.5, ln 1.25) / ln 3.125
    s = SeparableCMAES(np.zeros(2), 0, popsize=4, sigma=0.5)
    pop = population([[1.0, 0.0], [0.0, 0.5], [-1.0, -1.0], [0.5, 0.5]], [0.3, 0.1, 0.9, 0.2])
    w1, w2 = math.log(2.5) / math.log(3.125), math.log(1.25) / math.log(3.125)
    x1, x2 = np.array([0.0, 0.5]), np.array([0.5, 0.5])  # losses 0.1, 0.2
    s.update(pop)
    np.testing.assert_allclose(s.centroid, w1 * x1 + w2 * x2, rtol=1e-15)
    y1, y2 = x1 / 0.5, x2 / 0.5
    yw = w1 * y1 + w2 * y2
    mueff = 1 / (w1**2 + w2**2)
    cs = (mueff + 2) / (2 + mueff + 3)
    ps = math.sqrt(cs * (2 - cs) * mueff) * yw  # D = 1 at start
    np.testing.assert_allclose(s.ps, ps, rtol=1e-14)
    chin = math.sqrt(2) * (1 - 1 / 8 + 1 / 84)
    hsig = np.linalg.norm(ps) / math.sqrt(1 - (1 - cs) ** 2) / chin < 1.4 + 2 / 3
    cc = 4 / 6
    pc = hsig * math.sqrt(cc * (2 - cc) * mueff) * yw
    np.testing.assert_allclose(s.pc, pc, rtol=1e-14)
    ccov = s.ccov
    c = (1 - ccov) + ccov / mueff * (pc**2 + (1 - hsig) * cc * (2 - cc)) + ccov * (1 - 1 / mueff) * (
        w1 * y1**2 + w2 * y2**2)
    np.testing.assert_allclose(s.diag_c, c, rtol=1e-14)
    damps = 1 + 2 * max(0, math.sqrt((mueff - 1) / 3) - 1) + cs
    assert s.sigma == pytest.approx(0.5 * math.exp(cs / damps * (np.linalg.norm(ps) / chin - 1)), rel=1e-14)


def test_sep_learns_axis_scaling():
    # separable ellipsoid f = sum 100^(i/(N-1)) x_i^2: sep-CMA must learn c_i ~ 1 / scale_i
    scale = 100.0 ** (np.arange(5) / 4)

    def ellipsoid(x):
        return (float(np.sum(scale * np.square(x))),)

    s = run(SeparableCMAES(np.ones(5), 0, sigma=0.5), ellipsoid, 250)
    ratio = s.diag_c[0] / s.diag_c[-1]
    assert 10 < ratio < 1000  # ideal 100; starts at 1
    assert ellipsoid(s.centroid)[0] < 1e-6 * ellipsoid(np.ones(5))[0]


def test_sep_linear_memory_large_genome():
    s = SeparableCMAES(np.zeros(5000), 0, sigma=0.1)
    s = run(s, benchmarks.sphere, 2)
    assert all(v.size <= 5000 for v in s.state_dict().values() if isinstance(v, np.ndarray))


# ----------------------------------------------------------------------------- both
X0 = np.full(4, 2.5)  # sphere 25, rastrigin 105
MAKERS = {"cmaes": lambda: CMAES(X0, 0, sigma=1.0), "sep_cmaes": lambda: SeparableCMAES(X0, 0, sigma=1.0)}


@pytest.mark.parametrize("name", MAKERS)
@pytest.mark.parametrize("f, bound", [(benchmarks.sphere, 0.01), (benchmarks.rastrigin, 1 / 3)],
                         ids=["sphere", "rastrigin"])
def test_reduces_benchmarks(name, f, bound):
    # 150 generations of the default 8; bounds hold for seeds 0-19 (worst seen: sphere 1e-16, Rastrigin 17.9)
    final = f(run(MAKERS[name](), f, 150).centroid)[0]
    assert final < bound * f(X0)[0]
