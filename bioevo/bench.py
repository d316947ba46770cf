"""Time the Brian2 ``cpp`` population evaluator against the vectorised numpy
reference (``bioevo.sim.reference.simulate_lif``) on the same genomes and
inputs, in one process.

    python -m bioevo.bench [--repeats N] [--quick]
    python -m bioevo.bench --backend cuda [--repeats N] [--quick]   # the GPU check: bioevo/bench_cuda.py

Network: 30 inputs -> 64 LIF hidden -> 10 leaky readouts, T=50 steps, weight
gains 10 (input->hidden) and 1 (hidden->readout), per-neuron tau_mem and v_th
drawn from a gamma distribution, so hidden neurons fire a few spikes per
sample.  Each input unit fires once per sample at a random step.

Every way is run once to warm up, then ``--repeats`` times, interleaved (cpp,
numpy64, numpy32, cpp, ...) so that load from other processes on the machine
hits all of them alike; the median is reported.  Each sweep point is a new cpp
build (one standalone project per process): compiled projects are cached under
``~/.cache/bioevo`` (``$BIOEVO_CACHE``), so reruns skip the compiler.

The last line of stdout is one JSON object with the results.
"""
from __future__ import annotations

import json
import os
import platform
import sys
import time

import numpy as np

from .cli import Parser, fail, positive_int

MAIN_POINT = (32, 256)
SWEEP = [(8, 64), (16, 128), (32, 128), (32, 256), (64, 256), (64, 512)]
QUICK_SWEEP = [(8, 64), (32, 128), (32, 256)]
SIZES = {"inputs": 30, "hidden": 64, "classes": 10}
N_STEPS = 50
WEIGHT_GAIN = {"input_hidden": 10.0, "hidden_readout": 1.0}
EVOLVE = ["hidden.tau_mem", "hidden.v_th"]


def _quiet_brian():
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
                parallel_samples: bool = False) -> dict:
    """Build a cpp evaluator for (P, B) and time it (and numpy) on the same problem."""
    from .sim.evaluator import PopulationEvaluator
    from .sim.reference import simulate_lif

    model, layout, params, raster = make_problem(population, batch)
    t0 = time.perf_counter()
    ev = PopulationEvaluator(model, layout.layer_sizes, population, batch, N_STEPS, backend="cpp",
                             record_trace=record_trace, workers=workers, parallel_samples=parallel_samples)
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
        if with_numpy:
            row["speedup_vs_numpy64"] = row["numpy64_s"] / row["cpp_s"]
            row["speedup_vs_numpy32"] = row["numpy32_s"] / row["cpp_s"]
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


