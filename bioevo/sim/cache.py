"""The compiled-project cache: where projects live, the lock every build and run takes, and removing
the ones nobody has used for a while.

Each network shape (model, sizes, population share, batch, steps, code version) compiles into a
project folder of its own, ``<root>/<backend>/<key>``, beside a lock file ``<key>.lock``. Nothing
removes old projects by itself (a rebuild costs 10-60 s, a cached project a few MB), so a machine
that trains many shapes collects them; ``bioevo cache`` lists them and removes the unused ones.
"Last used" is the lock file's modification time: every build and every evaluation stamps it.
"""
from __future__ import annotations

import fcntl
import os
import shutil
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

#: the cache's folders that hold compiled projects (``cuda/lib`` is brian2cuda's shared library,
#: ``limits`` the peak-rate kernel of bioevo.limits: neither is a project)
BACKEND_FOLDERS = ("cpp", "cuda")
LOCK_SUFFIX = ".lock"
TURNSTILE_SUFFIX = ".turnstile"


def cache_root() -> Path:
    """Where compiled projects live: $BIOEVO_CACHE, else ~/.cache/bioevo."""
    root = os.environ.get("BIOEVO_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "bioevo")
    return Path(root)


@contextmanager
def project_lock(path: Path, exclusive: bool) -> Iterator[None]:
    """The lock of a compiled project: shared while a binary runs, exclusive while it is built.

    flock gives a waiting exclusive lock no priority: two processes running the same project
    overlap their shared locks without a gap, and a third one that must build (or only verify)
    it waited for as long as they ran.  A turnstile beside the lock orders them: a builder holds
    it while it waits, a run passes through it before taking its shared lock, so runs that come
    after a builder wait behind it.  Holding the lock stamps it as the project's last use."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + TURNSTILE_SUFFIX), "a") as turnstile, open(path, "a") as f:
        fcntl.flock(turnstile, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        if not exclusive:
            fcntl.flock(turnstile, fcntl.LOCK_UN)
        try:
            fcntl.flock(f, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
            try:
                os.utime(f.fileno())
                yield
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)
        finally:
            if exclusive:
                fcntl.flock(turnstile, fcntl.LOCK_UN)


@dataclass(frozen=True)
class CachedProject:
    """One compiled project: its folder, size on disk and when it was last built or run."""

    path: Path
    backend: str
    size_bytes: int
    last_used: float  # seconds since the epoch

    @property
    def lock(self) -> Path:
        return self.path.with_name(self.path.name + LOCK_SUFFIX)


def folder_size(path: Path) -> int:
    """Bytes of the files under ``path`` (links not followed; files that vanish meanwhile count 0)."""
    total = 0
    for dirpath, _, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(dirpath, name)).st_size
            except FileNotFoundError:
                continue
    return total


def cached_projects(root: Path | None = None) -> list[CachedProject]:
    """Every compiled project under ``root`` (default: the cache), least recently used first."""
    root = cache_root() if root is None else root
    found = []
    for backend in BACKEND_FOLDERS:
        folder = root / backend
        if not folder.is_dir():
            continue
        for path in folder.iterdir():
            if not path.is_dir() or path.is_symlink() or (backend == "cuda" and path.name == "lib"):
                continue
            lock = path.with_name(path.name + LOCK_SUFFIX)
            stamp = lock if lock.exists() else path  # a project without its lock file: the folder's time
            try:
                last_used = stamp.stat().st_mtime
            except FileNotFoundError:  # removed meanwhile
                continue
            found.append(CachedProject(path, backend, folder_size(path), last_used))
    return sorted(found, key=lambda p: (p.last_used, str(p.path)))


def remove_project(project: CachedProject) -> bool:
    """Remove one project unless a process holds its lock (a run or a build): True if removed.

    The lock files stay: a process that opened one before the removal and takes it after must
    find the same file, or it and a newcomer could build the same folder at once."""
    lock = project.lock
    with open(lock.with_name(lock.name + TURNSTILE_SUFFIX), "a") as turnstile, open(lock, "a") as f:
        try:
            fcntl.flock(turnstile, fcntl.LOCK_EX | fcntl.LOCK_NB)
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        shutil.rmtree(project.path, ignore_errors=True)  # closing the files releases both locks
    return not project.path.exists()
