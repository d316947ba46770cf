"""What runs inside a Dask worker: score one chunk of genomes on one batch.

A worker keeps one :class:`~bioevo.scoring.Scorer` per run (built on its first
chunk, from the shared build cache or compiled once there) and only one:
Brian2 holds one standalone project per process, so a chunk of another run
replaces it.  Each worker runs one copy of the compiled binary (Dask gives it
one thread); the run's data arrive once, inside the scattered :class:`RunSpec`,
and stay in the worker process (Dask's memory manager may drop extra replicas
of a scattered key, which would otherwise send the data again)."""
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


_current: dict = {}  # token -> (RunSpec, Scorer) of the run this process serves (at most one)


def _install(spec: RunSpec):
    """Keep ``spec`` and a scorer for it in this process, replacing another run's."""
    from ..scoring import make_scorer

    logging.getLogger("brian2").setLevel(logging.ERROR)
    for _, old in _current.values():
        old.evaluator.close()
    _current.clear()
    scorer = make_scorer(spec.cfg, spec.model, spec.layout, spec.chunk, spec.n_steps, binaries=1)
    _current[spec.token] = (spec, scorer)
    return spec, scorer


def _run(token: str, spec_key: str):
    """This process's (spec, scorer) for a run.  A worker that joined after the
    run started (a restarted one) fetches the scattered spec once, by its key."""
    if token not in _current:
        from distributed import Future, get_client

        client = get_client()
        _install(client.gather(Future(spec_key, client)))
    return _current[token]


def probe() -> str:
    """A task the scheduler can only pass on if it can load this module (it unpickles task graphs)."""
    return __name__


def prepare(spec: RunSpec) -> int:
    """Keep the run's data and build (or load from the cache) this worker's
    evaluator; returns the chunk size it holds."""
    if spec.token not in _current:
        _install(spec)
    return _current[spec.token][1].evaluator.population


def score_chunk(token: str, spec_key: str, genomes: np.ndarray, indices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(loss, accuracy) of each genome of the chunk on the training samples ``indices``.

    The task carries only the chunk and the indices: the data stay in the
    worker from :func:`prepare` (Dask may drop its own extra replicas)."""
    spec, scorer = _run(token, spec_key)
    return scorer.batch(genomes, spec.train.subset(indices))
