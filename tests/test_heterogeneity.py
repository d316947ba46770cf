"""The heterogeneity study on a tiny budget: every output, and clear errors."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from bioevo.config import ConfigError, resolve_config
from bioevo.assemble import assemble
from bioevo.tasks.heterogeneity import load_study, main

TINY = ["data.split=[24, 8, 8]", "evolve.batch_size=16", "evolve.generations=2", "model.hidden=8",
        "strategy.es.popsize=4", "evolve.backend=runtime"]


def test_fixed_heterogeneous_time_constants_follow_gamma():
    cfg = resolve_config("randman-2", ["genome.evolve=[]", 'genome.heterogeneous=["hidden.tau_mem"]',
                                       'genome.init="gamma"', "model.hidden=4000"])
    layout = assemble(cfg, build_evaluator=False).layout
    tau = np.array(layout.fixed["hidden.tau_mem"])
    # Gamma(k=3) around the default 10 ms: mean 10, coefficient of variation 1/sqrt(3)
    assert tau.mean() == pytest.approx(10.0, rel=0.03) and tau.std() / tau.mean() == pytest.approx(3**-0.5, rel=0.05)
    assert not any(s.name.startswith("p.") for s in layout.segments)  # fixed: not in the genome


def tiny_study(path, conditions: list[str], perturbations: list[float], seeds: tuple[int, ...] = (0,)):
    """A Randman-2 study preset on the TINY budget, written to ``path``."""
    overrides = ", ".join(f'"{o}"' for o in TINY)
    path.write_text(f'[study]\ndatasets = ["randman-2"]\nconditions = {json.dumps(conditions)}\n'
                    f"seeds = {list(seeds)}\nperturbations = {perturbations}\noverrides = [{overrides}]\n")
    return path


@pytest.mark.slow
def test_tiny_study_writes_table_and_figures(tmp_path):
    preset = tiny_study(tmp_path / "tiny-study.toml", ["a", "c", "d"], [-0.2, 0.2], seeds=(0, 1))
    out = tmp_path / "study"
    main(["--preset", str(preset), "--out", str(out)])
    for name in ("table.md", "study.json", "accuracy.png", "robustness.png", "time_constants.png"):
        assert (out / name).stat().st_size > 0
    results = json.loads((out / "study.json").read_text())["results"]["randman-2"]
    conds = results["conditions"]
    assert set(conds) == {"a", "c", "d"}
    rob = conds["d"]["robustness"]
    assert set(rob) == {"+0.00", "-0.20", "+0.20"} and all(0 <= v["mean"] <= 1 for v in rob.values())
    # the unperturbed accuracy re-computed here equals the run's own test accuracy
    assert rob["+0.00"]["mean"] == pytest.approx(conds["d"]["test_accuracy"]["mean"])
    # every run reached the common target, a multiple of 5% no run's best validation accuracy is under
    best = [r["best_val_accuracy"] for c in conds.values() for r in c["runs"]]
    assert results["common_target"] <= min(best) < results["common_target"] + 0.05
    assert all(c["generations_to_common"]["n"] == 2 for c in conds.values())
    # the paired difference to a, by hand from the per-seed test accuracies
    acc = {c: [r["test_accuracy"] for r in conds[c]["runs"]] for c in conds}
    diff = conds["d"]["vs_a"]["test_accuracy"]
    assert diff["mean"] == pytest.approx(np.mean(np.subtract(acc["d"], acc["a"])))
    assert diff["low"] <= diff["mean"] <= diff["high"] and "vs_a" not in conds["a"]
    # heterogeneity at equal training: d (per-neuron, evolved) against c (shared, evolved); no b, so no b-a
    het = results["heterogeneity"]
    assert set(het) == {"d-c"} and het["d-c"]["trained"] == "evolved"
    assert het["d-c"]["test_accuracy"]["mean"] == pytest.approx(np.mean(np.subtract(acc["d"], acc["c"])))
    # 2 generations of 2: every run stopped at the cap, and the table says so run by run
    assert all(c["at_cap"] == 2 for c in conds.values())
    table = (out / "table.md").read_text()
    assert table.count("| generation budget |") == 6 and "2 of 2" in table
    # c starts homogeneous (one shared tau per layer), d from Gamma(k=3) draws (cv 0.58 expected)
    assert conds["c"]["tau_stats"]["initial_tau_mem"]["cv"] == 0.0
    assert conds["d"]["tau_stats"]["initial_tau_mem"]["cv"] > 0.25 and conds["a"]["tau_stats"] == {}


def test_bad_study_presets(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[study]\nconditions = ["z"]\n')
    with pytest.raises(ConfigError, match="unknown condition 'z'"):
        load_study(str(bad))
    bad.write_text('[study]\nseed = [1]\n')
    with pytest.raises(ConfigError, match="unknown key 'study.seed'"):
        load_study(str(bad))
    with pytest.raises(ConfigError, match="no \\[study\\] table"):
        load_study("randman-2")


def without_wall_time(value):
    """A study.json's results without wall times, which a resumed run does not repeat."""
    if isinstance(value, dict):
        return {k: without_wall_time(v) for k, v in value.items() if k != "wall_seconds"}
    if isinstance(value, list):
        return [without_wall_time(v) for v in value]
    return value


