"""python -m bioevo.tasks.compare: several strategies on one preset, side by side.

Trains once per strategy and seed (same preset and overrides, each run in a
fresh process and its own run directory under --out: ``bioevo.launch``), then reports the
generations and genome evaluations each needed to reach a validation accuracy,
and the test accuracies.  One seed (--seed): a table, compare.json and one
figure.  Several (--seeds 0-4): mean ± sd and min over seeds per strategy in
compare_seeds.md/.json, and a figure with one thin curve per seed and a thick
mean per strategy.  --resume DIR continues an interrupted comparison."""
from __future__ import annotations

import json
from pathlib import Path

from ..cli import Parser, add_cluster_arguments, fail, non_negative_int, positive_int, strategy_list, study_cluster
from ..cluster.studies import run_on_dask
from ..config import ConfigError, presets, resolve_config
from ..errors import RunError
from ..rundir import RunLock, claim_run_dir, write_json
from ..strategies import REGISTRY
from .run_queue import Job, run_jobs
from ..report.seeds import aggregate, evaluations_until, first_generation, markdown_table, parse_seeds, read_run

__all__ = ["main", "first_generation", "evaluations_until"]

PROG = "python -m bioevo.tasks.compare"
SPEC = "compare_spec.json"


def plot_curves(results: dict[str, dict], path: Path) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8, 4.5))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    for name, res in results.items():
        rows = res["rows"]
        line, = ax.plot([int(r["gen"]) for r in rows], [float(r["train_acc"]) for r in rows], lw=0.8, alpha=0.5,
                        label=f"{name} train (population mean)")
        val = [(int(r["gen"]), float(r["val_acc"])) for r in rows if r["val_acc"]]
        ax.plot(*zip(*val), "o-", ms=3, color=line.get_color(), label=f"{name} validation (mean)")
    ax.set(xlabel="generation", ylabel="accuracy", ylim=(0, 1.01))
    ax.legend(fontsize=8)
    fig.savefig(path, dpi=120)


def run_dir(out: Path, spec: dict, name: str, seed: int) -> Path:
    """Where one run lives: <out>/<strategy> for one seed (as before), <out>/<strategy>/s<seed> for several."""
    return out / name if spec["seeds"] is None else out / name / f"s{seed}"


def spec_seeds(spec: dict) -> list[int]:
    return [spec["seed"]] if spec["seeds"] is None else spec["seeds"]


def new_spec(args) -> dict:
    """The comparison as given on the command line, checked (every run's config
    resolves) before anything is written; saved so that --resume needs nothing else."""
    try:
        names = strategy_list(args.strategies or "es,hybrid", list(REGISTRY))
    except ValueError as err:
        raise ConfigError(f"--strategies: {err}") from None
    seeds = None
    if args.seeds is not None:
        try:
            seeds = parse_seeds(args.seeds)
        except ValueError as err:
            raise ConfigError(f"--seeds: {err}") from None
    threshold = 0.95 if args.threshold is None else args.threshold
    if not 0 < threshold <= 1:
        raise ConfigError(f"--threshold must be in (0, 1], got {threshold}")
    preset = args.preset or "randman-10"
    if Path(preset).suffix == ".toml" and Path(preset).is_file():
        preset = str(Path(preset).resolve())  # a resumed comparison may run from elsewhere
    spec = {"preset": preset, "strategies": names, "seed": None if seeds else (args.seed or 0), "seeds": seeds,
            "threshold": threshold, "overrides": list(args.overrides or [])}
    for name in names:
        for seed in spec_seeds(spec):
            resolve_config(preset, spec["overrides"], seed, strategy=name)
    return spec


def read_spec(path: str) -> tuple[Path, dict]:
    out = Path(path)
    try:
        spec = json.loads((out / SPEC).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"--resume: '{out}' is not a comparison directory (no {SPEC})") from None
    except (UnicodeDecodeError, ValueError) as err:
        raise ConfigError(f"--resume: '{out / SPEC}' is damaged ({type(err).__name__}); nothing was changed") from None
    problem = spec_problem(spec)
    if problem:
        raise ConfigError(f"--resume: '{out / SPEC}' is damaged ({problem}); nothing was changed")
    return out, spec


