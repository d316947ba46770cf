"""ParticleSwarm: hand-computed steps and what only it does (the shared checks are in
test_strategy_conformance.py)."""
import copy

import numpy as np
import pytest
from deap import benchmarks

from bioevo.strategies.pso import ParticleSwarm
from strategy_testing import Individual, assert_refused, rastrigin_basin_min, run, scored


def _step(pso, losses):
    """generate, assign the given losses, update; returns the population."""
    pop = scored(pso.generate(Individual), losses)
    pso.update(pop)
    return pop


def test_initial_positions():
    c = np.array([1.0, -2.0, 0.5])
    pso = ParticleSwarm(c, 7, popsize=5, init_spread=0.3)
    expected = np.vstack([c, c + 0.3 * np.random.default_rng(7).standard_normal((4, 3))])
    pop = pso.generate(Individual)
    assert all(isinstance(ind, Individual) for ind in pop)
    np.testing.assert_array_equal(np.asarray(pop), expected)
    np.testing.assert_array_equal(pso.v, 0.0)
    np.testing.assert_array_equal(pso.centroid, c)  # before any update: the initial centroid
    # generate draws nothing: the same positions again
    np.testing.assert_array_equal(np.asarray(pso.generate(Individual)), expected)


def test_two_steps_match_formula_and_bookkeeping():
    P, D, c1, c2 = 6, 4, 1.3, 1.7
    pso = ParticleSwarm(np.linspace(-1, 1, D), 3, popsize=P, inertia=0.7, c1=c1, c2=c2, init_spread=0.5,
                        v_max=0.0, inertia_decay=0.9, inertia_min=0.6)
    L1 = np.array([5.0, 3.0, 4.0, 9.0, 7.0, 6.0])
    L2 = np.array([6.0, 2.5, 1.0, 8.0, np.nan, 6.0])  # some improve, one NaN, one tie (no improvement)

    # step 1 by hand: all personal bests improve (from +inf), g = particle 1
    x1 = pso.x.copy()
    rng = copy.deepcopy(pso.rng)
    _step(pso, L1)
    r1, r2 = rng.random((P, D)), rng.random((P, D))
    v1 = 0.7 * 0.0 + c1 * r1 * (x1 - x1) + c2 * r2 * (x1[1] - x1)
    np.testing.assert_allclose(pso.v, v1, rtol=1e-15, atol=0)
    np.testing.assert_allclose(pso.x, x1 + v1, rtol=1e-15, atol=0)
    np.testing.assert_array_equal(pso.pbest_loss, L1)
    np.testing.assert_array_equal(pso.gbest_x, x1[1])
    assert pso.gbest_loss == 3.0
    assert pso.w == pytest.approx(0.63)

    # step 2 by hand, from the strategy's state
    x2, v_prev, w = pso.x.copy(), pso.v.copy(), pso.w
    rng = copy.deepcopy(pso.rng)
    _step(pso, L2)
    improved = np.array([False, True, True, True, False, False])
    p = np.where(improved[:, None], x2, x1)
    g = x2[2]  # 1.0 is the lowest loss seen
    r1, r2 = rng.random((P, D)), rng.random((P, D))
    v2 = w * v_prev + c1 * r1 * (p - x2) + c2 * r2 * (g - x2)
    np.testing.assert_allclose(pso.pbest_x, p, rtol=0, atol=0)
    np.testing.assert_array_equal(pso.pbest_loss, [5.0, 2.5, 1.0, 8.0, 7.0, 6.0])
    np.testing.assert_array_equal(pso.gbest_x, g)
    np.testing.assert_array_equal(pso.centroid, g)
    assert pso.gbest_loss == 1.0
    np.testing.assert_allclose(pso.v, v2, rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(pso.x, x2 + v2, rtol=1e-14, atol=1e-15)
    assert pso.w == 0.6  # max(inertia_min, 0.63 * 0.9)
    assert pso.t == 2


def test_global_best_is_best_ever():
    pso = ParticleSwarm(np.zeros(2), 0, popsize=4, v_max=0.0)
    _step(pso, [3.0, 1.0, 2.0, 4.0])
    g = pso.gbest_x.copy()
    _step(pso, [5.0, 5.0, 5.0, 5.0])  # worse everywhere: nothing changes
    np.testing.assert_array_equal(pso.gbest_x, g)
    assert pso.gbest_loss == 1.0
    _step(pso, [np.nan, np.inf, 1.0, 9.0])  # a tie is not an improvement, NaN never is
    np.testing.assert_array_equal(pso.gbest_x, g)
    assert pso.pbest_loss[0] == 3.0


def test_velocity_clamp():
    pso = ParticleSwarm(np.zeros(5), 1, popsize=8, init_spread=3.0, c1=2.0, c2=2.0, v_max=0.05)
    for _ in range(3):
        x = pso.x.copy()
        pop = _step(pso, [benchmarks.sphere(ind)[0] for ind in pso.generate(Individual)])
        assert len(pop) == 8
        assert np.max(np.abs(pso.v)) <= 0.05
        assert np.isclose(np.max(np.abs(pso.v)), 0.05)  # the clamp was active
        np.testing.assert_array_equal(pso.x, x + pso.v)


def test_bounds():
    pso = ParticleSwarm(np.zeros(3), 2, popsize=10, init_spread=5.0, v_max=0.0, c1=2.0, c2=2.0,
                        lower=-1.0, upper=[1.0, 2.0, 0.5])
    hi = np.array([1.0, 2.0, 0.5])
    assert np.all(pso.x >= -1) and np.all(pso.x <= hi)
    assert np.any(pso.x == -1.0) and np.any(pso.x == hi)  # the spread really was clipped
    for _ in range(5):
        _step(pso, [benchmarks.sphere(np.asarray(ind) - 3.0)[0] for ind in pso.generate(Individual)])
        assert np.all(pso.x >= -1) and np.all(pso.x <= hi)
    # None and the infinite defaults both mean unbounded
    a, b = ParticleSwarm(np.zeros(3), 4, init_spread=9.0), ParticleSwarm(np.zeros(3), 4, init_spread=9.0,
                                                                        lower=None, upper=None)
    assert not a.bounded and not b.bounded
    np.testing.assert_array_equal(a.x, b.x)
    with pytest.raises(ValueError, match="within"):
        ParticleSwarm(np.full(3, 2.0), 0, lower=-1.0, upper=1.0)
    with pytest.raises(ValueError, match="lower must be < upper"):
        ParticleSwarm(np.zeros(3), 0, lower=1.0, upper=1.0)
    with pytest.raises(ValueError, match="upper must be None, a number or a sequence of 3"):
        ParticleSwarm(np.zeros(3), 0, upper=[1.0, 2.0])


def test_update_rejects_foreign_population():
    pso = ParticleSwarm(np.zeros(3), 0, popsize=4)
    pop = pso.generate(Individual)
    for ind in pop:
        ind.fitness.values = (1.0,)
    with pytest.raises(ValueError, match="match"):
        pso.update(pop[::-1])
    with pytest.raises(ValueError, match="expected 4"):
        pso.update(pop[:3])
    pso.update(pop)
    with pytest.raises(ValueError, match="match"):  # stale population after the swarm moved
        pso.update(pop)


def test_reduces_sphere():
    x0 = np.full(5, 3.3)
    pso = run(ParticleSwarm(x0, 0, popsize=20), benchmarks.sphere, 100)
    assert benchmarks.sphere(pso.centroid)[0] < 0.1 * benchmarks.sphere(x0)[0]
    assert pso.gbest_loss == benchmarks.sphere(pso.centroid)[0]


def test_reduces_rastrigin():
    # Start (3.3, ...) is 96 in 4 dims; the local minimum of its basin is 35.8.  Ending below that
    # means the swarm left the start's basin, which local descent could not do.
    x0 = np.full(4, 3.3)
    pso = run(ParticleSwarm(x0, 0, popsize=30, init_spread=2.0, v_max=1.0), benchmarks.rastrigin, 150)
    assert benchmarks.rastrigin(pso.centroid)[0] < rastrigin_basin_min(x0) < 0.5 * benchmarks.rastrigin(x0)[0]


def test_inertia_min_above_inertia_refused():
    assert_refused(ParticleSwarm, "strategy.pso.inertia_min", inertia=0.3)


def test_rescore_needs_evaluate():
    pso = ParticleSwarm(np.zeros(3), 0, popsize=4, rescore=True)
    _step_with = scored(pso.generate(Individual), [1.0, 2.0, 3.0, 4.0])
    with pytest.raises(ValueError, match="rescore"):
        pso.update(_step_with)


def test_rescore_compares_on_the_current_batch():
    """A personal best recorded on a lucky batch is scored again: a worse-looking new position that beats it on
    this batch replaces it, and g is the best of the fresh losses even when an old record was lower."""
    pso = ParticleSwarm(np.zeros(2), 1, popsize=3, init_spread=1.0, rescore=True, v_max=0.0)
    x1 = pso.x.copy()
    pso.update(scored(pso.generate(Individual), [0.1, 0.5, 0.9]), evaluate=lambda g: (np.full(len(g), 9.9), None))
    np.testing.assert_array_equal(pso.pbest_loss, [0.1, 0.5, 0.9])  # nothing known before: nothing rescored
    x2 = pso.x.copy()
    seen = []

    def fresh(genomes):  # the same personal bests, scored on a harder batch
        seen.append(genomes.copy())
        return np.array([0.8, 0.6, np.nan]), np.zeros(len(genomes))

    pso.update(scored(pso.generate(Individual), [0.7, 0.65, 5.0]), evaluate=fresh)
    np.testing.assert_array_equal(seen[0], x1)
    # particle 0: 0.7 beats its best's fresh 0.8; particle 1: 0.65 does not beat 0.6; particle 2: fresh NaN -> inf
    np.testing.assert_array_equal(pso.pbest_loss, [0.7, 0.6, 5.0])
    np.testing.assert_array_equal(pso.pbest_x, [x2[0], x1[1], x2[2]])
    assert pso.gbest_loss == 0.6  # above the 0.1 recorded on the first batch
    np.testing.assert_array_equal(pso.gbest_x, x1[1])


def test_rescore_changes_nothing_without_noise():
    """On a deterministic loss the fresh scores equal the recorded ones: the same trajectory bit for bit."""
    f = benchmarks.sphere
    a = run(ParticleSwarm(np.full(6, 2.0), 5, popsize=10), f, 30, with_evaluate=True)
    b = run(ParticleSwarm(np.full(6, 2.0), 5, popsize=10, rescore=True), f, 30, with_evaluate=True)
    np.testing.assert_array_equal(a.x, b.x)
    np.testing.assert_array_equal(a.gbest_x, b.gbest_x)


def test_rescore_keeps_a_noisy_swarm_learning():
    """Minibatch-like noise (one offset per batch, shared by its individuals, as a hard or easy batch is):
    without rescoring the records of the luckiest batches freeze the swarm far from the optimum; with it the
    swarm keeps improving.  Fixed seeds; the gap is an order of magnitude, the margin a factor of 3."""
    def noisy_run(rescore: bool, seed: int) -> float:
        rng = np.random.default_rng(100 + seed)
        pso = ParticleSwarm(np.full(20, 3.0), seed, popsize=16, rescore=rescore, v_max=1.0)
        for _ in range(300):
            offset = 2.0 * rng.standard_normal()
            batch = lambda g, o=offset: (np.sum(np.square(g), axis=1) * (1 + 0.2 * o) + o, np.zeros(len(g)))  # noqa: E731
            pop = pso.generate(Individual)
            scored(pop, batch(np.asarray(pop))[0])
            pso.update(pop, evaluate=batch)
        return float(np.sum(np.square(pso.gbest_x)))

    stale = np.median([noisy_run(False, s) for s in range(3)])
    fresh = np.median([noisy_run(True, s) for s in range(3)])
    assert fresh * 3 < stale, (fresh, stale)
