"""python -m bioevo.tasks.compare: several strategies on one preset, side by side.

Runs ``bioevo.tasks.randman`` once per strategy (same preset, seed and
overrides, each in its own run directory under --out), then reports the
generations each needed to reach a training and a validation accuracy, and
their test accuracies, as a table, compare.json and one figure."""
from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

from ..cli import Parser, add_cluster_arguments, fail, non_negative_int, strategy_list
from ..cluster.connect import study_cluster
from ..cluster.studies import run_on_dask
from ..config import ConfigError, presets, resolve_config
from ..errors import RunError
from ..rundir import claim_run_dir, write_json
from ..strategies import REGISTRY

PROG = "python -m bioevo.tasks.compare"


def first_generation(rows: list[dict], key: str, threshold: float) -> int | None:
    """Generations run until ``key`` first reached ``threshold`` (None: never)."""
    for row in rows:
        if row[key] not in ("", None) and float(row[key]) >= threshold:
            return int(row["gen"]) + 1
    return None


def evaluations_until(rows: list[dict], generations: int | None) -> int | None:
    """Genomes scored in the first ``generations`` generations (pooling offspring included)."""
    if generations is None:
        return None
    return sum(int(r["evaluations"]) for r in rows[:generations])


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


def main(argv: list[str] | None = None) -> dict:
    p = Parser(prog=PROG, description=__doc__.split("\n\n")[0])
    p.add_argument("--preset", default="randman-10", help=f"training preset ({', '.join(presets('training'))}) "
                                                            "or path to a TOML file")
    p.add_argument("--strategies", default="es,hybrid", help=f"comma-separated, from: {', '.join(REGISTRY)}")
    p.add_argument("--seed", type=non_negative_int, default=0)
    p.add_argument("--threshold", type=float, default=0.95, help="accuracy to reach (default 0.95)")
    p.add_argument("--out", help="directory for the runs and the comparison")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    add_cluster_arguments(p)
    args = p.parse_args(argv)
    try:
        try:
            names = strategy_list(args.strategies, list(REGISTRY))
        except ValueError as err:
            raise ConfigError(f"--strategies: {err}") from None
        if not 0 < args.threshold <= 1:
            raise ConfigError(f"--threshold must be in (0, 1], got {args.threshold}")
        for name in names:  # every run's config must resolve before anything is created
            resolve_config(args.preset, args.overrides, args.seed, strategy=name)
    except ConfigError as err:
        fail(PROG, str(err))
    with study_cluster(PROG, args.workers, args.scheduler) as client:  # a bad cluster fails before --out is made
        try:
            out = claim_run_dir(args.out, f"compare-{Path(args.preset).stem}", args.seed)
        except ConfigError as err:
            fail(PROG, str(err))
        return _compare(args, names, out, client)


def _compare(args, names: list[str], out: Path, client) -> dict:
    results = {}
    train_args = {name: ["--preset", args.preset, "--strategy", name, "--seed", str(args.seed), "--out",
                         str(out / name), "--quiet", *[x for o in args.overrides for x in ("--set", o)]]
                  for name in names}
    if client is not None:  # every run at once, one Dask task each
        try:
            run_on_dask(client, [(name, a, out / name) for name, a in train_args.items()])
        except RunError as err:
            fail(PROG, str(err), 1)
    for name in names:
        run_dir = out / name
        if client is None:
            cmd = [sys.executable, "-m", "bioevo.tasks.train", *train_args[name]]
            print(f"[{name}] {' '.join(cmd[1:])}", flush=True)
            res = subprocess.run(cmd, stderr=subprocess.PIPE, text=True)
            if res.returncode:
                fail(PROG, f"the {name} run failed: {res.stderr.strip().splitlines()[-1] if res.stderr else res.returncode}")
        rows = list(csv.DictReader(open(run_dir / "metrics.csv")))
        summary = json.loads((run_dir / "summary.json").read_text())
        to_val = first_generation(rows, "val_acc", args.threshold)
        results[name] = {
            "rows": rows,
            "generations_to_train": first_generation(rows, "train_acc", args.threshold),
            "generations_to_val": to_val,
            "evaluations_to_val": evaluations_until(rows, to_val),
            "test_accuracy": summary["test"]["accuracy"],
            "val_accuracy": summary["val"]["accuracy"],
            "generations": summary["generations"],
            "wall_seconds": summary["wall_seconds"],
        }
    plot_curves(results, out / "compare_accuracy.png")
    table = {n: {k: v for k, v in r.items() if k != "rows"} for n, r in results.items()}
    write_json(out / "compare.json", {"preset": args.preset, "seed": args.seed, "threshold": args.threshold,
                                      "strategies": table})
    pct = f"{100 * args.threshold:g}%"
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


if __name__ == "__main__":
    main()
