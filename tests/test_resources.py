"""Shipped model files and presets are found from a source checkout and
from an installed package (setup.cfg maps models/ and tasks/ into it)."""
from __future__ import annotations

import configparser
import shutil
from pathlib import Path

import pytest

from bioevo import resources

ROOT = Path(__file__).resolve().parent.parent


def test_source_checkout_lists_shipped_files():
    assert {"lif"} <= set(resources.available("models"))
    assert {"randman-2", "randman-10", "landscape"} <= set(resources.available("presets"))


def test_installed_layout_is_found(tmp_path, monkeypatch):
    """Lay the package out as setup.cfg's package_dir would and look from there."""
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    mapping = dict(line.split(" = ") for line in cfg["options"]["package_dir"].strip().splitlines())
    package = tmp_path / "bioevo"
    package.mkdir()
    for dotted, folder in mapping.items():
        shutil.copytree(ROOT / folder, package / dotted.split(".")[1])
    monkeypatch.setattr(resources, "_PACKAGE", package)
    monkeypatch.setattr(resources, "_SOURCE_ROOT", tmp_path / "not-a-checkout")
    assert resources.resolve("models", "lif") == package / "model_files" / "lif.toml"
    assert "randman-2" in resources.available("presets")
    with pytest.raises(ValueError, match="unknown preset 'nope'; allowed: .*randman-2"):
        resources.resolve("presets", "nope")
