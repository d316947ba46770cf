"""The whole pipeline behind every training command and the Python API:
assemble everything from the config (bad input fails here, before anything is
written), claim and lock the run directory, train with checkpoints, then test
metrics, the best genome, figures and ``summary.json`` (written last: it marks
a finished run)."""
from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .assemble import Parts, assemble, model_text
from .checkpoint import CHECKPOINT, read_checkpoint
from .cluster.connect import check_options, cluster_client
from .cluster.population import ClusterLost, DaskPopulation
from .config import ConfigError, resolve_config, validate_resolved
from .errors import DiskFullError, Interrupted, RunError
from .evolve import train
from .genome import GenomeLayout
from .report.metrics import classification_metrics
from .rundir import (LOCK, START_FILES, MetricsLog, RunLock, check_out, claim_run_dir, killed_before_checkpoint,
                     load_genome, save_genome, write_config, write_json)

SUMMARY = "summary.json"


@dataclass
class RunResult:
    """A finished run: where it is, its summary (as in summary.json), the best
    genome by validation accuracy with its layout, and one row per generation."""

    run_dir: Path
    summary: dict
    best_genome: np.ndarray
    layout: GenomeLayout
    history: list[dict]

    @classmethod
    def load(cls, run_dir: str | Path) -> "RunResult":
        """A finished run from its directory (summary.json, best_genome.h5, metrics.csv), e.g. one a
        study trained in another process; a missing or damaged file is a one-line ConfigError."""
        out = Path(run_dir)
        try:
            summary = json.loads((out / SUMMARY).read_text(encoding="utf-8"))
            genome, layout, _, _ = load_genome(out / "best_genome.h5")
            generations = int(summary["generations"])
        except FileNotFoundError as err:
            raise ConfigError(f"'{out}' holds no finished run ({Path(err.filename).name} is missing)") from None
        except (OSError, ValueError, KeyError, TypeError) as err:
            raise ConfigError(f"'{out}' holds a damaged run ({type(err).__name__}: {str(err)[:80]})") from None
        return cls(out, summary, genome, layout, MetricsLog.read(out / "metrics.csv", generations))


def summary_line(result: RunResult) -> str:
    """The line a finished run is reported by: test and validation accuracy (and the ideal
    observer's where the data kind has one), generations, wall time, where it is."""
    s = result.summary
    ideal = s.get("data_info", {}).get("ideal_observer_accuracy", {}).get("test")
    beside = "" if ideal is None else f"; the ideal observer's {ideal:.4f}"
    return (f"test accuracy {s['test']['accuracy']:.4f} (val {s['val']['accuracy']:.4f}{beside}) after "
            f"{s['generations']} generations, {s['wall_seconds']:.1f} s -> {result.run_dir}")


def load_config(preset: str | Path = "randman-2", overrides: list[str] | tuple[str, ...] = (), *,
                seed: int | None = None, backend: str | None = None, strategy: str | None = None) -> dict:
    """A shipped preset name or a TOML path, ``KEY=VALUE`` overrides as on the
    command line, then the seed/backend/strategy shortcuts; validated."""
    return resolve_config(preset, list(overrides), seed, backend, strategy)


def run(config: dict | str | Path = "randman-2", run_dir: str | Path | None = None, *,
        progress: bool | None = None, dask_workers: int | None = None, scheduler: str | None = None) -> RunResult:
    """Train a new run from a config (from :func:`load_config`) or a preset name.
    ``run_dir`` must not exist or be empty (default: a new folder under
    results/runs/).  ``dask_workers`` (a LocalCluster of that many processes)
    or ``scheduler`` (a running Dask cluster's address) score the generations
    on Dask, with the same results (where a run is computed is not part of its
    config).  Raises ConfigError on bad input before anything is written."""
    check_options(dask_workers, scheduler)
    check_out(run_dir)
    cfg = load_config(config) if isinstance(config, (str, Path)) else validate_resolved(config)
    if progress is not None:
        cfg["evolve"]["progress"] = progress
    with cluster_client(dask_workers, scheduler) as client:  # first: a bad address fails before the build
        return _run(cfg, run_dir, client)


