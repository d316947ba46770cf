"""The build cache (bioevo.sim.cache, ``bioevo cache``): listing, removing unused projects, never one in use."""
from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bioevo.sim.cache import cached_projects, project_lock, remove_project

DAY = 86400.0


def make_project(root: Path, backend: str, name: str, size: int, days_unused: float | None) -> Path:
    """A fake compiled project of ``size`` bytes whose lock was last stamped ``days_unused`` ago
    (None: no lock file, as a folder left by hand)."""
    path = root / backend / name
    path.mkdir(parents=True)
    (path / "main").write_bytes(b"x" * size)
    (path / "sub").mkdir()
    (path / "sub" / "obj.o").write_bytes(b"y" * 10)
    stamp = time.time() - (days_unused or 0) * DAY
    if days_unused is not None:
        lock = path.with_name(name + ".lock")
        lock.touch()
        os.utime(lock, (stamp, stamp))
    os.utime(path, (stamp, stamp))
    return path


def run_cli(root: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, BIOEVO_CACHE=str(root))
    return subprocess.run([sys.executable, "-m", "bioevo", "cache", *args], capture_output=True, text=True, env=env)


def test_projects_are_listed_oldest_first_with_their_sizes(tmp_path):
    make_project(tmp_path, "cpp", "lif-new", 1000, 1)
    make_project(tmp_path, "cpp", "lif-old", 3000, 40)
    make_project(tmp_path, "cuda", "hh-mid", 2000, 10)
    (tmp_path / "cuda" / "lib").mkdir()  # brian2cuda's shared library: not a project
    (tmp_path / "limits").mkdir()  # the peak-rate kernel: not a project
    projects = cached_projects(tmp_path)
    assert [p.path.name for p in projects] == ["lif-old", "hh-mid", "lif-new"]
    assert [p.size_bytes for p in projects] == [3010, 2010, 1010]
    assert [p.backend for p in projects] == ["cpp", "cuda", "cpp"]


def test_the_lock_stamps_the_last_use(tmp_path):
    lock = tmp_path / "cpp" / "p.lock"
    lock.parent.mkdir()
    lock.touch()
    os.utime(lock, (1e9, 1e9))
    before = time.time() - 1
    with project_lock(lock, exclusive=False):
        pass
    assert lock.stat().st_mtime >= before


def test_only_unused_projects_go_and_a_project_in_use_stays(tmp_path):
    old = make_project(tmp_path, "cpp", "old", 100, 40)
    busy = make_project(tmp_path, "cpp", "busy", 100, 40)
    new = make_project(tmp_path, "cpp", "new", 100, 2)
    result = run_cli(tmp_path, "--remove-unused-for", "30", "--dry-run")
    assert result.returncode == 0, result.stderr
    assert "would remove 2 projects" in result.stdout
    assert old.exists() and busy.exists()  # a dry run removes nothing
    with open(busy.with_name("busy.lock"), "a") as held:  # a run holding the shared lock, as the evaluator does
        fcntl.flock(held, fcntl.LOCK_SH)
        result = run_cli(tmp_path, "--remove-unused-for", "30")
    assert result.returncode == 0, result.stderr
    assert "removed 1 projects" in result.stdout and "kept cpp/busy: in use" in result.stdout
    assert not old.exists() and busy.exists() and new.exists()
    assert old.with_name("old.lock").exists()  # the lock file stays for processes that opened it


def test_a_project_without_a_lock_file_goes_by_its_folders_age(tmp_path):
    stray = make_project(tmp_path, "cpp", "stray", 100, None)
    os.utime(stray, (time.time() - 50 * DAY,) * 2)
    (project,) = cached_projects(tmp_path)
    assert remove_project(project) and not stray.exists()


def test_the_listing_names_counts_and_sizes(tmp_path):
    make_project(tmp_path, "cpp", "a", 2_000_000, 3)
    make_project(tmp_path, "cpp", "b", 1_000_000, 1)
    result = run_cli(tmp_path)
    assert result.returncode == 0, result.stderr
    first, *rest = result.stdout.splitlines()
    assert first == f"{tmp_path}: 2 compiled projects, 3.0 MB"
    assert rest[0] == "  cpp: 2 projects, 3.0 MB"
    assert rest[2].split()[:2] == ["3.0", "cpp/a"]


@pytest.mark.parametrize("days", ["0", "-1", "abc", "inf", "nan"])
def test_a_bad_number_of_days_is_one_line_and_removes_nothing(tmp_path, days):
    kept = make_project(tmp_path, "cpp", "kept", 10, 400)
    result = run_cli(tmp_path, "--remove-unused-for", days)
    assert result.returncode == 2
    assert "--remove-unused-for: must be a number of days > 0" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert kept.exists()
