"""Reliability, round 3 (issue 32): labels checked against the data, no waits without a limit,
no dead-end run directories, file-system errors as one line, sizes checked before allocation."""
from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

from bioevo.data import DataError, make_dataset
from bioevo.data.idx import write_idx
from bioevo.data.images import MNIST_FILES

from test_data_shd import _dir as shd_dir
from test_reliability import _bad_model

ROOT = Path(__file__).resolve().parent.parent
# the default cpp backend: the same compiled project as test_reliability.TINY
TINY = ["--backend", "cpp", "--quiet", "--set", "data.split=[32, 8, 8]", "--set", "evolve.batch_size=16",
        "--set", "model.hidden=6", "--set", "strategy.es.popsize=4", "--set", "evolve.eval_every=1"]


def cli(module: str, *args: str, timeout: float = 300, **kw) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), **kw.pop("env", {})}
    return subprocess.run([sys.executable, "-m", module, *args], cwd=kw.pop("cwd", ROOT), capture_output=True,
                          text=True, timeout=timeout, env=env, **kw)


def one_line(res: subprocess.CompletedProcess, status: int, fragment: str) -> str:
    lines = res.stderr.strip().splitlines()
    assert res.returncode == status, res.stderr
    assert len(lines) == 1 and fragment in lines[0] and "Traceback" not in res.stderr, res.stderr
    return lines[0]


# ------------------------------------------------------------------ 1. labels checked against the data
def _relabel(path: Path, labels: np.ndarray) -> None:
    with h5py.File(path, "a") as f:
        del f["labels"]
        f["labels"] = labels


def _shd(tmp_path: Path, train=None, test=None) -> Path:
    d = shd_dir(tmp_path)
    if train is not None:
        _relabel(d / "shd_train.h5", train)
    if test is not None:
        _relabel(d / "shd_test.h5", test)
    return d


def _shd_error(d: Path, **cfg) -> str:
    with pytest.raises(DataError) as err:
        make_dataset({"kind": "shd", "path": str(d), "n_steps": 10, **cfg}, 0)
    assert "\n" not in str(err.value)
    return str(err.value)


def test_shd_all_labels_zero_is_refused(tmp_path):
    assert "at least 2 classes" in _shd_error(_shd(tmp_path, train=np.zeros(40, np.uint8),
                                                   test=np.zeros(20, np.uint8)))


def test_shd_test_label_of_a_million_is_refused_before_anything_is_sized(tmp_path):
    test = np.arange(20) % 4
    test[3] = 1_000_000
    msg = _shd_error(_shd(tmp_path, test=test.astype(np.uint32)))
    assert "shd_test.h5: label 1000000 (sample 3)" in msg and "no run can learn it" in msg


@pytest.mark.parametrize("value", [2**63, 2**64 - 1])
def test_shd_uint64_label_is_refused(tmp_path, value):
    train = (np.arange(40) % 4).astype(np.uint64)
    train[5] = value
    assert f"label {value} (sample 5) is not a class" in _shd_error(_shd(tmp_path, train=train))


def test_shd_float_and_negative_labels(tmp_path):
    assert "labels must be integers" in _shd_error(_shd(tmp_path, train=np.arange(40) % 4 + 0.5))


def test_shd_class_only_in_test_is_refused(tmp_path):
    test = (np.arange(20) % 5).astype(np.uint8)  # class 4: no training sample
    assert "label 4 (sample 4) is a class that" in _shd_error(_shd(tmp_path, test=test))


def test_shd_gap_in_training_classes_is_refused(tmp_path):
    train = (np.arange(40) % 4).astype(np.uint8)
    train[train == 2] = 3  # classes 0, 1, 3
    assert "no training sample has class 2" in _shd_error(_shd(tmp_path, train=train, test=np.zeros(20, np.uint8)))


def test_shd_limit_that_drops_a_class_is_one_warning(tmp_path, capsys):
    make_dataset({"kind": "shd", "path": str(shd_dir(tmp_path)), "n_steps": 10, "limit": 3}, 0)
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("bioevo: warning: the training split has no sample of class"), err


def _mnist(d: Path, ytr: np.ndarray, yte: np.ndarray) -> Path:
    d.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for name, arr in zip(MNIST_FILES, (rng.integers(0, 256, (len(ytr), 4, 4)).astype(np.uint8), ytr,
                                       rng.integers(0, 256, (len(yte), 4, 4)).astype(np.uint8), yte)):
        write_idx(d / name, np.asarray(arr, dtype=np.uint8))
    return d


