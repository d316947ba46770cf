"""The figures of a finished run, drawn into its directory."""
from __future__ import annotations

from pathlib import Path

from ..errors import writing
from .analysis import network_figures
from .figures import plot_confusion, plot_training_curves


def draw_run_figures(parts, result, test_metrics: dict, out: Path) -> None:
    """Training curves, test confusion, the network on a few test samples, and
    the figures the model file declares (e.g. pool rates of a competition circuit)."""
    with writing(out / "figures", hint="the trained genome is saved; free space and --resume"):
        plot_training_curves(result.history, out / "training_curves.png")
        plot_confusion(test_metrics["confusion"], out / "confusion.png", title="test confusion")
        network_figures(parts.model, parts.layout, result.best_genome, parts.splits["test"], out, parts.n_steps,
                        dt_ms=parts.model.step_ms)
        if "pool" in parts.model.constants:  # a pool circuit: show who wins
            from .competition import pool_rate_figure
            pool_rate_figure(out)
