"""python -m bioevo.tasks.heterogeneity: does heterogeneity of neuron time
constants help?  (After Perez-Nieves et al. 2021, with evolution instead of
surrogate gradients.)

Conditions, all with weights evolved:
  a  homogeneous fixed time constants
  b  heterogeneous fixed time constants (Gamma, k=3, around the same mean)
  c  homogeneous evolved time constants (one tau_mem, one tau_syn per layer)
  d  heterogeneous evolved tau_mem and tau_syn (per neuron, Gamma start)
  e  (d) plus per-neuron thresholds
Each condition runs for every seed on every dataset preset of the study (each
run is a ``bioevo.tasks.randman`` run directory), then: a table of mean ± sd
test accuracy and generations to a fixed validation accuracy, and figures of
accuracy, evolved time-constant distributions against the initial ones, and
robustness (test accuracy when every time constant is scaled by 1 ± delta).

A study takes hours, so ``--resume DIR`` continues one: finished runs (with a
``summary.json``) are reused, an interrupted run continues from its last
checkpoint (``bioevo.tasks.randman --resume``, which ends where an
uninterrupted run would), and a run directory without a checkpoint is started
again."""
from __future__ import annotations

import hashlib
import json
import tomllib
from pathlib import Path

import numpy as np

from .. import resources
from ..cli import Parser, add_cluster_arguments, fail, study_cluster
from ..cluster.studies import run_on_dask
from ..launch import train_in_fresh_process
from ..errors import RunError
from ..config import ConfigError, presets, read_toml, resolve_config
from ..rundir import claim_run_dir, load_genome, write_json
from ..report.heterogeneity import markdown, plot, summarise_dataset
from ..report.seeds import read_run

PROG = "python -m bioevo.tasks.heterogeneity"
TAUS = '["hidden.tau_mem", "hidden.tau_syn"]'
CONDITIONS = {
    # a and b fix the time constants themselves: a preset that evolves them must not leak in
    "a": ("homogeneous fixed", ["genome.evolve=[]"]),
    "b": ("heterogeneous fixed", ["genome.evolve=[]", f"genome.heterogeneous={TAUS}", 'genome.init="gamma"']),
    "c": ("homogeneous evolved", [f"genome.evolve={TAUS}", "genome.per_neuron=false"]),
    "d": ("heterogeneous evolved", [f"genome.evolve={TAUS}", 'genome.init="gamma"']),
    "e": ("heterogeneous evolved + thresholds",
          ['genome.evolve=["hidden.tau_mem", "hidden.tau_syn", "hidden.v_th"]', 'genome.init="gamma"']),
}
STUDY_DEFAULTS = {"datasets": ["randman-10"], "conditions": list(CONDITIONS), "seeds": [0, 1, 2, 3, 4],
                  "target_val_accuracy": 0.9, "perturbations": [-0.4, -0.2, -0.1, 0.1, 0.2, 0.4], "overrides": []}


def _check_study(raw: dict) -> None:
    """Types and ranges of a [study] table, so a bad preset fails now, not after hours of runs."""
    def listed(key: str, kind: type, ok=lambda v: True, what: str = "") -> None:
        value = raw.get(key, STUDY_DEFAULTS[key])
        if (not isinstance(value, list) or not value and key != "overrides"
                or any(isinstance(v, bool) or not isinstance(v, kind) or not ok(v) for v in value)):
            name = {str: "strings", int: "integers", float: "numbers"}.get(kind, "values")
            raise ConfigError(f"study.{key} must be a non-empty list of {name}{what}, got {value!r}")
        if kind is not float and len(set(value)) != len(value):
            raise ConfigError(f"study.{key} lists a value twice: {value!r}")

    listed("datasets", str)
    listed("conditions", str)
    listed("seeds", int, lambda v: v >= 0, " >= 0")
    listed("perturbations", (int, float), lambda v: -1 < v and v == v, " > -1 (scale factors 1 + delta)")
    listed("overrides", str)
    target = raw.get("target_val_accuracy", STUDY_DEFAULTS["target_val_accuracy"])
    if isinstance(target, bool) or not isinstance(target, (int, float)) or not 0 < target <= 1:
        raise ConfigError(f"study.target_val_accuracy must be a number in (0, 1], got {target!r}")


