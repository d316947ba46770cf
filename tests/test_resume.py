"""Resume refuses what it cannot continue, and genomes saved by older versions
load.  (Kills at every point of a run and their resumes: tests/test_reliability.py;
every strategy's state round trip and resume equality: the conformance suite.)"""
from __future__ import annotations

import pytest

import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "bioevo.tasks.randman", *args]


@pytest.mark.slow
def test_resume_refuses_complete_or_foreign_dirs(tmp_path):
    res = subprocess.run(cli("--resume", str(tmp_path)), cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert res.returncode == 2 and "not a run directory" in res.stderr
    (tmp_path / "config.toml").write_text("")
    (tmp_path / "summary.json").write_text("{}")
    res = subprocess.run(cli("--resume", str(tmp_path)), cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert res.returncode == 2 and "already complete" in res.stderr and len(res.stderr.strip().splitlines()) == 1


def test_genome_saved_by_an_older_version_loads_with_defaults(tmp_path):
    """A config saved before [fitness] had readout/smoothness gets their defaults."""
    from bioevo.config import resolve_config
    from bioevo.assemble import assemble
    from bioevo.rundir import load_genome, save_genome

    cfg = resolve_config("randman-2", ["model.hidden=4"])
    layout = assemble(cfg, build_evaluator=False).layout
    old = {**cfg, "fitness": {"loss": "max_cross_entropy", "margin": 0.0, "l2": 0.0}}
    save_genome(tmp_path / "g.h5", np.zeros(layout.size), layout, old, "")
    _, _, loaded, _ = load_genome(tmp_path / "g.h5")
    assert loaded["fitness"] == {**cfg["fitness"], "readout": "max", "smoothness": 0.0}
    assert loaded["evolve"] == cfg["evolve"]
