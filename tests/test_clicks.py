"""The Poisson-clicks data kind (Brunton, Botvinick & Brody 2013), its ideal observer, the
lif-clicks preset, and scoring a window of the last steps (fitness.last_steps)."""
from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import skellam

from bioevo import fitness as F
from bioevo.config import ConfigError, resolve_config
from bioevo.data import DATA_KINDS, DataError, SpikeData, make_dataset
from bioevo.data.clicks import CLICKS_DEFAULTS, ideal_observer_accuracy, load_clicks, side_rates
from bioevo.genome import build_layout
from bioevo.model import load_model
from bioevo.scoring import Scorer, recording_needs
from bioevo.sim.evaluator import Readouts

SMALL = {"kind": "clicks", "n_steps": 60, "stimulus_steps": 40, "delay_steps": 15, "split": [50, 10, 20], "seed": 3}


def _table(**kw) -> dict:
    return {**CLICKS_DEFAULTS, **kw}


def _skellam_accuracy(high: float, low: float, seconds: float) -> float:
    a, b = high * seconds, low * seconds
    return float(skellam.sf(0, a, b) + 0.5 * skellam.pmf(0, a, b))


def _expected(table: dict) -> float:
    """The ideal observer's expected accuracy for a ``[data]`` table (Skellam: the difference of
    the two sides' Poisson click counts over the stimulus)."""
    d = {**CLICKS_DEFAULTS, **table}
    return _skellam_accuracy(*side_rates(d["rate_sum"], d["difficulty"]),
                             d["stimulus_steps"] * d["dt_ms"] / 1000 * d["units_per_side"])


def test_reproducible_from_its_seed_alone():
    a, b = make_dataset(SMALL, 0), make_dataset(SMALL, 99)  # the run's seed plays no part
    c = make_dataset({**SMALL, "seed": 4}, 0)
    for name in ("train", "val", "test"):
        np.testing.assert_array_equal(a[name].raster, b[name].raster)
        np.testing.assert_array_equal(a[name].labels, b[name].labels)
    assert not np.array_equal(a["train"].raster, c["train"].raster)


def test_shapes_balance_and_silence_after_the_stimulus():
    d = make_dataset({**SMALL, "units_per_side": 3}, 0)
    for name, per_class in zip(("train", "val", "test"), SMALL["split"]):
        s = d[name]
        assert (s.n_samples, s.n_steps, s.n_units, s.n_classes) == (2 * per_class, 60, 6, 2)
        assert s.raster.dtype == np.uint8
        assert np.bincount(s.labels).tolist() == [per_class, per_class]  # balanced per class
        assert 0 < np.mean(s.labels[: per_class]) < 1  # and shuffled
        assert s.raster[:, 40:, :].sum() == 0  # no input in the delay or the response window
        assert s.raster[:, :40, :].sum() > 0


def test_click_counts_match_the_rates():
    """Mean clicks per unit over the stimulus within 4 standard errors of rate x duration, for the
    high-rate (labelled) side and the other, and the same in both halves of the stimulus."""
    table = _table(split=[1000, 1, 1], units_per_side=2, difficulty=0.8, rate_sum=60.0, stimulus_steps=200,
                   delay_steps=50, n_steps=260)
    s = load_clicks(table)["train"]
    high, low = side_rates(60.0, 0.8)
    assert math.isclose(high + low, 60.0) and math.isclose(math.log(high / low), 0.8)
    counts = s.raster.sum(axis=1, dtype=np.int64)  # (n, 4): L0 L1 R0 R1
    right = s.labels == 1
    hi = np.concatenate([counts[right][:, 2:].ravel(), counts[~right][:, :2].ravel()])
    lo = np.concatenate([counts[right][:, :2].ravel(), counts[~right][:, 2:].ravel()])
    for got, rate in ((hi, high), (lo, low)):
        mean = rate * 0.2
        assert abs(got.mean() - mean) < 4 * math.sqrt(mean / got.size)
        assert abs(got.var() - mean) < 0.1 * mean  # Poisson: variance = mean
    first, second = s.raster[:, :100].sum(), s.raster[:, 100:200].sum()
    total = first + second
    assert abs(first - second) < 4 * math.sqrt(total)
    # units of one side are independent trains (not copies)
    assert np.mean(counts[:, 0] == counts[:, 1]) < 0.5


