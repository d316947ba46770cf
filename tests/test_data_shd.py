"""SHD reader on small files written here in the official layout (h5py, variable-length datasets)."""
from __future__ import annotations

import re

import h5py
import numpy as np
import pytest

from bioevo.data import DATA_KINDS, DataError, SpikeData, make_dataset
from bioevo.data.shd import SHD_FILES, SHD_URL


def write_shd(path, times, units, labels, speakers, time_dtype="float16", drop=()):
    """An SHD file: spikes/times (vlen float, s), spikes/units (vlen uint16), labels, extra/speaker,
    extra/keys, extra/meta_info/*; ``drop`` leaves datasets out."""
    with h5py.File(path, "w") as f:
        n = len(times)
        data = {
            "spikes/times": (h5py.vlen_dtype(np.dtype(time_dtype)), times),
            "spikes/units": (h5py.vlen_dtype(np.dtype("uint16")), units),
        }
        for key, (dt, rows) in data.items():
            if key in drop:
                continue
            ds = f.create_dataset(key, (n,), dtype=dt)
            for i, r in enumerate(rows):
                ds[i] = np.asarray(r, dtype=dt.metadata["vlen"])
        for key, arr in (("labels", np.asarray(labels, np.uint8)), ("extra/speaker", np.asarray(speakers, np.uint16))):
            if key not in drop:
                f[key] = arr
        f["extra/keys"] = np.array([f"word-{i}".encode() for i in range(20)])
        f["extra/meta_info/gender"] = np.zeros(n, dtype=np.uint8)
        f["extra/meta_info/age"] = np.full(n, 30, dtype=np.uint8)
    return path


# Sample 0, hand-binned at 10 ms: 1.2 and 3.4 ms -> bin 0 (channel 3 twice), 15.0 / 15.1 ms -> bin 1
# (channels 699, 698), 99.5 ms -> bin 9 (channel 0), 2 s -> past 10 bins, dropped.
T0 = [0.0012, 0.0034, 0.0150, 0.0151, 0.0995, 2.0]
U0 = [3, 3, 699, 698, 0, 5]
T1 = [0.0055, 0.0421]
U1 = [350, 351]


def _dir(tmp_path, n_train=40, n_test=20, n_speakers=5, time_dtype="float64"):
    """Train: the two hand-made samples first, then random ones; 4 classes, speakers cycling."""
    rng = np.random.default_rng(0)
    def rows(n, first):
        ts, us = list(first[0]), list(first[1])
        for _ in range(n - len(ts)):
            k = int(rng.integers(1, 30))
            ts.append(np.sort(rng.uniform(0, 0.095, k)))
            us.append(rng.integers(0, 700, k))
        return ts, us
    t, u = rows(n_train, ([T0, T1], [U0, U1]))
    write_shd(tmp_path / "shd_train.h5", t, u, np.arange(n_train) % 4, np.arange(n_train) // 2 % n_speakers,
              time_dtype)
    t, u = rows(n_test, ([T1], [U1]))
    write_shd(tmp_path / "shd_test.h5", t, u, np.arange(n_test) % 4, np.full(n_test, 7), time_dtype)
    return tmp_path


def _load(d, **cfg):
    return make_dataset({"kind": "shd", "path": str(d), "n_steps": 10, **cfg}, 0)


def test_binning_and_counts_against_hand_computed_raster(tmp_path):
    d = _dir(tmp_path)
    test = _load(d)["test"]
    assert (test.n_steps, test.n_units, test.n_classes, test.dtype) == (10, 700, 4, np.dtype(np.uint8))
    r = test.subset(0).raster[0]  # the official test file, in order: sample 0 is T1/U1
    expect = np.zeros((10, 700), np.uint8)
    expect[0, 350] = 1  # 5.5 ms
    expect[4, 351] = 1  # 42.1 ms
    np.testing.assert_array_equal(r, expect)

    from bioevo.data.shd import bin_spikes

    store = bin_spikes(np.array(T0 + T1), np.array(U0 + U1), np.array([6, 2]), 10, 10.0, 700)
    expect = np.zeros((2, 10, 700), np.uint8)
    expect[0, 0, 3] = 2
    expect[0, 1, 699] = expect[0, 1, 698] = expect[0, 9, 0] = 1
    expect[1, 0, 350] = expect[1, 4, 351] = 1
    np.testing.assert_array_equal(store.dense(), expect)
    # 5 ms bins: 1.2 / 3.4 ms -> bin 0, 15.0 / 15.1 ms -> bin 3, 99.5 ms -> bin 19 (cut at 10 bins)
    fine = bin_spikes(np.array(T0), np.array(U0), np.array([6]), 10, 5.0, 700).dense()[0]
    assert fine[0, 3] == 2 and fine[3, 699] == 1 and fine[3, 698] == 1 and fine.sum() == 4


