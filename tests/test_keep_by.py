"""evolve.keep_by: the kept genome (and the patience) follow the highest
validation accuracy or the lowest validation loss, read back from metrics.csv
and checked by scoring the saved genome again; evolve.average_decay: what is
validated and kept is a moving average of the strategy's means; a bad value of
either is a ConfigError.  (Resume of a run kept by loss of the averaged mean,
and of a checkpoint written before keep_by existed: tests/test_reliability.py.)"""
from __future__ import annotations

import csv
import json

import numpy as np
import pytest

import bioevo
from bioevo.assemble import assemble
from bioevo.config import ConfigError
from bioevo.rundir import load_genome

# tiny randman-2, validated every generation; on its 16 validation samples the accuracy is coarse and the
# loss keeps falling, so the two rules keep different genomes.  The cpp backend: the network has the shape
# of test_reliability.py's EARLY_STOP runs, so one compiled project serves both (a run takes about a third
# of the runtime backend's time)
TINY = ["data.split=[32, 8, 8]", "evolve.batch_size=16", "model.hidden=16", "strategy.es.popsize=4",
        "strategy.es.lr=0.05", "evolve.eval_every=1", "evolve.generations=40", "evolve.patience=3"]


def validations(run_dir) -> list[tuple[int, float, float]]:
    with open(run_dir / "metrics.csv") as f:
        return [(int(r["gen"]), float(r["val_acc"]), float(r["val_loss"])) for r in csv.DictReader(f) if r["val_acc"]]


def expected(rows: list[tuple[int, float, float]], keep_by: str, patience: int) -> tuple[int, int]:
    """(kept generation, generations run) by the rule as documented, from the logged validations."""
    best_gen, best, stale = -1, None, 0
    for gen, acc, loss in rows:
        figure = -loss if keep_by == "loss" else acc  # higher is better; ties keep the first
        if best is None or figure > best:
            best_gen, best, stale = gen, figure, 0
        else:
            stale += 1
        if stale >= patience:
            return best_gen, gen + 1
    return best_gen, rows[-1][0] + 1


def rescored_on_validation(run_dir) -> tuple[np.ndarray, float, float]:
    """The run's saved genome, and its validation loss and accuracy scored again from its config."""
    genome, _, cfg, _ = load_genome(run_dir / "best_genome.h5")
    parts = assemble(cfg)
    val_loss, pred = parts.scorer.dataset(genome, parts.splits["val"])
    parts.scorer.evaluator.close()
    return genome, val_loss, float(np.mean(pred == parts.splits["val"].labels))


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict:
    out = {}
    for keep_by in ("accuracy", "loss"):
        cfg = bioevo.load_config("randman-2", [*TINY, f'evolve.keep_by="{keep_by}"'], backend="cpp")
        out[keep_by] = bioevo.run(cfg, tmp_path_factory.mktemp(keep_by) / "run", progress=False)
    return out


@pytest.mark.slow
@pytest.mark.parametrize("keep_by", ["accuracy", "loss"])
def test_the_kept_genome_is_the_best_validation_by_the_chosen_figure(runs, keep_by):
    result = runs[keep_by]
    rows = validations(result.run_dir)
    best_gen, generations = expected(rows, keep_by, patience=3)
    summary = json.loads((result.run_dir / "summary.json").read_text())
    assert summary["stop_reason"] == "no validation improvement in 3 validations"
    assert (summary["val"]["best_generation"], summary["generations"]) == (best_gen, generations)
    _, acc, loss = next(r for r in rows if r[0] == best_gen)
    if keep_by == "loss":
        assert loss == min(r[2] for r in rows)
    else:
        assert acc == max(r[1] for r in rows)
    assert (summary["val"]["accuracy"], summary["val"]["loss"]) == (acc, loss)
    # the saved genome, scored again on the validation split, gives the logged figures of that generation
    genome, val_loss, val_acc = rescored_on_validation(result.run_dir)
    assert val_loss == pytest.approx(loss, rel=1e-12) and val_acc == acc
    np.testing.assert_array_equal(genome, result.best_genome)


