"""Tests for bioevo.strategies.es.OpenAIES with real DEAP creator classes."""
import inspect

import h5py
import numpy as np
import pytest
from deap import base, benchmarks, creator

from bioevo.strategies.base import read_state, write_state
from bioevo.strategies.es import DEFAULTS, OpenAIES, compute_centered_ranks

if not hasattr(creator, "FitnessMin"):
    creator.create("FitnessMin", base.Fitness, weights=(-1.0,))
if not hasattr(creator, "IndividualList"):
    creator.create("IndividualList", list, fitness=creator.FitnessMin)
if not hasattr(creator, "Individual"):
    creator.create("Individual", np.ndarray, fitness=creator.FitnessMin)
if not hasattr(creator, "IndividualArray"):
    creator.create("IndividualArray", np.ndarray, fitness=creator.FitnessMin)


def _array_ind(values):
    ind = np.asarray(values, dtype=np.float64).view(creator.IndividualArray)
    ind.fitness = creator.FitnessMin()  # view() bypasses __init__, so set a fresh fitness
    return ind


def _sphere_run(es, ind_init, n_gen):
    for _ in range(n_gen):
        pop = es.generate(ind_init)
        for ind in pop:
            ind.fitness.values = (float(np.sum(np.square(np.asarray(ind)))),)
        es.update(pop)
    return es


@pytest.mark.parametrize("mirrored", [True, False])
@pytest.mark.parametrize("ind_init", [creator.IndividualList, _array_ind], ids=["list", "ndarray"])
def test_sphere_converges(mirrored, ind_init):
    x0 = 3.0 * np.ones(10)
    es = OpenAIES(x0, sigma=0.1, lr=0.1, popsize=20, mirrored=mirrored, rng=0)
    _sphere_run(es, ind_init, 120)
    assert np.linalg.norm(es.centroid) < np.linalg.norm(x0) / 10


def test_compute_centered_ranks_hand_made():
    np.testing.assert_allclose(compute_centered_ranks([3.0, 1.0, 2.0, 10.0, -5.0]),
                               [0.25, -0.25, 0.0, 0.5, -0.5])
    # ties: stable ranks by position
    np.testing.assert_allclose(compute_centered_ranks([1.0, 1.0, 0.0]), [0.0, 0.5, -0.5])
    np.testing.assert_allclose(compute_centered_ranks([7.0]), [0.0])


def test_mirrored_individuals_symmetric():
    c = np.arange(5, dtype=float)
    es = OpenAIES(c, sigma=0.3, lr=0.1, popsize=8, rng=1)
    pop = np.asarray(es.generate(creator.IndividualList))
    assert pop.shape == (8, 5)
    np.testing.assert_allclose(pop[0::2] - c, -(pop[1::2] - c))
    np.testing.assert_allclose((pop[0::2] + pop[1::2]) / 2, np.broadcast_to(c, (4, 5)))
    assert not np.allclose(pop[0], pop[2])


def test_update_decreases_loss_direction():
    # one step from x0 must move towards the minimum of a linear loss f(x) = x[0]
    es = OpenAIES(np.zeros(3), sigma=0.1, lr=0.01, popsize=50, rng=3)
    pop = es.generate(creator.IndividualList)
    for ind in pop:
        ind.fitness.values = (ind[0],)
    es.update(pop)
    assert es.centroid[0] == pytest.approx(-0.01, rel=1e-6)  # first Adam step has size lr


def test_odd_popsize_mirrored_raises():
    with pytest.raises(ValueError, match="even"):
        OpenAIES(np.zeros(3), sigma=0.1, lr=0.1, popsize=7)
    OpenAIES(np.zeros(3), sigma=0.1, lr=0.1, popsize=7, mirrored=False)


def test_update_rejects_reordered_population():
    es = OpenAIES(np.zeros(4), sigma=0.1, lr=0.1, popsize=6, rng=0)
    pop = es.generate(creator.IndividualList)
    for ind in pop:
        ind.fitness.values = (sum(ind),)
    with pytest.raises(ValueError, match="reordered"):
        es.update(pop[::-1])


