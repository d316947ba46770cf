"""Where a generation's time goes on Dask: ``bioevo bench --dask``.

Side by side in one process, on the default network (randman-10: 30 inputs
-> 64 LIF -> 10 leaky readouts, T 50) at P 64, B 256, interleaved so that
load from other processes hits every way alike (medians reported):

* ``local``: the local evaluator (its default: 2 binaries on 2 cores);
* ``dask-W``: the same generation through a LocalCluster of W = 1, 2 worker
  processes of 1 thread; each worker times its own simulation, so the Dask
  overhead (scheduling, serialisation, transfer, gather) is the wall time
  minus the slowest chunk's compute;
* ``noop``: K tasks (K = 1..128, as for K workers) carrying the genome
  chunks of a population of P (64..1024) and returning results of the size
  score_chunk returns, but computing nothing, on the 2-worker cluster: the
  overhead alone, without compiling a network per P (an upper bound for K
  workers: here K tasks share 2 workers);
* ``serial``: the strategy's generate + update on the client (no simulation),
  for P 64..1024: the part no worker can take.

From these it projects the generation time with W workers at P:
serial(P) + noop(K=W, P) + ceil(P/W) x (one individual's compute on one
core), against serial(P) + P x that compute on one core.  The last line of
stdout is one JSON object.
"""
from __future__ import annotations

import json
import logging
import os
import time

import numpy as np

P, B = 64, 256
SWEEP_P = (64, 128, 256, 512, 1024)
TASKS = (1, 2, 8, 32, 128)  # tasks per generation, as for that many workers
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
    t = time.perf_counter()
    workers = pop._workers()  # as DaskPopulation.submit
    futures = [pop.client.submit(timed_chunk, pop.token, pop.spec_key, genomes[k:k + pop.chunk], indices,
                                 pure=False, workers=[workers[n % len(workers)]], allow_other_workers=True)
               for n, k in enumerate(range(0, len(genomes), pop.chunk))]
    results = pop.client.gather(futures)
    return time.perf_counter() - t, max(r[1] for r in results)


def _noop_generation(client, genomes: np.ndarray, indices: np.ndarray, n_tasks: int) -> float:
    workers = sorted(client.scheduler_info()["workers"])  # outside the timing: DaskPopulation caches it
    chunk = -(-len(genomes) // n_tasks)
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


def run(repeats: int) -> dict:
    """Time every way ``repeats`` times (medians), print the tables and the JSON line."""
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
           "loadavg_start": os.getloadavg(), "repeats": repeats, "local_binaries": parts.scorer.evaluator.workers}
    local_times = []
    for workers in (1, 2):
        with cluster_client(workers, None) as client:
            pop = DaskPopulation(client, parts)
            assert np.array_equal(pop(genomes, indices)[0], parts.scorer.batch(genomes, batch)[0])  # same numbers
            _dask_generation(pop, genomes, indices)  # warm up
            walls, computes = [], []
            noop = {(k, p): [] for k in TASKS for p in SWEEP_P if k <= p} if workers == 2 else {}
            sweep = {p: rng.standard_normal((p, n_params)) for p in SWEEP_P}
            for k, p in noop:
                _noop_generation(client, sweep[p], indices, k)
            for _ in range(repeats):
                t = time.perf_counter()
                parts.scorer.batch(genomes, batch)
                local_times.append(time.perf_counter() - t)
                wall, compute = _dask_generation(pop, genomes, indices)
                walls.append(wall)
                computes.append(compute)
                for k, p in noop:
                    noop[k, p].append(_noop_generation(client, sweep[p], indices, k))
            wall, compute = float(np.median(walls)), float(np.median(computes))
            overhead = float(np.median(np.subtract(walls, computes)))
            out[f"dask-{workers}"] = {"wall_s": wall, "compute_s": compute, "overhead_s": overhead,
                                      "chunk": pop.chunk}
            if noop:
                out["noop_s"] = {f"{k}x{p}": float(np.median(v)) for (k, p), v in noop.items()}
    out["local_s"] = float(np.median(local_times))
    for workers in (1, 2):
        d = out[f"dask-{workers}"]
        d["overhead_vs_local"] = d["overhead_s"] / out["local_s"]
        d["overhead_vs_compute"] = d["overhead_s"] / d["compute_s"]
    out["serial_s"] = {str(p): serial_seconds(cfg, parts, p, repeats) for p in SWEEP_P}
    out["projection"] = projection(out)
    out["loadavg_end"] = os.getloadavg()
    print(format_table(out))
    print(json.dumps(out))
    return out


