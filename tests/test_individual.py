"""The DEAP individual bioevo's strategies make (``strategies.base.deap_classes``): built from an
ndarray without DEAP's detour through a Python list, and otherwise what DEAP's own is."""
import copy
import pickle

import numpy as np
from deap import creator

from bioevo.strategies.base import deap_classes


def _deaps_own(genome) -> np.ndarray:
    """What DEAP's ``__new__`` for ndarray individuals returns."""
    return np.array(list(genome))


def test_an_individual_is_a_copy_of_its_genome_with_a_fitness_of_its_own():
    fitness_class, individual = deap_classes()
    genome = np.random.default_rng(0).standard_normal(9472)
    a, b = individual(genome), individual(genome)
    assert type(a) is creator.Individual and isinstance(a, np.ndarray)
    assert a.dtype == _deaps_own(genome).dtype and a.shape == genome.shape
    np.testing.assert_array_equal(a, _deaps_own(genome))
    genome[0] = 99.0
    assert a[0] != 99.0, "the individual must not share the genome's memory"
    assert isinstance(a.fitness, fitness_class) and not a.fitness.valid
    a.fitness.values = (1.0,)
    assert not b.fitness.valid, "each individual has its own fitness"


def test_other_iterables_and_dtypes_give_deaps_values():
    _, individual = deap_classes()
    for genome in ([0.5, -1.0, 2.0], (x / 3 for x in range(4)), np.arange(5, dtype=np.float32), np.arange(3)):
        expected = _deaps_own(genome if not hasattr(genome, "__next__") else [x / 3 for x in range(4)])
        ind = individual(genome)
        assert ind.dtype == expected.dtype
        np.testing.assert_array_equal(ind, expected)


def test_copies_and_pickles_keep_values_class_and_fitness():
    _, individual = deap_classes()
    ind = individual(np.linspace(-1, 1, 7))
    ind.fitness.values = (0.25,)
    for other in (copy.deepcopy(ind), pickle.loads(pickle.dumps(ind))):
        # unpickling re-creates DEAP's creator class (a class of the same name), as DEAP always did
        assert type(other).__name__ == "Individual" and isinstance(other, np.ndarray)
        np.testing.assert_array_equal(other, ind)
        assert other.fitness.values == (0.25,)
    assert type(copy.deepcopy(ind)) is type(ind)
