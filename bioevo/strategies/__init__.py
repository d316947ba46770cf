"""Strategies by name.  Each module holds one strategy class and its
``DEFAULTS`` (the hyperparameters a preset may set under [strategy.<name>])."""
from __future__ import annotations

from importlib import import_module
from typing import Any

import numpy as np

from .base import Strategy

#: name -> (module, class)
REGISTRY: dict[str, tuple[str, str]] = {
    "es": ("es", "OpenAIES"),
    "pso": ("pso", "ParticleSwarm"),
    "hybrid": ("hybrid", "Hybrid"),
    "cem": ("cem", "CrossEntropyMethod"),
    "cem-es": ("cem", "CEMES"),
    "annealing": ("annealing", "SimulatedAnnealing"),
    "pooling": ("pooling", "Pooling"),
    "cma": ("cma", "CMAES"),
    "sep-cma": ("cma", "SeparableCMAES"),
}


def strategy_class(name: str) -> type:
    if name not in REGISTRY:
        raise ValueError(f"unknown strategy '{name}'; allowed: {', '.join(REGISTRY)}")
    module, cls = REGISTRY[name]
    mod = import_module(f"{__name__}.{module}")
    strategy = getattr(mod, cls)
    if "DEFAULTS" not in vars(strategy):  # one strategy per module: the module's DEFAULTS
        strategy.DEFAULTS = mod.DEFAULTS
    return strategy


def strategy_defaults(name: str) -> dict[str, Any]:
    """Hyperparameters of strategy ``name`` with their defaults."""
    cls = strategy_class(name)
    return dict(cls.DEFAULTS)


def make_strategy(name: str, centroid: np.ndarray, rng: np.random.Generator, params: dict[str, Any]) -> Strategy:
    return strategy_class(name)(np.asarray(centroid, dtype=np.float64), rng=rng, **params)
