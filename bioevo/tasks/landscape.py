"""python -m bioevo.tasks.landscape: every strategy on a 2-D landscape with
a local and a global minimum, started in the local one.

z(x, y) = x^2 + 0.5 y^2 + 2 sin(3x).  The start (1.41, 0) is a local minimum
(z ~ 0.22); the global minimum is near (-0.47, 0) (z ~ -1.75), behind a ridge
near x ~ 0.59.  Shows which strategies escape a local basin and which stay."""
from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
from scipy.optimize import brentq, minimize_scalar

from .. import resources
from ..cli import Parser, fail, non_negative_int, positive_int, strategy_list
from ..config import ConfigError, merge, read_toml
from ..strategies.base import deap_classes
from ..rundir import claim_run_dir, write_json
from ..strategies import REGISTRY, make_strategy, strategy_defaults

PROG = "python -m bioevo.tasks.landscape"


def landscape(points: np.ndarray) -> np.ndarray:
    """z for points of shape (..., 2)."""
    x, y = points[..., 0], points[..., 1]
    return x**2 + 0.5 * y**2 + 2 * np.sin(3 * x)


def global_basin() -> tuple[float, float, float]:
    """(left ridge, right ridge, global minimum x) along y = 0, computed, not assumed."""
    dz = lambda x: 2 * x + 6 * np.cos(3 * x)  # noqa: E731
    x_min = minimize_scalar(lambda x: landscape(np.array([x, 0.0])), bounds=(-1.0, 0.0), method="bounded").x
    right = brentq(dz, 0.3, 0.9)  # the ridge between the two minima
    left = brentq(dz, -2.2, -1.3)
    return left, right, float(x_min)


def run_strategy(name: str, params: dict, start: np.ndarray, steps: int, seed: int) -> np.ndarray:
    """The strategy's centroid after each update: shape (steps + 1, 2)."""
    rng = np.random.default_rng([seed, list(REGISTRY).index(name)])
    strategy = make_strategy(name, start, rng, params)

    def evaluate(genomes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        genomes = np.atleast_2d(genomes)
        return landscape(genomes), np.full(len(genomes), np.nan)

    path = [np.asarray(strategy.centroid, dtype=float).copy()]
    for _ in range(steps):
        population = strategy.generate(deap_classes()[1])
        losses, accs = evaluate(np.asarray(population))
        for ind, loss, acc in zip(population, losses, accs):
            ind.fitness.values = (float(loss),)
            ind.accuracy = float(acc)
        strategy.update(population, evaluate=evaluate)
        path.append(np.asarray(strategy.centroid, dtype=float).copy())
    return np.array(path)


def plot(paths: dict[str, np.ndarray], run_dir: Path, start: np.ndarray) -> list[Path]:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    xs, ys = np.meshgrid(np.linspace(-2.5, 2.5, 300), np.linspace(-2.0, 2.0, 240))
    z = landscape(np.stack([xs, ys], axis=-1))
    fig = Figure(figsize=(9, 6.5))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    cs = ax.contourf(xs, ys, z, levels=30, cmap="Greys")
    fig.colorbar(cs, ax=ax, label="z")
    for name, path in paths.items():
        ax.plot(path[:, 0], path[:, 1], "-", lw=1.4, label=name)
        ax.plot(path[-1, 0], path[-1, 1], "o", ms=5, color=ax.lines[-1].get_color())
    ax.plot(*start, "k*", ms=14, label="start")
    ax.set(xlabel="x", ylabel="y", title="mean trajectory of each strategy on z = x² + 0.5y² + 2 sin 3x",
           xlim=(-2.5, 2.5), ylim=(-2, 2))
    ax.legend(loc="upper right", fontsize=8, ncols=2)
    traj = run_dir / "landscape_trajectories.png"
    fig.savefig(traj, dpi=120)
    fig = Figure(figsize=(8, 4.5))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    for name, path in paths.items():
        ax.plot(landscape(path), label=name)
    ax.set(xlabel="update", ylabel="z at the mean", title="loss per step")
    ax.legend(fontsize=8, ncols=3)
    loss = run_dir / "landscape_loss.png"
    fig.savefig(loss, dpi=120)
    return [traj, loss]


def main(argv: list[str] | None = None) -> dict:
    p = Parser(prog=PROG, description=__doc__.split("\n\n")[0])
    p.add_argument("--out", help="run directory to create (default: results/runs/landscape-...)")
    p.add_argument("--seed", type=non_negative_int, help="random seed (default from the preset)")
    p.add_argument("--steps", type=positive_int, help="updates per strategy (default from the preset)")
    p.add_argument("--strategies", help=f"comma-separated subset of: {', '.join(REGISTRY)}")
    args = p.parse_args(argv)
    try:
        preset = read_toml(resources.resolve("presets", "landscape"), "preset")
        try:
            names = list(REGISTRY) if args.strategies is None else strategy_list(args.strategies, list(REGISTRY))
        except ValueError as err:
            raise ConfigError(f"--strategies: {err}") from None
        params = {n: merge(strategy_defaults(n), preset.get("strategy", {}).get(n, {}), f"strategy.{n}.")
                  for n in names}
        seed = preset["landscape"]["seed"] if args.seed is None else args.seed
        run_dir = claim_run_dir(args.out, "landscape", seed)
    except ConfigError as err:
        fail(PROG, str(err))
    steps = args.steps or preset["landscape"]["steps"]
    start = np.array(preset["landscape"]["start"], dtype=float)
    left, right, x_global = global_basin()
    paths, table = {}, {}
    for name in names:
        path = run_strategy(name, copy.deepcopy(params[name]), start, steps, seed)
        paths[name] = path
        inside = np.flatnonzero((path[:, 0] > left) & (path[:, 0] < right))
        reached = bool(inside.size and left < path[-1, 0] < right)
        table[name] = {"final_z": float(landscape(path[-1])), "final_x": float(path[-1, 0]),
                       "final_y": float(path[-1, 1]), "reached_global": reached,
                       "steps_to_global": int(inside[0]) if inside.size else None}
    plot(paths, run_dir, start)
    result = {"function": "z = x^2 + 0.5 y^2 + 2 sin(3x)", "start": start.tolist(), "steps": steps, "seed": seed,
              "global_basin_x": [left, right], "global_minimum_x": x_global, "strategies": table}
    write_json(run_dir / "landscape.json", table)
    write_json(run_dir / "landscape_setup.json", {k: v for k, v in result.items() if k != "strategies"})
    print(f"{'strategy':<10} {'final z':>8} {'final x':>8} {'global?':>8} {'steps to global':>16}")
    for name, row in table.items():
        steps_txt = "-" if row["steps_to_global"] is None else str(row["steps_to_global"])
        print(f"{name:<10} {row['final_z']:8.3f} {row['final_x']:8.3f} {str(row['reached_global']):>8} "
              f"{steps_txt:>16}")
    print(f"global basin: {left:.3f} < x < {right:.3f}; global minimum x = {x_global:.3f}; figures in {run_dir}")
    return result


if __name__ == "__main__":
    main()
