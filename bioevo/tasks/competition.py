"""python -m bioevo.tasks.competition: pool firing rates of a trained E/I competition circuit.

Simulates the best genome of a run of a ``competition`` preset (e.g.
``competition-2``, ``competition-clicks``) on the first test samples of each
class and draws one panel per sample, one line per pool (the true class
thick), the shared inhibitory population dashed
(:func:`bioevo.report.competition.pool_rate_figure`).  Prints the figure's path."""
from __future__ import annotations

from pathlib import Path

from ..cli import Parser, fail, positive_int, run_command
from ..report.competition import pool_rate_figure

PROG = "python -m bioevo.tasks.competition"


def main(argv: list[str] | None = None) -> Path:
    p = Parser(prog=PROG, description=__doc__.split("\n\n")[0].split(": ", 1)[1])
    p.add_argument("run_dir", metavar="RUN_DIR", help="a finished run of a competition preset (best_genome.h5)")
    p.add_argument("--per-class", type=positive_int, default=3, help="test samples per class (default 3)")
    p.add_argument("--window-ms", type=float, default=5.0, help="rate window in ms (default 5)")
    p.add_argument("--out", help="figure to write (default RUN_DIR/pool_rates.png)")
    args = p.parse_args(argv)
    if not (Path(args.run_dir) / "best_genome.h5").is_file():
        fail(PROG, f"'{args.run_dir}' holds no best_genome.h5: not a finished run")
    path = run_command(PROG, lambda: pool_rate_figure(args.run_dir, per_class=args.per_class,
                                                      window_ms=args.window_ms, path=args.out))
    print(path)
    return path


if __name__ == "__main__":
    main()
