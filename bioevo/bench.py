"""The benchmark network behind ``bioevo bench`` (:mod:`bioevo.tasks.bench`):
a Brian2 ``cpp`` population evaluator timed against the vectorised numpy
reference (``bioevo.sim.reference.simulate_lif``) on the same genomes and
inputs, each beside its arithmetic limit (``bioevo.limits``).

Network: 30 inputs -> 64 LIF hidden -> 10 leaky readouts, T=50 steps, weight
gains 10 (input->hidden) and 1 (hidden->readout), per-neuron tau_mem and v_th
drawn from a gamma distribution, so hidden neurons fire a few spikes per
sample.  Each input unit fires once per sample at a random step.

Every way is run once to warm up, then ``repeats`` times, interleaved (cpp,
numpy64, numpy32, cpp, ...) so that load from other processes on the machine
hits all of them alike; the median is reported.  Each sweep point is a new cpp
build (one standalone project per process): compiled projects are cached under
``~/.cache/bioevo`` (``$BIOEVO_CACHE``), so reruns skip the compiler.

The arithmetic limit is the time the cores need for the operations the
equations ask for (neuron updates and one synaptic event per spike and target),
at rates a small compiled kernel measures on all worker cores at once, with
every operand in the L1 cache (``bioevo/limits.py``).

``python -m bioevo.bench`` is ``bioevo bench``.
"""
from __future__ import annotations

import os
import platform
import time

import numpy as np


MAIN_POINT = (32, 256)
SWEEP = [(8, 64), (16, 128), (32, 128), (32, 256), (64, 256), (64, 512)]
QUICK_SWEEP = [(8, 64), (32, 128), (32, 256)]
SIZES = {"inputs": 30, "hidden": 64, "classes": 10}
N_STEPS = 50
WEIGHT_GAIN = {"input_hidden": 10.0, "hidden_readout": 1.0}
EVOLVE = ["hidden.tau_mem", "hidden.v_th"]


def quiet_brian():
    import brian2 as b2

    b2.prefs.logging.console_log_level = "ERROR"
    return b2


def environment() -> dict:
    """Versions, cores, load and the BLAS threading setup that numpy runs with."""
    import brian2 as b2

    info = {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "brian2": b2.__version__,
        "cpu_count": os.cpu_count(),
        "loadavg_1min": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
        "env": {k: v for k, v in os.environ.items()
                if k.startswith(("OPENBLAS_", "OMP_", "MKL_", "BLIS_")) or k == "BIOEVO_CACHE"},
    }
    try:
        import threadpoolctl

        info["threadpools"] = [
            {k: p.get(k) for k in ("internal_api", "num_threads", "architecture", "version")}
            for p in threadpoolctl.threadpool_info()
        ]
    except ImportError:
        try:
            blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
            info["blas"] = {k: blas.get(k) for k in ("name", "version")}
        except Exception:  # noqa: BLE001 - informative only
            pass
        info["threadpools"] = "threadpoolctl not installed"
    return info


def make_problem(population: int, batch: int, seed: int = 0, hidden: int | None = None):
    """Layout, decoded parameters and a raster in which each input unit fires once per sample
    (``hidden``: another hidden-layer size than the benchmark's, for the GPU sweep)."""
    from .genome import build_layout
    from .model import load_model

    model = load_model("lif")
    sizes = SIZES if hidden is None else {**SIZES, "hidden": hidden}
    layout = build_layout(model, sizes, WEIGHT_GAIN, evolve=EVOLVE, init="gamma")
    rng = np.random.default_rng(seed)
    genomes = np.stack([layout.initial(rng) for _ in range(population)])
    n_in = SIZES["inputs"]
    raster = np.zeros((batch, N_STEPS, n_in), dtype=bool)
    for b in range(batch):
        raster[b, rng.integers(0, N_STEPS, n_in), np.arange(n_in)] = True
    return model, layout, layout.decode(genomes), raster


def _time_interleaved(fns: dict, repeats: int) -> dict[str, list[float]]:
    """One warm-up call each, then ``repeats`` rounds calling every function once."""
    for fn in fns.values():
        fn()
    times = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    return times


