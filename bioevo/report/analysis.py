"""After training: test metrics and the figures a person looks at."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..data.report_samples import pick_per_class
from ..data.spikes import SpikeData
from ..genome import GenomeLayout
from ..model import ModelSpec
from ..sim.evaluator import PopulationEvaluator
from . import figures


def network_figures(model: ModelSpec, layout: GenomeLayout, genome: np.ndarray, test: SpikeData, run_dir: Path,
                    n_steps: int, per_class: int = 3, dt_ms: float = 1.0, last_steps: int = 0) -> dict[str, Path]:
    """Readout traces and hidden spike-count heatmap of the best
    genome on a few test samples (``last_steps``: the scored window, fitness.last_steps).  Uses the runtime backend: a handful of
    samples does not repay a compile."""
    idx = pick_per_class(test.labels, test.n_classes, per_class)
    sample = test.subset(idx)
    ev = PopulationEvaluator(model, layout.layer_sizes, 1, len(sample), n_steps, backend="runtime",
                             record_trace=True, record_spikes=True)
    r = ev.evaluate(layout.decode(genome[None]), sample.raster)
    out = {"readout_traces": figures.plot_readout_traces(r.trace[0], sample.labels, run_dir / "readout_traces.png",
                                                         dt_ms=dt_ms, last_steps=last_steps)}
    spiking = [name for name in (r.spike_counts or {}) if name != model.readout_layer]
    if spiking:
        out["hidden_spike_counts"] = figures.plot_spike_count_heatmap(
            r.spike_counts[spiking[0]][0], sample.labels, run_dir / "hidden_spike_counts.png")
    return out
