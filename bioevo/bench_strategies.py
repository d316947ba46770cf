"""``python -m bioevo.bench --strategies``: the strategies added from the literature run on the standard
functions their authors published behaviour for, beside the published figures.

* CR-FM-NES (``cr-fm-nes``): evaluations (``lambda * generations``) until the best sample of a
  generation has ``f < 1e-12``, against the authors' figures (github.com/nomuramasahir0/crfmnes,
  commit df30db19b5446fbcd5e7f62cd951fc5ad583932c, ``tests/test_ellipsoid.py``,
  ``tests/test_ktablet.py``, ``tests/test_rosenbrock_chain.py``; start ``m0 = 3`` (Rosenbrock 0),
  ``sigma0 = 2``), and the 100-D sphere and ellipsoid to ``1e-8`` at the default lambda (no
  published figure: the authors' code run with the same start took 8,484 and 18,966).
* PGPE with ClipUp (``pgpe``): the authors' 100-D Rastrigin example (pgpelib,
  ``examples/01-rastrigin.ipynb``: the centre's cost first below 5 at iteration 2,600, 1.83 at
  5,000), and generations to ``f < 0.1`` (sphere) and ``f < 1`` (ellipsoid) in 100-D from ones
  (no published figure; a fixed ClipUp speed cannot reach 1e-8, and the sphere's count is bounded
  below by the distance over ``max_speed``).

The CI checks (``tests/test_crfmnes.py``, ``tests/test_pgpe.py``) run the same functions in 10-D.
"""
from __future__ import annotations

import math
import sys
from typing import Callable, TextIO

import numpy as np

from .strategies.base import deap_classes
from .strategies.crfmnes import CRFMNES, default_popsize
from .strategies.pgpe import PGPE

Function = Callable[[np.ndarray], np.ndarray]


def sphere(x: np.ndarray) -> np.ndarray:
    """Rows of ``x`` -> sum x_i^2."""
    return np.sum(np.square(x), axis=-1)


def ellipsoid(x: np.ndarray) -> np.ndarray:
    """sum_i 1000^((i-1)/(N-1)) x_i^2 (condition number 1e3)."""
    n = np.shape(x)[-1]
    return np.sum(1000.0 ** (np.arange(n) / (n - 1)) * np.square(x), axis=-1)


def ellipsoid_1e6(x: np.ndarray) -> np.ndarray:
    """sum_i (1000^((i-1)/(N-1)) x_i)^2 (condition number 1e6): the CR-FM-NES authors' ellipsoid."""
    n = np.shape(x)[-1]
    return np.sum(np.square(1000.0 ** (np.arange(n) / (n - 1)) * x), axis=-1)


def ktablet(x: np.ndarray) -> np.ndarray:
    k = np.shape(x)[-1] // 4
    return np.sum(np.square(x[..., :k]), axis=-1) + np.sum(np.square(100.0 * x[..., k:]), axis=-1)


def rosenbrock(x: np.ndarray) -> np.ndarray:
    """The chained Rosenbrock function (optimum at ones)."""
    return np.sum(100.0 * np.square(x[..., 1:] - x[..., :-1] ** 2) + np.square(1.0 - x[..., :-1]), axis=-1)


def rastrigin(x: np.ndarray) -> np.ndarray:
    return 10.0 * np.shape(x)[-1] + np.sum(np.square(x) - 10.0 * np.cos(2 * np.pi * np.asarray(x)), axis=-1)


def light_individual(genome: np.ndarray):
    """What ``creator.Individual(genome)`` makes (a copy of the genes with a fresh ``FitnessMin``),
    without DEAP's generic constructor (about 8 us each: much of a generation on a cheap function)."""
    fitness, individual = deap_classes()
    ind = np.array(genome, dtype=np.float64).view(individual)
    ind.fitness = fitness()
    return ind


def one_generation(strategy, f: Function, losses=None) -> np.ndarray:
    """One generate / score / update of ``strategy`` on ``f`` (or the given losses); the losses."""
    pop = strategy.generate(light_individual)
    values = f(np.asarray(pop, dtype=np.float64)) if losses is None else np.asarray(losses, dtype=np.float64)
    for ind, loss in zip(pop, values):
        ind.fitness.values = (float(loss),)
    strategy.update(pop)
    return values


# -- CR-FM-NES -------------------------------------------------------------------------------------

CRFMNES_FUNCTIONS = {"sphere": sphere, "ellipsoid": ellipsoid_1e6, "ktablet": ktablet, "rosenbrock": rosenbrock}
# (function, N, lambda, x0, published mean, published sd): evaluations to f < 1e-12
CRFMNES_PUBLISHED = [("ellipsoid", 40, 16, 3.0, 8.8e3, 0.5e3), ("ellipsoid", 80, 16, 3.0, 17.5e3, 0.6e3),
                     ("ktablet", 40, 16, 3.0, 9.1e3, 0.6e3), ("ktablet", 80, 16, 3.0, 18.6e3, 0.8e3),
                     ("rosenbrock", 40, 40, 0.0, 52.2e3, 1.5e3)]