def test_ideal_observer_hand_computed():
    raster = np.zeros((4, 5, 2), dtype=np.uint8)
    raster[0, 0] = [2, 1]  # left 2 > right 1, label left: right
    raster[1, 1] = [1, 3]  # right wins, label left: wrong
    raster[2, 2] = [1, 1]  # tie: half
    raster[3, 0, 1] = 1  # right wins, label right: right
    data = SpikeData(raster, np.array([0, 0, 1, 1]), 2)
    assert ideal_observer_accuracy(data) == (1 + 0 + 0.5 + 1) / 4
    four = SpikeData(np.concatenate([raster, raster], axis=2)[:, :, [0, 2, 1, 3]], data.labels, 2)  # L L R R
    assert ideal_observer_accuracy(four) == (1 + 0 + 0.5 + 1) / 4


@pytest.mark.parametrize("rate_sum, difficulty, steps, units", [(40.0, 1.0, 300, 1), (20.0, 0.5, 400, 3)])
def test_ideal_observer_matches_skellam(rate_sum, difficulty, steps, units):
    """A drawn data set's ideal observer within 4 binomial standard errors of scipy's Skellam
    (10,000 trials: about 0.9 percentage points at 95%)."""
    table = _table(rate_sum=rate_sum, difficulty=difficulty, stimulus_steps=steps, delay_steps=10,
                   n_steps=steps + 20, units_per_side=units, split=[5000, 1, 1], seed=11)
    high, low = side_rates(rate_sum, difficulty)
    expected = _skellam_accuracy(high, low, steps / 1000 * units)
    got = ideal_observer_accuracy(load_clicks(table)["train"])
    assert abs(got - expected) < 4 * math.sqrt(expected * (1 - expected) / 10000)


def test_default_difficulty_puts_the_ideal_observer_between_93_and_97_percent():
    assert _expected(dict(CLICKS_DEFAULTS)) == pytest.approx(0.9483, abs=1e-4)
    cfg = resolve_config("lif-clicks")
    assert cfg["data"]["kind"] == "clicks"
    info = DATA_KINDS["clicks"].describe(make_dataset(cfg["data"], 0))
    acc = info["ideal_observer_accuracy"]
    assert set(acc) == {"train", "val", "test"} and 0.93 <= acc["test"] <= 0.97
    assert acc["test"] == pytest.approx(0.944)  # data.seed 0, 1,000 test trials
    # the preset scores only the response window after the delay
    d = cfg["data"]
    assert cfg["fitness"]["last_steps"] == d["n_steps"] - d["stimulus_steps"] - d["delay_steps"] > 0


@pytest.mark.parametrize("key, value, message", [
    ("rate_sum", 0.0, r"^data\.rate_sum must be a finite number in \(0, 1000\] \(Hz"),
    ("difficulty", 0.0, r"^data\.difficulty must be a finite number in \(0, 20\] \(log of the high"),
    ("difficulty", -1.0, r"^data\.difficulty must be"),
    ("stimulus_steps", 60, r"^data\.stimulus_steps must be an integer in 1\.\.59"),
    ("delay_steps", 21, r"^data\.delay_steps must be an integer in 0\.\.20"),
    ("units_per_side", 0, r"^data\.units_per_side must be an integer in 1\.\.1000"),
    ("dt_ms", 0.0, r"^data\.dt_ms must be a finite number in \(0, inf\)"),
    ("split", [5, 0, 5], r"^data\.split \(val\) must be an integer >= 1 \(trials per class\), got 0$"),
    ("split", [5, 5], r"^data\.split must be 3 integers"),
    ("seed", -1, r"^data\.seed must be an integer in 0\.\."),
    ("n_steps", 1, r"^data\.n_steps must be an integer in 2\.\."),
])
def test_bad_values_name_the_key_and_what_is_allowed(key, value, message):
    with pytest.raises(DataError, match=message):
        make_dataset({**SMALL, key: value}, 0)


def test_config_errors_exit_through_config_error():
    with pytest.raises(ConfigError, match=r"data\.difficulty must be a number, got 'hard'"):
        resolve_config("lif-clicks", ["data.difficulty='hard'"])
    with pytest.raises(ConfigError, match=r"data\.n_units is not a key|unknown key 'data\.n_units'"):
        resolve_config("lif-clicks", ["data.n_units=4"])
    with pytest.raises(ConfigError, match=r"fitness\.last_steps must be >= 0"):
        resolve_config("lif-clicks", ["fitness.last_steps=-1"])


