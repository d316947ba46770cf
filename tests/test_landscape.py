"""The landscape demo: the basin geometry it relies on, and that the escaping
strategies named in the issue do escape."""
from __future__ import annotations

import json

import numpy as np

from bioevo.strategies import REGISTRY
from bioevo.tasks.landscape import global_basin, landscape, main


def test_basin_geometry_is_computed_correctly():
    left, right, x_min = global_basin()
    dz = lambda x: 2 * x + 6 * np.cos(3 * x)  # noqa: E731
    assert abs(dz(x_min)) < 1e-4 and left < x_min < right
    assert abs(dz(right)) < 1e-9 and abs(dz(left)) < 1e-9
    # the start is a local minimum with a higher value than the global one
    assert abs(dz(1.41)) < 0.1 and landscape(np.array([1.41, 0.0])) > landscape(np.array([x_min, 0.0])) + 1.5


def test_demo_writes_table_and_figures(tmp_path):
    out = tmp_path / "land"
    main(["--out", str(out)])
    table = json.loads((out / "landscape.json").read_text())
    assert set(table) == set(REGISTRY)
    for name in ("hybrid", "pooling", "annealing"):
        assert table[name]["reached_global"], name
        assert table[name]["final_z"] < -1.5
    for row in table.values():
        assert isinstance(row["reached_global"], bool) and np.isfinite(row["final_z"])
    for png in ("landscape_trajectories.png", "landscape_loss.png"):
        assert (out / png).stat().st_size > 0
    # seeded: a second run gives the same table
    main(["--out", str(tmp_path / "again")])
    assert json.loads((tmp_path / "again" / "landscape.json").read_text()) == table
