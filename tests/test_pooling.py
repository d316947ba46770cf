"""Pooling: hand-computed steps and what only it does (the shared checks are in
test_strategy_conformance.py)."""
import copy

import numpy as np
import pytest
from deap import benchmarks

from bioevo.strategies.pooling import Pooling
from strategy_testing import Individual, population, run


def test_defaults():
    DEFAULTS = Pooling.DEFAULTS
    assert DEFAULTS == {"popsize": 32, "parent_fraction": 0.25, "n_offspring": 32, "sigma": 0.1,
                        "keep_fraction": 0.5, "sigma_decay": 1.0}
    p = Pooling(np.zeros(3), 0)
    assert {k: getattr(p, k) for k in DEFAULTS} == DEFAULTS


def test_generate_samples_around_theta():
    p = Pooling(np.arange(3.0), 4, popsize=5, sigma=0.3)
    rng = copy.deepcopy(p.rng)
    pop = p.generate(Individual)
    np.testing.assert_array_equal(np.asarray(pop), np.arange(3.0) + 0.3 * rng.standard_normal((5, 3)))


def test_update_hand_made_population_and_known_offspring_losses():
    p = Pooling(np.zeros(2), 1, popsize=4, parent_fraction=0.5, n_offspring=5, sigma=0.1, keep_fraction=0.4)
    # parents: the 2 lowest losses -> rows 2 (loss 0) then 0 (loss 1)
    pop = population([[1.0, 1.0], [9.0, 9.0], [-1.0, 2.0], [5.0, 5.0]], [1.0, 3.0, 0.0, 2.0])
    noise = copy.deepcopy(p.rng).standard_normal((5, 2))
    seen = {}

    def evaluate(genomes):
        seen["offspring"] = genomes.copy()
        return np.array([4.0, 2.0, 3.0, 0.5, 9.0]), np.array([0.1, 0.2, 0.3, 0.4, 0.5])

    p.update(pop, evaluate=evaluate)
    parents = np.array([[-1.0, 2.0], [1.0, 1.0]])
    expected = parents[[0, 1, 0, 1, 0]] + 0.1 * noise  # round-robin over parents, best first
    np.testing.assert_array_equal(seen["offspring"], expected)
    # keep floor(0.4 * 5) = 2 best offspring: indices 3 (0.5) and 1 (2.0)
    np.testing.assert_array_equal(p.centroid, (expected[3] + expected[1]) / 2)
    np.testing.assert_array_equal(p.last_offspring_losses, [4.0, 2.0, 3.0, 0.5, 9.0])
    np.testing.assert_array_equal(p.last_offspring_accuracies, [0.1, 0.2, 0.3, 0.4, 0.5])
    assert p.generation == 1


def test_mean_is_offspring_mean_even_when_worse_than_parents():
    p = Pooling(np.zeros(1), 0, popsize=2, parent_fraction=1.0, n_offspring=2, keep_fraction=1.0, sigma=0.5)
    pop = population([[0.0], [0.0]], [0.0, 0.0])
    p.update(pop, evaluate=lambda g: (np.array([1e9, 1e9]), np.zeros(2)))
    off = np.random.default_rng(0).standard_normal((2, 1)) * 0.5  # update's only draw
    np.testing.assert_array_equal(p.centroid, off.mean(axis=0))


def test_evaluate_required_and_checked():
    p = Pooling(np.zeros(2), 0, popsize=4, n_offspring=3)
    pop = p.generate(Individual)
    for ind in pop:
        ind.fitness.values = (1.0,)
    rng_before = p.rng.bit_generator.state
    with pytest.raises(ValueError, match="evaluate"):
        p.update(pop)
    assert p.rng.bit_generator.state == rng_before  # refused before drawing anything
    with pytest.raises(ValueError, match="3 offspring"):
        p.update(pop, evaluate=lambda g: (np.zeros(2), np.zeros(2)))
    with pytest.raises(ValueError, match="losses, accuracies"):
        p.update(pop, evaluate=lambda g: np.zeros(3))


def test_sigma_decay_per_update_nan_worst():
    p = Pooling(np.zeros(2), 0, popsize=4, n_offspring=4, sigma=0.4, sigma_decay=0.5, keep_fraction=0.25)
    pop = population([[0, 0], [1, 1], [2, 2], [3, 3]], [np.nan, 2.0, 1.0, 3.0])
    p.end_epoch()
    assert p.sigma == 0.4
    p.update(pop, evaluate=lambda g: (np.array([np.nan, 5.0, np.nan, np.nan]), np.zeros(4)))
    assert p.sigma == 0.2
    # one parent (floor(0.25 * 4)): row 2; the only finite offspring loss is index 1
    noise = np.random.default_rng(0).standard_normal((4, 2))  # update's only draw
    np.testing.assert_array_equal(p.centroid, np.array([2.0, 2.0]) + 0.4 * noise[1])


X0 = np.full(4, 2.5)  # sphere 25, rastrigin 105


@pytest.mark.parametrize("f, bound", [(benchmarks.sphere, 0.01), (benchmarks.rastrigin, 1 / 3)],
                         ids=["sphere", "rastrigin"])
def test_reduces_benchmarks(f, bound):
    # 150 generations of 16 + 16; bounds hold for seeds 0-19 (worst seen: sphere 0.0006, Rastrigin 7.0)
    p = Pooling(X0, 0, popsize=16, n_offspring=16, sigma=0.5, sigma_decay=0.98)
    final = f(run(p, f, 150, with_evaluate=True).centroid)[0]
    assert final < bound * f(X0)[0]
