"""Smoke tests for bioevo.report.figures: PNGs are written, bad shapes are rejected."""
from __future__ import annotations

import numpy as np
import pytest

from bioevo.report.figures import (
    plot_confusion,
    plot_readout_traces,
    plot_spike_count_heatmap,
    plot_training_curves,
)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _assert_png(path):
    assert path.is_file()
    data = path.read_bytes()
    assert len(data) > 1000
    assert data[:8] == PNG_MAGIC


def _log(n_gen, val_every=5, positive=True):
    rng = np.random.default_rng(0)
    log = []
    for g in range(n_gen):
        base = 2.0 * np.exp(-g / 10) + 0.05
        rec = {
            "gen": g,
            "loss_mean": base + 0.1 * rng.random(),
            "loss_min": base if positive else base - 1.0,
            "train_acc": None if g == 1 else min(1.0, 0.2 + g / n_gen),
        }
        if g % val_every == 0:
            rec["val_acc"] = 0.15 + 0.8 * g / n_gen
        elif g % val_every == 1:
            rec["val_acc"] = None
        log.append(rec)
    return log


def test_confusion_png(tmp_path):
    out = plot_confusion(np.eye(3, dtype=int) * 5, tmp_path / "cm.png")
    _assert_png(out)


@pytest.mark.parametrize("n_gen,positive", [(30, True), (12, False)])
def test_training_curves_png(tmp_path, n_gen, positive):
    out = plot_training_curves(_log(n_gen, positive=positive), tmp_path / "sub" / "curves.png")
    assert out == tmp_path / "sub" / "curves.png"
    _assert_png(out)


def test_training_curves_single_generation(tmp_path):
    log = [{"gen": 0, "loss_mean": 1.3, "loss_min": 0.9, "train_acc": 0.4, "val_acc": 0.35}]
    _assert_png(plot_training_curves(log, tmp_path / "one.png"))


def test_training_curves_no_accuracy(tmp_path):
    log = [{"gen": g, "loss_mean": 1.0, "loss_min": 0.5, "train_acc": None} for g in range(3)]
    _assert_png(plot_training_curves(log, tmp_path / "noacc.png"))


@pytest.mark.parametrize("bad", [[], {"gen": 0}, [{"gen": 0, "loss_mean": 1.0}], [3]])
def test_training_curves_bad_log(tmp_path, bad):
    with pytest.raises(ValueError, match="log"):
        plot_training_curves(bad, tmp_path / "bad.png")


def _traces(n=6, t=50, o=3, seed=1):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, o, size=n)
    tr = np.cumsum(rng.normal(0, 0.1, size=(n, t, o)), axis=1)
    tr[np.arange(n), :, labels] += np.linspace(0, 1, t)  # true class tends to win
    return tr, labels


def test_readout_traces_png(tmp_path):
    tr, labels = _traces()
    out = plot_readout_traces(tr, labels, tmp_path / "a" / "b" / "traces.png", dt_ms=0.5,
                              class_names=["x", "y", "z"])
    _assert_png(out)


def test_readout_traces_single_sample(tmp_path):
    tr, labels = _traces(n=1, o=2)
    _assert_png(plot_readout_traces(tr, labels, tmp_path / "one.png"))


def test_readout_traces_bad_shapes(tmp_path):
    tr, labels = _traces()
    with pytest.raises(ValueError, match="traces"):
        plot_readout_traces(tr[0], labels, tmp_path / "x.png")
    with pytest.raises(ValueError, match="labels"):
        plot_readout_traces(tr, labels[:-1], tmp_path / "x.png")
    with pytest.raises(ValueError, match="labels"):
        plot_readout_traces(tr, np.full(len(labels), 3), tmp_path / "x.png")
    with pytest.raises(ValueError, match="class_names"):
        plot_readout_traces(tr, labels, tmp_path / "x.png", class_names=["a"])
    with pytest.raises(ValueError, match="dt_ms"):
        plot_readout_traces(tr, labels, tmp_path / "x.png", dt_ms=0)
    assert not (tmp_path / "x.png").exists()


def test_spike_count_heatmap_png(tmp_path):
    rng = np.random.default_rng(2)
    counts = rng.poisson(2.0, size=(40, 64))
    counts[:, :10] = 0  # some silent neurons
    labels = rng.integers(0, 4, size=40)
    out = plot_spike_count_heatmap(counts, labels, tmp_path / "d" / "heat.png")
    _assert_png(out)


def test_spike_count_heatmap_all_silent(tmp_path):
    _assert_png(plot_spike_count_heatmap(np.zeros((3, 5)), np.array([1, 0, 1]),
                                         tmp_path / "silent.png"))


def test_spike_count_heatmap_bad_shapes(tmp_path):
    with pytest.raises(ValueError, match="counts"):
        plot_spike_count_heatmap(np.zeros(5), np.zeros(5), tmp_path / "x.png")
    with pytest.raises(ValueError, match="labels"):
        plot_spike_count_heatmap(np.zeros((4, 5)), np.zeros(3), tmp_path / "x.png")
