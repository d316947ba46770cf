"""python -m bioevo.tasks.iapp: evolution lowers a neuron's injected current
until it stops firing.

One neuron (the hidden layer of ``--model``, a model file with an ``I_app``
parameter) gets a constant current I_app, the only evolved parameter, started
where it fires repetitively.  The loss is the number of spikes in a fixed
window, so OpenAI-ES (:mod:`bioevo.strategies.es`) pushes I_app down while the
neuron fires; once it is silent every candidate ties and the run stops after
``--patience`` silent updates.  The update after which the mean current never
again fires repetitively (at least ``MIN_SPIKES`` spikes) is the bifurcation
seen by evolution; it is set against the repetitive-firing threshold found
independently by bisection on direct simulations.  For ``lif`` the threshold
is also known analytically: from rest v approaches I_app from below, so the
rheobase is v_th (1.0); the bisection value, for a finite window, lies just
above it.

The genome is I_app divided by the starting current, so one ES setting
(sigma, learning rate) serves models whose currents differ in unit and scale.

The loss is the spike count alone, with no tie-break (such as a small multiple
of I_app): a tie-break would push the current down on every plateau of equal
counts and make "ends below the threshold" true by construction, whereas this
way only differences in spike count move the mean.  Ties are not neutral,
though: ``compute_centered_ranks`` ranks equal losses by position, so a
mirrored pair that ties favours its +eps member, and a generation where all
candidates tie steps (Adam: by about lr) along a random direction.  That is
why HH's mean first rises from 15 (all 16 candidates fire 8 spikes).  After
the mean falls silent it keeps moving (candidates above it may still spike,
and Adam carries momentum) until ``--patience`` silent updates stop the run.
"""
from __future__ import annotations

import csv
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..cli import Parser, fail, non_negative_int, positive_int
from ..config import ConfigError
from ..strategies.base import deap_classes
from ..model import ModelSpec, load_model
from ..neuron import repetitive_firing_threshold, simulate_single
from ..rundir import claim_run_dir, write_json
from ..strategies.es import OpenAIES

PROG = "python -m bioevo.tasks.iapp"
MIN_SPIKES = 2  # "repetitive": at least two spikes in the window


@dataclass(frozen=True)
class Setup:
    """How one model is driven: window, starting current and bisection bracket."""

    window_ms: float
    start: float
    bracket: tuple[float, float]  # (silent, repetitive) for the bisection
    tol: float  # bisection tolerance, in the current's unit
    analytic: float | None  # the analytic repetitive-firing threshold, where known
    v_label: str  # the membrane potential's axis label


SETUPS = {
    # HH 1952 at 6.3 degC: one onset spike from about 2.3, repetitive firing from about 6.2 uA/cm^2.
    "hh": Setup(window_ms=100.0, start=15.0, bracket=(0.0, 15.0), tol=1e-3, analytic=None,
                v_label="v (mV from rest)"),
    # LIF with v_th = 1: rheobase 1.0 (module docstring).
    "lif": Setup(window_ms=200.0, start=3.0, bracket=(0.0, 3.0), tol=1e-5, analytic=1.0,
                 v_label="v (units of v_th)"),
}
LAYER = "hidden"


def spike_counts(model: ModelSpec, currents: np.ndarray, window_ms: float) -> np.ndarray:
    """Spikes of one neuron per constant current (all currents in one simulation)."""
    return simulate_single(model, LAYER, currents, window_ms, target="cython")[0]


def evolve_current(model: ModelSpec, setup: Setup, seed: int, max_updates: int, patience: int,
                   popsize: int = 16, sigma: float = 0.1, lr: float = 0.05) -> list[dict]:
    """ES on I_app / start; per update the mean current and its spike count.

    Stops after ``max_updates`` or once the mean has been silent for
    ``patience`` consecutive updates."""
    es = OpenAIES(np.array([1.0]), sigma=sigma, lr=lr, popsize=popsize, rng=seed)
    history: list[dict] = []
    silent = 0
    for update in range(max_updates + 1):
        mean = float(es.centroid[0]) * setup.start
        population = es.generate(deap_classes()[1])
        currents = np.array([mean] + [float(ind[0]) * setup.start for ind in population])
        counts = spike_counts(model, currents, setup.window_ms)
        history.append({"update": update, "mean_i_app": mean, "spike_count": int(counts[0])})
        silent = silent + 1 if counts[0] == 0 else 0
        if update == max_updates or silent >= patience:
            break
        for ind, count in zip(population, counts[1:]):
            ind.fitness.values = (float(count),)
        es.update(population)
    return history


def bifurcation_update(history: list[dict]) -> int | None:
    """The first update from which the mean never again fires repetitively (None: it still does)."""
    firing = [k for k, row in enumerate(history) if row["spike_count"] >= MIN_SPIKES]
    if not firing:
        return 0
    last = firing[-1]
    return history[last + 1]["update"] if last + 1 < len(history) else None


