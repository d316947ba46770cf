"""The run directory: created once, never over an existing run, owned by one
process at a time, and the best genome saved in HDF5 with everything needed to
rebuild its network.  Every file is written through a temporary file and
renamed, so a reader (or a resumed run) never sees half a file."""
from __future__ import annotations

import csv
import fcntl
import io
import json
import math
import os
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

import h5py
import numpy as np

from .config import ConfigError, to_toml, with_defaults
from .errors import writing
from .genome import GenomeLayout

LOCK = ".lock"

DEFAULT_ROOT = Path("results") / "runs"


def check_out(out: str | Path | None) -> None:
    """Refuse an ``--out`` the file system cannot even look up (a name too long, a file as a
    parent folder) before any work; what cannot be created is found by :func:`claim_run_dir`."""
    if out is None:
        return
    try:
        os.stat(out)
    except (FileNotFoundError, TypeError, ValueError):
        return
    except OSError as err:
        raise ConfigError(f"--out '{_short(Path(out))}': {err.strerror or err}; choose another folder") from None


def claim_run_dir(out: str | Path | None, name: str, seed: int) -> Path:
    """Create the run directory.  An explicit ``--out`` must not hold anything
    yet; the default gets a fresh timestamped name under results/runs/."""
    if out is not None:
        path = Path(out)
        try:  # exists() itself fails on a name too long for the file system
            if path.exists() and (not path.is_dir() or any(path.iterdir())):
                raise ConfigError(f"output directory '{path}' already exists and is not empty; "
                                  "choose a new --out (nothing was overwritten)")
            path.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise ConfigError(f"cannot create output directory '{_short(path)}': {err.strerror or err}") from None
        return path
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for k in range(1000):
        path = DEFAULT_ROOT / f"{name}-s{seed}-{stamp}{'' if k == 0 else f'-{k}'}"
        try:
            path.mkdir(parents=True)
            return path
        except FileExistsError:
            continue
        except OSError as err:
            raise ConfigError(f"cannot create run directory '{path}': {err.strerror or err}") from None
    raise ConfigError(f"could not find a free run directory under {DEFAULT_ROOT}")


def _short(path: Path, keep: int = 80) -> str:
    """A path for a one-line message: very long names are cut in the middle."""
    text = str(path)
    return text if len(text) <= keep else f"{text[:keep // 2]}...{text[-keep // 2:]}"


#: what a run writes before its first checkpoint (atomic writes leave at most a .tmp sibling)
START_FILES = (LOCK, "config.toml", "metrics.csv", "config.toml.tmp", "metrics.csv.tmp")


def killed_before_checkpoint(path: Path) -> bool:
    """True for a directory that holds only what a run writes before its first checkpoint,
    its lock file among them: the remains of a run killed (SIGKILL, power cut) too early to
    resume, which a new start with the same ``--out`` may take over once it holds the lock."""
    try:
        names = {p.name for p in Path(path).iterdir()}
    except OSError:
        return False
    return LOCK in names and names <= set(START_FILES)


class RunLock:
    """One process owns a run directory: an exclusive ``flock`` on its ``.lock``
    file, with the owner's pid inside for the message.  The kernel drops the
    lock when the owner dies (even by SIGKILL), so a lock file left by a dead
    run is stale by construction and simply taken over."""

    def __init__(self, run_dir: Path) -> None:
        self.path = Path(run_dir) / LOCK
        self._file = None

    def acquire(self) -> "RunLock":
        try:
            f = open(self.path, "a+")
        except OSError as err:  # a read-only folder or file system, a full disk
            raise ConfigError(f"cannot write in run directory '{self.path.parent}' ({err.strerror or err}); "
                              "nothing was changed") from None
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.seek(0)
            owner = f.read().strip() or "?"
            f.close()
            raise ConfigError(f"run directory '{self.path.parent}' is in use by process {owner}; "
                              "wait for it to finish or stop it first") from None
        f.seek(0)
        f.truncate()
        f.write(f"{os.getpid()}\n")
        f.flush()
        self._file = f
        return self

    def release(self) -> None:
        if self._file is not None:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None

    def __enter__(self) -> "RunLock":
        return self.acquire()

    def __exit__(self, *exc: Any) -> None:
        self.release()


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """A temporary sibling of ``path`` to write to, renamed over ``path`` on
    success and removed on failure (a full disk leaves no ``.tmp`` behind)."""
    tmp = path.with_name(path.name + ".tmp")
    try:
        with writing(path):
            yield tmp
            os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_hdf5(path: Path, fill: Callable[[h5py.File], None], sync: bool = False) -> None:
    """Build an HDF5 file in memory with ``fill(f)``, then write its bytes
    atomically: a full disk then fails in one plain write (a clear ENOSPC)
    instead of deep inside HDF5, which cannot report it cleanly."""
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as f:
        fill(f)
    with atomic_path(path) as tmp, open(tmp, "wb") as out:
        out.write(buffer.getbuffer())
        out.flush()
        if sync:
            os.fsync(out.fileno())


