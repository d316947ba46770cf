"""The evaluator and scorer of one preset's generation, as training builds them (shared by the
round-3 scripts; the mnist and shd presets read bioevo bench's synthetic files)."""
from pathlib import Path

import numpy as np

import bioevo
from bioevo.assemble import assemble
from bioevo.bench_presets import preset_overrides
from bioevo.config import final_temperature
from bioevo.scoring import Scorer, recording_needs
from bioevo.sim.evaluator import PopulationEvaluator
from bioevo.strategies.base import deap_classes


def preset_scorer(name: str):
    """(evaluator, scorer, training split, batch size, one generation's genomes)."""
    cfg = bioevo.load_config(name, preset_overrides(name, Path("/tmp/bioevo-bench-data")))
    parts = assemble(cfg, build_evaluator=False)
    fit = cfg["fitness"]
    trace, spikes, stats = recording_needs(fit)
    population, batch = int(parts.strategy.popsize), cfg["evolve"]["batch_size"]
    ev = PopulationEvaluator(parts.model, parts.layout.layer_sizes, population, batch, parts.n_steps,
                             record_trace=trace, record_spikes=(parts.model.readout_layer,) if spikes else False,
                             readout_stats=stats)
    scorer = Scorer(ev, parts.layout, fit["loss"], fit["margin"], fit["l2"], fit["readout"], fit["smoothness"],
                    fit.get("last_steps", 0), final_temperature(fit))
    _, individual = deap_classes()
    genomes = np.asarray(parts.strategy.generate(individual))
    return ev, scorer, parts.splits["train"], batch, genomes