def projection(r: dict) -> dict:
    """Projected generation seconds and speedup over one core for W workers at P (see the module docstring)."""
    per_individual = r["dask-1"]["compute_s"] / r["P"]  # one core, B 256
    rows = {}
    for p in SWEEP_P:
        one_core = r["serial_s"][str(p)] + p * per_individual
        for w in (8, 32, 128):
            k = min(w, p)
            noop = r["noop_s"].get(f"{k}x{p}")
            if noop is None:  # more tasks than measured: the largest measured count, scaled per task
                kmax = max(t for t in TASKS if t <= p)
                noop = r["noop_s"][f"{kmax}x{p}"] * k / kmax
            seconds = r["serial_s"][str(p)] + noop + -(-p // w) * per_individual
            rows[f"{w}x{p}"] = {"seconds": seconds, "speedup": one_core / seconds,
                                "serial_and_overhead": (r["serial_s"][str(p)] + noop) / seconds}
    return rows


def format_table(r: dict) -> str:
    ms = lambda s: f"{1e3 * s:.1f}"  # noqa: E731
    lines = [f"P {r['P']}, B {r['B']}, {r['preset']} ({r['n_params']} parameters); load average "
             f"{r['loadavg_start'][0]:.1f} at start, {r['loadavg_end'][0]:.1f} at end, {r['cpu_count']} cores, "
             f"medians of {r['repeats']}",
             "| way | generation (ms) | compute (ms) | Dask overhead (ms) | overhead / local | overhead / compute |",
             "|---|---:|---:|---:|---:|---:|",
             f"| local ({r['local_binaries']} binaries) | {ms(r['local_s'])} | {ms(r['local_s'])} | - | - | - |"]
    for w in (1, 2):
        d = r[f"dask-{w}"]
        lines.append(f"| dask, {w} worker(s) x 1 thread | {ms(d['wall_s'])} | {ms(d['compute_s'])} | "
                     f"{ms(d['overhead_s'])} | {100 * d['overhead_vs_local']:.1f}% | {100 * d['overhead_vs_compute']:.1f}% |")
    lines += ["", "| P | serial generate+update (ms) | " + " | ".join(f"no-op, {k} task(s) (ms)" for k in TASKS) + " |",
              "|---:|---:|" + "---:|" * len(TASKS)]
    for p in SWEEP_P:
        cells = [ms(r["noop_s"][f"{k}x{p}"]) if f"{k}x{p}" in r["noop_s"] else "-" for k in TASKS]
        lines.append(f"| {p} | {ms(r['serial_s'][str(p)])} | " + " | ".join(cells) + " |")
    lines += ["", "| P | " + " | ".join(f"{w} workers: generation (ms), speedup over 1 core, serial+overhead share"
                                        for w in (8, 32, 128)) + " |", "|---:|---|---|---|"]
    for p in SWEEP_P:
        cells = [r["projection"][f"{w}x{p}"] for w in (8, 32, 128)]
        lines.append(f"| {p} | " + " | ".join(f"{ms(c['seconds'])}, {c['speedup']:.1f}x, {100 * c['serial_and_overhead']:.0f}%"
                                            for c in cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":  # python -m bioevo.bench_dask, as results/dask quotes it
    import sys

    from .tasks.bench import main

    main(["--dask", *sys.argv[1:]])
