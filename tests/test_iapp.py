"""The I_app demo: evolution silences one neuron, and the threshold it crosses
(the onset of sustained firing from rest) is checked against bisection on
direct simulations, the analytic LIF rheobase and the published HH value."""
from __future__ import annotations

import json

import numpy as np
import pytest

from bioevo.model import load_model
from bioevo.neuron import fires_to_the_end, onset_threshold, simulate_single, sustained_firing_threshold
from bioevo.strategies.es import OpenAIES, compute_centered_ranks
from bioevo.tasks.iapp import SETUPS, AverageRankES, bifurcation_update, main
from strategy_testing import Individual

HH_TOLERANCE = 0.005  # relative, vs 6.26: exponential Euler at 0.01 ms +0.007, E_l 10.6 vs 10.613 +0.004, tol 0.001


def test_fires_to_the_end_on_hand_made_spike_trains():
    window = 1000.0
    regular = np.arange(2.5, window, 18.0)  # fires to the end
    assert fires_to_the_end(regular, window)
    assert not fires_to_the_end(regular[regular < 600.0], window)  # repetitive, but stopped early
    assert not fires_to_the_end(np.array([2.5, 21.2, 41.8]), window)  # a few transient spikes after the step
    assert not fires_to_the_end(np.array([]), window)  # silent
    assert fires_to_the_end(np.array([750.0]), window) and not fires_to_the_end(np.array([749.99]), window)
    assert fires_to_the_end(np.array([600.0]), window, tail=0.5)
    with pytest.raises(ValueError, match="tail must be in"):
        fires_to_the_end(regular, window, tail=0.0)


@pytest.mark.parametrize("points", [1, 4, 15])
def test_onset_threshold_bisects_to_the_tolerance(points):
    calls = []

    def fires(currents):
        calls.append(len(currents))
        return currents >= 6.2711

    found = onset_threshold(fires, 0.0, 15.0, 1e-3, points)
    assert 6.2711 <= found < 6.2711 + 1e-3
    assert calls[0] == points + 2 and set(calls[1:]) == {points}  # the bracket ends are tried with the first round
    with pytest.raises(ValueError, match="non-firing lower bound and a firing upper bound"):
        onset_threshold(fires, 7.0, 15.0, 1e-3, points)
    with pytest.raises(ValueError, match="non-firing lower bound and a firing upper bound"):
        onset_threshold(fires, 0.0, 5.0, 1e-3, points)


def test_bifurcation_update_is_where_sustained_firing_stops_for_good():
    def rows(flags):
        return [{"update": k, "sustained": bool(f)} for k, f in enumerate(flags)]

    assert bifurcation_update(rows([1, 1, 1, 0, 0, 0])) == 3
    assert bifurcation_update(rows([1, 0, 1, 0, 0])) == 3  # fired to the end again at update 2
    assert bifurcation_update(rows([1, 1, 1])) is None  # never stopped
    assert bifurcation_update(rows([0, 0])) == 0  # never fired to the end
    # spike counts do not decide: transient spikes (count 2) without firing to the end are not repetitive
    assert bifurcation_update([{"update": 0, "spike_count": 60, "sustained": True},
                               {"update": 1, "spike_count": 2, "sustained": False}]) == 1


def test_equal_losses_share_their_rank_in_the_demo():
    np.testing.assert_allclose(compute_centered_ranks([1.0, 1.0, 0.0], ties="average"), [0.25, 0.25, -0.5])
    np.testing.assert_allclose(compute_centered_ranks([3.0, 3.0, 3.0, 3.0], ties="average"), 0.0)
    np.testing.assert_allclose(compute_centered_ranks([1.0, 1.0, 0.0]), [0.0, 0.5, -0.5])  # training's rule
    moved = {}
    for cls in (AverageRankES, OpenAIES):
        es = cls(np.array([1.0]), sigma=0.1, lr=0.05, popsize=16, rng=0)
        population = es.generate(Individual)
        for ind in population:
            ind.fitness.values = (8.0,)  # every candidate fires as often: no information
        es.update(population)
        moved[cls] = abs(float(es.centroid[0]) - 1.0)
    assert moved[AverageRankES] == 0.0 and moved[OpenAIES] == pytest.approx(0.05, rel=1e-3)  # Adam's first step: lr


def test_lif_threshold_is_the_analytic_rheobase():
    # From rest v_n = I (1 - beta^n) < I: firing needs I > v_th = 1, and any I > 1 fires periodically for ever.
    lif = load_model("lif")
    threshold = sustained_firing_threshold(lif, "hidden", 1000.0, 0.0, 3.0, tol=1e-5, points=15, target="cython")
    assert 1.0 < threshold <= 1.0 + 1e-5
    counts, times, _ = simulate_single(lif, "hidden", np.array([0.999, 1.0, threshold]), 1000.0)
    assert list(counts[:2]) == [0, 0] and fires_to_the_end(times[2], 1000.0)


