"""The I_app demo: evolution silences one neuron, and the threshold it crosses
is checked against bisection on direct simulations (and, for LIF, the analytic
rheobase)."""
from __future__ import annotations

import json

import numpy as np
import pytest

from bioevo.model import load_model
from bioevo.neuron import repetitive_firing_threshold, simulate_single
from bioevo.tasks.iapp import bifurcation_update, main


def test_lif_threshold_is_the_analytic_rheobase():
    # From rest v_n = I (1 - beta^n) < I: firing needs I > v_th = 1.  Over a finite window the bisection
    # value lies just above 1 (two spikes in 200 ms need 1 - beta^100 of the way, beta = exp(-1/10)).
    lif = load_model("lif")
    threshold = repetitive_firing_threshold(lif, "hidden", 200.0, 0.0, 3.0, tol=1e-5, target="cython")
    assert threshold == pytest.approx(1.0, rel=0.01) and threshold > 1.0
    counts = simulate_single(lif, "hidden", np.array([0.999, 1.0, 1.001 * threshold]), 200.0)[0]
    assert list(counts[:2]) == [0, 0] and counts[2] >= 2  # below, at and just above


def test_bifurcation_update_is_where_repetitive_firing_stops_for_good():
    rows = lambda counts: [{"update": k, "spike_count": c} for k, c in enumerate(counts)]  # noqa: E731
    assert bifurcation_update(rows([8, 5, 2, 1, 0, 0])) == 3
    assert bifurcation_update(rows([8, 1, 3, 0, 0])) == 3  # fired again at update 2
    assert bifurcation_update(rows([8, 6, 4])) is None  # never stopped
    assert bifurcation_update(rows([1, 0])) == 0  # never fired repetitively


@pytest.mark.parametrize("model", ["lif", "hh"])
def test_evolution_silences_the_neuron_below_the_threshold(tmp_path, model, capsys):
    out = tmp_path / model
    summary = main(["--model", model, "--out", str(out), "--quiet"])
    printed = capsys.readouterr().out.strip().splitlines()
    assert len(printed) == 1 and printed[0].startswith("final I_app")  # --quiet: no per-update table
    assert json.loads((out / "summary.json").read_text()) == json.loads(json.dumps(summary))
    assert summary["final_spike_count"] == 0
    assert summary["final_i_app"] < summary["threshold_i_app"] < summary["start_i_app"]
    assert 0 < summary["bifurcation_update"] <= summary["updates"]
    history = (out / "history.csv").read_text().splitlines()
    assert history[0] == "update,mean_i_app,spike_count" and len(history) == summary["updates"] + 2
    first = history[1].split(",")
    assert float(first[1]) == summary["start_i_app"] and int(first[2]) >= 2  # started firing repetitively
    for name in ("i_app.png", "traces.png"):
        assert (out / name).stat().st_size > 0
    if model == "hh":  # HH 1952 at 6.3 degC starts repetitive firing from rest near 6 uA/cm^2
        assert summary["i_app_unit"] == "uA/cm2" and 5.0 < summary["threshold_i_app"] < 7.0
    else:
        assert summary["threshold_i_app"] == pytest.approx(summary["analytic_threshold_i_app"], rel=0.01)
    before = {f.name: f.read_bytes() for f in out.iterdir()}
    with pytest.raises(SystemExit) as err:  # a second run into the same --out overwrites nothing
        main(["--model", model, "--out", str(out)])
    assert err.value.code == 2 and {f.name: f.read_bytes() for f in out.iterdir()} == before


def test_bad_model_and_existing_out(tmp_path, capsys):
    with pytest.raises(SystemExit) as err:
        main(["--model", "izhikevich"])
    assert err.value.code == 2
    message = capsys.readouterr().err.strip()
    assert "unknown --model 'izhikevich'; allowed: hh, lif" in message and "\n" not in message
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "mine.txt").write_text("keep")
    with pytest.raises(SystemExit) as err:
        main(["--model", "lif", "--out", str(tmp_path / "taken")])
    assert err.value.code == 2 and (tmp_path / "taken" / "mine.txt").read_text() == "keep"
    assert "already exists" in capsys.readouterr().err


def test_a_run_that_never_silences_the_neuron_says_so(tmp_path, capsys):
    summary = main(["--model", "lif", "--updates", "1", "--out", str(tmp_path / "short"), "--quiet"])
    line = capsys.readouterr().out.strip().splitlines()[-1]
    assert summary["bifurcation_update"] is None and "None" not in line
    assert "the neuron still fired repetitively after 1 updates" in line
