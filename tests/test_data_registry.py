"""The data-kind registry, the randman adapter and the compressed spike store behind SpikeData."""
from __future__ import annotations

import dataclasses
import pickle

import numpy as np
import pytest

from bioevo.data import DATA_KINDS, DataError, DataKind, SparseRaster, SpikeData, make_dataset
from bioevo.data.randman import RandmanConfig, make_randman


def test_every_kind_declares_its_keys():
    assert list(DATA_KINDS) == ["randman", "digits", "mnist", "shd", "clicks"]
    for name, kind in DATA_KINDS.items():
        assert isinstance(kind, DataKind) and kind.name == name
        assert {"n_steps", "seed"} <= set(kind.defaults) and "kind" not in kind.defaults
        assert {k for k, v in kind.defaults.items() if v is None} == set(kind.optional_types)
        assert kind.doc and "\n" not in kind.doc
    assert DATA_KINDS["randman"].defaults["seed"] is None  # the run's seed
    assert all(DATA_KINDS[k].defaults["seed"] == 0 for k in ("digits", "mnist", "shd", "clicks"))  # a fixed split


def test_randman_defaults_are_the_generators():
    ref = {f.name: f.default for f in dataclasses.fields(RandmanConfig)}
    ref.update(split=list(ref["split"]), seed=None)  # TOML has lists; None = the run's seed
    assert DATA_KINDS["randman"].defaults == ref


@pytest.mark.parametrize("seed, run_seed, expect", [(None, 3, 3), (5, 3, 5)])
def test_randman_adapter_equals_the_generator(seed, run_seed, expect):
    table = {"kind": "randman", "n_classes": 3, "n_units": 12, "dim_manifold": 2, "alpha": 1.5, "n_steps": 20,
             "split": [30, 5, 6], "nb_spikes": 2, "seed": seed}
    got = make_dataset(table, run_seed)
    ref = make_randman(RandmanConfig(n_classes=3, n_units=12, dim_manifold=2, alpha=1.5, n_steps=20,
                                     split=(30, 5, 6), nb_spikes=2, seed=expect))
    assert list(got) == ["train", "val", "test"]
    for k in ref:
        assert got[k].raster.dtype == bool and not got[k].is_sparse
        np.testing.assert_array_equal(got[k].raster, ref[k].raster)
        np.testing.assert_array_equal(got[k].labels, ref[k].labels)
    again = make_dataset(table, run_seed + 1)
    same = np.array_equal(again["train"].raster, got["train"].raster)
    assert same == (seed is not None)  # the run's seed matters only while data.seed is None


def test_randman_defaults_filled_and_errors_name_data_keys():
    got = make_dataset({"split": [4, 2, 2]}, 0)  # kind defaults to randman
    assert (len(got["train"]), got["train"].n_units, got["train"].n_steps) == (8, 30, 50)
    with pytest.raises(DataError, match=r"^data\.n_classes must be an integer >= 2, got 1$"):
        make_dataset({"kind": "randman", "n_classes": 1}, 0)


def test_unknown_kind_and_key():
    with pytest.raises(DataError, match=r"data.kind must be one of randman, digits, mnist, shd, clicks, got 'cifar'"):
        make_dataset({"kind": "cifar"}, 0)
    with pytest.raises(DataError, match=r"data.n_units is not a key of data kind 'digits'; its keys are n_steps"):
        make_dataset({"kind": "digits", "n_units": 64}, 0)


def test_plots_write_input_raster(tmp_path):
    r = make_dataset({"split": [3, 1, 1]}, 0)["test"]
    assert [p.name for p in DATA_KINDS["randman"].plot(r, tmp_path / "a")] == ["input_raster.png"]
    d = make_dataset({"kind": "digits", "n_steps": 8}, 0)["test"]
    (p,) = DATA_KINDS["digits"].plot(d, tmp_path / "b")
    assert p == tmp_path / "b" / "input_raster.png" and p.stat().st_size > 5000