def spec_problem(spec: object) -> str | None:
    """What is wrong with the shape of a loaded compare_spec.json (None: nothing)."""
    def ints(v: object) -> bool:
        return isinstance(v, int) and not isinstance(v, bool) and v >= 0

    def strings(v: object) -> bool:
        return isinstance(v, list) and all(isinstance(x, str) for x in v)

    if not isinstance(spec, dict):
        return f"a JSON object was expected, found {type(spec).__name__}"
    checks = {"preset": isinstance(spec.get("preset"), str),
              "strategies": strings(spec.get("strategies")) and bool(spec.get("strategies")),
              "overrides": strings(spec.get("overrides")),
              "threshold": isinstance(spec.get("threshold"), (int, float)) and not isinstance(spec.get("threshold"), bool),
              "seed": spec.get("seed") is None or ints(spec.get("seed")),
              "seeds": spec.get("seeds") is None or (isinstance(spec.get("seeds"), list) and bool(spec["seeds"])
                                                     and all(ints(x) for x in spec["seeds"]))}
    bad = next((k for k, ok in checks.items() if not ok), None)
    if bad is None and spec.get("seed") is None and spec.get("seeds") is None:
        bad = "seed"
    return None if bad is None else f"key '{bad}' is missing or of the wrong type"


def jobs_of(out: Path, spec: dict) -> list[Job]:
    """Strategy by strategy (in the order given), so that a comparison stopped
    part-way already holds every seed of its first strategies."""
    return [Job(f"{name} seed {seed}", run_dir(out, spec, name, seed),
                resolve_config(spec["preset"], spec["overrides"], seed, strategy=name))
            for name in spec["strategies"] for seed in spec_seeds(spec)]


def report_one_seed(out: Path, spec: dict) -> dict:
    """The single-seed report (unchanged since before --seeds): table, compare.json, compare_accuracy.png."""
    results = {name: read_run(run_dir(out, spec, name, spec["seed"]), spec["threshold"]) for name in spec["strategies"]}
    plot_curves(results, out / "compare_accuracy.png")
    table = {n: {k: v for k, v in r.items() if k != "rows"} for n, r in results.items()}
    write_json(out / "compare.json", {"preset": spec["preset"], "seed": spec["seed"], "threshold": spec["threshold"],
                                      "strategies": table})
    pct = f"{100 * spec['threshold']:g}%"
    print(f"\n{'strategy':<10} {'gens to ' + pct + ' train':>18} {'gens to ' + pct + ' val':>16} "
          f"{'evals to ' + pct + ' val':>17} {'test acc':>9} {'gens run':>9} {'wall s':>8}")
    for name, r in table.items():
        fmt = lambda v: "never" if v is None else str(v)  # noqa: E731
        print(f"{name:<10} {fmt(r['generations_to_train']):>18} {fmt(r['generations_to_val']):>16} "
              f"{fmt(r['evaluations_to_val']):>17} {r['test_accuracy']:>9.4f} {r['generations']:>9} "
              f"{r['wall_seconds']:>8.1f}")
    print("train = population-mean batch accuracy; val = the strategy's mean on the validation set; "
          f"evals = genomes scored on training batches, pooling offspring included. -> {out}")
    return table


