"""OpenAIES: hand-computed steps and what only it does (the shared checks are in
test_strategy_conformance.py)."""
import numpy as np
import pytest
from deap import base, benchmarks, creator

from bioevo.strategies.es import OpenAIES, compute_centered_ranks
from strategy_testing import Individual, assert_same_state, rastrigin_basin_min, run

if not hasattr(creator, "IndividualList"):
    creator.create("IndividualList", list, fitness=creator.FitnessMin)
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


def test_sigma_and_lr_decay_by_hand():
    """Generation k samples with sigma * sigma_decay**k and update k + 1 steps with lr * lr_decay**k,
    each not below its floor.  On a linear loss the ranks do not depend on the centroid, so a twin
    without lr decay sees the same gradients and Adam directions: its steps differ by lr_k / lr only."""
    kw = dict(sigma=0.1, lr=0.01, popsize=50, sigma_decay=0.5, sigma_min=0.03)
    es = OpenAIES(np.zeros(3), rng=3, lr_decay=0.5, lr_min=0.004, **kw)
    twin = OpenAIES(np.zeros(3), rng=3, **kw)
    for sigma, lr in zip([0.1, 0.05, 0.03, 0.03], [0.01, 0.005, 0.004, 0.004]):
        steps = []
        for s in (es, twin):
            before = s.centroid.copy()
            pop = s.generate(creator.IndividualList)
            np.testing.assert_allclose(np.asarray(pop) - before, sigma * s.noise, rtol=1e-12, atol=1e-15)
            for ind in pop:
                ind.fitness.values = (ind[0],)
            s.update(pop)
            steps.append(before - s.centroid)
        np.testing.assert_allclose(steps[0], steps[1] * lr / 0.01, rtol=1e-12)
    with pytest.raises(ValueError, match="sigma_min"):
        OpenAIES(np.zeros(3), sigma=0.1, sigma_min=0.2)
    with pytest.raises(ValueError, match="lr_min"):
        OpenAIES(np.zeros(3), lr=0.01, lr_min=0.02)


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


def test_plugs_into_deap_ea_generate_update():
    from deap import algorithms

    es = OpenAIES(3.0 * np.ones(10), sigma=0.1, lr=0.1, popsize=20, rng=0)
    tb = base.Toolbox()
    tb.register("evaluate", lambda ind: (float(np.sum(np.square(ind))),))
    tb.register("generate", es.generate, creator.IndividualList)
    tb.register("update", es.update)
    algorithms.eaGenerateUpdate(tb, ngen=100, verbose=False)
    assert np.linalg.norm(es.centroid) < np.linalg.norm(3.0 * np.ones(10)) / 10


def test_protocol_evaluate_ignored_end_epoch_noop():
    calls = []
    es = OpenAIES(np.ones(3), sigma=0.1, lr=0.1, popsize=6, rng=0)
    pop = es.generate(Individual)
    _evaluate(pop)
    es.update(pop, evaluate=lambda g: calls.append(g))
    before = es.state_dict()
    es.end_epoch()
    assert not calls
    assert_same_state(es.state_dict(), before)


@pytest.mark.parametrize("mirrored", [True, False], ids=["mirrored", "plain"])
def test_reduces_rastrigin(mirrored):
    # Start (3.3, ...) is 96 in 4 dims; the local minimum of its basin is 35.8.  Ending below that
    # means the centroid left the start's basin: with sigma = 1 the Gaussian-smoothed Rastrigin is
    # essentially the sphere (the cosine is damped by exp(-2 pi^2 sigma^2)).
    x0 = np.full(4, 3.3)
    es = run(OpenAIES(x0, sigma=1.0, lr=0.05, popsize=40, mirrored=mirrored, rng=0), benchmarks.rastrigin, 200)
    assert benchmarks.rastrigin(es.centroid)[0] < rastrigin_basin_min(x0) < 0.5 * benchmarks.rastrigin(x0)[0]
