"""python -m bioevo.tasks.bench: how fast the simulators, strategies and clusters are.

    bioevo bench [--repeats N] [--quick] [--presets digits,shd|none]
                 [--templates bioevo|brian2] [--precision float64|float32|float32-weights] [--profile]
    bioevo bench --backend cuda [--repeats N] [--quick]   # the GPU check: bioevo/bench_cuda.py
    bioevo bench --strategies   # cr-fm-nes, pgpe against published figures: bioevo/bench_strategies.py
    bioevo bench --dask         # a generation's time on Dask: bioevo/bench_dask.py

By default: the Brian2 ``cpp`` population evaluator against the numpy reference
on the benchmark network (:mod:`bioevo.bench`), then the generation time of the
training presets (:mod:`bioevo.bench_presets`), each beside its arithmetic limit
(:mod:`bioevo.limits`).  ``--templates brian2`` builds with Brian2's own C++
templates instead of bioevo's (``bioevo/sim/device.py``), ``--precision
float32`` with float32 state: the same measurements, for comparison.
``python -m bioevo.bench`` is the same command.

The last line of stdout is one JSON object with the results.
"""
from __future__ import annotations

import json
import sys

from ..bench import EVOLVE, MAIN_POINT, N_STEPS, QUICK_SWEEP, SIZES, SWEEP, WEIGHT_GAIN
from ..bench import bench_point, environment, limit_row, make_problem, quiet_brian
from ..bench_cuda import run as run_cuda
from ..bench_dask import run as run_dask
from ..bench_presets import PRESETS, evaluator_options, time_preset
from ..bench_profile import PLACES, available
from ..bench_strategies import report
from ..cli import Parser, fail, positive_int
from ..config import ConfigError
from ..config import presets as training_presets
from ..limits import peak_rates
from ..sim.cuda import unavailable
from ..sim.cache import cache_root

PROG = "python -m bioevo.tasks.bench"


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
    head = (f"{'preset':<14} {'P':>4} {'B':>5} {'T':>5} {'generation s':>13} {'strategy s':>11} {'us/PB':>8} {'limit s':>9} "
            f"{'x limit':>8} {'flops/PB':>10} {'memops/PB':>10}  spikes per individual-sample")
    lines = [head, "-" * len(head)]
    for r in rows:
        spikes = ", ".join(f"{k} {v:.0f}" for k, v in r["spikes_per_individual_sample"].items())
        lines.append(f"{r['preset']:<14} {r['P']:>4} {r['B']:>5} {r['T']:>5} {r['generation_s']:>13.4f} "
                     f"{r.get('strategy_s', float('nan')):>11.4f} "
                     f"{r['us_per_individual_sample']:>8.2f} {r.get('limit_s', float('nan')):>9.4f} "
                     f"{r.get('times_limit', float('nan')):>7.1f}x {r.get('flops_per_individual_sample', 0):>10.3g} "
                     f"{r.get('memops_per_individual_sample', 0):>10.3g}  {spikes}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict:
    parser = Parser(prog=PROG, description=__doc__.split("\n\n")[0].split(": ", 1)[1])
    parser.add_argument("--repeats", type=positive_int, default=None, help="timed runs per way after one warm-up "
                        "(default 5, 3 with --quick, 10 with --dask)")
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
    parser.add_argument("--precision", choices=["float64", "float32", "float32-weights"], default=None,
                        help="the network's floating-point type (default float64; float32-weights: "
                             "only the synaptic weights float32)")
    parser.add_argument("--profile", action="store_true",
                        help="also sample with Linux perf where the time goes (neurons, synaptic events, time steps, "
                             "process and files, Python) at the main point and in every preset")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="a preset override for every timed preset, as for training "
                             "(e.g. --set strategy.es.popsize=128)")
    parser.add_argument("--presets", default=",".join(PRESETS),
                        help=f"comma-separated training presets to time a generation of (any shipped one), "
                             f"or 'none' (default {','.join(PRESETS)})")
    instead = parser.add_mutually_exclusive_group()
    instead.add_argument("--strategies", action="store_true",
                        help="instead of timing networks: the strategies taken from the literature (cr-fm-nes, pgpe) "
                             "on the standard functions their authors published figures for (bioevo/bench_strategies.py)")
    instead.add_argument("--dask", action="store_true",
                        help="instead of timing networks: where a generation's time goes on a Dask cluster "
                             "(local, 1-2 workers, task overhead, projection to more workers; bioevo/bench_dask.py)")
    args = parser.parse_args(argv)
    if (args.strategies or args.dask) and args.overrides:
        fail(parser.prog, f"--set changes the timed presets; {'--strategies' if args.strategies else '--dask'} "
                          "times none, drop --set", 2)
    if args.dask:
        return run_dask(args.repeats or 10)
    if args.strategies:
        result = report()
        print(json.dumps(result, separators=(",", ":"), default=float))
        return result
    presets = [] if args.presets == "none" else [p for p in args.presets.split(",") if p]
    shipped = training_presets()
    unknown = sorted(set(presets) - set(shipped))
    if unknown:
        fail(parser.prog, f"--presets: unknown preset(s) {', '.join(unknown)}; allowed: {', '.join(shipped)} or none", 2)
    parallel = args.layout == "parallel"
    repeats = args.repeats if args.repeats is not None else (3 if args.quick else 5)
    if args.backend == "cuda":
        problem = unavailable("--backend cuda")
        if problem:
            fail(parser.prog, problem, 2)
        quiet_brian()
        return run_cuda(repeats, args.quick, parallel)
    quiet_brian()
    try:
        options = evaluator_options(args.templates, args.precision)
    except ValueError as err:
        fail(parser.prog, str(err), 2)
    if args.profile:
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
    main_row.update(limit_row(*make_problem(P, B), rates))
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
        print(f"\npresets: evaluation of one generation (population x minibatch), median of {repeats} after 1 warm-up; "
              "strategy s: the strategy's generate and update of the same generations",
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
