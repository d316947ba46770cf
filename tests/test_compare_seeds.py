"""compare over seeds: the seed parser, statistics against hand-computed numbers
(fake run directories), and --resume of a partly finished comparison, which
must end with the numbers of an uninterrupted one."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bioevo.tasks.compare import main
from bioevo.report.seeds import parse_seeds

ROOT = Path(__file__).resolve().parent.parent
TINY = ["--set", "evolve.backend=cpp", "--set", "data.split=[24, 8, 8]", "--set", "evolve.batch_size=16",
        "--set", "evolve.generations=6", "--set", "model.hidden=6", "--set", "strategy.es.popsize=4"]


@pytest.mark.parametrize("text, seeds", [("0-4", [0, 1, 2, 3, 4]), ("0,2,5-7", [0, 2, 5, 6, 7]), ("3", [3]),
                                         (" 7 , 1-2", [7, 1, 2]), ("4-4", [4])])
def test_seed_lists_and_ranges(text, seeds):
    assert parse_seeds(text) == seeds


@pytest.mark.parametrize("text, named", [("0-x", "'0-x'"), ("-1", "'-1'"), ("3-1", "'3-1'"), ("1,2,1", "seed 1"),
                                         ("0-2,2", "seed 2"), ("", "''"), ("1,,2", "''"), ("1.5", "'1.5'"),
                                         ("+3", "'+3'"), ("0-", "'0-'")])
def test_bad_seeds_are_named(text, named):
    with pytest.raises(ValueError, match=named.replace("+", r"\+").replace(".", r"\.")):
        parse_seeds(text)


def test_bad_seeds_on_the_command_line_write_nothing(tmp_path, capsys):
    out = tmp_path / "cmp"
    with pytest.raises(SystemExit) as exit_:
        main(["--preset", "randman-2", "--seeds", "0-2,x", "--out", str(out)])
    err = capsys.readouterr().err.strip()
    assert exit_.value.code == 2 and len(err.splitlines()) == 1 and "--seeds: bad seed 'x'" in err
    assert not out.exists()
    with pytest.raises(SystemExit) as exit_:  # --seed and --seeds exclude each other
        main(["--preset", "randman-2", "--seed", "1", "--seeds", "0-2", "--out", str(out)])
    assert exit_.value.code == 2 and not out.exists()


def fake_run(run_dir: Path, val: list[float | None], evaluations: int, test: float, wall: float) -> None:
    """A finished run directory: one metrics row per generation, validation where given."""
    run_dir.mkdir(parents=True)
    lines = ["gen,loss_mean,loss_min,loss_max,loss_std,train_acc,best_train_acc,val_acc,val_loss,evaluations,"
             "wall_seconds"]
    for gen, v in enumerate(val):
        lines.append(f"{gen},0.5,0.4,0.6,0.1,0.5,0.6,{'' if v is None else v},,{evaluations},1.0")
    (run_dir / "metrics.csv").write_text("\n".join(lines) + "\n")
    (run_dir / "summary.json").write_text(json.dumps({"test": {"accuracy": test}, "val": {"accuracy": max(
        x for x in val if x is not None)}, "generations": len(val), "wall_seconds": wall}))


def test_statistics_over_seeds_match_hand_computed(tmp_path):
    out = tmp_path / "cmp"
    # es: 95% validation first at generations 4 and 6 (2 of 3 seeds), 10 and 20 genomes per generation
    fake_run(out / "es" / "s0", [0.5, None, 0.8, 0.96, 0.97], 10, 0.90, 10.0)
    fake_run(out / "es" / "s1", [0.5, None, 0.8, None, 0.9, 0.95], 20, 1.00, 20.0)
    fake_run(out / "es" / "s2", [0.5, 0.6, 0.7], 10, 0.95, 30.0)
    for seed, test in ((0, 0.5), (1, 0.75), (2, 1.0)):
        fake_run(out / "pso" / f"s{seed}", [0.2, 1.0], 8, test, 5.0)
    spec = {"preset": "randman-2", "strategies": ["es", "pso"], "seed": None, "seeds": [0, 1, 2],
            "threshold": 0.95, "overrides": []}
    (out / "compare_spec.json").write_text(json.dumps(spec))
    table = main(["--resume", str(out)])  # every run finished: nothing is run, only reported
    es = table["es"]
    assert es["test_accuracy"]["mean"] == pytest.approx(0.95) and es["test_accuracy"]["sd"] == pytest.approx(0.05)
    assert es["test_accuracy"]["min"] == 0.90
    assert (es["generations_to_val"]["mean"], es["generations_to_val"]["min"]) == (5, 4)
    assert es["generations_to_val"]["sd"] == pytest.approx(2 ** 0.5)
    assert (es["generations_to_val"]["n"], es["generations_to_val"]["of"]) == (2, 3)
    assert es["evaluations_to_val"]["mean"] == 80 and es["evaluations_to_val"]["min"] == 40  # 4*10, 6*20
    assert es["evaluations_to_val"]["sd"] == pytest.approx(2 ** 0.5 * 40)
    assert es["wall_seconds"]["mean"] == 20 and es["wall_seconds"]["sd"] == pytest.approx(10)
    assert es["generations"]["mean"] == pytest.approx(14 / 3)
    pso = table["pso"]
    assert pso["test_accuracy"]["sd"] == pytest.approx(0.25) and pso["generations_to_val"]["sd"] == 0
    assert pso["evaluations_to_val"]["mean"] == 16
    saved = json.loads((out / "compare_seeds.json").read_text())
    assert saved["strategies"]["es"]["test_accuracy"]["per_seed"] == {"0": 0.9, "1": 1.0, "2": 0.95}
    md = (out / "compare_seeds.md").read_text()
    assert "| es | 95.00 ± 5.00% (90.00) | 90.0 100.0 95.0 | 5 ± 1 (4), 2/3 reached | 80 ± 57 (40), 2/3 reached |" in md
    assert "| pso | 75.00 ± 25.00% (50.00) |" in md
    assert "\n\nSeeds 0, 1, 2 of preset" in md
    assert (out / "compare_seeds.png").stat().st_size > 0


@pytest.mark.parametrize("damage", ["summary.json", "metrics.csv"])
def test_resume_with_a_damaged_finished_run_is_one_line_naming_it(tmp_path, capsys, damage):
    out = tmp_path / "cmp"
    fake_run(out / "es" / "s2", [0.5, 0.96], 10, 0.9, 1.0)
    (out / "es" / "s2" / damage).write_text("gen,val_acc\nx,y\n" if damage == "metrics.csv" else "{")
    spec = {"preset": "randman-2", "strategies": ["es"], "seed": None, "seeds": [2], "threshold": 0.95,
            "overrides": []}
    (out / "compare_spec.json").write_text(json.dumps(spec))
    with pytest.raises(SystemExit) as exit_:
        main(["--resume", str(out)])
    err = capsys.readouterr().err.strip().splitlines()
    assert exit_.value.code == 2 and len(err) == 1 and f"the finished run '{out / 'es' / 's2'}' is damaged" in err[0]


def test_one_seed_is_captioned_in_the_singular(tmp_path):
    out = tmp_path / "cmp"
    fake_run(out / "es" / "s2", [0.5, 0.96], 10, 0.9, 1.0)
    spec = {"preset": "randman-2", "strategies": ["es"], "seed": None, "seeds": [2], "threshold": 0.95,
            "overrides": []}
    (out / "compare_spec.json").write_text(json.dumps(spec))
    main(["--resume", str(out)])
    md = (out / "compare_seeds.md").read_text()
    assert "\n\nSeed 2 of preset" in md and "Seeds 2" not in md


def test_resume_refuses_other_settings_and_foreign_dirs(tmp_path, capsys):
    for argv, says in ((["--resume", str(tmp_path), "--seeds", "0-1"], "drop --seeds"),
                       (["--resume", str(tmp_path)], "not a comparison directory")):
        with pytest.raises(SystemExit) as exit_:
            main(argv)
        err = capsys.readouterr().err.strip()
        assert exit_.value.code == 2 and len(err.splitlines()) == 1 and says in err


# Trains as the command line does, then dies (SIGKILL, no cleanup) right after its first checkpoint.
KILLED_AFTER_FIRST_CHECKPOINT = """
import os, signal, sys
import bioevo.evolve as evolve
real_save = evolve.save_checkpoint
def save(*a, **k):
    real_save(*a, **k)
    os.kill(os.getpid(), signal.SIGKILL)