def load_study(name: str) -> dict:
    try:
        path = resources.resolve("presets", name, allowed=lambda: presets("study"))
    except ValueError as err:
        raise ConfigError(str(err)) from None
    raw = read_toml(path, "preset").get("study")
    if raw is None:
        raise ConfigError(f"preset '{path}' has no [study] table; heterogeneity presets: {', '.join(presets('study'))}")
    if not isinstance(raw, dict):
        raise ConfigError(f"preset '{path}': [study] must be a table")
    unknown = set(raw) - set(STUDY_DEFAULTS)
    if unknown:
        raise ConfigError(f"unknown key 'study.{sorted(unknown)[0]}'; allowed: {', '.join(STUDY_DEFAULTS)}")
    _check_study(raw)
    study = {**STUDY_DEFAULTS, **raw, "name": path.stem}
    bad = [c for c in study["conditions"] if c not in CONDITIONS]
    if bad:
        raise ConfigError(f"unknown condition '{bad[0]}'; allowed: {', '.join(CONDITIONS)}")
    for dataset in study["datasets"]:  # fail now, not after hours of runs
        try:
            resolve_config(dataset, study["overrides"])
        except ConfigError as err:
            raise ConfigError(f"study.datasets '{dataset}': {err}") from None
    return study


def saved_study(path: str) -> dict:
    """The study an existing study directory was made with (its study_preset.json), checked."""
    out = Path(path)
    saved = out / "study_preset.json"
    if not saved.exists():
        raise ConfigError(f"'{out}' is not a heterogeneity study directory (no study_preset.json)")
    try:
        recorded = json.loads(saved.read_text(encoding="utf-8"))
        if not isinstance(recorded, dict) or set(recorded) != {*STUDY_DEFAULTS, "name"}:
            raise ValueError(f"its keys are not {', '.join([*STUDY_DEFAULTS, 'name'])}")
        _check_study({k: v for k, v in recorded.items() if k != "name"})
        if any(c not in CONDITIONS for c in recorded["conditions"]):
            raise ValueError(f"conditions must be among {', '.join(CONDITIONS)}")
    except (UnicodeDecodeError, ValueError, TypeError, ConfigError) as err:
        raise ConfigError(f"'{saved}' is damaged ({type(err).__name__}: {str(err)[:100]}); nothing was changed") from None
    return recorded


def resume_dir(path: str, study: dict) -> Path:
    """An existing study directory made with the same study preset."""
    out = Path(path)
    recorded = saved_study(path)
    if recorded != json.loads(json.dumps(study)):
        raise ConfigError(f"'{out}' was made with a different study preset than '{study['name']}'; "
                          "resume it with the same --preset")
    return out


def perturbed_accuracy(run_dir: Path, deltas: list[float]) -> dict[str, float]:
    """Test accuracy of the best genome with every time constant scaled by 1 + delta
    (all factors simulated at once, one individual each), read out as the run was."""
    from ..assemble import make_dataset
    from ..scoring import make_scorer
    from ..fitness import predictions
    from ..model import parse_model
    from ..report.metrics import classification_metrics

    genome, layout, cfg, model_toml = load_genome(run_dir / "best_genome.h5")
    model = parse_model(tomllib.loads(model_toml), "model")
    test = make_dataset(cfg)["test"]
    base = layout.decode(genome[None])
    factors = [1.0] + [1.0 + d for d in deltas]
    params = layout.decode(np.repeat(genome[None], len(factors), axis=0))
    for layer, values in params.neurons.items():
        for name in values:
            if model.layers[layer].parameters[name].time_constant:
                values[name] = base.neurons[layer][name] * np.array(factors)[:, None]
    scorer = make_scorer(cfg, model, layout, len(factors), test.n_steps)
    batch = scorer.evaluator.batch
    preds = []
    for start in range(0, len(test), batch):
        chunk = test.subset(slice(start, start + batch))
        preds.append(predictions(scorer.scores(scorer.evaluator.evaluate(params, chunk.raster))))
    scorer.evaluator.close()
    preds = np.concatenate(preds, axis=1)
    return {f"{f - 1:+.2f}": classification_metrics(test.labels, p, test.n_classes)["accuracy"]
            for f, p in zip(factors, preds)}


