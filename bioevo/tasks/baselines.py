"""python -m bioevo.tasks.baselines: gradient-trained baselines on a preset's splits.

Trains an MLP, a CNN (image presets), a vanilla RNN, a GRU and a surrogate-
gradient twin of the evolved SNN on exactly the train/val/test splits and
encoded rasters the preset gives ``python -m bioevo.tasks.train``, selects
each on the validation split only, scores the kept parameters once on test,
and writes baselines.json and baselines.md, with the evolved network's row
from ``--run RUN_DIR`` when given.  Settings: ``--set baselines.KEY=VALUE``
(see bioevo/baselines/settings.py); other ``--set`` keys override the preset
as in training.  Needs the extra: pip install "bioevo[baselines]"."""
from __future__ import annotations

import logging
import sys
import time
from pathlib import Path

from ..baselines import EXTRA_HINT, METHODS, missing_extra
from ..cli import Parser, fail, run_command
from ..config import ConfigError, presets, resolve_config

PROG = "python -m bioevo.tasks.baselines"


def parse_args(argv: list[str] | None):
    p = Parser(prog=PROG, description=__doc__.split("\n\n")[0].split(": ", 1)[1])
    p.add_argument("--preset", required=True, help=f"preset name ({', '.join(presets('training'))}) or a TOML file")
    p.add_argument("--run", metavar="RUN_DIR", help="an evolved run of the same preset: its row joins the table")
    p.add_argument("--out", help="directory to create (default: results/runs/baselines-<preset>-s<seed>-<time>)")
    p.add_argument("--methods", help=f"comma-separated, from {','.join(METHODS)} (default: all the preset allows)")
    p.add_argument("--seed", type=int, help="random seed (overrides evolve.seed: data split and initialisation)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a preset value (as in training) or a baselines.* setting (repeatable)")
    p.add_argument("--quiet", action="store_true", help="no per-epoch progress lines (one line per method remains)")
    return p.parse_args(argv)


def parse_methods(text: str | None) -> list[str] | None:
    """The requested methods in table order, or None for 'every method the preset allows'."""
    if text is None:
        return None
    names = [n.strip() for n in text.split(",") if n.strip()]
    bad = [n for n in names if n not in METHODS]
    if bad or not names:
        raise ConfigError(f"unknown method '{bad[0] if bad else text}' in --methods; allowed: {', '.join(METHODS)}")
    return [m for m in METHODS if m in names]


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    logging.getLogger("brian2").setLevel(logging.ERROR)
    missing = missing_extra()
    if missing is not None:
        fail(PROG, f"{EXTRA_HINT} ({missing} is not installed)", 1)

    def body() -> dict:
        import jax

        from ..baselines import biophysical, snn
        from ..baselines.data import evolved_network, image_shape, make_splits
        from ..baselines.runner import check_methods, run_baselines
        from ..baselines.settings import resolve_settings, split_overrides
        from ..baselines.table import LABELS, check_same_data, evolved_row, write_table
        from ..rundir import claim_run_dir

        requested = parse_methods(args.methods)
        preset_overrides, ours = split_overrides(args.overrides)
        cfg = resolve_config(args.preset, preset_overrides, seed=args.seed)
        settings = resolve_settings(cfg, ours)
        evolved = None
        if args.run is not None:
            if not Path(args.run).is_dir():
                raise ConfigError(f"--run '{args.run}' is not a directory")
            evolved = evolved_row(args.run)
            check_same_data(args.run, cfg)
        splits = make_splits(cfg)
        network = evolved_network(cfg, splits)
        notes = []
        if requested is None:
            names = [m for m in METHODS if m != "cnn" or image_shape(cfg, splits["train"].n_units) is not None]
            for name, module in (("snn", snn), ("bptt", biophysical)):
                try:
                    module.check_supported(cfg, network.layout)
                except ConfigError as err:
                    names.remove(name)
                    notes.append(f"{name} left out: {err}")
        else:
            names = requested
        check_methods(names, cfg, splits, network)
        seed = cfg["evolve"]["seed"]
        out = claim_run_dir(args.out, f"baselines-{cfg['run']['name']}", seed)
        def say(line: str) -> None:
            print(line, file=sys.stderr, flush=True)

        say(f"baselines {', '.join(names)} on {cfg['run']['name']} (seed {seed}) -> {out}")
        t0 = time.time()
        rows = run_baselines(names, cfg, settings, splits, network, say, epochs=not args.quiet)
        table = ({"evolved": evolved} if evolved else {}) | rows
        train = splits["train"]
        notes = [
            "All methods use the preset's train/validation/test splits and its encoded input raster "
            f"({train.n_steps} time steps x {train.n_units} units); each is selected on validation accuracy "
            "only (ties: lower validation loss) and its kept parameters are scored once on test.",
            *notes,
            *(f"{LABELS[name]}: {r['architecture']}; AdamW lr {r['lr']:g}, weight decay {r['weight_decay']:g} "
              f"(chosen on validation from {[c['weight_decay'] for c in r['candidates']]}), batch "
              f"{settings['batch_size']}, gradient clip {settings['clip']:g}, kept epoch {r['best_epoch']} of "
              f"{r['epochs']}" for name, r in rows.items() if name != "bptt"),
            *(f"{LABELS['bptt']}: {r['architecture']}; lr {r['lr']:g} kept (epoch {r['best_epoch']} of "
              f"{r['epochs']}), batch {settings['batch_size']}; per lr: "
              + "; ".join(f"{c['lr']:g}: val {c['val_accuracy']:.3f}, {c['steps']} steps, gradient norm "
                          + (f"{c['grad_norm_range'][0]:.3g}-{c['grad_norm_range'][1]:.3g}" if c['grad_norm_range']
                             else "none finite")
                          + (", diverged" if c["diverged"] else "") for c in r["candidates"])
              for name, r in rows.items() if name == "bptt"),
        ]
        import flax
        import optax
        report = {
            "preset": cfg["run"]["name"], "seed": seed, "data": cfg["data"],
            "split_sizes": {k: len(v) for k, v in splits.items()},
            "input": {"n_steps": train.n_steps, "n_units": train.n_units, "n_classes": train.n_classes},
            "settings": settings, "methods": rows, "evolved": evolved, "notes": notes,
            "versions": {"jax": jax.__version__, "flax": flax.__version__, "optax": optax.__version__},
            "wall_seconds": time.time() - t0,
        }
        write_table(out, report, table, f"Baselines on {cfg['run']['name']} (seed {seed})", notes)
        print((out / "baselines.md").read_text(encoding="utf-8"))
        print(f"-> {out}")
        return report

    return run_command(PROG, body)


if __name__ == "__main__":
    main()
