"""The baselines table: the evolved network's row read from its run directory,
and baselines.json / baselines.md written into the output directory."""
from __future__ import annotations

import json
import math
from pathlib import Path

from ..config import ConfigError, read_toml, with_defaults
from ..rundir import write_json

LABELS = {"evolved": "evolved SNN (gradient-free)", "mlp": "MLP", "cnn": "CNN", "rnn": "vanilla RNN",
          "gru": "GRU", "snn": "surrogate-gradient SNN",
          "bptt": "BPTT in the model's equations"}


def evolved_row(run_dir: str | Path) -> dict:
    """test/val accuracy, wall time, parameters and generations of an evolved run."""
    path = Path(run_dir) / "summary.json"
    if not path.is_file():
        raise ConfigError(f"--run '{run_dir}' holds no summary.json; pass a finished run directory of "
                          "python -m bioevo.tasks.train")
    try:
        s = json.loads(path.read_text(encoding="utf-8"))
        return {"test_accuracy": float(s["test"]["accuracy"]), "val_accuracy": float(s["val"]["accuracy"]),
                "wall_seconds": float(s["wall_seconds"]), "n_parameters": s.get("n_parameters"),
                "epochs": int(s["generations"]), "strategy": s.get("strategy"), "run": str(run_dir)}
    except (ValueError, KeyError, TypeError) as err:
        raise ConfigError(f"--run '{run_dir}': summary.json is not a finished run's summary ({err!r})") from None


def check_same_data(run_dir: str | Path, cfg: dict) -> None:
    """The evolved run must have been trained on the splits the baselines use:
    the same [data] table and the same data seed."""
    path = Path(run_dir) / "config.toml"
    if not path.is_file():
        return
    saved = with_defaults(read_toml(path, "run config"))

    def data_of(c: dict) -> dict:
        d = dict(c["data"])
        d["seed"] = d["seed"] if d.get("seed") is not None else c["evolve"]["seed"]
        return d

    ours, theirs = data_of(cfg), data_of(saved)
    for key in sorted(set(ours) | set(theirs)):
        if ours.get(key) != theirs.get(key):
            raise ConfigError(f"--run '{run_dir}' was trained on other data: data.{key} = {theirs.get(key)!r} there, "
                              f"{ours.get(key)!r} here; pass the run's --preset, --seed and --set values")


def markdown(rows: dict[str, dict], title: str) -> str:
    def num(v, fmt):
        return "–" if v is None or (isinstance(v, float) and not math.isfinite(v)) else format(v, fmt)

    lines = [f"# {title}", "",
             "| method | test accuracy | validation accuracy | training wall time (s) | trainable parameters "
             "| epochs (generations) |",
             "|---|---:|---:|---:|---:|---:|"]
    for name, r in rows.items():
        epochs = f"{r['epochs']}" + (f" (best {r['best_epoch']})" if "best_epoch" in r else "")
        lines.append(f"| {LABELS.get(name, name)} | {num(100 * r['test_accuracy'], '.2f')}% | "
                     f"{num(100 * r['val_accuracy'], '.2f')}% | {num(r['wall_seconds'], '.1f')} | "
                     f"{num(r['n_parameters'], 'd')} | {epochs} |")
    return "\n".join(lines) + "\n"


def write_table(out: Path, report: dict, rows: dict[str, dict], title: str, notes: list[str]) -> None:
    write_json(out / "baselines.json", report)
    text = markdown(rows, title)
    if notes:
        text += "\n" + "\n".join(f"- {n}" for n in notes) + "\n"
    (out / "baselines.md").write_text(text, encoding="utf-8")
