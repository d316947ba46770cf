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

import csv
import json
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np

from .. import resources
from ..cli import Parser, add_cluster_arguments, fail
from ..cluster.connect import study_cluster
from ..cluster.studies import run_on_dask
from ..errors import RunError
from ..config import ConfigError, presets, read_toml, resolve_config
from ..rundir import claim_run_dir, load_genome, write_json
from .compare import first_generation

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
        path = resources.resolve("presets", name)
    except ValueError as err:
        raise ConfigError(str(err).split("; allowed")[0] + f"; allowed: {', '.join(presets('study'))}") from None
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


def resume_dir(path: str, study: dict) -> Path:
    """An existing study directory made with the same study preset."""
    out = Path(path)
    saved = out / "study_preset.json"
    if not saved.exists():
        raise ConfigError(f"'{out}' is not a heterogeneity study directory (no study_preset.json)")
    try:
        recorded = json.loads(saved.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, ValueError) as err:
        raise ConfigError(f"'{saved}' is damaged ({type(err).__name__}); nothing was changed") from None
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
            if name.startswith("tau"):
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


def summarise(values: list[float | None]) -> dict:
    got = [v for v in values if v is not None]
    return {"mean": float(np.mean(got)) if got else None, "sd": float(np.std(got, ddof=1)) if len(got) > 1 else 0.0,
            "n": len(got), "of": len(values)}


def plot(results: dict, study: dict, out: Path) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    datasets, conds = study["datasets"], study["conditions"]
    fig = Figure(figsize=(3 + 3 * len(datasets), 4))
    FigureCanvasAgg(fig)
    for k, ds in enumerate(datasets):
        ax = fig.add_subplot(1, len(datasets), k + 1)
        stats = [results[ds][c]["test_accuracy"] for c in conds]
        ax.bar(conds, [s["mean"] for s in stats], yerr=[s["sd"] for s in stats], capsize=4, color="tab:blue")
        ax.set(title=ds, ylabel="test accuracy", ylim=(0, 1))
    fig.tight_layout()
    fig.savefig(out / "accuracy.png", dpi=120)

    fig = Figure(figsize=(3 + 3 * len(datasets), 4))
    FigureCanvasAgg(fig)
    for k, ds in enumerate(datasets):
        ax = fig.add_subplot(1, len(datasets), k + 1)
        for c in conds:
            rob = results[ds][c]["robustness"]
            keys = sorted(rob, key=float)
            ax.errorbar([float(x) for x in keys], [rob[x]["mean"] for x in keys], yerr=[rob[x]["sd"] for x in keys],
                        marker="o", capsize=3, label=f"{c}: {CONDITIONS[c][0]}")
        ax.set(title=ds, xlabel="relative change of every time constant", ylabel="test accuracy", ylim=(0, 1))
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "robustness.png", dpi=120)

    fig = Figure(figsize=(8, 3.5 * len(datasets)))
    FigureCanvasAgg(fig)
    for k, ds in enumerate(datasets):
        for m, name in enumerate(("tau_mem", "tau_syn")):
            ax = fig.add_subplot(len(datasets), 2, 2 * k + m + 1)
            shown = [(c, results[ds][c]["distributions"]) for c in conds if c in ("b", "d", "e")]
            shown = [(c, d) for c, d in shown if d.get(f"initial_{name}")]
            if not shown:
                continue
            values = np.concatenate([d[f"{tag}_{name}"] for _, d in shown for tag in ("initial", "final")])
            bins = np.geomspace(values.min(), values.max(), 41)  # one set of bins per panel: comparable heights
            for c, dist in shown:
                line = ax.hist(dist[f"final_{name}"], bins=bins, histtype="step", label=f"{c} evolved")[2][0]
                if c != "b":  # b is not evolved: its initial and final are the same values
                    ax.hist(dist[f"initial_{name}"], bins=bins, histtype="step", ls="--", color=line.get_edgecolor(),
                            label=f"{c} initial")
            ax.set(title=f"{ds}: hidden {name} (all seeds)", xlabel="ms", xscale="log", ylabel="neurons")
            ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "time_constants.png", dpi=120)


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
    p.add_argument("--preset", default="heterogeneity-small",
                   help=f"study preset ({', '.join(presets('study'))}) or path to a TOML file with a [study] table")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--out", help="directory for the runs, the table and the figures")
    where.add_argument("--resume", metavar="STUDY_DIR", help="continue an interrupted study in STUDY_DIR")
    add_cluster_arguments(p)
    args = p.parse_args(argv)
    try:
        study = load_study(args.preset)
    except ConfigError as err:
        fail(PROG, str(err))
    with study_cluster(PROG, args.workers, args.scheduler) as client:  # a bad cluster fails before --out is made
        try:
            out = resume_dir(args.resume, study) if args.resume else claim_run_dir(args.out, study["name"], 0)
        except ConfigError as err:
            fail(PROG, str(err))
        if not args.resume:
            write_json(out / "study_preset.json", study)
        if client is not None:  # every run not finished yet at once, one Dask task each; then the serial loop reuses them
            todo = [(f"{ds} {c} seed {seed}", _train_args(study, ds, c, seed, out), out / ds / c / f"s{seed}")
                    for ds in study["datasets"] for c in study["conditions"] for seed in study["seeds"]
                    if not (out / ds / c / f"s{seed}" / "summary.json").exists()]
            try:
                run_on_dask(client, todo)
            except RunError as err:
                fail(PROG, str(err), 1)
    return _study(args, study, out)


