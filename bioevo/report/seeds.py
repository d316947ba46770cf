"""Seed lists and statistics over seeds: a result quoted from one tuned seed is
a promise we cannot keep, so comparisons report mean, sd and the worst seed."""
from __future__ import annotations

import csv
import json
import math
from pathlib import Path

from ..config import ConfigError
from ..data.errors import MAX_SEED

#: per-run quantities summarised over seeds, in table order
STATS = ("test_accuracy", "generations_to_val", "evaluations_to_val", "generations_to_train", "generations",
         "wall_seconds")


#: the most seeds one --seeds may list: each is a whole run per strategy, so more is a typo, not a study
MAX_SEEDS = 1000


def parse_seeds(text: str, limit: int = MAX_SEEDS) -> list[int]:
    """'0-2,5,7-8' -> [0, 1, 2, 5, 7, 8]: integers >= 0 and ascending ranges, each seed once,
    at most ``limit`` seeds (a ValueError names the bad part).  The size of each range is
    checked before it is expanded, and duplicates are found with a set, so the time is
    linear in the seeds listed whatever the text says."""
    seeds: list[int] = []
    seen: set[int] = set()
    for part in text.split(","):
        part = part.strip()
        lo, dash, hi = part.partition("-")
        try:
            first, last = int(lo), int(hi) if dash else int(lo)
            if not (lo.strip().isdigit() and (not dash or hi.strip().isdigit())):
                raise ValueError
        except ValueError:
            raise ValueError(f"bad seed '{part}' in '{text[:80]}'; allowed: integers >= 0 and ranges like 0-4, "
                             "comma-separated") from None
        if last < first:
            raise ValueError(f"bad seed range '{part}': it runs backwards; write {last}-{first}")
        if last > MAX_SEED:
            raise ValueError(f"seed {last} is too large; allowed: 0..{MAX_SEED}")
        if len(seeds) + (last - first + 1) > limit:
            raise ValueError(f"'{text[:80]}' lists more than {limit} seeds (each is a whole run per strategy); "
                             f"allowed: at most {limit}")
        for seed in range(first, last + 1):
            if seed in seen:
                raise ValueError(f"seed {seed} is listed twice in '{text[:80]}'")
            seen.add(seed)
            seeds.append(seed)
    return seeds


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


def read_run(run_dir: Path, threshold: float) -> dict:
    """One finished run directory as the numbers a comparison reports (and its metrics rows); a
    missing or damaged file is a one-line ConfigError naming the run."""
    try:
        return _read_run(run_dir, threshold)
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError, IndexError) as err:
        raise ConfigError(f"the finished run '{run_dir}' is damaged ({type(err).__name__}: {str(err)[:100]}); "
                          "move it away and --resume trains it again") from None


def _read_run(run_dir: Path, threshold: float) -> dict:
    with open(run_dir / "metrics.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    summary = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))
    to_val = first_generation(rows, "val_acc", threshold)
    return {
        "rows": rows,
        "generations_to_train": first_generation(rows, "train_acc", threshold),
        "generations_to_val": to_val,
        "evaluations_to_val": evaluations_until(rows, to_val),
        "test_accuracy": summary["test"]["accuracy"],
        "val_accuracy": summary["val"]["accuracy"],
        "generations": summary["generations"],
        "wall_seconds": summary["wall_seconds"],
    }


def summarise(values: list[float | None]) -> dict:
    """Mean, sample sd (ddof 1; None for one value), min and max over the values that
    exist; ``n`` of ``of`` runs had one (a threshold never reached is None)."""
    got = [float(v) for v in values if v is not None]
    n = len(got)
    mean = sum(got) / n if n else None
    sd = math.sqrt(sum((v - mean) ** 2 for v in got) / (n - 1)) if n > 1 else None
    return {"mean": mean, "sd": sd, "min": min(got) if got else None, "max": max(got) if got else None,
            "n": n, "of": len(values)}


def aggregate(runs: dict[int, dict]) -> dict:
    """Per-seed runs of one strategy (seed -> :func:`read_run` without rows) -> statistics of each of STATS."""
    seeds = sorted(runs)
    return {key: {**summarise([runs[s][key] for s in seeds]), "per_seed": {s: runs[s][key] for s in seeds}}
            for key in STATS}


def _fmt(stat: dict, scale: float = 1.0, digits: int = 0, unit: str = "") -> str:
    """'mean ± sd (min)', with how many runs reached the threshold when not all did."""
    if stat["mean"] is None:
        return "never"
    f = lambda v: f"{v * scale:,.{digits}f}"  # noqa: E731
    text = f"{f(stat['mean'])}{'' if stat['sd'] is None else ' ± ' + f(stat['sd'])}{unit} ({f(stat['min'])})"
    return text if stat["n"] == stat["of"] else f"{text}, {stat['n']}/{stat['of']} reached"


def markdown_table(table: dict[str, dict], threshold: float) -> str:
    """One row per strategy: mean ± sd (min) over seeds, and each seed's test accuracy."""
    pct = f"{100 * threshold:g}%"
    lines = [f"| strategy | test accuracy, mean ± sd (min) | test accuracy per seed | generations to {pct} val "
             f"| genome evaluations to {pct} val | generations run | wall s |",
             "|---|---|---|---|---|---|---|"]
    for name, stats in table.items():
        per_seed = " ".join(f"{100 * v:.1f}" for v in stats["test_accuracy"]["per_seed"].values())
        lines.append(f"| {name} | {_fmt(stats['test_accuracy'], 100, 2, '%')} | {per_seed} "
                     f"| {_fmt(stats['generations_to_val'])} | {_fmt(stats['evaluations_to_val'])} "
                     f"| {_fmt(stats['generations'])} | {_fmt(stats['wall_seconds'])} |")
    return "\n".join(lines)
