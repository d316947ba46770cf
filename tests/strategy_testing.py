"""What the strategy tests share: DEAP creator classes (losses are minimised),
scored populations, a plain optimisation loop, state comparison and refusals."""
from __future__ import annotations

import numpy as np
import pytest

from bioevo.strategies.base import deap_classes

FitnessMin, Individual = deap_classes()


def population(genomes, losses) -> list:
    """Individuals holding ``genomes`` with the given losses as fitness."""
    return scored([Individual(np.asarray(g, dtype=np.float64)) for g in genomes], losses)


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
        pop = strategy.generate(Individual)
        for ind in pop:
            ind.fitness.values = f(ind)
        if with_evaluate:
            strategy.update(pop, evaluate=evaluator(f))
        else:
            strategy.update(pop)
    return strategy


def assert_same_state(a: dict, b: dict) -> None:
    """Equal state dicts: the same keys, arrays equal bit for bit, nested dicts alike."""
    assert a.keys() == b.keys()
    for k in a:
        if isinstance(a[k], dict):
            assert_same_state(a[k], b[k])
        elif isinstance(a[k], np.ndarray):
            np.testing.assert_array_equal(a[k], b[k], err_msg=k)
        else:
            assert a[k] == b[k], k


def assert_refused(cls, key: str, **params) -> str:
    """``cls(centroid, 0, **params)`` raises a one-line ValueError naming ``key``; returns the message."""
    with pytest.raises(ValueError) as err:
        cls(np.zeros(3), 0, **params)
    message = str(err.value)
    assert "\n" not in message and key in message, message
    return message


def rastrigin_basin_min(x0) -> float:
    """Value of the local minimum of the Rastrigin basin that holds x0 (separable, so per dimension)."""
    total = 0.0
    for xi in x0:
        grid = np.linspace(np.round(xi) - 0.5, np.round(xi) + 0.5, 20001)
        total += np.min(grid**2 + 10.0 - 10.0 * np.cos(2 * np.pi * grid))
    return total