ROBUSTNESS_CACHE = "robustness.json"


def cached_perturbed_accuracy(run_dir: Path, deltas: list[float]) -> dict[str, float]:
    """``perturbed_accuracy``, kept in the run directory: a report re-reads it instead of
    re-simulating, as long as the best genome (by its SHA-256) and the deltas are unchanged."""
    digest = hashlib.sha256((run_dir / "best_genome.h5").read_bytes()).hexdigest()
    cache = run_dir / ROBUSTNESS_CACHE
    key = {"best_genome_sha256": digest, "deltas": [float(d) for d in deltas]}
    if cache.exists():
        try:
            saved = json.loads(cache.read_text(encoding="utf-8"))
            if {k: saved.get(k) for k in key} == key:
                return saved["test_accuracy"]
        except (UnicodeDecodeError, ValueError, KeyError, TypeError, AttributeError):
            pass  # a damaged cache is recomputed and rewritten
    accuracy = perturbed_accuracy(run_dir, deltas)
    write_json(cache, {**key, "test_accuracy": accuracy})
    return accuracy


def tau_distributions(run_dir: Path) -> dict[str, list[float]]:
    """Hidden-layer time constants at the start (re-drawn from the seed) and of the best genome."""
    from ..assemble import seeded_streams

    genome, layout, cfg, _ = load_genome(run_dir / "best_genome.h5")
    start = layout.initial(seeded_streams(cfg["evolve"]["seed"])["init"])
    out = {}
    for tag, g in (("initial", start), ("final", genome)):
        hidden = layout.decode(g[None]).neurons["hidden"]
        for name in ("tau_mem", "tau_syn"):
            out[f"{tag}_{name}"] = [float(x) for x in hidden[name][0]]
    return out


def main(argv: list[str] | None = None) -> dict:
    p = Parser(prog=PROG, description=__doc__.split("\n\n")[0])
    p.add_argument("--preset", help=f"study preset ({', '.join(presets('study'))}; default heterogeneity-small) or "
                                    "path to a TOML file with a [study] table; --resume and --report without it "
                                    "take the study the directory was made with")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--out", help="directory for the runs, the table and the figures")
    where.add_argument("--resume", metavar="STUDY_DIR", help="continue an interrupted study in STUDY_DIR")
    where.add_argument("--report", metavar="STUDY_DIR",
                       help="only write the tables and figures of STUDY_DIR from its finished runs; train nothing")
    add_cluster_arguments(p)
    args = p.parse_args(argv)
    existing = args.resume or args.report
    try:
        study = saved_study(existing) if existing and args.preset is None else load_study(
            args.preset or "heterogeneity-small")
    except ConfigError as err:
        fail(PROG, str(err))
    args.preset = args.preset or study["name"]
    with study_cluster(PROG, args.workers, args.scheduler) as client:  # a bad cluster fails before --out is made
        try:
            out = resume_dir(existing, study) if existing else claim_run_dir(args.out, study["name"], 0)
        except ConfigError as err:
            fail(PROG, str(err))
        if not existing:
            write_json(out / "study_preset.json", study)
        if client is not None and not args.report:
            # every run not finished yet at once, one Dask task each; then the serial loop reuses them
            todo = [(f"{ds} {c} seed {seed}", run_config(study, ds, c, seed), out / ds / c / f"s{seed}")
                    for ds in study["datasets"] for c in study["conditions"] for seed in study["seeds"]
                    if not (out / ds / c / f"s{seed}" / "summary.json").exists()]
            try:
                run_on_dask(client, todo)
            except RunError as err:
                fail(PROG, str(err), 1)
    return _study(args, study, out)