@pytest.mark.parametrize("override, message", [
    ("fitness.last_steps=551", r"fitness\.last_steps \(551\) is longer than a sample \(550 steps\); allowed: 0\.\.550"),
    ("data.dt_ms=0.5", r"data\.dt_ms \(0\.5\) must equal the input step of model 'lif_recurrent' \(1 ms\)"),
])
def test_assemble_refuses_a_window_too_long_and_a_step_that_is_not_the_models(override, message):
    from bioevo.assemble import assemble

    with pytest.raises(ConfigError, match=message):
        assemble(resolve_config("lif-clicks", [override]), build_evaluator=False)


@pytest.mark.parametrize("override, message", [
    ("fitness.temperature=0", r"fitness\.temperature must be > 0, got 0"),
    ("fitness.temperature=-2.0", r"fitness\.temperature must be > 0, got -2\.0"),
    ("fitness.temperature=inf", r"fitness\.temperature must be a finite number, got inf"),
    ("fitness.temperature='hot'", r"fitness\.temperature must be a number, got 'hot'"),
])
def test_a_bad_temperature_is_one_line(override, message):
    with pytest.raises(ConfigError, match=message):
        resolve_config("competition-clicks", [override])


def test_a_temperature_for_a_loss_without_a_softmax_is_refused():
    with pytest.raises(ConfigError, match=r"fitness\.temperature applies to the losses max_cross_entropy, "
                                          r"cross_entropy; fitness\.loss 'membrane_hinge' does not use it"):
        resolve_config("lif-clicks", ["fitness.loss='membrane_hinge'", "fitness.temperature=2.0"])
    assert resolve_config("lif-clicks", ["fitness.loss='membrane_hinge'"])["fitness"]["temperature"] == 1.0


def test_a_window_of_spikes_is_refused():
    from bioevo.scoring import check_readout

    cfg = resolve_config("lif-clicks", ["fitness.readout='spike_count'"])
    with pytest.raises(ConfigError, match=r"fitness\.last_steps \(50\) windows the readout variable, not spikes: "
                                          r"fitness\.readout 'spike_count'"):
        check_readout(cfg, load_model("lif_spiking"))


def test_raster_figure(tmp_path):
    (p,) = DATA_KINDS["clicks"].plot(make_dataset(SMALL, 0)["test"], tmp_path)
    assert p.name == "input_raster.png" and p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# ---------------------------------------------------------------- fitness.last_steps

# 1 individual, 2 samples, 4 steps, 2 readouts; sample 0 is class 0 ahead early, class 1 late
TRACE = np.array([[[[5.0, 0.0], [4.0, 1.0], [1.0, 2.0], [0.5, 3.0]],
                   [[0.0, 1.0], [0.0, 2.0], [3.0, 1.0], [2.0, 1.5]]]])


class TraceOnly:
    """Stands in for the Brian2 evaluator: returns TRACE, its tracked max and last step."""

    population, n_steps, model = 1, 4, load_model("lif")

    def evaluate(self, params, raster):
        return Readouts(TRACE.max(axis=2), trace=TRACE, stats={"vfinal": TRACE[:, :, -1, :]})


def _scorer(loss: str, readout: str, last_steps: int, smoothness: float = 0.0,
            temperature: float = 1.0) -> tuple[Scorer, np.ndarray]:
    layout = build_layout(load_model("lif"), {"inputs": 2, "hidden": 2, "classes": 2}, {})
    return (Scorer(TraceOnly(), layout, loss, 0.5, 0.0, readout, smoothness, last_steps, temperature),
            np.zeros((1, layout.size)))


