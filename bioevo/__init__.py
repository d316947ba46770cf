"""bioevo: gradient-free training of biophysical spiking networks (Brian2 models,
DEAP evolution strategies).

The Python API (the commands are thin wrappers around it)::

    import bioevo
    cfg = bioevo.load_config("digits", ["evolve.generations=50"])
    result = bioevo.run(cfg)            # or bioevo.resume(run_dir)
    print(result.summary["test"]["accuracy"], result.run_dir)
"""
from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = ["load_config", "run", "resume", "RunResult", "ConfigError", "RunError"]


def __getattr__(name: str) -> Any:
    """Import the training stack (Brian2, DEAP) only when the API is used."""
    if name in ("load_config", "run", "resume", "RunResult"):
        from . import pipeline
        return getattr(pipeline, name)
    if name == "ConfigError":
        from .config import ConfigError
        return ConfigError
    if name == "RunError":
        from .errors import RunError
        return RunError
    raise AttributeError(f"module 'bioevo' has no attribute {name!r}")
