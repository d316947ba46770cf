"""Checks every registered strategy must pass (like scikit-learn's
``parametrize_with_checks``): a strategy gets them by its registry line.

The loop mirrors ``evolve.train``: generate, score, ``ind.accuracy`` (0 on
even generations so that strategies that pool then pool), update with an
``evaluate`` callback, ``end_epoch`` every second generation."""
from __future__ import annotations

import math

import h5py
import numpy as np
import pytest

from bioevo.strategies import REGISTRY, hyperparameter_table, strategy_class, strategy_defaults
from bioevo.strategies.base import Param, read_state, show, write_state
from strategy_testing import Individual, assert_same_state

NAMES = list(REGISTRY)
DIM = 5
TARGET = np.linspace(-0.4, 0.6, DIM)  # the quadratic's minimum


def quadratic(x) -> float:
    return float(np.sum(np.square(np.asarray(x) - TARGET)))


def evaluate(genomes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return np.array([quadratic(g) for g in genomes]), np.zeros(len(genomes))


def variants(name: str) -> list[dict]:
    """The defaults, and each other value of every bool or choice hyperparameter, so each code path is checked."""
    out = [{}]
    for p in strategy_class(name).PARAMS:
        others = [not p.default] if isinstance(p.default, bool) else [c for c in p.choices if c != p.default]
        out += [{p.name: value} for value in others]
    return out


VARIANTS = [(name, params) for name in NAMES for params in variants(name)]
VARIANT_IDS = [name + "".join(f"-{k}={v}" for k, v in params.items()) for name, params in VARIANTS]
each_variant = pytest.mark.parametrize("name, params", VARIANTS, ids=VARIANT_IDS)


def make(name: str, seed: int = 0, centroid=None, **params):
    return strategy_class(name)(np.zeros(DIM) if centroid is None else centroid, seed, **params)


def step(strategy, gen: int, pop: list | None = None) -> np.ndarray:
    """One generation (``pop``: a pending population from an earlier generate); returns its genomes."""
    pop = strategy.generate(Individual) if pop is None else pop
    for ind in pop:
        ind.fitness.values = (quadratic(ind),)
        ind.accuracy = 0.0 if gen % 2 == 0 else 1.0
    genomes = np.array(pop, dtype=np.float64)
    strategy.update(pop, evaluate=evaluate)
    if gen % 2 == 1:
        strategy.end_epoch()
    return genomes


def through_hdf5(state: dict, path) -> dict:
    with h5py.File(path, "w") as f:
        write_state(f.create_group("strategy"), state)
    with h5py.File(path, "r") as f:
        return read_state(f["strategy"])


def plain(value) -> bool:
    """What a state dict may hold: arrays, scalars, strings, None, and dicts of those."""
    if isinstance(value, dict):
        return all(isinstance(k, str) and plain(v) for k, v in value.items())
    return value is None or isinstance(value, (np.ndarray, bool, int, float, str))


@pytest.mark.parametrize("name", NAMES)
def test_declarations(name):
    cls = strategy_class(name)
    assert cls.name == name
    assert cls.DEFAULTS == {p.name: p.default for p in cls.PARAMS} == strategy_defaults(name)
    assert "popsize" in cls.DEFAULTS
    for p in cls.PARAMS:
        assert type(p.default) in (bool, int, float, str) and p.doc  # TOML-able, documented
        assert f"| {name} | `{p.name}` |" in hyperparameter_table()
    s = make(name)  # the defaults are valid
    assert len(s.generate(Individual)) == s.popsize
    assert s.centroid.shape == (DIM,)


@pytest.mark.parametrize("pending", [False, True], ids=["after_update", "pending_generation"])
@each_variant
def test_state_round_trip_through_hdf5(tmp_path, name, params, pending):
    s = make(name, 3, **params)
    for gen in range(3):
        step(s, gen)
    if pending:
        s.generate(Individual)
    state = s.state_dict()
    assert plain(state) and isinstance(state["rng_state"], str)
    read = through_hdf5(state, tmp_path / "s.h5")
    assert_same_state(state, read)
    assert_same_state(state, strategy_class(name).from_state_dict(read).state_dict())
    other = make(name, 9, centroid=np.ones(DIM + 2))
    other.load_state_dict(read)
    assert_same_state(state, other.state_dict())


@each_variant
def test_determinism_by_seed(name, params):
    runs = []
    for seed, global_seed in ((4, 1), (4, 2), (5, 1)):
        np.random.seed(global_seed)  # numpy's global state must not matter
        s = make(name, seed, **params)
        runs.append([step(s, gen) for gen in range(4)])
    for a, b in zip(runs[0], runs[1]):
        np.testing.assert_array_equal(a, b)
    assert any(a.shape != c.shape or not np.array_equal(a, c) for a, c in zip(runs[0], runs[2]))


@pytest.mark.parametrize("pending", [False, True], ids=["after_update", "pending_generation"])
@pytest.mark.parametrize("save_at", [0, 1, 2, 3])
@each_variant
def test_resume_equals_uninterrupted(tmp_path, name, params, save_at, pending):
    n_gen = 6
    ref = make(name, 7, **params)
    ref_genomes = [step(ref, gen) for gen in range(n_gen)]

    s = make(name, 7, **params)
    for gen in range(save_at):
        step(s, gen)
    pop = s.generate(Individual) if pending else None
    state = through_hdf5(s.state_dict(), tmp_path / "s.h5")
    del s
    resumed = strategy_class(name).from_state_dict(state)
    if pending:
        pop = [Individual(np.asarray(ind)) for ind in pop]  # as the loop would rebuild it: same genomes
    for gen in range(save_at, n_gen):
        np.testing.assert_array_equal(step(resumed, gen, pop if gen == save_at else None), ref_genomes[gen])
    assert_same_state(resumed.state_dict(), ref.state_dict())


def bad_values(p: Param) -> list:
    """Values ``p`` must refuse: wrong types, NaN, infinities, and just outside its range."""
    if isinstance(p.default, bool):
        return [1, "yes", None]
    if p.choices:
        return ["no-such-" + p.name, 3]
    if p.bound:
        return [math.nan, "x", True, [[0.0]]]
    out = ["1", True, None, math.nan, math.inf, -math.inf]
    if isinstance(p.default, int):
        out += [2.5, float(p.default)]
    out += [v for v in (p.gt, p.lt) if v is not None]
    out += [p.ge - (1 if isinstance(p.default, int) else 1e-3)] if p.ge is not None else []
    out += [p.le + (1 if isinstance(p.default, int) else 1e-3)] if p.le is not None else []
    return out


CASES = [(name, p.name, bad) for name in NAMES for p in strategy_class(name).PARAMS for bad in bad_values(p)]


@pytest.mark.parametrize("name, param, bad", CASES, ids=[f"{n}.{p}={b!r}" for n, p, b in CASES])
def test_bad_hyperparameter_refused_in_one_line(name, param, bad):
    with pytest.raises(ValueError) as err:
        make(name, **{param: bad})
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith(f"strategy.{name}.{param} must be ") and message.endswith(f"got {show(bad)}"), message


@pytest.mark.parametrize("name", NAMES)
def test_unknown_hyperparameter_bad_centroid_and_foreign_state_refused(name):
    with pytest.raises(ValueError, match=rf"^strategy\.{name}\.no_such is not a hyperparameter of {name}; allowed: "):
        make(name, no_such=1)
    for centroid in ([], [0.0, np.nan], [np.inf]):
        with pytest.raises(ValueError, match="^centroid must be a non-empty array of finite numbers, got "):
            make(name, centroid=centroid)
    other = NAMES[(NAMES.index(name) + 1) % len(NAMES)]
    with pytest.raises(ValueError, match=f"state is for strategy '{other}', not '{name}'"):
        make(name).load_state_dict(make(other).state_dict())


@each_variant
def test_shrinks_a_quadratic(name, params):
    s = make(name, 0, **params)
    start = quadratic(s.centroid)
    for gen in range(150):
        step(s, gen)
    assert quadratic(s.centroid) < 0.1 * start


BOUNDED = [name for name in NAMES if any(p.bound for p in strategy_class(name).PARAMS)]


@pytest.mark.parametrize("name", BOUNDED)
def test_respects_bounds(name):
    lower, upper = -0.3, np.full(DIM, 0.2)  # the quadratic's minimum lies partly outside
    s = make(name, 0, lower=lower, upper=upper)
    for gen in range(30):
        genomes = step(s, gen)
        assert np.all(genomes >= lower) and np.all(genomes <= upper)
    assert np.all(s.centroid >= lower) and np.all(s.centroid <= upper)
    assert np.any(np.isclose(s.centroid, upper, atol=0.05))  # pressed against the bound it respects