def _fmt_table(rows: list[dict]) -> str:
    head = (f"{'P':>4} {'B':>5} {'P*B':>6} {'workers':>7} {'cpp s':>8} {'numpy64 s':>10} {'numpy32 s':>10} "
            f"{'np64/cpp':>9} {'np32/cpp':>9} {'cpp us/PB':>10}")
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(
            f"{r['P']:>4} {r['B']:>5} {r['PB']:>6} {r['workers']:>7} {r['cpp_s']:>8.4f} "
            f"{r.get('numpy64_s', float('nan')):>10.4f} {r.get('numpy32_s', float('nan')):>10.4f} "
            f"{r.get('speedup_vs_numpy64', float('nan')):>8.2f}x {r.get('speedup_vs_numpy32', float('nan')):>8.2f}x "
            f"{r['cpp_us_per_sample']:>10.2f}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict:
    parser = Parser(prog="python -m bioevo.bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=positive_int, default=None, help="timed runs per way after one warm-up "
                        "(default 5, 3 with --quick)")
    parser.add_argument("--quick", action="store_true", help=f"sweep only {QUICK_SWEEP}")
    parser.add_argument("--workers", type=positive_int, default=None,
                        help="binaries run at once by the cpp evaluator (default: its own, 2 on >= 2 cores)")
    parser.add_argument("--backend", choices=["cpp", "cuda"], default="cpp",
                        help="cuda: the GPU check, cuda against cpp readouts and a timing sweep (bioevo/bench_cuda.py)")
    parser.add_argument("--layout", choices=["sequential", "parallel"], default="sequential",
                        help="the samples one after another (default) or side by side (the GPU layout); "
                             "for cuda, the cpp reference stays sequential")
    args = parser.parse_args(argv)
    parallel = args.layout == "parallel"
    repeats = args.repeats if args.repeats is not None else (3 if args.quick else 5)
    if args.backend == "cuda":
        from .sim.cuda import unavailable

        problem = unavailable("--backend cuda")
        if problem:
            fail(parser.prog, problem, 2)
        _quiet_brian()
        from .bench_cuda import run

        return run(repeats, args.quick, parallel)
    _quiet_brian()
    env = environment()
    print(f"bioevo.bench: lif {SIZES['inputs']}->{SIZES['hidden']}->{SIZES['classes']}, T={N_STEPS}, "
          f"{args.layout} samples, "
          f"weight gain {WEIGHT_GAIN['input_hidden']:g}/{WEIGHT_GAIN['hidden_readout']:g}, "
          f"median of {repeats} after 1 warm-up")
    print(f"python {env['python']}, numpy {env['numpy']}, brian2 {env['brian2']}, {env['cpu_count']} cores, "
          f"load {env['loadavg_1min']}")
    print(f"BLAS/threads env: {env['env'] or '(none set)'}; threadpools: {env['threadpools']}"
          + (f"; blas {env['blas']}" if "blas" in env else ""))
    sys.stdout.flush()

    P, B = MAIN_POINT
    main_row = bench_point(P, B, repeats, check=True, workers=args.workers, parallel_samples=parallel)
    trace_row = bench_point(P, B, repeats, record_trace=True, with_numpy=False, check=True, workers=args.workers,
                            parallel_samples=parallel)
    print(f"\nmain point P={P}, B={B} (cpp build {main_row['build_s']:.1f} s, "
          f"{main_row['hidden_spikes_per_neuron_per_sample']:.2f} hidden spikes per neuron per sample, "
          f"{100 * main_row['hidden_silent_fraction']:.0f}% of hidden neurons silent on every sample)")
    print(f"  cpp vmax only     {main_row['cpp_s']:.4f} s ({main_row['workers']} binaries at once)")
    print(f"  cpp + full trace  {trace_row['cpp_s']:.4f} s")
    print(f"  numpy float64     {main_row['numpy64_s']:.4f} s -> cpp is {main_row['speedup_vs_numpy64']:.2f}x faster")
    print(f"  numpy float32     {main_row['numpy32_s']:.4f} s -> cpp is {main_row['speedup_vs_numpy32']:.2f}x faster")
    print(f"  max |vmax cpp - numpy64| = {main_row['vmax_max_abs_diff_cpp_numpy64']:.3g}, "
          f"max |numpy32 - numpy64| = {main_row['vmax_max_abs_diff_numpy32_numpy64']:.3g}, "
          f"trace max over time == vmax: {trace_row['trace_max_equals_vmax']}")
    sys.stdout.flush()

    sweep = []
    for p, b in (QUICK_SWEEP if args.quick else SWEEP):
        row = main_row if (p, b) == MAIN_POINT else bench_point(p, b, repeats, workers=args.workers,
                                                                parallel_samples=parallel)
        sweep.append(row)
        print(f"  sweep P={p:>3} B={b:>4}: cpp {row['cpp_s']:.4f} s, numpy64 {row['numpy64_s']:.4f} s, "
              f"numpy32 {row['numpy32_s']:.4f} s", flush=True)
    print("\nsweep (median seconds per evaluation of P individuals x B samples)")
    print(_fmt_table(sweep))
    print(f"P=32 B=256 with record_trace=True: cpp {trace_row['cpp_s']:.4f} s "
          f"({trace_row['cpp_s'] / main_row['cpp_s']:.2f}x the vmax-only time)")

    result = {
        "network": {**SIZES, "T": N_STEPS, "weight_gain": WEIGHT_GAIN, "evolve": EVOLVE},
        "P": P, "B": B, "repeats": repeats, "layout": args.layout,
        "cpp_s": main_row["cpp_s"],
        "workers": main_row["workers"],
        "cpp_min_s": main_row["cpp_min_s"],
        "numpy64_min_s": main_row["numpy64_min_s"],
        "numpy32_min_s": main_row["numpy32_min_s"],
        "cpp_trace_s": trace_row["cpp_s"],
        "numpy64_s": main_row["numpy64_s"],
        "numpy32_s": main_row["numpy32_s"],
        "speedup_vs_numpy64": main_row["speedup_vs_numpy64"],
        "speedup_vs_numpy32": main_row["speedup_vs_numpy32"],
        "vmax_max_abs_diff": main_row["vmax_max_abs_diff_cpp_numpy64"],
        "hidden_spikes_per_neuron_per_sample": main_row["hidden_spikes_per_neuron_per_sample"],
        "sweep": [{k: (round(v, 6) if isinstance(v, float) else v) for k, v in r.items()
                   if k in ("P", "B", "PB", "workers", "cpp_s", "numpy64_s", "numpy32_s", "speedup_vs_numpy64",
                            "speedup_vs_numpy32", "cpp_us_per_sample", "build_s",
                            "cpp_min_s", "numpy64_min_s", "numpy32_min_s")} for r in sweep],
        "environment": env,
    }
    print(json.dumps(result, separators=(",", ":")))
    return result


if __name__ == "__main__":
    main()