evolve.save_checkpoint = save
from bioevo.tasks.train import main
main(sys.argv[1:])
"""


def without_wall(rows: str) -> list[list[str]]:
    return [line.split(",")[:-1] for line in rows.splitlines()]


@pytest.mark.slow
def test_a_run_that_died_before_its_first_checkpoint_starts_again(tmp_path):
    """The launcher trains through the library in a fresh process: a directory holding only what a
    SIGKILL during the first epoch leaves starts again, and ends as bioevo.run here would."""
    from bioevo import RunResult, load_config, run
    from bioevo.launch import train_in_fresh_process

    cfg = load_config("randman-2", [TINY[k + 1] for k in range(0, len(TINY), 2)], seed=0)
    stub = tmp_path / "es" / "s0"
    stub.mkdir(parents=True)
    (stub / "config.toml").write_text("")
    code, line = train_in_fresh_process(cfg, stub)
    assert code == 0 and line.startswith("test accuracy") and str(stub) in line
    launched = RunResult.load(stub)
    here = run(cfg, tmp_path / "here", progress=False)
    assert launched.summary["test"] == here.summary["test"] and launched.summary["generations"] == 6
    np.testing.assert_array_equal(launched.best_genome, here.best_genome)
    assert [{k: v for k, v in r.items() if k != "wall_seconds"} for r in launched.history] == [
        {k: v for k, v in r.items() if k != "wall_seconds"} for r in RunResult.load(here.run_dir).history]
    assert train_in_fresh_process(cfg, stub) == (0, "finished before, reused")


@pytest.mark.slow
def test_a_launched_run_with_bad_input_is_one_line_exit_2(tmp_path):
    from bioevo import load_config
    from bioevo.launch import train_in_fresh_process

    cfg = load_config("randman-2", ["evolve.generations=2"])
    cfg["model"]["name"] = "nope"
    code, line = train_in_fresh_process(cfg, tmp_path / "bad")
    assert code == 2 and "unknown model.name 'nope'" in line and not (tmp_path / "bad").exists()


@pytest.mark.slow
def test_resume_of_a_partly_finished_comparison_ends_as_an_uninterrupted_one(tmp_path):
    """Seed 0 finished (reused as it is), seed 1 killed right after its first
    checkpoint (generation 3 of 6): the resumed seed 1 equals an uninterrupted run."""
    whole, part = tmp_path / "whole", tmp_path / "part"
    main(["--preset", "randman-2", "--strategies", "es", "--seeds", "1", "--out", str(whole), *TINY])
    spec = {**json.loads((whole / "compare_spec.json").read_text()), "seeds": [0, 1]}
    part.mkdir()
    (part / "compare_spec.json").write_text(json.dumps(spec))
    fake_run(part / "es" / "s0", [0.5, 0.75, 1.0], 4, 0.875, 3.0)
    args = ["--preset", "randman-2", "--strategy", "es", "--seed", "1", *TINY, "--quiet", "--out",
            str(part / "es" / "s1")]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    killed = subprocess.run([sys.executable, "-c", KILLED_AFTER_FIRST_CHECKPOINT, *args], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=300)
    assert killed.returncode == -9 and (part / "es" / "s1" / "checkpoint.h5").exists()
    assert len((part / "es" / "s1" / "metrics.csv").read_text().splitlines()) == 1 + 3
    finished = (part / "es" / "s0" / "summary.json").stat().st_mtime_ns

    table = main(["--resume", str(part)])

    assert (part / "es" / "s0" / "summary.json").stat().st_mtime_ns == finished  # reused, not run again
    a, b = (d / "es" / "s1" / "metrics.csv" for d in (whole, part))
    assert without_wall(a.read_text()) == without_wall(b.read_text())
    reference = json.loads((whole / "compare_seeds.json").read_text())["strategies"]["es"]
    for key in ("test_accuracy", "generations", "generations_to_val", "evaluations_to_val"):
        assert table["es"][key]["per_seed"][1] == reference[key]["per_seed"]["1"]
    assert table["es"]["test_accuracy"]["per_seed"][0] == 0.875 and table["es"]["generations_to_val"]["per_seed"][0] == 3


def test_mean_curve_holds_a_finished_run_at_its_last_value():
    from bioevo.report.seed_curves import mean_curve, validation_curve

    short = validation_curve([{"gen": 2, "val_acc": "0.5"}, {"gen": 4, "val_acc": ""}, {"gen": 5, "val_acc": "1.0"}])
    long = (np.array([3, 6, 9]), np.array([0.6, 0.7, 0.8]))
    gens, mean = mean_curve([short, long])
    assert gens.tolist() == [3, 6, 9] and mean == pytest.approx([0.55, 0.85, 0.9])