@pytest.mark.slow
def test_resume_reuses_finished_runs_and_continues_interrupted_ones(tmp_path):
    preset = tiny_study(tmp_path / "tiny-study.toml", ["a", "c"], [0.2])
    out = tmp_path / "study"
    main(["--preset", str(preset), "--out", str(out)])
    before = without_wall_time(json.loads((out / "study.json").read_text())["results"])
    (out / "randman-2" / "c" / "s0" / "summary.json").unlink()  # as if killed after its last checkpoint
    (out / "study.json").unlink()
    main(["--preset", str(preset), "--report", str(out)])  # trains nothing: the unfinished run is reported as such
    assert not (out / "randman-2" / "c" / "s0" / "summary.json").exists()
    assert "not summarised: 1 of 2 runs finished" in (out / "table.md").read_text()
    main(["--preset", str(preset), "--resume", str(out)])
    assert without_wall_time(json.loads((out / "study.json").read_text())["results"]) == before
    assert "Heterogeneity at equal training" not in (out / "table.md").read_text()  # a and c: no b - a, no d - c
    other = tiny_study(tmp_path / "other.toml", ["a", "d"], [0.2])
    with pytest.raises(SystemExit):
        main(["--preset", str(other), "--resume", str(out)])


@pytest.mark.parametrize("condition", ["a", "b"])
def test_fixed_conditions_evolve_no_time_constant_even_if_the_preset_does(tmp_path, condition):
    """Conditions a and b are 'fixed' whatever the preset's own genome.evolve says."""
    from bioevo.tasks.heterogeneity import run_config

    # a study whose overrides evolve both time constants, then the condition's own settings
    cfg = run_config({"overrides": ['genome.evolve=["hidden.tau_mem", "hidden.tau_syn"]']}, "randman-2",
                     condition, 0)
    layout = assemble(cfg, build_evaluator=False).layout
    assert not any(s.name.startswith("p.") for s in layout.segments)


@pytest.mark.slow
def test_report_reuses_robustness_kept_in_the_run_unless_genome_or_deltas_changed(tmp_path, monkeypatch):
    import bioevo.tasks.heterogeneity as het

    preset = tiny_study(tmp_path / "tiny-study.toml", ["a"], [0.2])
    out = tmp_path / "study"
    main(["--preset", str(preset), "--out", str(out)])
    run = out / "randman-2" / "a" / "s0"
    kept = json.loads((run / het.ROBUSTNESS_CACHE).read_text())
    assert kept["deltas"] == [0.2] and set(kept["test_accuracy"]) == {"+0.00", "+0.20"}

    def must_not_simulate(*args):
        raise AssertionError("re-simulated although the kept robustness matched")

    monkeypatch.setattr(het, "perturbed_accuracy", must_not_simulate)
    assert het.cached_perturbed_accuracy(run, [0.2]) == kept["test_accuracy"]
    # other deltas, or another best genome, are simulated again
    calls = []
    monkeypatch.setattr(het, "perturbed_accuracy", lambda d, deltas: calls.append(deltas) or {"+0.00": 0.5})
    assert het.cached_perturbed_accuracy(run, [0.4]) == {"+0.00": 0.5} and calls == [[0.4]]
    with open(run / "best_genome.h5", "ab") as f:
        f.write(b"\0")  # any change to the file's bytes
    het.cached_perturbed_accuracy(run, [0.4])
    assert calls == [[0.4], [0.4]]
    (run / het.ROBUSTNESS_CACHE).write_text("{damaged")
    het.cached_perturbed_accuracy(run, [0.4])
    assert len(calls) == 3 and json.loads((run / het.ROBUSTNESS_CACHE).read_text())["test_accuracy"] == {"+0.00": 0.5}


@pytest.fixture(scope="module")
def finished_study(tmp_path_factory):
    """One finished tiny study (condition a, seed 0) with its preset."""
    d = tmp_path_factory.mktemp("finished")
    preset = tiny_study(d / "tiny-study.toml", ["a"], [0.2])
    main(["--preset", str(preset), "--out", str(d / "study")])
    return preset, d / "study"


def _copy(study, tmp_path):
    import shutil
    return Path(shutil.copytree(study, tmp_path / "copy"))


@pytest.mark.parametrize("damage", ["summary.json", "best_genome.h5", "metrics.csv"])
@pytest.mark.slow
def test_report_of_a_damaged_finished_run_is_one_line_naming_it(finished_study, tmp_path, capsys, damage):
    preset, study = finished_study
    out = _copy(study, tmp_path)
    run = out / "randman-2" / "a" / "s0"
    (run / "robustness.json").unlink(missing_ok=True)  # the genome is read again
    (run / damage).write_bytes(b"\x00{damaged")
    with pytest.raises(SystemExit) as exit_:
        main(["--preset", str(preset), "--report", str(out)])
    err = capsys.readouterr().err.strip().splitlines()
    assert exit_.value.code == 2 and len(err) == 1 and f"the finished run '{run}' is damaged" in err[0], err


def test_report_without_preset_takes_the_study_the_directory_was_made_with(finished_study, tmp_path, capsys):
    preset, study = finished_study
    out = _copy(study, tmp_path)
    (out / "study.json").unlink()
    results = main(["--report", str(out)])
    assert set(results) == {"randman-2"} and (out / "study.json").exists()
    assert f"--preset {preset.stem}" in (out / "table.md").read_text()
    (out / "study_preset.json").write_text('{"name": "x"}')  # the wrong shape: damaged, not a traceback
    with pytest.raises(SystemExit) as exit_:
        main(["--report", str(out)])
    err = capsys.readouterr().err.strip().splitlines()
    assert exit_.value.code == 2 and len(err) == 1 and "study_preset.json' is damaged" in err[-1], err