def _mnist_error(d: Path) -> str:
    with pytest.raises(DataError) as err:
        make_dataset({"kind": "mnist", "path": str(d), "n_steps": 10, "val_size": 20}, 0)
    return str(err.value)


def test_mnist_label_200_is_blamed_on_the_label_file_not_val_size(tmp_path):
    ytr = np.arange(100) % 10
    ytr[7] = 200
    msg = _mnist_error(_mnist(tmp_path, ytr, np.arange(30) % 10))
    assert "train-labels-idx1-ubyte: label 200 (sample 7)" in msg and "val_size" not in msg


def test_mnist_class_only_in_test_and_single_training_class(tmp_path):
    assert "is a class that" in _mnist_error(_mnist(tmp_path / "a", np.arange(100) % 9, np.arange(30) % 10))
    assert "at least 2 classes" in _mnist_error(_mnist(tmp_path / "b", np.full(100, 3), np.full(30, 3)))


@pytest.mark.slow
def test_shd_all_zero_labels_on_the_command_line_is_exit_2_and_creates_nothing(tmp_path):
    (tmp_path / "data").mkdir()
    d = _shd(tmp_path / "data", train=np.zeros(40, np.uint8), test=np.zeros(20, np.uint8))
    res = cli("bioevo.tasks.train", "--preset", "shd", "--backend", "runtime", "--quiet", "--out",
              str(tmp_path / "run"), "--set", f'data.path="{d}"', "--set", "data.n_steps=10")
    one_line(res, 2, "at least 2 classes")
    assert not (tmp_path / "run").exists()


# ------------------------------------------------------------------ 2. nothing waits without a limit
def test_seed_ranges_are_linear_and_limited():
    import time

    from bioevo.report.seeds import MAX_SEEDS, parse_seeds

    t = time.perf_counter()
    with pytest.raises(ValueError, match=f"more than {MAX_SEEDS} seeds"):
        parse_seeds("0-99999999")
    with pytest.raises(ValueError, match="more than"):
        parse_seeds(",".join(f"{k}-{k}" for k in range(0, 5000)))
    assert len(parse_seeds(f"0-{MAX_SEEDS - 1}")) == MAX_SEEDS
    with pytest.raises(ValueError, match="listed twice"):
        parse_seeds("0-500,3")
    with pytest.raises(ValueError, match="too large"):
        parse_seeds("4294967296")
    assert time.perf_counter() - t < 2.0


def test_compare_huge_seed_range_is_one_line_at_once(tmp_path):
    res = cli("bioevo.tasks.compare", "--preset", "randman-2", "--strategies", "es", "--seeds", "0-99999999",
              "--out", str(tmp_path / "x"), timeout=60)
    one_line(res, 2, "more than 1000 seeds")
    assert not (tmp_path / "x").exists()


@pytest.mark.slow
def test_an_address_that_answers_but_is_not_a_scheduler_fails_within_the_timeout(monkeypatch):
    import socket
    import time

    pytest.importorskip("distributed")
    from bioevo.cluster import connect
    from bioevo.config import ConfigError

    monkeypatch.setattr(connect, "CONNECT_TIMEOUT_S", 2.0)
    with socket.socket() as server:  # the kernel completes the TCP handshake; nobody ever replies
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        address = f"tcp://127.0.0.1:{server.getsockname()[1]}"
        t = time.perf_counter()
        with pytest.raises(ConfigError, match="something answers there but is not a Dask scheduler"):
            with connect.cluster_client(None, address):
                pass
        assert time.perf_counter() - t < 15


@pytest.mark.slow
def test_a_web_server_given_as_scheduler_is_one_line(tmp_path, monkeypatch, capsys):
    import socket

    pytest.importorskip("distributed")
    from bioevo.cluster import connect
    from bioevo.tasks.train import main

    monkeypatch.setattr(connect, "CONNECT_TIMEOUT_S", 2.0)  # in-process: no 10 s wait for the handshake
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    web = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"], cwd=tmp_path,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        import time
        for _ in range(50):  # until it listens
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.1)
        with pytest.raises(SystemExit) as err:
            main([*TINY, "--preset", "randman-2", "--out", str(tmp_path / "run"), "--scheduler",
                  f"tcp://127.0.0.1:{port}"])
        lines = capsys.readouterr().err.strip().splitlines()
        assert err.value.code == 2 and len(lines) == 1 and "is not a Dask scheduler" in lines[0], lines
        assert not (tmp_path / "run").exists()
    finally:
        web.terminate()
        web.wait(10)


