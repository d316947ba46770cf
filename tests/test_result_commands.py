"""The small commands that read run directories (score_checkpoint, seed_table) and init_firing:
on one tiny finished run, each gives the numbers the run itself reported."""
from __future__ import annotations

import json

import pytest

from bioevo.tasks import init_firing, score_checkpoint, seed_table


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    import bioevo

    cfg = bioevo.load_config("randman-2", ["model.hidden=8", "strategy.es.popsize=4", "evolve.generations=3",
                                           "evolve.batch_size=16", "evolve.eval_every=1", "data.split=[32,8,8]"],
                             backend="runtime")
    return bioevo.run(cfg, run_dir=tmp_path_factory.mktemp("runs") / "s0", progress=False)


@pytest.mark.slow
def test_score_checkpoint_of_a_finished_run_is_its_summary(finished_run, capsys):
    [row] = score_checkpoint.main([str(finished_run.run_dir)])
    summary = finished_run.summary
    assert row["test_accuracy"] == summary["test"]["accuracy"]
    assert row["checkpoint_generation"] == summary["generations"] == 3
    assert row["best_val_accuracy"] == summary["val"]["accuracy"]
    assert row["wall_seconds"] == pytest.approx(finished_run.history[-1]["wall_seconds"])
    assert json.loads(capsys.readouterr().out) == row


def test_score_checkpoint_without_a_checkpoint_is_one_line(tmp_path, capsys):
    with pytest.raises(SystemExit) as err:
        score_checkpoint.main([str(tmp_path)])
    assert err.value.code == 2 and "holds no checkpoint.h5" in capsys.readouterr().err


def test_seed_table_line(finished_run):
    test = 100 * finished_run.summary["test"]["accuracy"]
    pattern = str(finished_run.run_dir.parent / "s[0-9]")
    [line] = seed_table.main([f"tiny={pattern}", "--threshold", "0"])
    assert line == f"tiny: generations 1 (mean 1); wall {round(finished_run.history[0]['wall_seconds'])}; " \
                   f"test {test:.2f} (mean {test:.4g})"
    [never] = seed_table.main([f"tiny={pattern}", "--threshold", "1.01"])
    assert never.startswith("tiny: generations None (mean -); wall None;")


def test_seed_table_refuses_a_group_without_pattern(capsys):
    with pytest.raises(SystemExit) as err:
        seed_table.main(["no-pattern"])
    assert err.value.code == 2 and "expected GROUP=DIR_PATTERN" in capsys.readouterr().err


@pytest.mark.slow
def test_init_firing_counts_spikes_of_the_initial_population():
    out = init_firing.main(["--preset", "randman-2", "--set", "model.hidden=8", "--set", "data.split=[64,8,8]",
                            "--set", "evolve.batch_size=64"])
    assert 0 <= out["silent_pairs"] <= 1 and out["mean_spikes"] >= 0 and out["max_spikes"] >= out["mean_spikes"]
    assert 0 <= out["init_train_acc_mean_genome"] <= 1