def _train_args(study: dict, ds: str, c: str, seed: int, out: Path) -> list[str]:
    """The arguments of ``python -m bioevo.tasks.train`` for one run of the study."""
    sets = [*study["overrides"], *CONDITIONS[c][1]]
    return ["--preset", ds, "--seed", str(seed), "--out", str(out / ds / c / f"s{seed}"), "--quiet",
            *[x for o in sets for x in ("--set", o)]]


def _study(args, study: dict, out: Path) -> dict:
    results: dict = {}
    for ds in study["datasets"]:
        results[ds] = {}
        for c in study["conditions"]:
            runs = []
            for seed in study["seeds"]:
                run_dir = out / ds / c / f"s{seed}"
                cmd = [sys.executable, "-m", "bioevo.tasks.train", *_train_args(study, ds, c, seed, out)]
                if (run_dir / "summary.json").exists():
                    print(f"[{ds} {c} seed {seed}] done before, reused", flush=True)
                else:
                    if (run_dir / "checkpoint.h5").exists():
                        cmd = [sys.executable, "-m", "bioevo.tasks.train", "--resume", str(run_dir), "--quiet"]
                    elif run_dir.exists():
                        shutil.rmtree(run_dir)  # interrupted before its first checkpoint: nothing to keep
                    print(f"[{ds} {c} seed {seed}]", flush=True)
                    res = subprocess.run(cmd, stderr=subprocess.PIPE, text=True)
                    if res.returncode:
                        fail(PROG, f"run {run_dir} failed: {(res.stderr.strip().splitlines() or ['?'])[-1]}")
                rows = list(csv.DictReader(open(run_dir / "metrics.csv")))
                summary = json.loads((run_dir / "summary.json").read_text())
                runs.append({"seed": seed, "test_accuracy": summary["test"]["accuracy"],
                             "generations_to_target": first_generation(rows, "val_acc",
                                                                       study["target_val_accuracy"]),
                             "robustness": perturbed_accuracy(run_dir, study["perturbations"]),
                             "distributions": tau_distributions(run_dir) if c in ("b", "d", "e") else {}})
            keys = runs[0]["robustness"].keys()
            results[ds][c] = {
                "label": CONDITIONS[c][0],
                "test_accuracy": summarise([r["test_accuracy"] for r in runs]),
                "generations_to_target": summarise([r["generations_to_target"] for r in runs]),
                "robustness": {k: summarise([r["robustness"][k] for r in runs]) for k in keys},
                "distributions": {k: sum((r["distributions"].get(k, []) for r in runs), [])
                                  for k in runs[0]["distributions"]},
                "runs": [{k: v for k, v in r.items() if k != "distributions"} for r in runs],
            }
    plot(results, study, out)
    lines = [f"| dataset | condition | test accuracy (mean ± sd) | generations to {study['target_val_accuracy']:.0%} val "
             "(mean ± sd, reached/runs) | test acc at tau ±20% |", "|---|---|---|---|---|"]
    for ds, conds in results.items():
        for c, r in conds.items():
            acc, gen, rob = r["test_accuracy"], r["generations_to_target"], r["robustness"]
            gen_txt = "never" if gen["mean"] is None else f"{gen['mean']:.0f} ± {gen['sd']:.0f} ({gen['n']}/{gen['of']})"
            rob_txt = " / ".join(f"{rob[k]['mean']:.3f}" if k in rob else "not run" for k in ("-0.20", "+0.20"))
            lines.append(f"| {ds} | {c}: {r['label']} | {acc['mean']:.4f} ± {acc['sd']:.4f} | {gen_txt} | "
                         f"{rob_txt} |")
    table = "\n".join(lines)
    (out / "table.md").write_text(f"{table}\n\nCommand: {PROG} --preset {args.preset}\n")
    write_json(out / "study.json", {"study": study, "results": {
        ds: {c: {k: v for k, v in r.items() if k != "distributions"} for c, r in conds.items()}
        for ds, conds in results.items()}})
    print(table)
    return results


if __name__ == "__main__":
    main()