# ------------------------------------------------------------------ 3. no dead-end run directories
KILL_FIRST_BATCH = """
import os, signal, sys
import bioevo.scoring as scoring
real = scoring.Scorer.batch
def batch(self, *a, **k):
    os.kill(os.getpid(), signal.SIGKILL)  # before the first checkpoint, as kill -9 would
scoring.Scorer.batch = batch
from bioevo.tasks.train import main
main(sys.argv[1:])
"""
SHORT = [*TINY, "--preset", "randman-2", "--set", "evolve.generations=2"]


@pytest.mark.slow
def test_a_run_killed_before_its_first_checkpoint_can_be_started_again_with_the_same_out(tmp_path):
    out = tmp_path / "run"
    res = subprocess.run([sys.executable, "-c", KILL_FIRST_BATCH, *SHORT, "--out", str(out)], cwd=ROOT,
                         capture_output=True, text=True, timeout=300, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert res.returncode == -9, res.stderr
    assert sorted(p.name for p in out.iterdir()) == [".lock", "config.toml", "metrics.csv"]
    one_line(cli("bioevo.tasks.train", "--resume", str(out)), 2, "start it again with the same --out")
    again = cli("bioevo.tasks.train", *SHORT, "--out", str(out))
    assert again.returncode == 0, again.stderr
    fresh = cli("bioevo.tasks.train", *SHORT, "--out", str(tmp_path / "fresh"))
    assert fresh.returncode == 0, fresh.stderr
    with h5py.File(out / "best_genome.h5") as a, h5py.File(tmp_path / "fresh" / "best_genome.h5") as b:
        np.testing.assert_array_equal(a["genome"][()], b["genome"][()])
    assert json.loads((out / "summary.json").read_text())["test"] == \
        json.loads((tmp_path / "fresh" / "summary.json").read_text())["test"]


@pytest.mark.slow
def test_a_live_start_and_a_folder_with_other_files_are_not_taken_over(tmp_path):
    from bioevo.rundir import RunLock

    out = tmp_path / "run"
    out.mkdir()
    (out / "config.toml").write_text("[run]\n")
    (out / "metrics.csv").write_text("gen\n")
    with RunLock(out):  # a run that is still starting
        one_line(cli("bioevo.tasks.train", *SHORT, "--out", str(out)), 2, "is in use by process")
    assert sorted(p.name for p in out.iterdir()) == [".lock", "config.toml", "metrics.csv"]
    (out / "notes.txt").write_text("mine")
    one_line(cli("bioevo.tasks.train", *SHORT, "--out", str(out)), 2, "already exists and is not empty")
    assert (out / "notes.txt").read_text() == "mine" and (out / "config.toml").read_text() == "[run]\n"


# ------------------------------------------------------------------ 7. Brian2's own warnings do not leak


@pytest.mark.parametrize("old, new, fragment", [("(I + I_app)", "(I + I_app + foo)", "could not be resolved"),
                                                ("count_pre", "cnt_pre", "cnt_pre")])
@pytest.mark.slow
def test_a_model_brian2_cannot_build_is_one_line_without_brian2_warnings(tmp_path, old, new, fragment):
    model = _bad_model(tmp_path, old, new)
    one_line(cli("bioevo.tasks.train", *SHORT, "--out", str(tmp_path / "run"), "--set", f'model.name="{model}"'),
             2, fragment)
    assert not (tmp_path / "run").exists()


# ------------------------------------------------------------------ 4. file-system errors are one line
@pytest.mark.slow
def test_an_out_name_too_long_for_the_file_system(tmp_path):
    out = tmp_path / ("x" * 300)
    one_line(cli("bioevo.tasks.train", *SHORT, "--out", str(out)), 2, "File name too long")
    (tmp_path / "f").write_text("")
    one_line(cli("bioevo.tasks.train", *SHORT, "--out", str(tmp_path / "f" / "run")), 2, "Not a directory")


# Opening anything for writing in bioevo.rundir fails as on a read-only mount (root ignores chmod: simulated).
READ_ONLY = """
import builtins, errno, os, sys
import bioevo.rundir as rundir
def fake(file, mode="r", *a, **k):
    if any(c in mode for c in "wax+"):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(file))
    return builtins.open(file, mode, *a, **k)
rundir.open = fake
from bioevo.tasks.train import main
main(sys.argv[1:])
"""


def read_only_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", READ_ONLY, *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=300, env={**os.environ, "PYTHONPATH": str(ROOT)})


@pytest.mark.slow
def test_a_read_only_out_folder_and_resume_on_a_read_only_file_system(tmp_path):
    (tmp_path / "ro").mkdir()
    one_line(read_only_cli(*SHORT, "--out", str(tmp_path / "ro")), 2, "Read-only file system")
    assert not any((tmp_path / "ro").iterdir())
    run = tmp_path / "killed"  # what --resume touches first: config.toml, then the lock
    run.mkdir()
    (run / "config.toml").write_text("[run]\n")
    one_line(read_only_cli("--resume", str(run)), 2, "cannot write in run directory")
    assert sorted(p.name for p in run.iterdir()) == ["config.toml"]


@pytest.mark.slow
def test_bioevo_cache_at_a_file_or_a_read_only_place(tmp_path, monkeypatch):
    (tmp_path / "file").write_text("")
    res = cli("bioevo.tasks.train", *SHORT, "--backend", "cpp", "--out", str(tmp_path / "run"),
              env={"BIOEVO_CACHE": str(tmp_path / "file")})
    one_line(res, 2, f"BIOEVO_CACHE={tmp_path / 'file'}: cannot write there")
    assert not (tmp_path / "run").exists()
    import tempfile

    from bioevo.assemble import check_cache
    from bioevo.config import ConfigError

    def read_only(*a, **k):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS))
    monkeypatch.setenv("BIOEVO_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(tempfile, "TemporaryFile", read_only)
    with pytest.raises(ConfigError, match="cache: cannot write there .Read-only file system"):
        check_cache()


# ------------------------------------------------------------------ 5. sizes checked before allocation
def test_an_idx_header_whose_dimensions_multiply_past_2_63(tmp_path):
    import struct

    from bioevo.data.idx import read_idx

    path = tmp_path / "huge"
    path.write_bytes(struct.pack(">HBB", 0, 0x08, 4) + struct.pack(">4I", *[2**32 - 1] * 4) + b"\0" * 16)
    with pytest.raises(DataError, match="truncated IDX file"):
        read_idx(path)


def test_mnist_images_of_0x0_pixels(tmp_path):
    for name, arr in zip(MNIST_FILES, (np.zeros((20, 0, 0)), np.arange(20) % 2, np.zeros((10, 0, 0)),
                                       np.arange(10) % 2)):
        write_idx(tmp_path / name, arr.astype(np.uint8))
    with pytest.raises(DataError, match="images of 0x0 pixels hold nothing"):
        make_dataset({"kind": "mnist", "path": str(tmp_path), "n_steps": 10, "val_size": 4}, 0)


# ------------------------------------------------------------------ 8. memory checked before anything is allocated
@pytest.mark.parametrize("args, fragment", [
    (["--strategy", "pso", "--set", "strategy.pso.popsize=1000000000"], "popsize 1000000000 needs about"),
    (["--set", "model.hidden=100000000"], "model.hidden=100000000 and popsize"),
    (["--set", "model.name=\"{hidden6}\"", "--set", "model.hidden=128"], "needs about"),
])
@pytest.mark.slow
def test_huge_sizes_are_refused_by_the_estimate_not_a_memory_error(tmp_path, args, fragment):
    model = _bad_model(tmp_path, 'size = "hidden"', 'size = "hidden ** 6"')
    args = [a.replace("{hidden6}", model) for a in args]
    res = cli("bioevo.tasks.train", *SHORT, "--out", str(tmp_path / "run"), *args, timeout=120,
              preexec_fn=lambda: __import__("resource").setrlimit(__import__("resource").RLIMIT_AS, (6 << 30, 6 << 30)))
    one_line(res, 2, fragment)
    assert not (tmp_path / "run").exists()


# ------------------------------------------------------------------ 9. right hints
DISK_FULL_AT_FIRST_CHECKPOINT = """
import errno, os, sys
import bioevo.evolve as evolve
from bioevo.errors import writing
def save(run_dir, *a, **k):
    with writing(run_dir / "checkpoint.h5"):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
evolve.save_checkpoint = save
from bioevo.tasks.train import main
main(sys.argv[1:])
"""


@pytest.mark.slow
def test_a_disk_full_before_the_first_checkpoint_does_not_promise_one(tmp_path):
    res = subprocess.run([sys.executable, "-c", DISK_FULL_AT_FIRST_CHECKPOINT, *SHORT, "--out", str(tmp_path / "run")],
                         cwd=ROOT, capture_output=True, text=True, timeout=300, env={**os.environ, "PYTHONPATH": str(ROOT)})
    line = one_line(res, 1, "no space left on device")
    assert "no checkpoint yet" in line and "--resume" not in line and "intact" not in line
    assert not (tmp_path / "run").exists()


def test_a_fifo_as_preset_or_as_an_mnist_file(tmp_path):
    os.mkfifo(tmp_path / "x.toml")
    one_line(cli("bioevo.tasks.train", "--preset", str(tmp_path / "x.toml"), "--out", str(tmp_path / "run"),
                 timeout=60), 2, "is not a regular file")
    d = tmp_path / "mnist"
    d.mkdir()
    for name in MNIST_FILES:
        os.mkfifo(d / name)
    with pytest.raises(DataError, match="is not a regular file"):
        make_dataset({"kind": "mnist", "path": str(d)}, 0)


# ------------------------------------------------------------------ 6. damaged study files
@pytest.mark.parametrize("spec", ["[1, 2]", '{"preset": 3}', '{"preset": "randman-2", "strategies": "es", '
                                  '"overrides": [], "threshold": 0.9, "seed": 0, "seeds": null}'])
def test_compare_resume_with_a_spec_of_the_wrong_shape(tmp_path, spec):
    (tmp_path / "compare_spec.json").write_text(spec)
    one_line(cli("bioevo.tasks.compare", "--resume", str(tmp_path), timeout=120), 2, "compare_spec.json' is damaged")
    assert [p.name for p in tmp_path.iterdir()] == ["compare_spec.json"]


@pytest.mark.slow
def test_clicks_rasters_larger_than_memory_are_refused_before_they_are_drawn(tmp_path):
    """A sibling of defect 8 that hostile3.py found: the clicks loader allocated first."""
    out = tmp_path / "run"
    res = cli("bioevo.tasks.train", "--preset", "lif-clicks", "--set", "data.split=[100000000, 1, 1]",
              "--out", str(out), timeout=120)
    one_line(res, 2, "the clicks rasters would take")
    assert not out.exists()


@pytest.mark.parametrize("instead", ["--strategies", "--dask"])
def test_bench_refuses_set_where_no_preset_is_timed(instead, capsys):
    """Found by hostile3.py: bench --strategies --set evolve.nope=1 ran the benchmark."""
    from bioevo.tasks.bench import main

    with pytest.raises(SystemExit) as err:
        main([instead, "--set", "evolve.nope=1"])
    lines = capsys.readouterr().err.strip().splitlines()
    assert err.value.code == 2 and len(lines) == 1 and "drop --set" in lines[0], lines


def test_bench_times_any_shipped_preset_and_names_them_when_one_is_unknown(capsys):
    """--presets takes every shipped training preset (ml-clicks among them), not only the default four."""
    from bioevo.config import presets
    from bioevo.tasks.bench import main

    with pytest.raises(SystemExit) as err:
        main(["--presets", "ml-clicks,nope"])
    lines = capsys.readouterr().err.strip().splitlines()
    assert err.value.code == 2 and len(lines) == 1, lines
    assert "unknown preset(s) nope; allowed: " in lines[0] and "ml-clicks" not in lines[0].split(";")[0]
    assert all(name in lines[0] for name in presets("training"))


def test_an_extreme_sigma_is_one_line_and_promises_no_checkpoint(tmp_path):
    """Found by hostile3.py (cr-fm-nes sigma 1e308): numpy's overflow warnings leaked through Brian2's
    logger (18 lines) and the error promised a checkpoint the first generation never wrote."""
    out = tmp_path / "run"
    res = cli("bioevo.tasks.train", "--backend", "runtime", "--quiet", "--set", "evolve.generations=1",
              "--strategy", "cr-fm-nes", "--set", "strategy.cr-fm-nes.sigma=1e308", "--out", str(out), timeout=300)
    line = one_line(res, 1, "every individual of generation 0 has a non-finite loss")
    assert "no checkpoint had been written, so nothing is kept" in line and not out.exists()
