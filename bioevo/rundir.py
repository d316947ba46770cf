"""The run directory: created once, never over an existing run, and the best
genome saved in HDF5 with everything needed to rebuild its network."""
from __future__ import annotations

import csv
import json
import os
import time
from pathlib import Path

import h5py
import numpy as np

from .config import ConfigError, to_toml, with_defaults
from .genome import GenomeLayout

DEFAULT_ROOT = Path("results") / "runs"


def claim_run_dir(out: str | Path | None, name: str, seed: int) -> Path:
    """Create the run directory.  An explicit ``--out`` must not hold anything
    yet; the default gets a fresh timestamped name under results/runs/."""
    if out is not None:
        path = Path(out)
        if path.exists() and (not path.is_dir() or any(path.iterdir())):
            raise ConfigError(f"output directory '{path}' already exists and is not empty; "
                              "choose a new --out (nothing was overwritten)")
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise ConfigError(f"cannot create output directory '{path}': {err.strerror}") from None
        return path
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for k in range(1000):
        path = DEFAULT_ROOT / f"{name}-s{seed}-{stamp}{'' if k == 0 else f'-{k}'}"
        try:
            path.mkdir(parents=True)
            return path
        except FileExistsError:
            continue
    raise ConfigError(f"could not find a free run directory under {DEFAULT_ROOT}")


def write_json(path: Path, data: dict) -> None:
    """Write via a temporary file so a reader never sees half a file."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n")
    os.replace(tmp, path)


def write_config(run_dir: Path, cfg: dict) -> None:
    (run_dir / "config.toml").write_text(to_toml(cfg))


class MetricsLog:
    """Per-generation metrics, appended to metrics.csv as they come."""

    FIELDS = ["gen", "loss_mean", "loss_min", "loss_max", "loss_std", "train_acc", "best_train_acc",
              "val_acc", "val_loss", "evaluations", "wall_seconds"]
    INTEGER_FIELDS = ("gen", "evaluations")

    def __init__(self, path: Path, resume_from: int | None = None) -> None:
        """A new log, or with ``resume_from`` the existing one cut back to the
        generations before it (those after the checkpoint are run again)."""
        self.path = path
        self.rows: list[dict] = []
        if resume_from is not None and path.exists():
            with open(path, newline="") as f:
                kept = [r for r in csv.DictReader(f) if int(r["gen"]) < resume_from]
            self.rows = [{k: (float(v) if v not in ("", None) else None) for k, v in r.items()} for r in kept]
            for r in self.rows:
                for k in self.INTEGER_FIELDS:
                    if r.get(k) is not None:
                        r[k] = int(r[k])
        tmp = path.with_suffix(".csv.tmp")
        with open(tmp, "w", newline="") as f:
            csv.writer(f).writerow(self.FIELDS)
            writer = csv.DictWriter(f, self.FIELDS, extrasaction="ignore")
            writer.writerows({k: ("" if r.get(k) is None else r[k]) for k in self.FIELDS} for r in self.rows)
        os.replace(tmp, path)

    def _write(self, row: dict) -> None:
        with open(self.path, "a", newline="") as f:
            csv.DictWriter(f, self.FIELDS, extrasaction="ignore").writerow(
                {k: ("" if row.get(k) is None else row[k]) for k in self.FIELDS})

    def append(self, row: dict) -> None:
        self.rows.append(row)
        self._write(row)


def save_genome(path: Path, genome: np.ndarray, layout: GenomeLayout, cfg: dict, model_toml: str,
                attrs: dict | None = None) -> None:
    """HDF5 with the genome, its layout and the run's config and model file."""
    tmp = path.with_suffix(".h5.tmp")
    with h5py.File(tmp, "w") as f:
        f.create_dataset("genome", data=np.asarray(genome, dtype=np.float64))
        f.attrs["layout"] = json.dumps(layout.to_dict())
        f.attrs["config"] = json.dumps(cfg)
        f.attrs["model_toml"] = model_toml
        for k, v in (attrs or {}).items():
            f.attrs[k] = v
    os.replace(tmp, path)


def load_genome(path: str | Path) -> tuple[np.ndarray, GenomeLayout, dict, str]:
    """(genome, layout, config, model TOML text) from :func:`save_genome`; keys
    the saved config lacks (saved by an older version) take their defaults."""
    with h5py.File(path, "r") as f:
        return (f["genome"][()], GenomeLayout.from_dict(json.loads(f.attrs["layout"])),
                with_defaults(json.loads(f.attrs["config"])), str(f.attrs["model_toml"]))
