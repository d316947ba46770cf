"""Latency code, IDX files, the digits and MNIST loaders and their bad input."""
from __future__ import annotations

import gzip
import re
import struct

import numpy as np
import pytest

from bioevo.data import DataError, make_dataset
from bioevo.data.idx import read_idx, write_idx
from bioevo.data.images import MNIST_FILES, digits_split
from bioevo.data.latency import SILENT, latency_decode, latency_encode, latency_steps

# ---------------------------------------------------------------- latency code


def test_latency_steps_hand_computed_digits_scale():
    # step = floor(T (16 - I) / 16), T = 10: 16 -> 0, 8 -> 5, 1 -> floor(9.375) = 9, 15 -> floor(0.625) = 0,
    # 4 -> floor(7.5) = 7, 0 -> silent
    img = np.array([[16, 0, 8, 1, 15, 4]])
    assert latency_steps(img, 16, 10).tolist() == [[0, SILENT, 5, 9, 0, 7]]


def test_latency_steps_hand_computed_mnist_scale_and_threshold():
    # T = 100, I_max = 255: 128 -> floor(100 * 127 / 255) = floor(49.80) = 49; 1 -> floor(99.61) = 99;
    # 10 -> floor(96.08) = 96, 11 -> floor(95.69) = 95; with threshold 10 the 1 and the 10 stay silent
    img = np.array([[255, 128, 1, 0, 10, 11]])
    assert latency_steps(img, 255, 100).tolist() == [[0, 49, 99, SILENT, 96, 95]]
    assert latency_steps(img, 255, 100, threshold=10).tolist() == [[0, 49, SILENT, SILENT, SILENT, 95]]


def test_latency_encode_raster_one_spike_per_firing_pixel():
    img = np.array([[16, 0, 8, 1], [0, 0, 0, 0], [2, 16, 16, 9]])
    r = latency_encode(img, 16, 10).dense()
    assert r.shape == (3, 10, 4) and r.dtype == bool
    expect = np.zeros((3, 10, 4), dtype=bool)
    for i, j, step in [(0, 0, 0), (0, 2, 5), (0, 3, 9), (2, 0, 8), (2, 1, 0), (2, 2, 0), (2, 3, 4)]:
        expect[i, step, j] = True  # 2 -> floor(8.75) = 8, 9 -> floor(4.375) = 4
    np.testing.assert_array_equal(r, expect)


def test_latency_decode_lossless_on_step_boundaries_and_close_otherwise():
    levels = np.arange(17)[None, :]  # every digits grey level at 16 steps has its own step
    r = latency_encode(levels, 16, 16).dense()
    np.testing.assert_array_equal(latency_decode(r, 16), levels)
    img = np.random.default_rng(0).integers(0, 256, (5, 50))
    dec = latency_decode(latency_encode(img, 255, 100).dense(), 255)
    assert np.all(dec >= img - 1e-9) and np.all(dec - img < 255 / 100)  # the brightest value of its step


# ---------------------------------------------------------------- IDX files


@pytest.mark.parametrize("name", ["a-idx3-ubyte", "a-idx3-ubyte.gz"])
@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
def test_idx_round_trip(tmp_path, name, dtype):
    a = (np.arange(60).reshape(3, 4, 5) - 7).astype(dtype)
    back = read_idx(write_idx(tmp_path / name, a))
    assert back.dtype == np.dtype(dtype) and back.shape == a.shape
    np.testing.assert_array_equal(back, a)


def test_idx_header_bytes_hand_checked(tmp_path):
    p = write_idx(tmp_path / "x", np.zeros((2, 3, 1), np.uint8))
    raw = p.read_bytes()
    assert raw[:4] == bytes([0, 0, 8, 3]) and struct.unpack(">3I", raw[4:16]) == (2, 3, 1) and len(raw) == 22
    p = write_idx(tmp_path / "y.gz", np.array([1, 2], dtype=np.int32))
    assert gzip.decompress(p.read_bytes()) == bytes([0, 0, 0x0C, 1, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2])


def _bad(tmp_path, content: bytes, name="f") -> str:
    p = tmp_path / name
    p.write_bytes(content)
    with pytest.raises(DataError) as err:
        read_idx(p)
    assert "\n" not in str(err.value) and str(p) in str(err.value)
    return str(err.value)


