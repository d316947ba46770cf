"""Where a generation's time goes on Dask: ``python -m bioevo.bench_dask``.

Side by side in one process, on the default network (randman-10: 30 inputs
-> 64 LIF -> 10 leaky readouts, T 50) at P 64, B 256, interleaved so that
load from other processes hits every way alike (medians reported):

* ``local``: the local evaluator (its default: 2 binaries on 2 cores);
* ``dask-W``: the same generation through a LocalCluster of W = 1, 2 worker
  processes of 1 thread; each worker times its own simulation, so the Dask
  overhead (scheduling, serialisation, transfer, gather) is the wall time
  minus the slowest chunk's compute;
* ``noop-W``: tasks carrying the same genome chunks and returning results of
  the same size but computing nothing, for P 64..1024: the overhead alone,
  measured without compiling a network per P;
* ``serial``: the strategy's generate + update on the client (no simulation),
  for P 64..1024: the part no worker can take.

The last line of stdout is one JSON object; ``results/dask/README.md`` turns
it into a projection for 8, 32 and 128 workers.
"""
from __future__ import annotations

import json
import logging
import os
import time

import numpy as np

from .cli import Parser, positive_int

P, B = 64, 256
SWEEP_P = (64, 128, 256, 512, 1024)
PRESET = "randman-10"


def timed_chunk(token: str, spec_key: str, genomes: np.ndarray, indices: np.ndarray):
    """``remote.score_chunk`` and the seconds it took inside the worker."""
    from .cluster import remote

    t = time.perf_counter()
    out = remote.score_chunk(token, spec_key, genomes, indices)
    return out, time.perf_counter() - t