def _run(cfg: dict, run_dir: str | Path | None, client) -> RunResult:
    parts = assemble(cfg)
    population_scorer = DaskPopulation(client, parts) if client is not None else None
    existed = run_dir is not None and Path(run_dir).exists()  # an empty folder of the user's stays
    if run_dir is not None and killed_before_checkpoint(Path(run_dir)):
        out = Path(run_dir)  # a start killed before its first checkpoint: take it over (the lock refuses a live one)
        lock = RunLock(out).acquire()
        _remove_new_run(out, keep_folder=True, keep_lock=True)
    else:
        out = claim_run_dir(run_dir, cfg["run"]["name"], cfg["evolve"]["seed"])
        lock = RunLock(out).acquire()
    try:
        try:
            write_config(out, cfg)
            return _train_and_finish(parts, out, None, resumed=False, population_scorer=population_scorer)
        except BaseException as err:
            if not (out / CHECKPOINT).exists():  # nothing to resume: leave no stub behind
                _remove_new_run(out, keep_folder=existed)
                if isinstance(err, KeyboardInterrupt):
                    raise Interrupted(f"interrupted before the first checkpoint; '{out}' was removed") from None
                if isinstance(err, ClusterLost):
                    raise ClusterLost(f"{err}; nothing to resume yet, '{out}' was removed") from None
                if isinstance(err, DiskFullError):  # its hint speaks of a checkpoint there never was
                    raise DiskFullError(f"{str(err).split(';')[0]}; there was no checkpoint yet and '{out}' was "
                                        "removed: free space and start the run again") from None
            elif isinstance(err, KeyboardInterrupt):
                raise Interrupted(f"interrupted; continue with: python -m bioevo.tasks.train --resume {out}") from None
            elif isinstance(err, ClusterLost):
                raise ClusterLost(f"{err}; the last checkpoint is kept, continue with: "
                                  f"python -m bioevo.tasks.train --resume {out}") from None
            raise
    finally:
        lock.release()


def resume(run_dir: str | Path, *, progress: bool | None = None, dask_workers: int | None = None,
           scheduler: str | None = None) -> RunResult:
    """Continue an interrupted run from its last checkpoint; it ends exactly
    where the uninterrupted run would, locally or on any Dask cluster (as in
    :func:`run`).  Damaged files are reported, not changed."""
    check_options(dask_workers, scheduler)
    out = Path(run_dir)
    if not (out / "config.toml").is_file():
        raise ConfigError(f"--resume: '{out}' is not a run directory (no config.toml)")
    with RunLock(out):
        if (out / SUMMARY).exists():
            raise ConfigError(f"--resume: the run in '{out}' is already complete ({SUMMARY} exists)")
        if not (out / CHECKPOINT).is_file():
            raise ConfigError(f"--resume: '{out}' has no {CHECKPOINT} yet (the run stopped before its first one); "
                              f"start it again with the same --out {out}: it takes the directory over")
        try:
            cfg = resolve_config(out / "config.toml")
        except ConfigError as err:
            raise ConfigError(f"--resume: {out / 'config.toml'}: {err}") from None
        state, loop, saved = read_checkpoint(out)
        if saved is not None:
            _same_config(out, saved, cfg)
        rows = MetricsLog.read(out / "metrics.csv", loop.gen)
        if math.isinf(loop.best_val_loss) and 0 <= loop.best_gen < len(rows) \
                and rows[loop.best_gen]["val_loss"] is not None:
            # a checkpoint written before evolve.keep_by (kept by accuracy): the kept genome's val loss is logged
            loop.best_val_loss = rows[loop.best_gen]["val_loss"]
        if progress is not None:
            cfg["evolve"]["progress"] = progress
        parts = assemble(cfg)
        try:
            parts.strategy.load_state_dict(state)
        except (KeyError, ValueError, TypeError) as err:
            raise ConfigError(f"'{out / CHECKPOINT}' does not hold a state of strategy '{cfg['strategy']['name']}' "
                           f"with this genome ({type(err).__name__}: {str(err)[:80]}); was config.toml edited? "
                           "Nothing was changed") from None
        with cluster_client(dask_workers, scheduler) as client:
            population_scorer = DaskPopulation(client, parts) if client is not None else None
            try:
                return _train_and_finish(parts, out, loop, resumed=True, rows=rows,
                                         population_scorer=population_scorer)
            except KeyboardInterrupt:
                raise Interrupted(f"interrupted; continue with: python -m bioevo.tasks.train --resume {out}") from None
            except ClusterLost as err:
                raise ClusterLost(f"{err}; the last checkpoint is kept, continue with: "
                                  f"python -m bioevo.tasks.train --resume {out}") from None


#: config keys added after checkpoints were first written, with the value that does what the code did before
ADDED_LATER = {
    "fitness.last_steps": 0,  # scoring windows: every step was scored
    "evolve.keep_by": "accuracy",  # the kept genome was the best by accuracy
    "evolve.average_decay": 0.0,  # the strategy's mean itself was validated
    "fitness.temperature": 1.0,  # the softmax losses read the scores as they were
    "fitness.temperature_generations": 0,  # and did so in every generation
}