def test_idx_bad_files(tmp_path):
    good = write_idx(tmp_path / "good", np.ones((2, 2, 2), np.uint8)).read_bytes()
    assert "wrong magic number 0x00010803" in _bad(tmp_path, b"\x00\x01" + good[2:])
    assert "wrong magic number" in _bad(tmp_path, b"\x00\x00\x07\x03" + good[4:])
    assert "truncated" in _bad(tmp_path, good[:-1])
    assert "truncated" in _bad(tmp_path, good[:9])
    assert "truncated" in _bad(tmp_path, good[:2])
    assert "longer than its header" in _bad(tmp_path, good + b"\x00")
    assert "cannot read" in _bad(tmp_path, b"not gzip at all", name="f.gz")
    assert "cannot read" in _bad(tmp_path, gzip.compress(good)[:-6], name="g.gz")  # cut gzip stream
    with pytest.raises(DataError, match="no such file"):
        read_idx(tmp_path / "absent")


# ---------------------------------------------------------------- digits


@pytest.fixture(scope="module")
def digits():
    return make_dataset({"kind": "digits"}, 0)


def test_digits_documented_sizes_and_stratified(digits):
    assert {k: len(v) for k, v in digits.items()} == {"train": 1257, "val": 180, "test": 360}
    for v in digits.values():
        assert (v.n_steps, v.n_units, v.n_classes, v.dtype) == (16, 64, 10, np.dtype(bool))
    assert np.bincount(digits["val"].labels).tolist() == [18] * 10
    assert np.abs(np.bincount(digits["test"].labels) - 36).max() <= 1


def test_digits_rasters_are_the_images_latency_coded(digits):
    from sklearn.datasets import load_digits

    images, labels = load_digits(return_X_y=True)
    idx = digits_split(labels, 180, 360, 0)
    for name, d in digits.items():
        np.testing.assert_array_equal(d.labels, labels[idx[name]])
        sub = d.subset(np.arange(20))
        np.testing.assert_array_equal(latency_decode(sub.raster, 16), images[idx[name][:20]])  # 16 steps: lossless


def test_digits_split_disjoint_stratified_reproducible():
    labels = np.repeat(np.arange(10), 180)
    a = digits_split(labels, 180, 360, 0)
    assert sorted(np.concatenate(list(a.values())).tolist()) == list(range(1800))  # disjoint, covering
    for name, size in (("val", 18), ("test", 36), ("train", 126)):
        assert np.bincount(labels[a[name]]).tolist() == [size] * 10
    b, c = digits_split(labels, 180, 360, 0), digits_split(labels, 180, 360, 1)
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert not np.array_equal(np.sort(a["test"]), np.sort(c["test"]))


def test_limit_is_stratified_seeded_and_falls_back_to_a_random_draw():
    from bioevo.data.splits import stratified_limit

    labels = np.repeat(np.arange(4), [40, 40, 10, 10])
    a = stratified_limit(labels, 20, 0, "train")
    assert len(set(a.tolist())) == 20 and np.bincount(labels[a]).tolist() == [8, 8, 2, 2]
    np.testing.assert_array_equal(stratified_limit(labels, 20, 0, "train"), a)
    assert set(stratified_limit(labels, 20, 1, "train").tolist()) != set(a.tolist())
    np.testing.assert_array_equal(stratified_limit(labels, 0, 0, "train"), np.arange(100))
    small = stratified_limit(labels, 3, 0, "train")  # fewer than the 4 classes: a seeded random draw
    assert len(set(small.tolist())) == 3 and np.array_equal(small, stratified_limit(labels, 3, 0, "train"))


@pytest.mark.parametrize("key, value, text", [
    ("test_size", 5, "data.test_size must be an integer in 10..1777"),
    ("val_size", 1500, "data.val_size must be an integer in 10..1427"),
    ("val_size", -1, "data.val_size"),
    ("threshold", 16.0, "data.threshold must be a finite number in [0, 16)"),
    ("n_steps", 0, "data.n_steps must be an integer in 1..32767"),
    ("seed", -1, "data.seed"),
])
def test_digits_bad_keys(key, value, text):
    with pytest.raises(DataError, match=re.escape(text)):
        make_dataset({"kind": "digits", key: value}, 0)


