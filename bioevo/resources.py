"""Find shipped model files and task presets, whether bioevo runs from a source
checkout (top-level ``models/`` and ``tasks/``) or from an installed wheel (the
same folders mapped into ``bioevo.model_files`` / ``bioevo.presets``)."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

_PACKAGE = Path(__file__).resolve().parent
_SOURCE_ROOT = _PACKAGE.parent
#: kind -> (folder in a source checkout, folder inside the installed package; see setup.cfg package_dir)
_FOLDERS = {"models": ("models", "model_files"), "presets": ("tasks", "presets")}


def resource_dir(kind: str) -> Path:
    """Folder holding the shipped ``*.toml`` files of ``kind`` ('models' or 'presets')."""
    source_name, installed = _FOLDERS[kind]
    source = _SOURCE_ROOT / source_name
    if source.is_dir() and any(source.glob("*.toml")):
        return source
    return _PACKAGE / installed


def available(kind: str) -> list[str]:
    """Names (file stems) of the shipped files of ``kind``."""
    return sorted(p.stem for p in resource_dir(kind).glob("*.toml"))


def resolve(kind: str, name_or_path: str | Path, key: str | None = None,
            allowed: Callable[[], list[str]] | None = None) -> Path:
    """A shipped name ('lif', 'randman-2') or a path to the user's own TOML file.  An unknown name's
    error calls it ``key`` (default: the kind, e.g. "model") and offers the names ``allowed()``
    returns (default: every shipped name of the kind; only called for that error)."""
    path = Path(name_or_path)
    if path.suffix != ".toml" and not path.is_file():
        # a shipped name, even where the working directory holds a folder of that name (data/shd)
        shipped = resource_dir(kind) / f"{name_or_path}.toml"
        if shipped.is_file() and path.name == str(name_or_path):
            return shipped
        if path.is_dir():
            raise ValueError(f"{kind[:-1]} '{path}' is a directory, not a TOML file")
        names = available(kind) if allowed is None else allowed()
        raise ValueError(f"unknown {key or kind[:-1]} '{name_or_path}'; allowed: {', '.join(names)} "
                         "or a path to a .toml file")
    if path.is_dir():
        raise ValueError(f"{kind[:-1]} '{path}' is a directory, not a TOML file")
    if not path.is_file():
        if path.exists():  # a FIFO or a device: reading it could wait for ever
            raise ValueError(f"{kind[:-1]} '{path}' is not a regular file (a FIFO, socket or device); "
                             "give a TOML file")
        raise ValueError(f"{kind[:-1]} file '{path}' does not exist")
    return path