def run_config(study: dict, ds: str, c: str, seed: int) -> dict:
    """The resolved config of one run of the study: preset ``ds`` in condition ``c``."""
    return resolve_config(ds, [*study["overrides"], *CONDITIONS[c][1]], seed)


def _run_missing(study: dict, out: Path) -> None:
    """Train every run of the study that has no summary.json yet, one at a time, here (a run
    with a checkpoint resumes, as on Dask)."""
    for ds in study["datasets"]:
        for c in study["conditions"]:
            for seed in study["seeds"]:
                run_dir = out / ds / c / f"s{seed}"
                if (run_dir / "summary.json").exists():
                    print(f"[{ds} {c} seed {seed}] done before, reused", flush=True)
                    continue
                print(f"[{ds} {c} seed {seed}]", flush=True)
                code, err = train_in_fresh_process(run_config(study, ds, c, seed), run_dir)
                if code:
                    fail(PROG, f"run {run_dir} failed: {err or code}")


def run_record(run_dir: Path, seed: int, condition: str, study: dict) -> dict:
    """One finished run as the study reports it (metrics rows kept for the generation counts); a
    damaged file of the run is a ConfigError naming it."""
    try:
        return _run_record(run_dir, seed, condition, study)
    except ConfigError:
        raise
    except (OSError, ValueError, KeyError, TypeError, IndexError) as err:
        raise ConfigError(f"the finished run '{run_dir}' is damaged ({type(err).__name__}: {str(err)[:100]}); "
                          "move it away and --resume trains it again") from None


def _run_record(run_dir: Path, seed: int, condition: str, study: dict) -> dict:
    run = read_run(run_dir, study["target_val_accuracy"])
    return {"seed": seed, "test_accuracy": run["test_accuracy"], "rows": run["rows"],
            "best_val_accuracy": max(float(r["val_acc"]) for r in run["rows"] if r["val_acc"] not in ("", None)),
            "generations_to_target": run["generations_to_val"], "generations": run["generations"],
            "stop_reason": json.loads((run_dir / "summary.json").read_text())["stop_reason"], "wall_seconds": run["wall_seconds"],
            "robustness": cached_perturbed_accuracy(run_dir, study["perturbations"]),
            "distributions": tau_distributions(run_dir) if condition != "a" else {}}


def _study(args, study: dict, out: Path) -> dict:
    if not args.report:
        _run_missing(study, out)
    results, pending = {}, {}
    for ds in study["datasets"]:
        dirs = {c: [out / ds / c / f"s{seed}" for seed in study["seeds"]] for c in study["conditions"]}
        done = sum((d / "summary.json").exists() for ds_dirs in dirs.values() for d in ds_dirs)
        if done < len(study["conditions"]) * len(study["seeds"]):
            pending[ds] = (f"not summarised: {done} of {len(study['conditions']) * len(study['seeds'])} runs "
                           f"finished (continue with {PROG} --preset {args.preset} --resume {out})")
            continue
        try:
            runs = {c: [run_record(d, seed, c, study) for d, seed in zip(dirs[c], study["seeds"])] for c in dirs}
        except ConfigError as err:
            fail(PROG, str(err))
        results[ds] = summarise_dataset(runs)
    labels = {c: CONDITIONS[c][0] for c in study["conditions"]}
    if results:
        plot(results, labels, out)
        table = markdown(results, labels, study["target_val_accuracy"], pending)
    else:
        table = "\n".join(f"{ds}: {why}" for ds, why in pending.items()) + "\n"
    (out / "table.md").write_text(f"{table}\nCommand: {PROG} --preset {args.preset}\n")
    write_json(out / "study.json", {"study": study, "pending": pending, "results": {
        ds: {**res, "conditions": {c: {k: v for k, v in e.items() if k != "distributions"}
                                   for c, e in res["conditions"].items()}} for ds, res in results.items()}})
    print(table)
    return results


if __name__ == "__main__":
    main()