def noop_chunk(genomes: np.ndarray, indices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Results of the size score_chunk returns, without computing anything."""
    return np.zeros(len(genomes)), np.zeros(len(genomes))


def _dask_generation(pop, genomes: np.ndarray, indices: np.ndarray) -> tuple[float, float]:
    """(wall seconds, slowest chunk's compute seconds) of one generation through Dask."""
    workers = sorted(pop.client.scheduler_info()["workers"])
    t = time.perf_counter()
    futures = [pop.client.submit(timed_chunk, pop.token, pop.spec_key, genomes[k:k + pop.chunk], indices,
                                 pure=False, workers=[workers[n % len(workers)]], allow_other_workers=True)
               for n, k in enumerate(range(0, len(genomes), pop.chunk))]
    results = pop.client.gather(futures)
    return time.perf_counter() - t, max(r[1] for r in results)


def _noop_generation(client, genomes: np.ndarray, indices: np.ndarray, n_workers: int) -> float:
    workers = sorted(client.scheduler_info()["workers"])
    chunk = -(-len(genomes) // n_workers)
    t = time.perf_counter()
    futures = [client.submit(noop_chunk, genomes[k:k + chunk], indices, pure=False,
                             workers=[workers[n % len(workers)]], allow_other_workers=True)
               for n, k in enumerate(range(0, len(genomes), chunk))]
    client.gather(futures)
    return time.perf_counter() - t


def serial_seconds(cfg: dict, parts, popsize: int, repeats: int) -> float:
    """Median seconds of the strategy's generate + update at ``popsize`` (random losses)."""
    from .assemble import make_configured_strategy, seeded_streams
    from .strategies.base import deap_classes

    c = json.loads(json.dumps(cfg))
    c["strategy"]["es"]["popsize"] = popsize
    rng = seeded_streams(0)
    strategy = make_configured_strategy(c, parts.layout.initial(rng["init"]), rng["strategy"], parts.layout)
    _, individual = deap_classes()
    times = []
    for _ in range(repeats + 1):
        t = time.perf_counter()
        population = strategy.generate(individual)
        for ind, loss in zip(population, rng["init"].random(len(population))):
            ind.fitness.values = (float(loss),)
        strategy.update(population)
        times.append(time.perf_counter() - t)
    return float(np.median(times[1:]))


def main(argv: list[str] | None = None) -> dict:
    parser = Parser(prog="python -m bioevo.bench_dask", description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=positive_int, default=10, help="timed generations per way (median)")
    args = parser.parse_args(argv)
    logging.getLogger("brian2").setLevel(logging.ERROR)
    from . import load_config
    from .assemble import assemble
    from .cluster.connect import cluster_client
    from .cluster.population import DaskPopulation
    from .evolve import batch_indices
    from .strategies.base import deap_classes

    cfg = load_config(PRESET, [f"strategy.es.popsize={P}", f"evolve.batch_size={B}"])
    parts = assemble(cfg)
    _, individual = deap_classes()
    genomes = np.asarray(parts.strategy.generate(individual))
    train = parts.splits["train"]
    indices = batch_indices(len(train), B, 0, 0)
    batch = train.subset(indices)
    n_params = parts.layout.size
    rng = np.random.default_rng(0)
    out = {"preset": PRESET, "P": P, "B": B, "n_params": n_params, "cpu_count": os.cpu_count(),
           "loadavg_start": os.getloadavg(), "repeats": args.repeats, "local_binaries": parts.scorer.evaluator.workers}
    local_times = []
    for workers in (1, 2):
        with cluster_client(workers, None) as client:
            pop = DaskPopulation(client, parts)
            assert np.array_equal(pop(genomes, indices)[0], parts.scorer.batch(genomes, batch)[0])  # same numbers
            _dask_generation(pop, genomes, indices)  # warm up
            walls, computes = [], []
            noop = {p: [] for p in SWEEP_P}
            sweep = {p: rng.standard_normal((p, n_params)) for p in SWEEP_P}
            for p in SWEEP_P:
                _noop_generation(client, sweep[p], indices, workers)
            for _ in range(args.repeats):
                t = time.perf_counter()
                parts.scorer.batch(genomes, batch)
                local_times.append(time.perf_counter() - t)
                wall, compute = _dask_generation(pop, genomes, indices)
                walls.append(wall)
                computes.append(compute)
                for p in SWEEP_P:
                    noop[p].append(_noop_generation(client, sweep[p], indices, workers))
            wall, compute = float(np.median(walls)), float(np.median(computes))
            overhead = float(np.median(np.subtract(walls, computes)))
            out[f"dask-{workers}"] = {"wall_s": wall, "compute_s": compute, "overhead_s": overhead,
                                      "chunk": pop.chunk,
                                      "noop_s": {p: float(np.median(v)) for p, v in noop.items()}}
    out["local_s"] = float(np.median(local_times))
    for workers in (1, 2):
        d = out[f"dask-{workers}"]
        d["overhead_vs_local"] = d["overhead_s"] / out["local_s"]
        d["overhead_vs_compute"] = d["overhead_s"] / d["compute_s"]
    out["serial_s"] = {p: serial_seconds(cfg, parts, p, args.repeats) for p in SWEEP_P}
    out["loadavg_end"] = os.getloadavg()
    print(format_table(out))
    print(json.dumps(out))
    return out


def format_table(r: dict) -> str:
    ms = lambda s: f"{1e3 * s:.1f}"  # noqa: E731
    lines = [f"P {r['P']}, B {r['B']}, {r['preset']} ({r['n_params']} parameters); load average "
             f"{r['loadavg_start'][0]:.1f} at start, {r['loadavg_end'][0]:.1f} at end, {r['cpu_count']} cores",
             "| way | generation (ms) | compute (ms) | Dask overhead (ms) | overhead / local | overhead / compute |",
             "|---|---:|---:|---:|---:|---:|",
             f"| local ({r['local_binaries']} binaries) | {ms(r['local_s'])} | {ms(r['local_s'])} | - | - | - |"]
    for w in (1, 2):
        d = r[f"dask-{w}"]
        lines.append(f"| dask, {w} worker(s) x 1 thread | {ms(d['wall_s'])} | {ms(d['compute_s'])} | "
                     f"{ms(d['overhead_s'])} | {100 * d['overhead_vs_local']:.1f}% | {100 * d['overhead_vs_compute']:.1f}% |")
    lines += ["", "| P | serial generate+update (ms) | no-op round trip, 1 worker (ms) | 2 workers (ms) |",
              "|---:|---:|---:|---:|"]
    for p in SWEEP_P:
        lines.append(f"| {p} | {ms(r['serial_s'][p])} | {ms(r['dask-1']['noop_s'][p])} | {ms(r['dask-2']['noop_s'][p])} |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
