"""Rows of results/intrinsic/README.md: per run, generations to 95% validation accuracy, wall seconds
then, and test accuracy; per group, the means.  Usage: python results/intrinsic/table.py GROUP=DIR_PATTERN ...
(for example weights=results/digits/evolved/seed-[0-2] taus=/tmp/intr/dig-taus-s[0-2])."""
import csv
import glob
import json
import sys


def row(run: str) -> tuple[int | None, int | None, float]:
    summary = json.load(open(run + "/summary.json"))
    metrics = list(csv.DictReader(open(run + "/metrics.csv")))
    hit = next((r for r in metrics if r["val_acc"] and float(r["val_acc"]) >= 0.95), None)
    return (int(hit["gen"]) + 1 if hit else None, round(float(hit["wall_seconds"])) if hit else None,
            summary["test"]["accuracy"])


def mean(values: list) -> str:
    values = [v for v in values if v is not None]
    return f"{sum(values) / len(values):.4g}" if values else "-"


if __name__ == "__main__":
    for arg in sys.argv[1:]:
        group, pattern = arg.split("=", 1)
        rows = [row(r) for r in sorted(glob.glob(pattern)) if glob.glob(r + "/summary.json")]
        gens, walls, tests = zip(*rows) if rows else ((), (), ())
        print(f"{group}: generations {' / '.join(map(str, gens))} (mean {mean(list(gens))}); "
              f"wall {' / '.join(map(str, walls))}; test {' / '.join(f'{100 * t:.2f}' for t in tests)} "
              f"(mean {mean([100 * t for t in tests])})")
