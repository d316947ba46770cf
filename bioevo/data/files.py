"""Where data files are looked for. Nothing is ever downloaded.

``data.path`` names the directory of a data set. Left out, it is
``$BIOEVO_DATA/<kind>`` or, without that variable, ``$XDG_DATA_HOME/bioevo/<kind>``
(``~/.local/share/bioevo/<kind>``): user data, not a cache (``~/.cache/bioevo``
holds compiled networks and may be wiped).
"""
from __future__ import annotations

import os
from pathlib import Path

from .errors import DataError

__all__ = ["data_dir", "default_dir", "find_files"]


def default_dir(kind: str) -> Path:
    """The directory a data set is looked for in when ``data.path`` is not given."""
    root = os.environ.get("BIOEVO_DATA")
    if root:
        return Path(root).expanduser() / kind
    xdg = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(xdg).expanduser() / "bioevo" / kind


def data_dir(path: str | None, kind: str, wanted: str, source: str) -> Path:
    """The existing directory named by ``data.path`` (or the default), else a DataError
    saying which files belong there (``wanted``) and where they are published (``source``)."""
    d = default_dir(kind) if path is None else Path(os.path.expandvars(path)).expanduser()
    given = "data.path" if path is not None else "data.path (not set: the default)"
    try:
        exists, is_dir = d.exists(), d.is_dir()
    except OSError as err:
        raise DataError(f"{given}: cannot read {d} ({err.strerror or err})") from None
    if not exists:
        raise DataError(f"{given}: {d} does not exist; put {wanted} there (from {source}; nothing is downloaded)")
    if not is_dir:
        raise DataError(f"{given}: {d} is not a directory; it should hold {wanted} (from {source})")
    return d


def find_files(d: Path, names: tuple[str, ...], suffixes: tuple[str, ...], wanted: str, source: str) -> list[Path]:
    """The file of each name in ``d``, trying each suffix in order (e.g. "", ".gz"),
    else a DataError naming the missing ones, the expected files and the source."""
    found, missing = [], []
    for name in names:
        odd = next((d / (name + s) for s in suffixes
                    if (d / (name + s)).exists() and not (d / (name + s)).is_file()), None)
        if odd is not None:  # a FIFO would block the reader, a folder cannot be read
            raise DataError(f"data.path: {odd} is not a regular file (a folder, FIFO or device); "
                            f"it should be one of the files {wanted} (from {source})")
        hit = next((d / (name + s) for s in suffixes if (d / (name + s)).is_file()), None)
        (found if hit is not None else missing).append(hit if hit is not None else name)
    if missing:
        what = "none of" if len(missing) == len(names) else "not " + ", ".join(missing) + " of"
        raise DataError(f"data.path: {d} holds {what} the expected files {wanted} "
                        f"(from {source}; nothing is downloaded)")
    return found