def _evaluate(pop):
    for ind in pop:
        ind.fitness.values = (float(np.sum(np.square(ind))),)


def _save_h5(group, state):
    for key, val in state.items():
        group.create_dataset(key, data=val)


def _load_h5(group):
    return {key: group[key][()] for key in group}


@pytest.mark.parametrize("pending", [False, True], ids=["after_update", "between_generate_and_update"])
@pytest.mark.parametrize("via_h5", [False, True], ids=["dict", "hdf5"])
def test_state_dict_round_trip(tmp_path, pending, via_h5):
    es = OpenAIES(np.linspace(-1, 1, 6), sigma=0.2, lr=0.05, popsize=10, weight_decay=0.01, rng=42)
    _sphere_run(es, creator.IndividualList, 3)
    pop = es.generate(creator.IndividualList) if pending else None

    state = es.state_dict()
    assert isinstance(state["rng_state"], str)
    if via_h5:
        with h5py.File(tmp_path / "ckpt.h5", "w") as f:
            _save_h5(f.create_group("es"), state)
        with h5py.File(tmp_path / "ckpt.h5", "r") as f:
            state = _load_h5(f["es"])
    clone = OpenAIES(np.zeros(6), sigma=1.0, lr=1.0, popsize=2, rng=0)
    clone.load_state_dict(state)
    np.testing.assert_array_equal(clone.centroid, es.centroid)

    if pending:  # finish the pending generation on both with identical losses
        pop_clone = [creator.IndividualList(ind) for ind in pop]
        _evaluate(pop)
        _evaluate(pop_clone)
        es.update(pop)
        clone.update(pop_clone)
        np.testing.assert_array_equal(clone.centroid, es.centroid)

    for _ in range(2):  # identical next populations and updates
        a = es.generate(creator.IndividualList)
        b = clone.generate(creator.IndividualList)
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
        _evaluate(a)
        _evaluate(b)
        es.update(a)
        clone.update(b)
    np.testing.assert_array_equal(clone.centroid, es.centroid)
    np.testing.assert_array_equal(clone.m, es.m)
    np.testing.assert_array_equal(clone.v, es.v)
    assert clone.t == es.t


def test_from_state_dict():
    es = OpenAIES(np.ones(3), sigma=0.1, lr=0.1, popsize=4, mirrored=True, rng=5)
    clone = OpenAIES.from_state_dict(es.state_dict())
    np.testing.assert_array_equal(np.asarray(es.generate(list)), np.asarray(clone.generate(list)))


def test_plugs_into_deap_ea_generate_update():
    from deap import algorithms

    es = OpenAIES(3.0 * np.ones(10), sigma=0.1, lr=0.1, popsize=20, rng=0)
    tb = base.Toolbox()
    tb.register("evaluate", lambda ind: (float(np.sum(np.square(ind))),))
    tb.register("generate", es.generate, creator.IndividualList)
    tb.register("update", es.update)
    algorithms.eaGenerateUpdate(tb, ngen=100, verbose=False)
    assert np.linalg.norm(es.centroid) < np.linalg.norm(3.0 * np.ones(10)) / 10


def test_defaults_construct_and_match_signature():
    params = inspect.signature(OpenAIES).parameters
    for name, value in DEFAULTS.items():
        assert params[name].default == value
    es = OpenAIES(np.zeros(3), rng=0, **DEFAULTS)
    assert len(es.generate(creator.Individual)) == DEFAULTS["popsize"]


def test_protocol_evaluate_ignored_end_epoch_noop():
    calls = []
    es = OpenAIES(np.ones(3), sigma=0.1, lr=0.1, popsize=6, rng=0)
    pop = es.generate(creator.Individual)
    _evaluate(pop)
    es.update(pop, evaluate=lambda g: calls.append(g))
    before = es.state_dict()
    es.end_epoch()
    assert not calls
    after = es.state_dict()
    for key, value in before.items():
        np.testing.assert_array_equal(after[key], value)