def report_seeds(out: Path, spec: dict) -> dict:
    """Mean ± sd and min over seeds per strategy: compare_seeds.md/.json and compare_seeds.png."""
    from ..report.seed_curves import plot_seed_curves

    runs = {name: {seed: read_run(run_dir(out, spec, name, seed), spec["threshold"]) for seed in spec["seeds"]}
            for name in spec["strategies"]}
    plot_seed_curves({n: {s: r["rows"] for s, r in by_seed.items()} for n, by_seed in runs.items()},
                     out / "compare_seeds.png", spec["threshold"])
    table = {n: aggregate({s: {k: v for k, v in r.items() if k != "rows"} for s, r in by_seed.items()})
             for n, by_seed in runs.items()}
    write_json(out / "compare_seeds.json", {**spec, "strategies": table})
    text = markdown_table(table, spec["threshold"])
    seeds = f"{'Seeds' if len(spec['seeds']) > 1 else 'Seed'} {', '.join(map(str, spec['seeds']))}"
    (out / "compare_seeds.md").write_text(
        f"{text}\n\n{seeds} of preset {spec['preset']}"
        f"{''.join(' --set ' + o for o in spec['overrides'])}. Generations and genome evaluations to "
        f"{100 * spec['threshold']:g}% validation accuracy (the strategy's mean genome): mean ± sd (min) over "
        "the seeds that reached it.\n")
    print(f"\n{text}\n-> {out}")
    return table


def main(argv: list[str] | None = None) -> dict:
    p = Parser(prog=PROG, description=__doc__.split("\n\n")[0])
    p.add_argument("--preset", help=f"training preset ({', '.join(presets('training'))}; default randman-10) "
                                    "or path to a TOML file")
    p.add_argument("--strategies", help=f"comma-separated (default es,hybrid), from: {', '.join(REGISTRY)}")
    one = p.add_mutually_exclusive_group()
    one.add_argument("--seed", type=non_negative_int, help="one seed (default 0)")
    one.add_argument("--seeds", help="several seeds: a list or ranges, e.g. 0-4 or 0,2,5-7")
    p.add_argument("--threshold", type=float, help="accuracy to reach (default 0.95)")
    p.add_argument("--set", dest="overrides", action="append", metavar="KEY=VALUE")
    p.add_argument("--jobs", type=positive_int, default=1, help="runs at once (each a process; default 1)")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--out", help="directory for the runs and the comparison")
    where.add_argument("--resume", metavar="DIR", help="continue an interrupted comparison in DIR")
    add_cluster_arguments(p)
    args = p.parse_args(argv)
    with study_cluster(PROG, args.workers, args.scheduler) as client:  # a bad cluster fails before --out is made
        return _compare(args, client)


def _run_all(jobs: list[Job], n_jobs: int, client) -> list[tuple[Job, str]]:
    """Every run, ``n_jobs`` local processes at a time, or one Dask task each on
    ``client`` (a failed Dask run raises RunError naming its directory)."""
    if client is None:
        return run_jobs(jobs, n_jobs)
    run_on_dask(client, [(job.label, job.config, job.run_dir) for job in jobs])
    return []


def _compare(args, client) -> dict:
    try:
        if args.resume is not None:
            given = [flag for flag, value in (("--preset", args.preset), ("--strategies", args.strategies),
                                              ("--seed", args.seed), ("--seeds", args.seeds),
                                              ("--threshold", args.threshold), ("--set", args.overrides))
                     if value is not None]
            if given:
                raise ConfigError(f"--resume continues the comparison as it was started; drop {', '.join(given)}")
            out, spec = read_spec(args.resume)
        else:
            spec = new_spec(args)
            out = claim_run_dir(args.out, f"compare-{Path(spec['preset']).stem}", spec_seeds(spec)[0])
            write_json(out / SPEC, spec)
        lock = RunLock(out).acquire()
    except ConfigError as err:
        fail(PROG, str(err))
    try:
        failed = _run_all(jobs_of(out, spec), args.jobs, client)
    except KeyboardInterrupt:
        fail(PROG, f"interrupted; continue with: {PROG} --resume {out}", 130)
    except RunError as err:
        fail(PROG, f"{err}; after fixing it, continue with: {PROG} --resume {out}", 1)
    finally:
        lock.release()
    if failed:
        job, err = failed[0]
        fail(PROG, f"{len(failed)} run(s) failed, first {job.run_dir}: {err}; after fixing it, continue with: "
                   f"{PROG} --resume {out}", 1)
    try:
        return report_one_seed(out, spec) if spec["seeds"] is None else report_seeds(out, spec)
    except ConfigError as err:
        fail(PROG, str(err))


if __name__ == "__main__":
    main()