# ---------------------------------------------------------------- MNIST on small files of the real layout

N_TRAIN, N_TEST = 300, 60


def _images(n: int, offset: int) -> tuple[np.ndarray, np.ndarray]:
    """Images whose pixels 0 and 1 spell their id (1..255 each), labels cycling 0..9."""
    rng = np.random.default_rng(offset)
    x = rng.integers(0, 256, (n, 28, 28)).astype(np.uint8)
    ids = np.arange(n) + offset
    x[:, 0, 0], x[:, 0, 1] = ids % 255 + 1, ids // 255 + 1
    return x, (np.arange(n) % 10).astype(np.uint8)


def _write_mnist(d, gz=(False, True, False, True)):
    d.mkdir(parents=True, exist_ok=True)
    (xtr, ytr), (xte, yte) = _images(N_TRAIN, 0), _images(N_TEST, 10_000)
    for name, arr, z in zip(MNIST_FILES, (xtr, ytr, xte, yte), gz):
        write_idx(d / (name + (".gz" if z else "")), arr)
    return xtr, ytr, xte, yte


@pytest.fixture(scope="module")
def mnist_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("mnist")
    return d, _write_mnist(d)


def _ids(data) -> np.ndarray:
    """Image ids read back from the lossless 255-step code (I = 255 - step)."""
    img = latency_decode(data.raster, 255)
    return (np.rint(img[:, 0]).astype(int) - 1) + 255 * (np.rint(img[:, 1]).astype(int) - 1)


def test_mnist_splits_disjoint_stratified_and_seeded(mnist_dir):
    d, (xtr, ytr, xte, yte) = mnist_dir
    cfg = {"kind": "mnist", "path": str(d), "n_steps": 255, "val_size": 50}
    a, b, c = make_dataset(cfg, 0), make_dataset(cfg, 99), make_dataset({**cfg, "seed": 1}, 0)
    assert {k: len(v) for k, v in a.items()} == {"train": 250, "val": 50, "test": 60}
    ids = {k: _ids(v) for k, v in a.items()}
    assert sorted(np.concatenate([ids["train"], ids["val"]]).tolist()) == list(range(N_TRAIN))
    np.testing.assert_array_equal(ids["test"], np.arange(N_TEST) + 10_000)  # the official test file, in order
    np.testing.assert_array_equal(a["train"].labels, ytr[ids["train"]])
    assert np.bincount(a["val"].labels).tolist() == [5] * 10
    for k in a:  # the run seed does not matter, data.seed does
        np.testing.assert_array_equal(_ids(b[k]), ids[k])
    assert set(_ids(c["val"])) != set(ids["val"])
    np.testing.assert_array_equal(a["test"].raster, latency_encode(xte.reshape(N_TEST, -1), 255, 255).dense())


def test_mnist_limit_and_pool(mnist_dir):
    d, (xtr, ytr, xte, yte) = mnist_dir
    a = make_dataset({"kind": "mnist", "path": str(d), "val_size": 50, "limit": 20, "pool": 2, "n_steps": 40}, 0)
    assert {k: len(v) for k, v in a.items()} == {"train": 20, "val": 20, "test": 20}
    assert all(np.bincount(v.labels).tolist() == [2] * 10 for v in a.values())  # stratified
    assert a["test"].n_units == 196
    full = make_dataset({"kind": "mnist", "path": str(d), "val_size": 50, "pool": 2, "n_steps": 40}, 0)["test"]
    # hand-made 2x2 means of every test image's blocks (0, 0) and (13, 13) and their latency steps
    for unit, (r, c) in ((0, (0, 0)), (195, (26, 26))):
        mean = xte[:, r:r + 2, c:c + 2].reshape(N_TEST, 4).astype(float).mean(axis=1)
        expect = np.where(mean > 0, np.floor(40 * (255 - mean) / 255), -1)
        spikes = full.raster[:, :, unit]
        assert (spikes.sum(axis=1) <= 1).all()
        np.testing.assert_array_equal(np.where(spikes.any(axis=1), spikes.argmax(axis=1), -1), expect)


