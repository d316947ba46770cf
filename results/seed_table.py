"""Rows of results/intrinsic/README.md and results/loss/README.md: per run, generations to 95%
validation accuracy, wall seconds then, and test accuracy; per group, the means.
Usage: python results/seed_table.py GROUP=DIR_PATTERN ...
(for example weights=results/digits/evolved/seed-[0-2] taus=results/intrinsic/digits-taus-s[0-2])."""
import glob
import sys
from pathlib import Path

from bioevo.report.seeds import read_run


def row(run: str) -> tuple[int | None, int | None, float]:
    numbers = read_run(Path(run), 0.95)
    gen = numbers["generations_to_val"]
    wall = round(float(numbers["rows"][gen - 1]["wall_seconds"])) if gen else None
    return gen, wall, numbers["test_accuracy"]


def mean(values: list) -> str:
    values = [v for v in values if v is not None]
    return f"{sum(values) / len(values):.4g}" if values else "-"


if __name__ == "__main__":
    for arg in sys.argv[1:]:
        if "=" not in arg:
            sys.exit(f"bad argument {arg!r}: expected GROUP=DIR_PATTERN, e.g. taus=results/intrinsic/digits-taus-s[0-2]")
        group, pattern = arg.split("=", 1)
        rows = [row(r) for r in sorted(glob.glob(pattern)) if glob.glob(r + "/summary.json")]
        gens, walls, tests = zip(*rows) if rows else ((), (), ())
        print(f"{group}: generations {' / '.join(map(str, gens))} (mean {mean(list(gens))}); "
              f"wall {' / '.join(map(str, walls))}; test {' / '.join(f'{100 * t:.2f}' for t in tests)} "
              f"(mean {mean([100 * t for t in tests])})")