def bench_point(population: int, batch: int, repeats: int, record_trace: bool = False,
                with_numpy: bool = True, check: bool = False, workers: int | None = None,
                parallel_samples: bool = False, options: dict | None = None, rates: dict | None = None,
                profile_n: int = 0) -> dict:
    """Build a cpp evaluator for (P, B) and time it (and numpy) on the same problem; with
    ``rates`` (``limits.peak_rates``), the arithmetic limit of the evaluation beside it."""
    from .sim.evaluator import PopulationEvaluator
    from .sim.reference import simulate_lif

    model, layout, params, raster = make_problem(population, batch)
    t0 = time.perf_counter()
    ev = PopulationEvaluator(model, layout.layer_sizes, population, batch, N_STEPS, backend="cpp",
                             record_trace=record_trace, workers=workers, parallel_samples=parallel_samples,
                             **(options or {}))
    build_s = time.perf_counter() - t0

    def run_cpp():
        ev.evaluate(params, raster)

    fns = {"cpp": run_cpp}
    if with_numpy:
        fns["numpy64"] = lambda: simulate_lif(params, raster, dtype=np.float64)
        fns["numpy32"] = lambda: simulate_lif(params, raster, dtype=np.float32)
    try:
        times = _time_interleaved(fns, repeats)
        row = {"P": population, "B": batch, "PB": population * batch, "record_trace": record_trace,
               "workers": ev.workers, "build_s": round(build_s, 3)}
        for name, ts in times.items():
            row[f"{name}_s"] = float(np.median(ts))
            row[f"{name}_min_s"] = float(np.min(ts))
        row["cpp_us_per_sample"] = 1e6 * row["cpp_s"] / (population * batch)
        if rates is not None:
            row.update(limit_row(model, layout, params, raster, rates))
            row["times_limit"] = row["cpp_us_per_sample"] / row["limit_us_per_sample"]
        if with_numpy:
            row["speedup_vs_numpy64"] = row["numpy64_s"] / row["cpp_s"]
            row["speedup_vs_numpy32"] = row["numpy32_s"] / row["cpp_s"]
        if profile_n:
            from .bench_presets import counts_per_evaluation
            from .bench_profile import profile, unit_costs

            where = profile(run_cpp, profile_n, ev)
            counts = simulate_lif(params, raster, dtype=np.float64)[2]
            spikes = {"input": float((raster > 0).sum() / len(raster)), "hidden": float(counts.sum(axis=2).mean())}
            n = counts_per_evaluation(model, layout.layer_sizes, population, batch, N_STEPS, spikes, ev.workers)
            where["per_unit"] = unit_costs(where["seconds"], n["neuron_updates"], n["events"], n["steps"])
            where["counts"] = n
            row["profile"] = where
        if check:
            r = ev.evaluate(params, raster)
            vmax64, _, counts = simulate_lif(params, raster, dtype=np.float64)
            vmax32, _, _ = simulate_lif(params, raster, dtype=np.float32)
            row["vmax_max_abs_diff_cpp_numpy64"] = float(np.abs(r.vmax - vmax64).max())
            row["vmax_max_abs_diff_numpy32_numpy64"] = float(np.abs(vmax32 - vmax64).max())
            row["hidden_spikes_per_neuron_per_sample"] = float(counts.mean())
            row["hidden_silent_fraction"] = float((counts.sum(axis=1) == 0).mean())
            if record_trace:
                row["trace_max_equals_vmax"] = bool(np.array_equal(r.trace.max(axis=2), r.vmax))
    finally:
        ev.close()
    return row


def limit_row(model, layout, params, raster, rates: dict) -> dict:
    """Arithmetic limit per individual-sample of the benchmark network, with its hidden spikes
    counted by the numpy reference."""
    from .limits import limit_seconds, work_per_sample
    from .sim.reference import simulate_lif

    counts = simulate_lif(params, raster, dtype=np.float64)[2]  # (P, B, hidden)
    spikes = {"input": float((raster > 0).sum() / len(raster)), "hidden": float(counts.sum(axis=2).mean())}
    work = work_per_sample(model, layout.layer_sizes, N_STEPS, spikes)
    limit = limit_seconds(work, rates)
    return {"limit_us_per_sample": 1e6 * limit["limit_s"], "arithmetic_us_per_sample": 1e6 * limit["arithmetic_s"],
            "memory_us_per_sample": 1e6 * limit["memory_s"], "flops_per_sample": work.flops,
            "memops_per_sample": work.memops}


if __name__ == "__main__":  # python -m bioevo.bench, as the results/ folders quote it
    from .tasks.bench import main

    main()
