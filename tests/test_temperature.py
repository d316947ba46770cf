"""fitness.temperature_generations: the softmax temperature for a run's first generations, then 1
(the loss formula itself: tests/test_fitness.py; the one-line errors of fitness.temperature:
tests/test_clicks.py)."""
from __future__ import annotations

import pytest

import bioevo
from bioevo.config import ConfigError, final_temperature, resolve_config, temperature_at, temperature_switches
from bioevo.scoring import Scorer

# the shape of tests/test_keep_by.py's runs (one compiled project for both)
TINY = ["data.split=[32, 8, 8]", "evolve.batch_size=16", "model.hidden=16", "strategy.es.popsize=4",
        "strategy.es.lr=0.05", "evolve.eval_every=1", "evolve.generations=4"]


def test_the_temperature_holds_for_its_generations_then_is_1():
    fit = {"temperature": 8.0, "temperature_generations": 200}
    assert [temperature_at(fit, g) for g in (0, 199, 200, 5000)] == [8.0, 8.0, 1.0, 1.0]
    assert [temperature_at({**fit, "temperature_generations": 0}, g) for g in (0, 10**6)] == [8.0, 8.0]
    assert temperature_at({}, 3) == 1.0  # configs written before either key existed
    assert (final_temperature(fit), temperature_switches(fit)) == (1.0, True)
    assert (final_temperature({**fit, "temperature_generations": 0}), temperature_switches({"temperature": 8.0})) == (8.0, False)
    assert not temperature_switches({"temperature": 1.0, "temperature_generations": 200})


@pytest.mark.parametrize("overrides, message", [
    (["fitness.temperature_generations=-1"], r"fitness\.temperature_generations must be >= 0, got -1"),
    (["fitness.temperature=4.0", "fitness.temperature_generations=10", 'evolve.keep_by="loss"'],
     r"evolve\.keep_by 'loss' compares validation losses across generations, and "
     r"fitness\.temperature_generations changes their scale midway"),
])
def test_bad_schedules_are_one_line(overrides, message):
    with pytest.raises(ConfigError, match=message):
        resolve_config("randman-2", overrides)


def test_training_and_validation_score_at_the_generations_temperature(tmp_path, monkeypatch):
    seen = []
    batch, dataset = Scorer.batch, Scorer.dataset

    def recording_batch(self, genomes, data):
        seen.append(("batch", self.temperature))
        return batch(self, genomes, data)

    def recording_dataset(self, genome, data):
        seen.append(("validation", self.temperature))
        return dataset(self, genome, data)

    monkeypatch.setattr(Scorer, "batch", recording_batch)
    monkeypatch.setattr(Scorer, "dataset", recording_dataset)
    cfg = bioevo.load_config("randman-2", [*TINY, "fitness.temperature=4.0", "fitness.temperature_generations=2"],
                             backend="cpp")
    cfg["evolve"]["progress"] = False
    bioevo.run(cfg, tmp_path / "run")
    per_generation = [t for kind, t in seen if kind == "batch"]
    validations = [t for kind, t in seen if kind == "validation"]
    assert per_generation == [4.0, 4.0, 1.0, 1.0]
    assert validations[:4] == [4.0, 4.0, 1.0, 1.0]  # then the test split, at the last generation's


def test_dask_workers_refuse_a_schedule():
    """The workers build their scorer once from the config; a switch midway would not reach them."""
    from types import SimpleNamespace

    from bioevo.cluster.population import DaskPopulation

    cfg = resolve_config("randman-2", ["fitness.temperature=4.0", "fitness.temperature_generations=10"])
    with pytest.raises(ConfigError, match=r"fitness\.temperature_generations .* is not supported with Dask workers"):
        DaskPopulation(client=None, parts=SimpleNamespace(cfg=cfg))