def json_safe(data: Any) -> Any:
    """``data`` with non-finite floats as ``None`` (JSON has no NaN or infinity)."""
    if isinstance(data, dict):
        return {k: json_safe(v) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [json_safe(v) for v in data]
    if isinstance(data, (float, np.floating)):
        return float(data) if math.isfinite(data) else None
    if isinstance(data, np.integer):
        return int(data)
    return data


def write_json(path: Path, data: dict) -> None:
    """Valid JSON always (non-finite numbers become null), written atomically."""
    text = json.dumps(json_safe(data), indent=2, allow_nan=False) + "\n"
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def write_config(run_dir: Path, cfg: dict) -> None:
    with atomic_path(run_dir / "config.toml") as tmp:
        tmp.write_text(to_toml(cfg))


class MetricsLog:
    """Per-generation metrics, appended to metrics.csv as they come."""

    FIELDS = ["gen", "loss_mean", "loss_min", "loss_max", "loss_std", "train_acc", "best_train_acc",
              "val_acc", "val_loss", "evaluations", "wall_seconds"]
    INTEGER_FIELDS = ("gen", "evaluations")

    def __init__(self, path: Path, rows: list[dict] = ()) -> None:
        """A new log holding ``rows`` (on resume: the rows of the generations
        before the checkpoint, from :meth:`read`; later ones are run again)."""
        self.path = path
        self.rows: list[dict] = list(rows)
        with atomic_path(path) as tmp, open(tmp, "w", newline="") as f:
            csv.writer(f).writerow(self.FIELDS)
            writer = csv.DictWriter(f, self.FIELDS, extrasaction="ignore")
            writer.writerows({k: ("" if r.get(k) is None else r[k]) for k in self.FIELDS} for r in self.rows)

    @classmethod
    def read(cls, path: Path, before: int) -> list[dict]:
        """The rows of generations ``< before`` of an existing log, checked: a
        damaged file is a one-line :class:`ConfigError` and is not modified."""
        try:
            with open(path, newline="", encoding="utf-8") as f:
                reader = csv.DictReader(f)
                if reader.fieldnames != cls.FIELDS:
                    raise ValueError(f"its header is not {','.join(cls.FIELDS)}")
                rows = []
                for n, raw in enumerate(reader, start=2):
                    try:
                        row = {k: (float(v) if v not in ("", None) else None) for k, v in raw.items()}
                        for k in cls.INTEGER_FIELDS:
                            if row.get(k) is not None:
                                row[k] = int(row[k])
                    except (TypeError, ValueError):
                        raise ValueError(f"line {n} is not a row of numbers") from None
                    if row["gen"] is None or None in raw:
                        raise ValueError(f"line {n} is not a row of numbers")
                    rows.append(row)
        except FileNotFoundError:
            raise ConfigError(f"'{path}' is missing; the run directory is damaged") from None
        except (UnicodeDecodeError, ValueError, csv.Error) as err:
            raise ConfigError(f"'{path}' is not a bioevo metrics file ({err}); nothing was changed") from None
        kept = [r for r in rows if r["gen"] < before]
        if [r["gen"] for r in kept] != list(range(before)):
            raise ConfigError(f"'{path}' does not hold generations 0..{before - 1} of the checkpoint; nothing was changed")
        return kept

    def _write(self, row: dict) -> None:
        with writing(self.path), open(self.path, "a", newline="") as f:
            csv.DictWriter(f, self.FIELDS, extrasaction="ignore").writerow(
                {k: ("" if row.get(k) is None else row[k]) for k in self.FIELDS})

    def append(self, row: dict) -> None:
        self.rows.append(row)
        self._write(row)


def save_genome(path: Path, genome: np.ndarray, layout: GenomeLayout, cfg: dict, model_toml: str,
                attrs: dict | None = None) -> None:
    """HDF5 with the genome, its layout and the run's config and model file."""
    def fill(f: h5py.File) -> None:
        f.create_dataset("genome", data=np.asarray(genome, dtype=np.float64))
        f.attrs["layout"] = json.dumps(layout.to_dict())
        f.attrs["config"] = json.dumps(cfg)
        f.attrs["model_toml"] = model_toml
        for k, v in (attrs or {}).items():
            f.attrs[k] = v

    write_hdf5(path, fill)


def load_genome(path: str | Path) -> tuple[np.ndarray, GenomeLayout, dict, str]:
    """(genome, layout, config, model TOML text) from :func:`save_genome`; keys
    the saved config lacks (saved by an older version) take their defaults."""
    with h5py.File(path, "r") as f:
        return (f["genome"][()], GenomeLayout.from_dict(json.loads(f.attrs["layout"])),
                with_defaults(json.loads(f.attrs["config"])), str(f.attrs["model_toml"]))
