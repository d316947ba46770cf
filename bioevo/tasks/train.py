"""python -m bioevo.tasks.train: evolve a Brian2 network on any training preset.

Writes a new run directory with the resolved config, per-generation metrics,
a checkpoint every epoch, summary.json, the best genome (HDF5) and figures;
``--resume RUN_DIR`` continues an interrupted run from its last checkpoint.
Bad input stops with one line (exit 2) before anything is written."""
from __future__ import annotations

import logging

from ..cli import Parser, add_cluster_arguments, non_negative_int, run_command
from ..config import ConfigError, presets
from ..strategies import REGISTRY

PROG = "python -m bioevo.tasks.train"


def parse_args(argv: list[str] | None, prog: str, default_preset: str):
    p = Parser(prog=prog, description=__doc__.split("\n\n")[0].split(": ", 1)[1])
    p.add_argument("--preset", help=f"preset name ({', '.join(presets('training'))}; default {default_preset}) "
                                    "or path to a TOML file")
    p.add_argument("--strategy", choices=list(REGISTRY), help="strategy (overrides strategy.name)")
    p.add_argument("--seed", type=non_negative_int, help="random seed (overrides evolve.seed)")
    p.add_argument("--out", help="run directory to create (default: results/runs/<preset>-s<seed>-<time>)")
    p.add_argument("--backend", choices=["cpp", "runtime", "cuda"], help="Brian2 backend (overrides evolve.backend)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override one preset value, e.g. --set evolve.generations=10 (repeatable)")
    p.add_argument("--resume", metavar="RUN_DIR", help="continue an interrupted run from its last checkpoint")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    add_cluster_arguments(p)
    return p.parse_args(argv)


def main(argv: list[str] | None = None, prog: str = PROG, default_preset: str = "digits") -> dict:
    args = parse_args(argv, prog, default_preset)
    logging.getLogger("brian2").setLevel(logging.ERROR)

    def body() -> dict:
        from ..pipeline import load_config, resume, run, summary_line

        progress = False if args.quiet else None
        if args.resume is not None:
            given = [flag for flag, value in (("--preset", args.preset), ("--out", args.out), ("--seed", args.seed),
                                              ("--set", args.overrides or None), ("--strategy", args.strategy),
                                              ("--backend", args.backend)) if value is not None]
            if given:
                raise ConfigError(f"--resume continues the run as configured; drop {', '.join(given)}")
            result = resume(args.resume, progress=progress, dask_workers=args.workers, scheduler=args.scheduler)
        else:
            cfg = load_config(args.preset or default_preset, args.overrides, seed=args.seed, backend=args.backend,
                              strategy=args.strategy)
            result = run(cfg, args.out, progress=progress, dask_workers=args.workers, scheduler=args.scheduler)
        print(summary_line(result))
        return result.summary

    return run_command(prog, body)


if __name__ == "__main__":
    main()
