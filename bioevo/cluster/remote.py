"""What runs inside a Dask worker: score one chunk of genomes on one batch.

A worker keeps one :class:`~bioevo.scoring.Scorer` per run (built on its first
chunk, from the shared build cache or compiled once there) and only one:
Brian2 holds one standalone project per process, so a chunk of another run
replaces it.  Each worker runs one copy of the compiled binary (Dask gives it
one thread); the run's data arrive once, inside the scattered :class:`RunSpec`."""
from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from ..data.spikes import SpikeData
from ..genome import GenomeLayout
from ..model import ModelSpec


@dataclass
class RunSpec:
    """Everything a worker needs to score a run's genomes: scattered once per run."""

    token: str  # identifies the run (a new one per client session)
    cfg: dict
    model: ModelSpec
    layout: GenomeLayout
    train: SpikeData
    chunk: int  # individuals per task: the size of the worker's compiled network
    n_steps: int


_current: dict = {}  # token -> Scorer of the run this process serves (at most one)


def scorer_for(spec: RunSpec):
    """This process's scorer for ``spec``'s run, built on first use."""
    scorer = _current.get(spec.token)
    if scorer is None:
        from ..scoring import make_scorer

        logging.getLogger("brian2").setLevel(logging.ERROR)
        for old in _current.values():
            old.evaluator.close()
        _current.clear()
        scorer = make_scorer(spec.cfg, spec.model, spec.layout, spec.chunk, spec.n_steps, binaries=1)
        _current[spec.token] = scorer
    return scorer


def prepare(spec: RunSpec) -> int:
    """Build (or load from the cache) this worker's evaluator; returns the chunk size it holds."""
    return scorer_for(spec).evaluator.population


def score_chunk(spec: RunSpec, genomes: np.ndarray, indices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(loss, accuracy) of each genome of the chunk on the training samples ``indices``."""
    return scorer_for(spec).batch(genomes, spec.train.subset(indices))