def _same_config(out: Path, saved: dict, cfg: dict) -> None:
    """Refuse a config.toml edited after the checkpoint (progress bars aside)."""
    def flat(d: dict, prefix: str = "") -> dict:
        items = {}
        for k, v in d.items():
            if isinstance(v, dict) and not (prefix + k in ("model.params", "genome.weight_gain")):
                items.update(flat(v, f"{prefix}{k}."))
            else:
                items[prefix + k] = v
        return items

    a, b = flat(saved), flat(cfg)
    for key in sorted(set(a) | set(b)):
        if key.startswith("genome.scale.") and key not in a:
            continue  # saved before step scales existed: the strategy's state restores them (all ones)
        if key not in a and key in ADDED_LATER and b.get(key) == ADDED_LATER[key]:
            continue  # saved before the key existed, and the config asks for what the code did then
        if key != "evolve.progress" and a.get(key) != b.get(key):
            raise ConfigError(f"--resume: {out / 'config.toml'} was changed after the checkpoint was written "
                              f"({key}: {a.get(key)!r} -> {b.get(key)!r}); restore it to continue")


def describe_data(cfg: dict, splits: dict) -> dict:
    """What the data kind reports about its splits (``DataKind.describe``: {key: {split: value}}), else {}."""
    from .data import DATA_KINDS

    kind = DATA_KINDS[cfg["data"].get("kind", "randman")]
    return kind.describe(splits) if kind.describe is not None else {}


def _remove_new_run(out: Path, keep_folder: bool, keep_lock: bool = False) -> None:
    """Remove what a run that never reached its first checkpoint wrote (only its own files)."""
    for name in START_FILES:
        if not (keep_lock and name == LOCK):
            (out / name).unlink(missing_ok=True)
    if not keep_folder:
        try:
            out.rmdir()  # only if empty: never delete what someone else put there
        except OSError:
            pass


def _train_and_finish(parts: Parts, out: Path, loop, resumed: bool, rows: list[dict] = (),
                      population_scorer: DaskPopulation | None = None) -> RunResult:
    cfg = parts.cfg
    metrics = MetricsLog(out / "metrics.csv", rows)
    print(f"run directory: {out}", flush=True)
    data_info = describe_data(cfg, parts.splits)
    for key, per_split in data_info.items():  # e.g. the ideal observer's accuracy of the clicks task
        print(f"{key.replace('_', ' ')}: " + ", ".join(f"{k} {v:.4f}" for k, v in per_split.items()), flush=True)
    result = train(cfg, parts.splits, parts.scorer, parts.strategy, cfg["evolve"]["seed"], metrics, out, loop,
                   population_scorer)
    t_finish = time.time()
    test = parts.splits["test"]
    scorer = parts.scorer
    test_loss, test_pred = scorer.dataset(result.best_genome, test)
    test_metrics = classification_metrics(test.labels, test_pred, test.n_classes)
    save_genome(out / "best_genome.h5", result.best_genome, parts.layout, cfg, model_text(parts.model),
                {"val_accuracy": result.best_val_acc, "generation": result.best_gen})
    scorer.evaluator.close()
    from .report.run_figures import draw_run_figures  # matplotlib only once training is done
    draw_run_figures(parts, result, test_metrics, out)
    summary = {
        "preset": cfg["run"]["name"],
        "data": cfg["data"]["kind"] if "kind" in cfg["data"] else "randman",
        "strategy": cfg["strategy"]["name"],
        "seed": cfg["evolve"]["seed"],
        "test": {**{k: test_metrics[k] for k in ("accuracy", "precision", "recall", "f1", "confusion")},
                 "loss": test_loss},
        # the kept genome's validation figures (evolve.keep_by chose it); loss null if never recorded
        "val": {"accuracy": result.best_val_acc, "loss": result.best_val_loss, "best_generation": result.best_gen},
        "generations": result.generations,
        "evaluations": int(sum(r["evaluations"] for r in result.history)),
        "stop_reason": result.stop_reason,
        "wall_seconds": result.wall_seconds + (time.time() - t_finish),
        "resumed": resumed,
        "n_parameters": parts.layout.size,
    }
    if data_info:
        summary["data_info"] = data_info
    write_json(out / SUMMARY, summary)
    return RunResult(out, summary, result.best_genome, parts.layout, result.history)
