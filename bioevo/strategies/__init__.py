"""Strategies by name: ``REGISTRY`` maps a name to (module, class).  A preset may set
a strategy's declared hyperparameters (``PARAMS``) under [strategy.<name>]."""
from __future__ import annotations

from importlib import import_module
from typing import Any

import numpy as np

from .base import Strategy

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
    "snes": ("snes", "SNES"),
    "cr-fm-nes": ("crfmnes", "CRFMNES"),
    "pgpe": ("pgpe", "PGPE"),
}


def strategy_class(name: str) -> type[Strategy]:
    if name not in REGISTRY:
        raise ValueError(f"unknown strategy '{name}'; allowed: {', '.join(REGISTRY)}")
    module, cls = REGISTRY[name]
    return getattr(import_module(f"{__name__}.{module}"), cls)


def strategy_defaults(name: str) -> dict[str, Any]:
    """Hyperparameters of strategy ``name`` with their defaults."""
    return dict(strategy_class(name).DEFAULTS)


def make_strategy(name: str, centroid: np.ndarray, rng: np.random.Generator, params: dict[str, Any],
                  scale: np.ndarray | None = None) -> Strategy:
    """Strategy ``name`` at ``centroid`` with hyperparameters ``params`` and per-gene step scales (None: ones)."""
    return strategy_class(name)(np.asarray(centroid, dtype=np.float64), rng, scale=scale, **params)


def hyperparameter_table() -> str:
    """Every registered strategy's hyperparameters as a Markdown table: docs/strategies.md holds it,
    written by ``bioevo docs`` (:mod:`bioevo.tasks.docs`), so it cannot drift from the declarations."""
    rows = ["| strategy | hyperparameter | default | allowed | meaning |", "| --- | --- | --- | --- | --- |"]
    for name in REGISTRY:
        for p in strategy_class(name).PARAMS:
            rows.append(f"| {name} | `{p.name}` | `{p.default!r}` | {p.allowed()} | {p.doc} |")
    return "\n".join(rows)
