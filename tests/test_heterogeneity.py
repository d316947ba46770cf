"""The heterogeneity study on a tiny budget: every output, and clear errors."""
from __future__ import annotations

import json

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


def tiny_study(path, conditions: list[str], perturbations: list[float]):
    """A one-seed Randman-2 study preset on the TINY budget, written to ``path``."""
    overrides = ", ".join(f'"{o}"' for o in TINY)
    path.write_text(f'[study]\ndatasets = ["randman-2"]\nconditions = {json.dumps(conditions)}\nseeds = [0]\n'
                    f"perturbations = {perturbations}\noverrides = [{overrides}]\n")
    return path


def test_tiny_study_writes_table_and_figures(tmp_path):
    preset = tiny_study(tmp_path / "tiny-study.toml", ["a", "d"], [-0.2, 0.2])
    out = tmp_path / "study"
    main(["--preset", str(preset), "--out", str(out)])
    for name in ("table.md", "study.json", "accuracy.png", "robustness.png", "time_constants.png"):
        assert (out / name).stat().st_size > 0
    results = json.loads((out / "study.json").read_text())["results"]["randman-2"]
    assert set(results) == {"a", "d"}
    rob = results["d"]["robustness"]
    assert set(rob) == {"+0.00", "-0.20", "+0.20"} and all(0 <= v["mean"] <= 1 for v in rob.values())
    # the unperturbed accuracy re-computed here equals the run's own test accuracy
    assert rob["+0.00"]["mean"] == pytest.approx(results["d"]["test_accuracy"]["mean"])


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


def test_resume_reuses_finished_runs_and_continues_interrupted_ones(tmp_path):
    preset = tiny_study(tmp_path / "tiny-study.toml", ["a", "c"], [0.2])
    out = tmp_path / "study"
    main(["--preset", str(preset), "--out", str(out)])
    before = json.loads((out / "study.json").read_text())["results"]
    (out / "randman-2" / "c" / "s0" / "summary.json").unlink()  # as if killed after its last checkpoint
    (out / "study.json").unlink()
    main(["--preset", str(preset), "--resume", str(out)])
    assert json.loads((out / "study.json").read_text())["results"] == before
    other = tiny_study(tmp_path / "other.toml", ["a", "d"], [0.2])
    with pytest.raises(SystemExit):
        main(["--preset", str(other), "--resume", str(out)])


@pytest.mark.parametrize("condition", ["a", "b"])
def test_fixed_conditions_evolve_no_time_constant_even_if_the_preset_does(tmp_path, condition):
    """Conditions a and b are 'fixed' whatever the preset's own genome.evolve says."""
    from bioevo.tasks.heterogeneity import _train_args

    args = _train_args({"overrides": []}, "randman-2", condition, 0, tmp_path)
    sets = [args[k + 1] for k, a in enumerate(args) if a == "--set"]
    # a preset that evolves both time constants, then the condition's own settings
    cfg = resolve_config("randman-2", ['genome.evolve=["hidden.tau_mem", "hidden.tau_syn"]', *sets])
    layout = assemble(cfg, build_evaluator=False).layout
    assert not any(s.name.startswith("p.") for s in layout.segments)