# ---------------------------------------------------------------- SparseRaster and SpikeData


def _random_raster(dtype, shape=(7, 5, 4), seed=0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    r = rng.integers(0, 4, shape) * (rng.random(shape) < 0.3)
    return (r > 0) if dtype == bool else r.astype(np.uint8)


@pytest.mark.parametrize("dtype", [bool, np.uint8])
def test_sparse_store_matches_dense_indexing(dtype):
    dense = _random_raster(dtype)
    s = SparseRaster.from_dense(dense)
    assert s.dtype == np.dtype(dtype) and len(s) == 7
    np.testing.assert_array_equal(s.dense(), dense)
    for index in ([4, 0, 4], np.array([6, 2]), slice(1, 5), slice(None, None, -2), np.arange(7) % 2 == 0, []):
        np.testing.assert_array_equal(s.take(index).dense(), dense[index])
    both = SparseRaster.concatenate([s.take([0, 1]), s.take([5])])
    np.testing.assert_array_equal(both.dense(), dense[[0, 1, 5]])


@pytest.mark.parametrize("dtype", [bool, np.uint8])
def test_spikedata_sparse_behaves_like_dense(dtype):
    dense = _random_raster(dtype)
    labels = np.arange(7, dtype=np.int64) % 3
    a, b = SpikeData(dense, labels, 3), SpikeData(SparseRaster.from_dense(dense), labels, 3)
    assert b.is_sparse and not a.is_sparse
    assert (len(b), b.n_samples, b.n_steps, b.n_units, b.n_classes, b.dtype) == (7, 7, 5, 4, 3, np.dtype(dtype))
    for index in (2, slice(0, 3), np.array([5, 1])):
        np.testing.assert_array_equal(b.subset(index).raster, a.subset(index).raster)
        np.testing.assert_array_equal(b.subset(index).labels, a.subset(index).labels)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(b)).raster, dense)
    batch = b.subset(np.random.default_rng(0).permutation(7)[:3])  # a shuffled batch, as training takes
    assert batch.raster.shape == (3, 5, 4)
    with pytest.raises(AttributeError):
        b.labels = labels


def test_spikedata_accepts_bool_and_uint8_counts_only():
    labels = np.zeros(2, dtype=np.int64)
    counts = np.array([[[0, 3]], [[1, 0]]], dtype=np.uint8)
    assert SpikeData(counts, labels, 1).raster.sum() == 4
    for bad in (np.int8, np.int64, np.float64, np.uint16):
        with pytest.raises(ValueError, match="dtype bool or uint8"):
            SpikeData(counts.astype(bad), labels, 1)
    with pytest.raises(ValueError, match="labels has 1 entries but raster has 2 samples"):
        SpikeData(SparseRaster.from_dense(counts), labels[:1], 1)


def test_sparse_store_rejects_inconsistent_arrays():
    ok = SparseRaster.from_dense(_random_raster(np.uint8))
    with pytest.raises(ValueError, match="cells must lie in"):
        SparseRaster(ok.offsets, ok.cells + 1000, ok.counts, 5, 4)
    with pytest.raises(ValueError, match="offsets"):
        SparseRaster(ok.offsets[:-1], ok.cells, ok.counts, 5, 4)
    with pytest.raises(ValueError, match="counts"):
        SparseRaster(ok.offsets, ok.cells, np.zeros_like(ok.counts), 5, 4)


def test_compact_keeps_the_smaller_form():
    sparse_enough = SparseRaster.from_dense(_random_raster(np.uint8, shape=(3, 50, 40)) * 0)
    assert sparse_enough.compact() is sparse_enough
    full = np.ones((3, 5, 4), np.uint8)
    dense = SparseRaster.from_dense(full).compact()
    assert isinstance(dense, np.ndarray) and dense.dtype == np.uint8
    np.testing.assert_array_equal(dense, full)
