"""python -m bioevo.tasks.randman: evolve a Brian2 network on Randman.

Writes a new run directory with the resolved config, per-generation metrics,
a checkpoint every epoch, summary.json, the best genome (HDF5) and figures;
``--resume RUN_DIR`` continues an interrupted run from its last checkpoint."""
from __future__ import annotations

import logging
import sys
import time
from pathlib import Path

from .. import resources
from ..checkpoint import CHECKPOINT, load_checkpoint
from ..cli import Parser, fail
from ..config import ConfigError, resolve_config
from ..evolve import make_configured_strategy, make_scorer, model_text, seeded_streams, setup, train
from ..report.analysis import network_figures
from ..report.figures import plot_confusion, plot_training_curves
from ..report.metrics import classification_metrics
from ..rundir import MetricsLog, claim_run_dir, save_genome, write_config, write_json
from ..strategies import REGISTRY

PROG = "python -m bioevo.tasks.randman"


def parse_args(argv: list[str] | None):
    p = Parser(prog=PROG, description=__doc__.split("\n\n")[0])
    p.add_argument("--preset", default="randman-2",
                   help=f"preset name ({', '.join(resources.available('presets'))}) or path to a TOML file")
    p.add_argument("--strategy", choices=list(REGISTRY), help="strategy (overrides strategy.name)")
    p.add_argument("--seed", type=int, help="random seed (overrides evolve.seed)")
    p.add_argument("--out", help="run directory to create (default: results/runs/<preset>-s<seed>-<time>)")
    p.add_argument("--backend", choices=["cpp", "runtime"], help="Brian2 backend (overrides evolve.backend)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override one preset value, e.g. --set evolve.generations=10 (repeatable)")
    p.add_argument("--resume", metavar="RUN_DIR", help="continue an interrupted run from its last checkpoint")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p.parse_args(argv)


def _prepare(args) -> tuple:
    """Config, model, layout, data and run directory; every user error is a ConfigError."""
    if args.resume:
        run_dir = Path(args.resume)
        if not (run_dir / "config.toml").is_file():
            raise ConfigError(f"--resume: '{run_dir}' is not a run directory (no config.toml)")
        if (run_dir / "summary.json").exists():
            raise ConfigError(f"--resume: the run in '{run_dir}' is already complete (summary.json exists)")
        if not (run_dir / CHECKPOINT).is_file():
            raise ConfigError(f"--resume: '{run_dir}' has no {CHECKPOINT} yet; start the run again instead")
        other = [flag for flag, value in (("--out", args.out), ("--seed", args.seed), ("--set", args.overrides),
                                          ("--strategy", args.strategy), ("--backend", args.backend)) if value]
        if other:
            raise ConfigError(f"--resume continues the run as configured; drop {', '.join(other)}")
        cfg = resolve_config(run_dir / "config.toml")
    else:
        cfg = resolve_config(args.preset, args.overrides, args.seed, args.backend, args.strategy)
        run_dir = None
    if args.quiet:
        cfg["evolve"]["progress"] = False
    model, layout, splits = setup(cfg)
    rng = seeded_streams(cfg["evolve"]["seed"])
    strategy = make_configured_strategy(cfg, layout.initial(rng["init"]), rng["strategy"])
    if run_dir is None:
        run_dir = claim_run_dir(args.out, cfg["run"]["name"], cfg["evolve"]["seed"])
        write_config(run_dir, cfg)
    return cfg, model, layout, splits, strategy, run_dir


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    logging.getLogger("brian2").setLevel(logging.ERROR)
    try:
        cfg, model, layout, splits, strategy, run_dir = _prepare(args)
    except ConfigError as err:
        fail(PROG, str(err))
    t_start = time.time()
    print(f"run directory: {run_dir}", file=sys.stderr)
    loop = None
    if args.resume:
        state, loop = load_checkpoint(run_dir)
        strategy.load_state_dict(state)
    metrics = MetricsLog(run_dir / "metrics.csv", resume_from=loop.gen if loop else None)
    population = getattr(strategy, "lambda_", None) or strategy.popsize  # CMA: popsize 0 means DEAP's lambda
    scorer = make_scorer(cfg, model, layout, population)
    result = train(cfg, splits, scorer, strategy, cfg["evolve"]["seed"], metrics, run_dir, loop)

    test = splits["test"]
    test_loss, test_pred = scorer.dataset(result.best_genome, test)
    test_metrics = classification_metrics(test.labels, test_pred, test.n_classes)
    save_genome(run_dir / "best_genome.h5", result.best_genome, layout, cfg, model_text(model),
                {"val_accuracy": result.best_val_acc, "generation": result.best_gen})
    scorer.evaluator.close()
    plot_training_curves(result.history, run_dir / "training_curves.png")
    plot_confusion(test_metrics["confusion"], run_dir / "confusion.png", title="test confusion")
    network_figures(model, layout, result.best_genome, test, run_dir, cfg["data"]["n_steps"], dt_ms=model.step_ms)
    if "pool" in model.constants:  # a pool circuit: show who wins
        from ..report.competition import pool_rate_figure
        pool_rate_figure(run_dir)
    summary = {
        "preset": cfg["run"]["name"],
        "strategy": cfg["strategy"]["name"],
        "seed": cfg["evolve"]["seed"],
        "test": {**{k: test_metrics[k] for k in ("accuracy", "precision", "recall", "f1", "confusion")},
                 "loss": test_loss},
        "val": {"accuracy": result.best_val_acc, "best_generation": result.best_gen},
        "generations": result.generations,
        "stop_reason": result.stop_reason,
        "wall_seconds": time.time() - t_start,
        "resumed": bool(args.resume),
        "n_parameters": layout.size,
    }
    write_json(run_dir / "summary.json", summary)
    print(f"test accuracy {test_metrics['accuracy']:.4f} (val {result.best_val_acc:.4f}) after "
          f"{result.generations} generations, {summary['wall_seconds']:.1f} s -> {run_dir}")
    return summary


if __name__ == "__main__":
    main()
