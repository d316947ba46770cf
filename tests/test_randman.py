"""Tests for the Randman generator, the SpikeData format and the data plots."""
from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from bioevo.data.randman import (
    RandmanConfig,
    eval_manifold,
    f_cutoff,
    make_randman,
    make_randman_steps,
)
from bioevo.data.spikes import SpikeData, raster_from_steps
from bioevo.data.plots import plot_raster

T = 50


@pytest.fixture(scope="module")
def default_data() -> dict[str, SpikeData]:
    return make_randman(RandmanConfig())


def _ref_unit(x: np.ndarray, theta: np.ndarray, alpha: float) -> np.ndarray:
    """Plain-loop transcription of the Randman formula for one unit; x (n, D), theta (D, 3, F)."""
    out = np.ones(len(x))
    for d in range(theta.shape[0]):
        f = np.zeros(len(x))
        for i in range(theta.shape[2]):
            s_i = 1.0 / ((i + 1) ** alpha + 1.0)
            f += theta[d, 0, i] * s_i * np.sin(2 * math.pi * (i * x[:, d] * theta[d, 1, i] + theta[d, 2, i]))
        out *= f
    return out


def test_one_spike_per_unit_and_step_range(default_data):
    for d in default_data.values():
        assert d.raster.dtype == bool and d.labels.dtype == np.int64
        assert d.n_steps == T and d.n_units == 30
        assert (d.raster.sum(axis=1) == 1).all()
    steps, _ = make_randman_steps(RandmanConfig())["train"]
    assert steps.shape == (1600, 30, 1)
    assert steps.min() >= 0 and steps.max() <= T - 1


def test_split_sizes_per_class(default_data):
    expect = {"train": 800, "val": 100, "test": 100}
    for name, per_class in expect.items():
        d = default_data[name]
        assert len(d) == 2 * per_class
        assert np.bincount(d.labels, minlength=2).tolist() == [per_class, per_class]
    # shuffled across classes, not blocked
    assert len(np.unique(default_data["train"].labels[:50])) == 2


def test_seed_determinism():
    cfg = RandmanConfig(split=(20, 5, 5))
    a, b = make_randman(cfg), make_randman(cfg)
    c = make_randman(dataclasses.replace(cfg, seed=1))
    for name in ("train", "val", "test"):
        np.testing.assert_array_equal(a[name].raster, b[name].raster)
        np.testing.assert_array_equal(a[name].labels, b[name].labels)
    assert not np.array_equal(a["train"].raster, c["train"].raster)


def test_per_class_normalisation():
    all_steps = make_randman_steps(RandmanConfig())
    steps = np.concatenate([s for s, _ in all_steps.values()])[:, :, 0]
    labels = np.concatenate([y for _, y in all_steps.values()])
    for c in range(2):
        sc = steps[labels == c]
        assert (sc.min(axis=0) == 0).all()
        assert (sc.max(axis=0) == T - 1).all()


def test_eval_manifold_matches_reference_formula():
    rng = np.random.default_rng(5)
    for alpha, dim in ((2.0, 1), (1.5, 2)):
        fc = f_cutoff(alpha)
        theta = rng.random((4, dim, 3, fc))
        theta[:, :, 0, 0] = 0.0
        x = rng.random((7, dim))
        got = eval_manifold(x, theta, alpha)
        want = np.stack([_ref_unit(x, theta[m], alpha) for m in range(4)], axis=1)
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


