"""Time the Brian2 ``cpp`` population evaluator against the vectorised numpy
reference (``bioevo.sim.reference.simulate_lif``) on the same genomes and
inputs, in one process, then the generation time of the training presets
(``bioevo.bench_presets``), each beside its arithmetic limit (``bioevo.limits``).

    python -m bioevo.bench [--repeats N] [--quick] [--presets digits,shd|none]
                           [--templates bioevo|brian2] [--precision float64|float32]
    python -m bioevo.bench --backend cuda [--repeats N] [--quick]   # the GPU check: bioevo/bench_cuda.py
    python -m bioevo.bench --strategies   # cr-fm-nes, pgpe against published figures: bioevo/bench_strategies.py

Network: 30 inputs -> 64 LIF hidden -> 10 leaky readouts, T=50 steps, weight
gains 10 (input->hidden) and 1 (hidden->readout), per-neuron tau_mem and v_th
drawn from a gamma distribution, so hidden neurons fire a few spikes per
sample.  Each input unit fires once per sample at a random step.

Every way is run once to warm up, then ``--repeats`` times, interleaved (cpp,
numpy64, numpy32, cpp, ...) so that load from other processes on the machine
hits all of them alike; the median is reported.  Each sweep point is a new cpp
build (one standalone project per process): compiled projects are cached under
``~/.cache/bioevo`` (``$BIOEVO_CACHE``), so reruns skip the compiler.

The arithmetic limit is the time the cores need for the operations the
equations ask for (neuron updates and one synaptic event per spike and target),
at rates a small compiled kernel measures on all worker cores at once, with
every operand in the L1 cache (``bioevo/limits.py``).

``--templates brian2`` builds with Brian2's own C++ templates instead of
bioevo's (``bioevo/sim/device.py``), ``--precision float32`` with float32
state: the same measurements, for comparison.

The last line of stdout is one JSON object with the results.
"""
from __future__ import annotations

import json
import os
import platform
import sys
import time

import numpy as np

from .bench_presets import PRESETS
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
            row.update(_limit(model, layout, params, raster, rates))
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


def _limit(model, layout, params, raster, rates: dict) -> dict:
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


def _fmt_table(rows: list[dict]) -> str:
    head = (f"{'P':>4} {'B':>5} {'P*B':>6} {'workers':>7} {'cpp s':>8} {'numpy64 s':>10} {'numpy32 s':>10} "
            f"{'np64/cpp':>9} {'np32/cpp':>9} {'cpp us/PB':>10} {'limit us':>9} {'x limit':>8}")
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(
            f"{r['P']:>4} {r['B']:>5} {r['PB']:>6} {r['workers']:>7} {r['cpp_s']:>8.4f} "
            f"{r.get('numpy64_s', float('nan')):>10.4f} {r.get('numpy32_s', float('nan')):>10.4f} "
            f"{r.get('speedup_vs_numpy64', float('nan')):>8.2f}x {r.get('speedup_vs_numpy32', float('nan')):>8.2f}x "
            f"{r['cpp_us_per_sample']:>10.2f} {r.get('limit_us_per_sample', float('nan')):>9.3f} "
            f"{r.get('times_limit', float('nan')):>7.1f}x"
        )
    return "\n".join(lines)


def _fmt_profile(rows: list[tuple[str, dict]]) -> str:
    from .bench_profile import PLACES

    head = (f"{'case':<18} {'CPU s':>8} " + " ".join(f"{p[:14]:>14}" for p in PLACES)
            + f" {'ns/neuron':>10} {'ns/event':>9} {'ns/step':>8} {'ms proc':>8} {'ms py':>7}")
    lines = [head, "-" * len(head)]
    for name, row in rows:
        prof = row["profile"]
        unit = prof["per_unit"]
        lines.append(f"{name:<18} {prof['cpu_s']:>8.4f} "
                     + " ".join(f"{100 * prof['fraction'][p]:>13.1f}%" for p in PLACES)
                     + f" {unit['ns_per_neuron_update']:>10.3f} {unit['ns_per_event']:>9.3f} {unit['ns_per_step']:>8.1f}"
                     f" {unit['ms_process_per_evaluation']:>8.2f} {unit['ms_python_per_evaluation']:>7.2f}")
    return "\n".join(lines)