@pytest.mark.slow
def test_the_rule_changes_only_what_is_kept_and_when_it_stops(runs):
    """Same trajectory generation for generation; here the two rules keep different genomes, and the
    loss, still falling after the last accuracy record, runs longer."""
    acc_rows, loss_rows = validations(runs["accuracy"].run_dir), validations(runs["loss"].run_dir)
    n = min(len(acc_rows), len(loss_rows))
    assert acc_rows[:n] == loss_rows[:n]
    sa, sl = (runs[k].summary for k in ("accuracy", "loss"))
    assert sa["val"]["best_generation"] != sl["val"]["best_generation"]
    assert sl["val"]["loss"] < sa["val"]["loss"]


def test_default_is_accuracy_and_a_bad_value_is_a_config_error_naming_the_choices():
    assert bioevo.load_config("digits")["evolve"]["keep_by"] == "accuracy"
    assert bioevo.load_config("digits", ['evolve.keep_by="loss"'])["evolve"]["keep_by"] == "loss"
    with pytest.raises(ConfigError, match=r"^evolve.keep_by 'val_loss' is not allowed; allowed: accuracy, loss$"):
        bioevo.load_config("digits", ['evolve.keep_by="val_loss"'])
    with pytest.raises(ConfigError, match=r"^evolve.keep_by must be a string, got 1$"):
        bioevo.load_config("digits", ["evolve.keep_by=1"])


# evolve.average_decay: the validated (and kept) genome is a moving average of the strategy's means

def test_the_moving_average_is_the_normalised_exponentially_weighted_mean_of_the_means():
    from bioevo.evolve import moving_average

    rng = np.random.default_rng(0)
    means = rng.normal(size=(30, 5))
    decay, average = 0.9, None
    for t, mean in enumerate(means, start=1):
        average = moving_average(average, mean, decay, t)
        weights = decay ** np.arange(t - 1, -1, -1)  # the newest mean has weight 1, one generation older d, ...
        np.testing.assert_allclose(average, weights @ means[:t] / weights.sum(), rtol=1e-12, atol=1e-14)
    assert np.array_equal(moving_average(None, means[0], decay, 1), means[0])


@pytest.fixture(scope="module")
def averaged(tmp_path_factory):
    cfg = bioevo.load_config("randman-2", [*TINY, "evolve.average_decay=0.8"], backend="cpp")
    return bioevo.run(cfg, tmp_path_factory.mktemp("averaged") / "run", progress=False)


@pytest.mark.slow
def test_averaging_changes_what_is_validated_not_the_trajectory(runs, averaged):
    plain, avg = runs["accuracy"].run_dir, averaged.run_dir
    with open(plain / "metrics.csv") as f, open(avg / "metrics.csv") as g:
        rows_plain, rows_avg = list(csv.DictReader(f)), list(csv.DictReader(g))
    n = min(len(rows_plain), len(rows_avg))
    train = ("loss_mean", "loss_min", "train_acc")
    assert [[r[k] for k in train] for r in rows_plain[:n]] == [[r[k] for k in train] for r in rows_avg[:n]]
    # generation 0: the average of one mean is that mean; later the validated genomes differ
    assert rows_plain[0]["val_loss"] == rows_avg[0]["val_loss"]
    assert any(a["val_loss"] != b["val_loss"] for a, b in zip(rows_plain[1:n], rows_avg[1:n]))
    # the kept genome is the averaged one validated at the kept generation: scored again, the logged figures
    summary = averaged.summary
    best = next(r for r in rows_avg if r["val_acc"] and int(r["gen"]) == summary["val"]["best_generation"])
    _, val_loss, val_acc = rescored_on_validation(avg)
    assert val_loss == pytest.approx(float(best["val_loss"]), rel=1e-12) and val_acc == float(best["val_acc"])


@pytest.mark.parametrize("value", [1.0, -0.1, 1.5])
def test_an_average_decay_outside_zero_to_one_is_a_config_error(value):
    with pytest.raises(ConfigError, match=rf"^evolve.average_decay must be in \[0, 1\) \(0: off\), got {value}$"):
        bioevo.load_config("digits", [f"evolve.average_decay={value}"])
    assert bioevo.load_config("digits")["evolve"]["average_decay"] == 0.0