def test_last_steps_hand_computed():
    data = SpikeData(np.zeros((2, 4, 2), dtype=bool), np.array([1, 0]), 2)
    # the last 2 steps: max [1, 3] and [3, 1.5] -> predictions 1, 0: both right
    scorer, g = _scorer("max_cross_entropy", "max", 2)
    loss, acc = scorer.batch(g, data)
    ce = ((math.log(math.exp(1) + math.exp(3)) - 3) + (math.log(math.exp(3) + math.exp(1.5)) - 3)) / 2
    assert acc[0] == 1.0 and loss[0] == pytest.approx(ce)
    # fitness.temperature 4 divides the window's maxima before the softmax; the predictions stay
    scorer, g = _scorer("max_cross_entropy", "max", 2, temperature=4.0)
    loss, acc = scorer.batch(g, data)
    assert acc[0] == 1.0 and loss[0] == pytest.approx((math.log1p(math.exp(-2 / 4)) + math.log1p(math.exp(-1.5 / 4))) / 2)
    # over all steps: max [5, 3] and [3, 2] -> predictions 0, 0: one right
    scorer, g = _scorer("max_cross_entropy", "max", 0)
    assert scorer.batch(g, data)[1][0] == 0.5
    # sum over the last 3 steps: [5.5, 6] and [5, 4.5] -> both right
    scorer, g = _scorer("cross_entropy", "sum", 3)
    assert scorer.batch(g, data)[1][0] == 1.0
    np.testing.assert_array_equal(scorer.recorded(TraceOnly().evaluate(None, None))["vsum"], [[[5.5, 6.0], [5.0, 4.5]]])
    # the membrane hinge on the last 2 steps, margin 0.5: sample 0 (label 1) max(0, 1 - 2 + .5), max(0, .5 - 3 + .5);
    # sample 1 (label 0) max(0, 1 - 3 + .5), max(0, 1.5 - 2 + .5)
    scorer, g = _scorer("membrane_hinge", "max", 2)
    assert scorer.batch(g, data)[0][0] == pytest.approx(0.0)
    scorer, g = _scorer("membrane_hinge", "max", 3)  # adds step 1: (4 - 1 + .5) and (2 - 0 + .5)
    assert scorer.batch(g, data)[0][0] == pytest.approx((3.5 + 2.5) / 6)
    # smoothness on the window only: diffs of the last 2 steps
    scorer, g = _scorer("final_step_hinge", "final", 2, smoothness=1.0)
    diffs = np.diff(TRACE[:, :, -2:, :], axis=2)
    base = F.final_step_hinge(TRACE, np.array([1, 0]), 0.5)[0]
    assert scorer.batch(g, data)[0][0] == pytest.approx(base + np.mean(diffs ** 2))


def test_last_steps_records_the_trace_only_where_needed():
    fit = {"readout": "max", "loss": "max_cross_entropy", "smoothness": 0.0}
    assert recording_needs({**fit, "last_steps": 0}) == (False, False, ())
    assert recording_needs({**fit, "last_steps": 5}) == (True, False, ())
    # the last step is the last step of any window: still tracked inside the simulation
    assert recording_needs({**fit, "readout": "final", "loss": "cross_entropy", "last_steps": 5}) == (
        False, False, ("final",))


CLICKS_PRESETS = ["lif-clicks", "competition-clicks", "ml-clicks", "hh-clicks"]


@pytest.mark.parametrize("preset", CLICKS_PRESETS)
@pytest.mark.slow
def test_clicks_presets_assemble_and_their_readout_cannot_hold_the_delay(preset):
    """Every clicks preset assembles (its data.dt_ms is the model's input step), scores only the
    response window, and leaves the readout's time constants out of the genome and short against
    the delay (results/clicks/README.md): the decision must outlast the delay in the network."""
    from bioevo.assemble import assemble

    cfg = resolve_config(preset)
    parts = assemble(cfg, build_evaluator=False)
    d = cfg["data"]
    assert d["kind"] == "clicks" and d["dt_ms"] == parts.model.step_ms
    assert cfg["fitness"]["last_steps"] == d["n_steps"] - d["stimulus_steps"] - d["delay_steps"] > 0
    readout = parts.model.readout_layer
    assert not [s.name for s in parts.layout.segments if s.name.startswith(f"p.{readout}.")]
    taus = {k: v.value for k, v in parts.model.layers[readout].parameters.items() if k.startswith("tau")}
    for key in taus:
        taus[key] = cfg["model"]["params"].get(f"{readout}.{key}", taus[key])
    assert taus and sum(taus.values()) * 5 <= d["delay_steps"] * d["dt_ms"], taus
    # the same evidence as lif-clicks: the ideal observer's expected accuracy near 94.8%
    assert _expected(d) == pytest.approx(0.9483, abs=1e-3)