def _fmt_presets(rows: list[dict]) -> str:
    head = (f"{'preset':<14} {'P':>4} {'B':>5} {'T':>5} {'generation s':>13} {'us/PB':>8} {'limit s':>9} "
            f"{'x limit':>8} {'flops/PB':>10} {'memops/PB':>10}  spikes per individual-sample")
    lines = [head, "-" * len(head)]
    for r in rows:
        spikes = ", ".join(f"{k} {v:.0f}" for k, v in r["spikes_per_individual_sample"].items())
        lines.append(f"{r['preset']:<14} {r['P']:>4} {r['B']:>5} {r['T']:>5} {r['generation_s']:>13.4f} "
                     f"{r['us_per_individual_sample']:>8.2f} {r.get('limit_s', float('nan')):>9.4f} "
                     f"{r.get('times_limit', float('nan')):>7.1f}x {r.get('flops_per_individual_sample', 0):>10.3g} "
                     f"{r.get('memops_per_individual_sample', 0):>10.3g}  {spikes}")
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
    parser.add_argument("--templates", choices=["bioevo", "brian2"], default=None,
                        help="the cpp evaluator's code templates (default bioevo's; brian2: Brian2's own, for comparison)")
    parser.add_argument("--precision", choices=["float64", "float32"], default=None,
                        help="the network's floating-point type (default float64)")
    parser.add_argument("--profile", action="store_true",
                        help="also sample with Linux perf where the time goes (neurons, synaptic events, time steps, "
                             "process and files, Python) at the main point and in every preset")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="a preset override for every timed preset, as for training "
                             "(e.g. --set strategy.es.popsize=128)")
    parser.add_argument("--presets", default=",".join(PRESETS),
                        help=f"comma-separated training presets to time a generation of, or 'none' "
                             f"(default {','.join(PRESETS)})")
    parser.add_argument("--strategies", action="store_true",
                        help="instead of timing networks: the strategies taken from the literature (cr-fm-nes, pgpe) "
                             "on the standard functions their authors published figures for (bioevo/bench_strategies.py)")
    args = parser.parse_args(argv)
    if args.strategies:
        from .bench_strategies import report

        result = report()
        print(json.dumps(result, separators=(",", ":"), default=float))
        return result
    presets = [] if args.presets == "none" else [p for p in args.presets.split(",") if p]
    unknown = sorted(set(presets) - set(PRESETS))
    if unknown:
        fail(parser.prog, f"--presets: unknown preset(s) {', '.join(unknown)}; allowed: {', '.join(PRESETS)} or none", 2)
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
    from .bench_presets import evaluator_options
    from .limits import peak_rates

    try:
        options = evaluator_options(args.templates, args.precision)
    except ValueError as err:
        fail(parser.prog, str(err), 2)
    if args.profile:
        from .bench_profile import available

        problem = available()
        if problem:
            fail(parser.prog, f"--profile: {problem}", 2)
    env = environment()
    print(f"bioevo.bench: lif {SIZES['inputs']}->{SIZES['hidden']}->{SIZES['classes']}, T={N_STEPS}, "
          f"{args.layout} samples, "
          f"weight gain {WEIGHT_GAIN['input_hidden']:g}/{WEIGHT_GAIN['hidden_readout']:g}, "
          f"median of {repeats} after 1 warm-up")
    print(f"python {env['python']}, numpy {env['numpy']}, brian2 {env['brian2']}, {env['cpu_count']} cores, "
          f"load {env['loadavg_1min']}")
    print(f"BLAS/threads env: {env['env'] or '(none set)'}; threadpools: {env['threadpools']}"
          + (f"; blas {env['blas']}" if "blas" in env else ""))
    print(f"evaluator: templates {args.templates or 'default'}, precision {args.precision or 'default'}")
    sys.stdout.flush()

    P, B = MAIN_POINT
    main_row = bench_point(P, B, repeats, check=True, workers=args.workers, parallel_samples=parallel, options=options,
                           profile_n=10 if args.profile else 0)
    rates = peak_rates(main_row["workers"])
    print(f"peak rates of {main_row['workers']} cores together (bioevo/limits.py kernel): "
          f"{rates['flops_per_s'] / 1e9:.1f} Gflop/s, {rates['memops_per_s'] / 1e9:.1f} G loads+stores/s (L1), "
          f"{rates['exp_per_s'] / 1e9:.2f} G exp/s", flush=True)
    main_row.update(_limit(*make_problem(P, B), rates))
    main_row["times_limit"] = main_row["cpp_us_per_sample"] / main_row["limit_us_per_sample"]
    trace_row = bench_point(P, B, repeats, record_trace=True, with_numpy=False, check=True, workers=args.workers,
                            parallel_samples=parallel, options=options)
    print(f"\nmain point P={P}, B={B} (cpp build {main_row['build_s']:.1f} s, "
          f"{main_row['hidden_spikes_per_neuron_per_sample']:.2f} hidden spikes per neuron per sample, "
          f"{100 * main_row['hidden_silent_fraction']:.0f}% of hidden neurons silent on every sample)")
    print(f"  cpp vmax only     {main_row['cpp_s']:.4f} s ({main_row['workers']} binaries at once), "
          f"{main_row['cpp_us_per_sample']:.2f} us per individual-sample; arithmetic limit "
          f"{main_row['limit_us_per_sample']:.3f} us ({main_row['arithmetic_us_per_sample']:.3f} us arithmetic, "
          f"{main_row['memory_us_per_sample']:.3f} us loads and stores): {main_row['times_limit']:.1f}x the limit")
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
                                                                parallel_samples=parallel, options=options,
                                                                rates=rates)
        sweep.append(row)
        print(f"  sweep P={p:>3} B={b:>4}: cpp {row['cpp_s']:.4f} s, numpy64 {row['numpy64_s']:.4f} s, "
              f"numpy32 {row['numpy32_s']:.4f} s", flush=True)
    print("\nsweep (median seconds per evaluation of P individuals x B samples; limit: arithmetic limit "
          "per individual-sample)")
    print(_fmt_table(sweep))
    print(f"P=32 B=256 with record_trace=True: cpp {trace_row['cpp_s']:.4f} s "
          f"({trace_row['cpp_s'] / main_row['cpp_s']:.2f}x the vmax-only time)")

    preset_rows = []
    if presets:
        from .bench_presets import time_preset
        from .config import ConfigError
        from .sim.evaluator import cache_root

        print(f"\npresets: evaluation of one generation (population x minibatch), median of {repeats} after 1 warm-up",
              flush=True)
        for name in presets:
            try:
                row = time_preset(name, repeats, cache_root() / "bench-data", rates, args.templates, args.precision,
                                  profile_n=max(3, repeats) if args.profile else 0, overrides=args.overrides)
            except ConfigError as err:
                fail(parser.prog, f"--set: {err}", 2)
            preset_rows.append(row)
            print(f"  {name}: {row['generation_s']:.4f} s per generation ({row['times_limit']:.1f}x its limit)",
                  flush=True)
        print(_fmt_presets(preset_rows))
    if args.profile:
        print("\nwhere the CPU time of one evaluation goes (perf samples; bioevo/bench_profile.py)")
        print(_fmt_profile([("benchmark network", main_row)] + [(r["preset"], r) for r in preset_rows]))

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
                            "cpp_min_s", "numpy64_min_s", "numpy32_min_s", "limit_us_per_sample", "times_limit")}
                  for r in sweep],
        "cpp_us_per_sample": main_row["cpp_us_per_sample"],
        "limit_us_per_sample": main_row["limit_us_per_sample"],
        "peak_rates": rates,
        "templates": args.templates, "precision": args.precision,
        "presets": preset_rows, "preset_overrides": args.overrides,
        "profile": main_row.get("profile"),
        "environment": env,
    }
    print(json.dumps(result, separators=(",", ":")))
    return result


if __name__ == "__main__":
    main()
