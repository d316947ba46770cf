"""What the strategy tests share: DEAP creator classes (losses are minimised),
scored populations, a plain optimisation loop and state comparison."""
from __future__ import annotations

import numpy as np
from deap import base, creator

if not hasattr(creator, "FitnessMin"):
    creator.create("FitnessMin", base.Fitness, weights=(-1.0,))
if not hasattr(creator, "Individual"):
    creator.create("Individual", np.ndarray, fitness=creator.FitnessMin)


def population(genomes, losses) -> list:
    """Individuals holding ``genomes`` with the given losses as fitness."""
    pop = [creator.Individual(np.asarray(g, dtype=np.float64)) for g in genomes]
    for ind, loss in zip(pop, losses):
        ind.fitness.values = (float(loss),)
    return pop


def scored(pop: list, losses) -> list:
    """``pop`` with the given losses set as fitness (in place)."""
    for ind, loss in zip(pop, losses):
        ind.fitness.values = (float(loss),)
    return pop


def evaluator(f):
    """The ``evaluate`` callback of the strategy protocol, scoring with DEAP benchmark ``f``."""
    def evaluate(genomes):
        return np.array([f(g)[0] for g in genomes]), np.zeros(len(genomes))
    return evaluate


def run(strategy, f, n_gen: int, with_evaluate: bool = False):
    """``n_gen`` generate/score/update steps on DEAP benchmark ``f``."""
    for _ in range(n_gen):
        pop = strategy.generate(creator.Individual)
        for ind in pop:
            ind.fitness.values = f(ind)
        if with_evaluate:
            strategy.update(pop, evaluate=evaluator(f))
        else:
            strategy.update(pop)
    return strategy


def assert_same_state(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for k in a:
        if isinstance(a[k], np.ndarray):
            np.testing.assert_array_equal(a[k], b[k], err_msg=k)
        else:
            assert a[k] == b[k], k