def test_mnist_memory_is_compressed(mnist_dir):
    d, _ = mnist_dir
    a = make_dataset({"kind": "mnist", "path": str(d), "val_size": 50}, 0)["train"]
    dense = len(a) * a.n_steps * a.n_units
    assert a.is_sparse and a.nbytes < dense / 20
    assert a.subset(np.arange(7)).raster.shape == (7, 100, 784)


def _mnist_error(cfg: dict) -> str:
    with pytest.raises(DataError) as err:
        make_dataset({"kind": "mnist", **cfg}, 0)
    msg = str(err.value)
    assert "\n" not in msg
    return msg


def test_mnist_missing_files_name_them_and_the_source(tmp_path, monkeypatch):
    msg = _mnist_error({"path": str(tmp_path / "nowhere")})
    assert "does not exist" in msg and "http://yann.lecun.com/exdb/mnist/" in msg
    assert all(name in msg for name in MNIST_FILES)
    msg = _mnist_error({"path": str(tmp_path)})
    assert "none of the expected files" in msg and all(name in msg for name in MNIST_FILES)
    _write_mnist(tmp_path / "part")
    (tmp_path / "part" / "t10k-labels-idx1-ubyte.gz").unlink()
    assert "not t10k-labels-idx1-ubyte of the expected" in _mnist_error({"path": str(tmp_path / "part")})
    (tmp_path / "file").write_text("x")
    assert "is not a directory" in _mnist_error({"path": str(tmp_path / "file")})
    monkeypatch.setenv("BIOEVO_DATA", str(tmp_path / "root"))
    assert str(tmp_path / "root" / "mnist") in _mnist_error({})


def test_mnist_bad_files(tmp_path):
    d = tmp_path / "m"
    _write_mnist(d, gz=(False,) * 4)
    lab = d / "train-labels-idx1-ubyte"
    good = lab.read_bytes()
    lab.write_bytes(good[:-10])
    assert "truncated" in _mnist_error({"path": str(d)}) and str(lab) in _mnist_error({"path": str(d)})
    write_idx(lab, np.zeros(N_TRAIN - 1, np.uint8))
    msg = _mnist_error({"path": str(d)})
    assert f"holds {N_TRAIN} images but" in msg and f"holds {N_TRAIN - 1} labels" in msg
    write_idx(lab, np.zeros((N_TRAIN, 2), np.uint8))
    msg = _mnist_error({"path": str(d)})
    assert "expected labels as a 1-D unsigned-byte IDX array (magic 0x00000801), got 2-D" in msg
    lab.write_bytes(b"\x12\x34\x08\x01" + good[4:])
    assert "wrong magic number 0x12340801" in _mnist_error({"path": str(d)})
    write_idx(lab, np.zeros(N_TRAIN, np.int32))
    assert "expected labels as a 1-D unsigned-byte IDX array" in _mnist_error({"path": str(d)})


@pytest.mark.parametrize("cfg, text", [
    ({"pool": 3}, "data.pool (3) must divide the image size 28x28: one of 1, 2, 4, 7, 14, 28"),
    ({"pool": 0}, "data.pool must be an integer >= 1"),
    ({"limit": 61}, "data.limit (61) is larger than the val split (50 samples); use 0 (all) or at most 50"),
    ({"limit": -1}, "data.limit must be an integer >= 0"),
    ({"val_size": 295}, "data.val_size must be an integer in 10..290"),
    ({"val_size": 0}, "data.val_size must be an integer >= 1"),
    ({"threshold": -0.5}, "data.threshold must be a finite number in [0, 255)"),
    ({"n_steps": 40000}, "data.n_steps must be an integer in 1..32767"),
    ({"seed": 2**32}, "data.seed must be an integer in 0..4294967295"),
])
def test_mnist_bad_keys(mnist_dir, cfg, text):
    d, _ = mnist_dir
    with pytest.raises(DataError, match=re.escape(text)):
        make_dataset({"kind": "mnist", "path": str(d), "val_size": 50, **cfg}, 0)


def test_mnist_limit_larger_than_the_test_file(mnist_dir):
    d, _ = mnist_dir
    msg = _mnist_error({"path": str(d), "val_size": 100, "limit": 61})
    assert msg == "data.limit (61) is larger than the test split (60 samples); use 0 (all) or at most 60"