def plot(history: list[dict], threshold: float, bifurcation: int | None, unit: str,
         traces: dict[str, tuple[float, np.ndarray]], dt_ms: float, v_label: str, run_dir: Path) -> None:
    """i_app.png (current and spike count per update) and traces.png (membrane before and after)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    updates = [r["update"] for r in history]
    fig = Figure(figsize=(7, 5.5))
    FigureCanvasAgg(fig)
    ax_i, ax_n = fig.subplots(2, 1, sharex=True)
    ax_i.plot(updates, [r["mean_i_app"] for r in history], "o-", ms=3, label="mean I_app")
    ax_i.axhline(threshold, ls="--", color="k", lw=1, label="repetitive-firing threshold (bisection)")
    ax_n.plot(updates, [r["spike_count"] for r in history], "o-", ms=3, color="C1")
    for ax in (ax_i, ax_n):
        if bifurcation is not None:
            ax.axvline(bifurcation, color="C3", lw=1, ls=":", label="repetitive firing stopped")
    ax_i.set(ylabel=f"I_app ({unit})", title="ES lowers the injected current")
    ax_n.set(xlabel="update", ylabel="spikes of the mean in the window")
    ax_i.legend(fontsize=8)
    fig.savefig(run_dir / "i_app.png", dpi=120)

    fig = Figure(figsize=(8, 4))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    for label, (current, v) in traces.items():
        ax.plot(np.arange(v.size) * dt_ms, v, lw=0.8, label=f"{label}: I_app = {current:.3f} {unit}")
    ax.set(xlabel="time (ms)", ylabel=v_label, title="membrane potential before and after evolution")
    ax.legend(fontsize=8)
    fig.savefig(run_dir / "traces.png", dpi=120)


def main(argv: list[str] | None = None) -> dict:
    p = Parser(prog=PROG, description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="hh", help=f"one of: {', '.join(SETUPS)} (default hh)")
    p.add_argument("--seed", type=non_negative_int, default=0)
    p.add_argument("--updates", type=positive_int, default=100, help="most ES updates (default 100)")
    p.add_argument("--patience", type=positive_int, default=3, help="stop after this many silent updates (default 3)")
    p.add_argument("--out", help="run directory to create (default: results/runs/iapp-<model>-...)")
    p.add_argument("--quiet", action="store_true", help="no per-update table, only the final line")
    args = p.parse_args(argv)
    try:
        if args.model not in SETUPS:
            raise ConfigError(f"unknown --model '{args.model}'; allowed: {', '.join(SETUPS)}")
        try:
            model = load_model(args.model)
        except ValueError as err:
            raise ConfigError(str(err)) from None
        run_dir = claim_run_dir(args.out, f"iapp-{args.model}", args.seed)
    except ConfigError as err:
        fail(PROG, str(err))
    setup = SETUPS[args.model]
    unit = model.layers[LAYER].parameters["I_app"].unit
    unit = "v_th" if unit in (None, "", "1") else unit  # lif: dimensionless, in units of the threshold
    t0 = time.time()
    history = evolve_current(model, setup, args.seed, args.updates, args.patience)
    threshold = repetitive_firing_threshold(model, LAYER, setup.window_ms, *setup.bracket, tol=setup.tol,
                                            min_spikes=MIN_SPIKES, target="cython")
    bifurcation = bifurcation_update(history)
    final = history[-1]
    traces = {}
    for label, current in (("start", history[0]["mean_i_app"]), ("end", final["mean_i_app"])):
        traces[label] = (current, simulate_single(model, LAYER, np.array([current]), setup.window_ms,
                                                  record_v=True, target="cython")[2][0])
    plot(history, threshold, bifurcation, unit, traces, model.dt, setup.v_label, run_dir)
    with open(run_dir / "history.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, ["update", "mean_i_app", "spike_count"])
        writer.writeheader()
        writer.writerows(history)
    summary = {
        "model": args.model, "seed": args.seed, "window_ms": setup.window_ms, "min_spikes": MIN_SPIKES,
        "i_app_unit": unit, "start_i_app": history[0]["mean_i_app"], "final_i_app": final["mean_i_app"],
        "final_spike_count": final["spike_count"], "threshold_i_app": threshold,
        "threshold_tolerance": setup.tol, "analytic_threshold_i_app": setup.analytic,
        "bifurcation_update": bifurcation, "updates": final["update"], "wall_seconds": time.time() - t0,
    }
    write_json(run_dir / "summary.json", summary)
    if not args.quiet:
        print(f"{'update':>6} {'mean I_app':>11} {'spikes':>6}")
        for row in history:
            print(f"{row['update']:>6} {row['mean_i_app']:>11.4f} {row['spike_count']:>6}")
    analytic = "" if setup.analytic is None else f", analytic {setup.analytic:.4f}"
    stopped = (f"repetitive firing stopped at update {bifurcation}" if bifurcation is not None
               else f"the neuron still fired repetitively after {final['update']} updates")
    print(f"final I_app {final['mean_i_app']:.4f} {unit} ({final['spike_count']} spikes) vs repetitive-firing "
          f"threshold {threshold:.5f} {unit} (bisection{analytic}); {stopped} -> {run_dir}")
    return summary


if __name__ == "__main__":
    main()
