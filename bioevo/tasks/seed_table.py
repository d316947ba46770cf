"""python -m bioevo.tasks.seed_table: one line per group of finished runs: generations to a validation
accuracy, wall seconds then, and test accuracy, per run and their means.

Groups are GROUP=DIR_PATTERN (a glob), e.g. ``taus=results/intrinsic/digits-taus-s[0-2]``; a
directory without summary.json (a run not finished) is left out.  These are the rows of
results/intrinsic/README.md and results/loss/README.md."""
from __future__ import annotations

import glob
from pathlib import Path

from ..cli import Parser, run_command
from ..config import ConfigError
from ..report.seeds import read_run

PROG = "python -m bioevo.tasks.seed_table"


def run_row(run_dir: Path, threshold: float) -> tuple[int | None, int | None, float]:
    """(generations to ``threshold`` validation accuracy or None, wall seconds then, test accuracy)."""
    numbers = read_run(run_dir, threshold)
    gen = numbers["generations_to_val"]
    wall = round(float(numbers["rows"][gen - 1]["wall_seconds"])) if gen else None
    return gen, wall, numbers["test_accuracy"]


def mean_text(values: list[float | None]) -> str:
    got = [v for v in values if v is not None]
    return f"{sum(got) / len(got):.4g}" if got else "-"


def group_line(group: str, pattern: str, threshold: float) -> str:
    """The line of one group: its runs in name order."""
    rows = [run_row(Path(r), threshold) for r in sorted(glob.glob(pattern)) if Path(r, "summary.json").is_file()]
    gens, walls, tests = zip(*rows) if rows else ((), (), ())
    return (f"{group}: generations {' / '.join(map(str, gens))} (mean {mean_text(list(gens))}); "
            f"wall {' / '.join(map(str, walls))}; test {' / '.join(f'{100 * t:.2f}' for t in tests)} "
            f"(mean {mean_text([100 * t for t in tests])})")


def parse_group(text: str) -> tuple[str, str]:
    group, eq, pattern = text.partition("=")
    if not eq or not group or not pattern:
        raise ConfigError(f"bad group '{text}': expected GROUP=DIR_PATTERN, "
                          "e.g. taus=results/intrinsic/digits-taus-s[0-2]")
    return group, pattern


def main(argv: list[str] | None = None) -> list[str]:
    p = Parser(prog=PROG, description=__doc__.split("\n\n")[0].split(": ", 1)[1])
    p.add_argument("groups", nargs="+", metavar="GROUP=DIR_PATTERN", help="a name and a glob of run directories")
    p.add_argument("--threshold", type=float, default=0.95, help="validation accuracy to reach (default 0.95)")
    args = p.parse_args(argv)

    def body() -> list[str]:
        lines = [group_line(*parse_group(text), args.threshold) for text in args.groups]
        print("\n".join(lines))
        return lines

    return run_command(PROG, body)


if __name__ == "__main__":
    main()