@pytest.mark.parametrize("kwargs, match", [
    ({"sigma": 0.0}, "sigma must be > 0"),
    ({"lr": -1.0}, "lr must be > 0"),
    ({"popsize": 1}, "popsize must be >= 2"),
    ({"popsize": 4.5}, "popsize must be an integer"),
    ({"weight_decay": -0.1}, "weight_decay must be >= 0"),
    ({"beta1": 1.0}, "beta1 and beta2 must be in"),
])
def test_validation(kwargs, match):
    with pytest.raises(ValueError, match=match):
        OpenAIES(np.zeros(3), **kwargs)


def _benchmark_run(es, f, n_gen):
    for _ in range(n_gen):
        pop = es.generate(creator.Individual)
        for ind in pop:
            ind.fitness.values = f(ind)
        es.update(pop)
    return es


def _rastrigin_basin_min(x0):
    """Value of the local minimum of the Rastrigin basin that holds x0 (separable, so per dimension)."""
    total = 0.0
    for xi in x0:
        grid = np.linspace(np.round(xi) - 0.5, np.round(xi) + 0.5, 20001)
        total += np.min(grid**2 + 10.0 - 10.0 * np.cos(2 * np.pi * grid))
    return total


@pytest.mark.parametrize("mirrored", [True, False], ids=["mirrored", "plain"])
def test_reduces_deap_sphere(mirrored):
    x0 = np.full(5, 3.3)
    es = _benchmark_run(OpenAIES(x0, sigma=0.5, lr=0.1, popsize=20, mirrored=mirrored, rng=0), benchmarks.sphere, 100)
    assert benchmarks.sphere(es.centroid)[0] < 0.1 * benchmarks.sphere(x0)[0]


@pytest.mark.parametrize("mirrored", [True, False], ids=["mirrored", "plain"])
def test_reduces_rastrigin(mirrored):
    # Start (3.3, ...) is 96 in 4 dims; the local minimum of its basin is 35.8.  Ending below that
    # means the centroid left the start's basin: with sigma = 1 the Gaussian-smoothed Rastrigin is
    # essentially the sphere (the cosine is damped by exp(-2 pi^2 sigma^2)).
    x0 = np.full(4, 3.3)
    es = _benchmark_run(OpenAIES(x0, sigma=1.0, lr=0.05, popsize=40, mirrored=mirrored, rng=0),
                        benchmarks.rastrigin, 200)
    assert benchmarks.rastrigin(es.centroid)[0] < _rastrigin_basin_min(x0) < 0.5 * benchmarks.rastrigin(x0)[0]


@pytest.mark.parametrize("pending", [False, True], ids=["after_update", "between_generate_and_update"])
def test_base_hdf5_helpers_round_trip(tmp_path, pending):
    es = OpenAIES(np.linspace(-1, 1, 6), sigma=0.2, lr=0.05, popsize=10, mirrored=False, rng=7)
    _sphere_run(es, creator.Individual, 3)
    pop = es.generate(creator.Individual) if pending else None
    with h5py.File(tmp_path / "s.h5", "w") as f:
        write_state(f.create_group("es"), es.state_dict())
    with h5py.File(tmp_path / "s.h5", "r") as f:
        state = read_state(f["es"])
    clone = OpenAIES(np.zeros(6), rng=0)
    clone.load_state_dict(state)
    assert clone.mirrored is False
    if pending:
        pop_clone = [creator.Individual(np.asarray(ind)) for ind in pop]
        _evaluate(pop)
        _evaluate(pop_clone)
        es.update(pop)
        clone.update(pop_clone)
    for _ in range(2):
        a, b = es.generate(creator.Individual), clone.generate(creator.Individual)
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
        _evaluate(a)
        _evaluate(b)
        es.update(a)
        clone.update(b)
    for key, value in es.state_dict().items():
        np.testing.assert_array_equal(clone.state_dict()[key], value)