def test_channel_pooling_against_hand_computed_groups():
    from bioevo.data.shd import bin_spikes

    # 7 channels: group = u * 7 // 700 = u // 100; 3 -> 0, 699 / 698 -> 6, 0 -> 0
    r = bin_spikes(np.array(T0), np.array(U0), np.array([6]), 10, 10.0, 7).dense()[0]
    expect = np.zeros((10, 7), np.uint8)
    expect[0, 0], expect[1, 6], expect[9, 0] = 2, 2, 1
    np.testing.assert_array_equal(r, expect)
    # 128 channels: 699 * 128 // 700 = 127, 698 -> 127, 350 -> 64, 351 -> 64, 5 -> 0
    r = bin_spikes(np.array(T0 + T1), np.array(U0 + U1), np.array([6, 2]), 10, 10.0, 128).dense()
    assert r[0, 1, 127] == 2 and r[0, 0, 0] == 2 and r[1, 0, 64] == 1 and r[1, 4, 64] == 1
    assert r.sum() == 8 - 1  # all spikes but the one at 2 s
    # every group covers 5 or 6 neighbouring channels
    sizes = np.bincount(np.arange(700) * 128 // 700)
    assert set(sizes.tolist()) == {5, 6} and len(sizes) == 128


def test_loader_pools_like_bin_spikes_and_float16_times_load(tmp_path):
    d = _dir(tmp_path, time_dtype="float16")  # the official files store float16 times
    sets = _load(d, channels=128)
    assert all(v.n_units == 128 and v.dtype == np.dtype(np.uint8) for v in sets.values())
    r = sets["test"].subset(0).raster[0]
    assert r[0, 64] == 1 and r[4, 64] == 1 and r.sum() == 2


def test_speaker_split_disjoint_covering_and_seeded(tmp_path):
    d = _dir(tmp_path, n_train=60, n_speakers=6)
    speakers = np.arange(60) // 2 % 6
    vals = []
    for seed in range(4):
        sets = make_dataset({"kind": "shd", "path": str(d), "n_steps": 10, "seed": seed}, 123)
        assert len(sets["train"]) + len(sets["val"]) == 60 and len(sets["val"]) == 10  # 1 of 6 speakers
        # identify samples by their spike rasters: each random sample is distinct
        train_keys = {s.tobytes() for s in sets["train"].raster}
        val_keys = {s.tobytes() for s in sets["val"].raster}
        assert not train_keys & val_keys
        vals.append(val_keys)
    again = make_dataset({"kind": "shd", "path": str(d), "n_steps": 10, "seed": 0}, 7)
    assert {s.tobytes() for s in again["val"].raster} == vals[0]
    assert len({frozenset(v) for v in vals}) > 1  # another seed holds out another speaker
    # the held-out samples are exactly one speaker's recordings
    from bioevo.data.splits import speaker_holdout

    train, val = speaker_holdout(speakers, 1, 0)
    assert len(np.unique(speakers[val])) == 1 and not set(speakers[val]) & set(speakers[train])


def test_limit_stratified(tmp_path):
    d = _dir(tmp_path, n_train=80, n_test=40)
    sets = _load(d, limit=8)
    assert [len(v) for v in sets.values()] == [8, 8, 8]
    assert np.bincount(sets["test"].labels).tolist() == [2, 2, 2, 2]
    with pytest.raises(DataError, match=re.escape("data.limit (41) is larger than the val split (16 samples)")):
        _load(d, limit=41)


def test_input_figure(tmp_path):
    sets = _load(_dir(tmp_path), channels=64)
    paths = DATA_KINDS["shd"].plot(sets["test"], tmp_path / "run")
    assert [p.name for p in paths] == ["input_raster.png"] and paths[0].stat().st_size > 5000


# ---------------------------------------------------------------- bad input


def _error(d, **cfg) -> str:
    with pytest.raises(DataError) as err:
        _load(d, **cfg)
    msg = str(err.value)
    assert "\n" not in msg
    return msg


def test_missing_files_name_them_and_the_source(tmp_path):
    msg = _error(tmp_path / "absent")
    assert "does not exist" in msg and SHD_URL in msg and all(f in msg for f in SHD_FILES)
    msg = _error(tmp_path)
    assert "none of the expected files shd_train.h5 and shd_test.h5" in msg and SHD_URL in msg
    _dir(tmp_path)
    (tmp_path / "shd_test.h5").rename(tmp_path / "shd_test.h5.gz")
    assert "holds shd_test.h5.gz: decompress it first" in _error(tmp_path)
    (tmp_path / "shd_test.h5.gz").unlink()
    assert "not shd_test.h5 of the expected files" in _error(tmp_path)


def test_not_an_hdf5_file(tmp_path):
    _dir(tmp_path)
    (tmp_path / "shd_train.h5").write_bytes(b"\x00garbage" * 10)
    msg = _error(tmp_path)
    assert msg.startswith(f"{tmp_path / 'shd_train.h5'}: cannot read it as an SHD HDF5 file")


@pytest.mark.parametrize("key", ["spikes/times", "spikes/units", "labels", "extra/speaker"])
def test_missing_key(tmp_path, key):
    write_shd(tmp_path / "shd_train.h5", [T0], [U0], [0], [0], drop=(key,))
    write_shd(tmp_path / "shd_test.h5", [T0], [U0], [0], [0])
    assert f"shd_train.h5: missing the dataset '{key}'" in _error(tmp_path)


@pytest.mark.parametrize("times, units, text", [
    ([[0.01, 0.02]], [[3, 700]], "unit ids must lie in 0..699 (the 700 cochlea channels), sample 1 has 700"),
    ([[0.01, -0.002]], [[3, 4]], "spike times must be finite and >= 0 (seconds), sample 1 has -0.002"),
    ([[0.01, np.nan]], [[3, 4]], "spike times must be finite and >= 0 (seconds), sample 1 has nan"),
    ([[0.01, np.inf]], [[3, 4]], "spike times must be finite and >= 0 (seconds), sample 1 has inf"),
    ([[0.01, 0.02]], [[3]], "sample 1 has 2 spike times but 1 unit ids"),
])
def test_bad_spikes(tmp_path, times, units, text):
    write_shd(tmp_path / "shd_train.h5", [T0] + times, [U0] + units, [0, 1], [0, 1])
    write_shd(tmp_path / "shd_test.h5", [T0], [U0], [0], [0])
    msg = _error(tmp_path)
    assert msg.startswith(str(tmp_path / "shd_train.h5")) and text in msg


def test_window_that_cuts_every_spike(tmp_path):
    write_shd(tmp_path / "shd_train.h5", [[0.5, 0.6], [0.7]], [[1, 2], [3]], [0, 1], [0, 1])
    write_shd(tmp_path / "shd_test.h5", [T0], [U0], [0], [0])
    msg = _error(tmp_path, n_steps=10, bin_ms=10.0)
    assert msg.startswith("data.n_steps x data.bin_ms = 10 x 10 ms ends before the first spike of")
    assert "(at 500.000 ms): every spike is cut" in msg


def test_count_overflow(tmp_path):
    many = np.full(300, 0.001)
    write_shd(tmp_path / "shd_train.h5", [many, T0], [np.zeros(300), U0], [0, 1], [0, 1])
    write_shd(tmp_path / "shd_test.h5", [T0], [U0], [0], [0])
    assert "a bin holds 300 spikes of one channel, more than a uint8 count (255)" in _error(tmp_path)


def test_mismatched_lengths(tmp_path):
    write_shd(tmp_path / "shd_train.h5", [T0, T1], [U0, U1], [0, 1, 1], [0, 1])
    write_shd(tmp_path / "shd_test.h5", [T0], [U0], [0], [0])
    assert "datasets must have one entry per sample" in _error(tmp_path)


@pytest.mark.parametrize("cfg, text", [
    ({"channels": 0}, "data.channels must be an integer in 1..700"),
    ({"channels": 701}, "data.channels must be an integer in 1..700"),
    ({"bin_ms": 0.0}, "data.bin_ms must be a finite number in (0, inf)"),
    ({"n_steps": 0}, "data.n_steps must be an integer >= 1"),
    ({"val_speakers": 5}, "data.val_speakers must be an integer in 1..4"),
    ({"val_speakers": 0}, "data.val_speakers must be an integer >= 1"),
    ({"limit": -3}, "data.limit must be an integer >= 0"),
    ({"seed": -1}, "data.seed must be an integer in 0..4294967295"),
])
def test_bad_keys(tmp_path, cfg, text):
    d = _dir(tmp_path)
    assert text in _error(d, **cfg)
