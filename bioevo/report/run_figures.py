"""The figures of a finished run, drawn into its directory."""
from __future__ import annotations

from pathlib import Path

from ..data import DATA_KINDS
from ..errors import writing
from .analysis import network_figures
from .figures import plot_confusion, plot_training_curves


def _pool_rates(run_dir: Path) -> Path:
    from .competition import pool_rate_figure
    return pool_rate_figure(run_dir)


#: how the figures a model file may ask for (``figures = [...]``, bioevo.model.MODEL_FIGURES) are drawn
MODEL_FIGURES = {"pool_rates": _pool_rates}


def draw_run_figures(parts, result, test_metrics: dict, out: Path) -> None:
    """Training curves, test confusion, the network on a few test samples, its
    input figure (per data kind), and the figures the model file declares (e.g. pool rates of a competition circuit)."""
    with writing(out / "figures", hint="the trained genome is saved; free space and --resume"):
        plot_training_curves(result.history, out / "training_curves.png")
        plot_confusion(test_metrics["confusion"], out / "confusion.png", title="test confusion")
        network_figures(parts.model, parts.layout, result.best_genome, parts.splits["test"], out, parts.n_steps,
                        dt_ms=parts.model.step_ms, last_steps=parts.cfg["fitness"].get("last_steps", 0))
        DATA_KINDS[parts.cfg["data"]["kind"]].plot(parts.splits["test"], out)  # the inputs, as the network sees them
        for name in parts.model.figures:
            MODEL_FIGURES[name](out)