def crfmnes_evaluations_to_target(f: Function, dim: int, x0: float, sigma: float, popsize: int = 0,
                                  target: float = 1e-12, seed: int = 0, max_evals: int = 10**6) -> int | None:
    """``lambda * generations`` until the best sample of a generation has ``f < target`` (the authors'
    count), or None within ``max_evals``."""
    s = CRFMNES(np.full(dim, float(x0)), seed, popsize=popsize, sigma=sigma)
    evals = 0
    while evals < max_evals:
        losses = one_generation(s, f)
        evals += len(losses)
        if losses.min() < target:
            return evals
    return None


def crfmnes_mean_evaluations(name: str, dim: int, lam: int, x0: float, target: float = 1e-12,
                             seeds=range(3)) -> float | None:
    """Mean evaluations to ``target`` over ``seeds`` from ``sigma0 = 2``; None if a run did not get there."""
    runs = [crfmnes_evaluations_to_target(CRFMNES_FUNCTIONS[name], dim, x0, 2.0, lam, target, seed)
            for seed in seeds]
    return None if any(r is None for r in runs) else float(np.mean(runs))


# -- PGPE with ClipUp ------------------------------------------------------------------------------

def pgpe_generations_to(s: PGPE, f: Function, target: float, limit: int) -> int | None:
    """The first generation after which ``f(centroid) < target``, None within ``limit``."""
    for g in range(1, limit + 1):
        one_generation(s, f)
        if f(s.centroid) < target:
            return g
    return None


def pgpe_rastrigin_run(seed: int = 0, n_gen: int = 5000) -> dict:
    """pgpelib's examples/01-rastrigin.ipynb with bioevo's PGPE: the first generation whose centre
    costs < 5, and the mean cost over the last 1000 generations (about 35 s on one core)."""
    rng = np.random.default_rng(1000 + seed)
    s = PGPE(rng.uniform(-5.12, 5.12, 100), seed, popsize=250, center_lr=0.03, max_speed=0.06,
             stdev_init=1.0, stdev_lr=0.1, stdev_max_change=0.2, ranking=True)
    first, costs = None, []
    for g in range(1, n_gen + 1):
        one_generation(s, rastrigin)
        costs.append(float(rastrigin(s.centroid)))
        if first is None and costs[-1] < 5:
            first = g
    return {"first_below_5": first, "published_first_below_5": 2600, "mean_cost_last_1000": np.mean(costs[-1000:]),
            "final_cost": costs[-1], "published_final_cost": 1.83}


def pgpe_sphere_ellipsoid_100d(seed: int = 0, popsize: int = 100) -> dict:
    """Generations to f < 0.1 (sphere) and f < 1 (ellipsoid, f0 = 1.4e4) in 100-D from ones, defaults
    (about 1.5 s), and the sphere's lower bound: the distance to cover over ClipUp's ``max_speed``."""
    out = {}
    for f, limit in ((sphere, 600), (ellipsoid, 3000)):
        s = PGPE(np.ones(100), seed, popsize=popsize)
        out[f.__name__] = pgpe_generations_to(s, f, 0.1 if f is sphere else 1.0, limit)
    out["sphere_lower_bound"] = (10 - math.sqrt(0.1)) / PGPE(np.ones(100), seed).speed
    return out


def report(seeds=range(3), out: TextIO = sys.stdout) -> dict:
    """Print (and return) every check of the module docstring on ``seeds``: a few minutes on one core."""
    result: dict = {"cr-fm-nes": [], "pgpe": {}}
    print("CR-FM-NES: evaluations to the target, mean over seeds "
          f"{', '.join(map(str, seeds))} (published: the authors' repository, see bioevo/bench_strategies.py)", file=out)
    print(f"{'function':<11}{'N':>5}{'lambda':>8}{'target':>8}{'measured':>11}{'published':>16}{'ratio':>7}", file=out)
    for name, dim, lam, x0, mean, sd in CRFMNES_PUBLISHED:
        got = crfmnes_mean_evaluations(name, dim, lam, x0, seeds=seeds)
        ratio = f"{got / mean:.2f}" if got else "-"
        print(f"{name:<11}{dim:>5}{lam:>8}{'1e-12':>8}{got or float('nan'):>11.0f}"
              f"{f'{mean:.0f} +- {sd:.0f}':>16}{ratio:>7}", file=out)
        result["cr-fm-nes"].append({"function": name, "N": dim, "lambda": lam, "evaluations": got, "published": mean})
    for name in ("sphere", "ellipsoid"):
        got = crfmnes_mean_evaluations(name, 100, 0, 3.0, 1e-8, seeds)
        print(f"{name:<11}{100:>5}{default_popsize(100):>8}{'1e-8':>8}{got or float('nan'):>11.0f}{'-':>16}", file=out)
        result["cr-fm-nes"].append({"function": name, "N": 100, "lambda": default_popsize(100), "evaluations": got})
    print("\nPGPE + ClipUp, 100-D (per seed)", file=out)
    for seed in seeds:
        se = pgpe_sphere_ellipsoid_100d(seed)
        ra = pgpe_rastrigin_run(seed)
        print(f"seed {seed}: sphere to 0.1 in {se['sphere']} generations (bound {se['sphere_lower_bound']:.0f}), "
              f"ellipsoid to 1 in {se['ellipsoid']}; Rastrigin first below 5 at {ra['first_below_5']} (published "
              f"2600), cost at 5000 {ra['final_cost']:.2f} (published 1.83)", file=out)
        result["pgpe"][seed] = {**se, **ra}
    return result