def test_end_to_end_against_independent_pipeline():
    """Rebuild a tiny data set from the same draws (theta, then x per class) by hand."""
    cfg = RandmanConfig(n_units=3, dim_manifold=2, n_steps=10, split=(6, 2, 2), nb_spikes=2, seed=3)
    rng = np.random.default_rng(cfg.seed)
    fc = f_cutoff(cfg.alpha)
    steps_by_class = []
    for _ in range(cfg.n_classes):
        theta = rng.random((cfg.nb_spikes * cfg.n_units, cfg.dim_manifold, 3, fc))
        theta[:, :, 0, 0] = 0.0
        x = rng.random((10, cfg.dim_manifold))
        vals = np.stack([_ref_unit(x, theta[m], cfg.alpha) for m in range(len(theta))], axis=1)
        vals = (vals - vals.min(0)) / (vals.max(0) - vals.min(0))
        st = np.minimum(np.floor(vals * cfg.n_steps), cfg.n_steps - 1).astype(int)
        # manifold m = copy * n_units + unit
        steps_by_class.append(st.reshape(10, cfg.nb_spikes, cfg.n_units).transpose(0, 2, 1))
    got = make_randman_steps(cfg)
    for c in range(cfg.n_classes):
        mine = np.concatenate([got[k][0][got[k][1] == c] for k in ("train", "val", "test")])
        key = lambda a: sorted(map(lambda r: r.tobytes(), a.astype(np.int64)))  # noqa: E731
        assert key(mine) == key(steps_by_class[c])


def test_f_cutoff():
    assert f_cutoff(2.0) == 32
    assert f_cutoff(1.0) == 1000
    assert f_cutoff(0.5) == 1000


@pytest.mark.parametrize(
    "field, value",
    [
        ("n_classes", 1),
        ("n_units", 0),
        ("dim_manifold", 0),
        ("alpha", 0.0),
        ("alpha", -1.0),
        ("n_steps", 0),
        ("split", (800, 0, 100)),
        ("split", (800, 100)),
        ("nb_spikes", 0),
        ("n_units", 2.5),
    ],
)
def test_bad_config_raises(field, value):
    cfg = dataclasses.replace(RandmanConfig(), **{field: value})
    with pytest.raises(ValueError, match=f"randman.{field}"):
        make_randman(cfg)


def test_bad_config_message():
    with pytest.raises(ValueError, match=r"randman\.n_classes must be an integer >= 2, got 1"):
        make_randman(RandmanConfig(n_classes=1))


def test_nb_spikes_three():
    cfg = RandmanConfig(split=(30, 5, 5), nb_spikes=3)
    steps, labels = make_randman_steps(cfg)["train"]
    assert steps.shape == (60, 30, 3)
    d = make_randman(cfg)["train"]
    counts = d.raster.sum(axis=1)
    assert counts.min() >= 1 and counts.max() <= 3
    # raster agrees with the distinct steps per unit
    distinct = np.array([[len(set(u)) for u in s] for s in steps])
    np.testing.assert_array_equal(counts, distinct)


def test_spikedata_validation_and_subset():
    raster = np.zeros((3, 4, 2), dtype=bool)
    labels = np.array([0, 1, 1], dtype=np.int64)
    d = SpikeData(raster, labels, 2)
    assert (d.n_samples, d.n_steps, d.n_units, len(d)) == (3, 4, 2, 3)
    assert len(d.subset(slice(1, 3))) == 2 and len(d.subset(np.array([0, 2]))) == 2
    assert d.subset(1).raster.shape == (1, 4, 2)
    with pytest.raises(ValueError, match="raster"):
        SpikeData(raster.astype(np.int8), labels, 2)
    with pytest.raises(ValueError, match="labels"):
        SpikeData(raster, labels.astype(np.int32), 2)
    with pytest.raises(ValueError, match="labels"):
        SpikeData(raster, labels[:2], 2)
    with pytest.raises(ValueError, match="labels"):
        SpikeData(raster, np.array([0, 1, 2], dtype=np.int64), 2)


def test_raster_from_steps_merges_same_step():
    steps = np.array([[[1, 1, 3]]])
    r = raster_from_steps(steps, 5)
    assert r.shape == (1, 5, 1) and r[0, :, 0].tolist() == [False, True, False, True, False]


def test_plots_write_png(tmp_path, default_data):
    d = default_data["val"]
    p = plot_raster(d, tmp_path / "sub" / "raster.png", n_per_class=2)
    assert p.exists() and p.stat().st_size > 1000
    assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
