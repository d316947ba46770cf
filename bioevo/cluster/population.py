"""Client side of population evaluation on Dask.

The run's data and networks go to every worker once (``scatter``, broadcast);
each generation submits one task per chunk of genomes carrying only the
chunk and the batch indices, and gathers the results in order.  The chunks
live in the task (not scattered) so that Dask can recompute the chunk of a
worker that dies; a task that raises is retried by Dask (``retries``)."""
from __future__ import annotations

import time
import uuid
from concurrent.futures import CancelledError

import numpy as np

from ..config import ConfigError, temperature_switches
from ..errors import RunError
from . import remote

RETRIES = 2  # a chunk whose task raises is run again this often before the run stops
WORKERS_REFRESH_S = 5.0  # how often the list of workers (where chunks are sent first) is refreshed


class ClusterLost(RunError):
    """The scheduler went away or the workers kept dying: the run cannot go on here."""


class DaskPopulation:
    """``(genomes, batch indices) -> (loss, accuracy)`` per genome, on the workers of ``client``.

    ``chunk``: individuals per task (default: the population split evenly
    over the workers connected now)."""

    def __init__(self, client, parts, chunk: int | None = None) -> None:
        from ..assemble import population_size

        if temperature_switches(parts.cfg["fitness"]):
            raise ConfigError("fitness.temperature_generations (a temperature that changes during the run) is not "
                              "supported with Dask workers yet: the workers score at one temperature; train "
                              "without --workers/--scheduler, or set fitness.temperature_generations = 0")
        self.client = client
        workers = sorted(client.scheduler_info()["workers"])
        popsize = population_size(parts.strategy)
        if chunk is not None and (isinstance(chunk, bool) or not isinstance(chunk, int) or chunk < 1):
            raise ConfigError(f"dask chunk must be an integer >= 1 (individuals per task), got {chunk!r}")
        self.chunk = min(chunk or -(-popsize // len(workers)), popsize)
        self.token = uuid.uuid4().hex
        spec = remote.RunSpec(self.token, parts.cfg, parts.model, parts.layout, parts.splits["train"],
                              self.chunk, parts.n_steps)
        self._spec = client.scatter(spec, broadcast=True, hash=False)
        self._prepare(workers)
        self._worker_list, self._workers_at = workers, time.monotonic()

    def _prepare(self, workers: list[str]) -> None:
        """Build every worker's evaluator now, so that a worker without a compiler fails before the run starts."""
        futures = {w: self.client.submit(remote.prepare, self._spec, workers=[w], allow_other_workers=False,
                                         pure=False) for w in workers}
        for address, future in futures.items():
            try:
                future.result()
            except Exception as err:  # noqa: BLE001 - whatever broke the build there, in one line
                reason = (str(err).strip().splitlines() or [type(err).__name__])[0][:200]
                raise ConfigError(f"Dask worker {address} cannot build the run's network "
                                  f"({type(err).__name__}: {reason}); it needs bioevo and a C++ compiler "
                                  "(or --backend runtime)") from None

    def _workers(self) -> list[str]:
        """The cluster's workers, asked of the scheduler at most every WORKERS_REFRESH_S (a round trip)."""
        now = time.monotonic()
        if now - self._workers_at > WORKERS_REFRESH_S:
            try:
                self._worker_list = sorted(self.client.scheduler_info()["workers"]) or self._worker_list
            except Exception:  # noqa: BLE001 - a lost scheduler is reported by gather, in one line
                pass
            self._workers_at = now
        return self._worker_list

    @property
    def spec_key(self) -> str:
        """The Dask key of the scattered run data."""
        return self._spec.key

    def __call__(self, genomes: np.ndarray, indices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return self.gather(self.submit(genomes, indices))

    def submit(self, genomes: np.ndarray, indices: np.ndarray) -> list:
        """One task per chunk of ``genomes``, each carrying its chunk and the batch indices."""
        genomes = np.asarray(genomes, dtype=np.float64)
        indices = np.asarray(indices)
        workers = self._workers()
        starts = range(0, len(genomes), self.chunk)
        # chunk k prefers worker k (spreads a generation evenly); any worker may take it if that one is gone
        return [self.client.submit(remote.score_chunk, self.token, self.spec_key, genomes[k:k + self.chunk],
                                   indices, pure=False, retries=RETRIES, workers=[workers[n % len(workers)]],
                                   allow_other_workers=True) for n, k in enumerate(starts)]

    def gather(self, futures: list) -> tuple[np.ndarray, np.ndarray]:
        """The chunks' (loss, accuracy) joined in the order of the genomes."""
        from distributed import KilledWorker

        try:
            parts = self.client.gather(futures)
        except KilledWorker as err:
            raise ClusterLost(f"Dask workers kept dying while scoring one chunk ({err}); the cluster cannot "
                              "run this job") from None
        except (OSError, TimeoutError, CancelledError) as err:  # the scheduler is gone: the client cancels all
            reason = (str(err).strip().splitlines() or [type(err).__name__])[0][:120]
            raise ClusterLost(f"lost the Dask scheduler ({type(err).__name__}: {reason})") from None
        return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