def test_hh_fires_transient_spikes_below_the_onset_and_to_the_end_above():
    hh = load_model("hh")
    counts, times, _ = simulate_single(hh, "hidden", np.array([3.0, 6.1, 6.3, 9.0]), 1000.0, target="cython")
    assert list(counts[:2]) == [1, 2]  # one onset spike; two transient spikes, then rest
    assert [fires_to_the_end(t, 1000.0) for t in times] == [False, False, True, True]


@pytest.fixture(scope="module")
def demos(tmp_path_factory):
    out = {}
    for model in ("lif", "hh"):
        path = tmp_path_factory.mktemp("iapp") / model
        out[model] = (path, main(["--model", model, "--out", str(path), "--quiet"]))
    return out


@pytest.mark.parametrize("model", ["lif", "hh"])
@pytest.mark.slow
def test_evolution_silences_the_neuron_below_the_threshold(demos, model, capsys):
    out, summary = demos[model]
    assert json.loads((out / "summary.json").read_text()) == json.loads(json.dumps(summary))
    assert summary["final_spike_count"] == 0
    assert summary["final_i_app"] < summary["threshold_i_app"] < summary["start_i_app"]
    assert 0 < summary["bifurcation_update"] <= summary["updates"]
    history = (out / "history.csv").read_text().splitlines()
    assert history[0] == "update,mean_i_app,spike_count,sustained" and len(history) == summary["updates"] + 2
    rows = [line.split(",") for line in history[1:]]
    assert float(rows[0][1]) == summary["start_i_app"] and rows[0][3] == "1"  # started firing to the end
    # the ES run's test of the mean and the bisection agree: sustained above the threshold, not below
    tol = summary["threshold_tolerance"]
    for _, current, _, sustained in rows:
        if abs(float(current) - summary["threshold_i_app"]) > tol:
            assert (sustained == "1") == (float(current) > summary["threshold_i_app"]), (current, sustained)
    assert all(r[3] == "0" for r in rows[summary["bifurcation_update"]:])
    for name in ("i_app.png", "traces.png"):
        assert (out / name).stat().st_size > 0
    assert summary["threshold_relative_difference"] == pytest.approx(
        (summary["threshold_i_app"] - summary["threshold_reference"]) / summary["threshold_reference"])
    if model == "hh":  # the 1952 squid axon at 6.3 degC: sustained firing from the fold of cycles at 6.26 uA/cm^2
        assert summary["i_app_unit"] == "uA/cm2" and summary["threshold_reference"] == 6.26
        assert "Rinzel" in summary["threshold_reference_source"]
        assert abs(summary["threshold_relative_difference"]) < HH_TOLERANCE
        assert summary["transient_threshold_i_app"] < summary["threshold_i_app"] - 0.2  # two transient spikes from ~6.0
        assert summary["dt_ms"] == SETUPS["hh"].dt_ms == 0.01
    else:
        assert summary["threshold_i_app"] == pytest.approx(summary["analytic_threshold_i_app"], abs=1e-5)
    before = {f.name: f.read_bytes() for f in out.iterdir()}
    with pytest.raises(SystemExit) as err:  # a second run into the same --out overwrites nothing
        main(["--model", model, "--out", str(out)])
    assert err.value.code == 2 and {f.name: f.read_bytes() for f in out.iterdir()} == before


def test_bad_model_and_existing_out(tmp_path, capsys):
    with pytest.raises(SystemExit) as err:
        main(["--model", "izhikevich"])
    assert err.value.code == 2
    message = capsys.readouterr().err.strip()
    assert "unknown --model 'izhikevich'; allowed: hh, lif, morris_lecar, morris_lecar_class2" in message and "\n" not in message
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "mine.txt").write_text("keep")
    with pytest.raises(SystemExit) as err:
        main(["--model", "lif", "--out", str(tmp_path / "taken")])
    assert err.value.code == 2 and (tmp_path / "taken" / "mine.txt").read_text() == "keep"
    assert "already exists" in capsys.readouterr().err


@pytest.mark.slow
def test_a_run_that_never_silences_the_neuron_says_so(tmp_path, capsys):
    summary = main(["--model", "lif", "--updates", "1", "--out", str(tmp_path / "short"), "--quiet"])
    printed = capsys.readouterr().out.strip().splitlines()
    assert len(printed) == 1 and printed[0].startswith("final I_app")  # --quiet: no per-update table
    line = printed[0]
    assert summary["bifurcation_update"] is None and "None" not in line
    assert "the neuron still fired to the end of the window after 1 updates" in line
