"""A/B in one process: argument files written by tofile (A) or in place (B), alternated."""
import time, sys
import numpy as np
import bioevo
from bioevo.assemble import assemble
from bioevo.config import final_temperature
from bioevo.evolve import batch_indices
from bioevo.scoring import Scorer, recording_needs
from bioevo.sim.evaluator import PopulationEvaluator, ArgumentFiles
from bioevo.strategies.base import deap_classes
from bioevo.bench_presets import preset_overrides
from pathlib import Path
name = sys.argv[1]
cfg = bioevo.load_config(name, preset_overrides(name, Path("/tmp/bioevo-bench-data")))
parts = assemble(cfg, build_evaluator=False)
fit = cfg["fitness"]
trace, spikes, stats = recording_needs(fit)
P = int(parts.strategy.popsize); B = cfg["evolve"]["batch_size"]
ev = PopulationEvaluator(parts.model, parts.layout.layer_sizes, P, B, parts.n_steps, record_trace=trace,
     record_spikes=(parts.model.readout_layer,) if spikes else False, readout_stats=stats)
scorer = Scorer(ev, parts.layout, fit["loss"], fit["margin"], fit["l2"], fit["readout"], fit["smoothness"],
                fit.get("last_steps", 0), final_temperature(fit))
train = parts.splits["train"]
_, ind = deap_classes()
genomes = np.asarray(parts.strategy.generate(ind))
new_write = ArgumentFiles.write
def old_write(self, path, values, dtype):
    np.asarray(values).astype(dtype, copy=False).tofile(path)
res = {"tofile": [], "in place": []}
walls = {"tofile": [], "in place": []}
N = int(sys.argv[2]) if len(sys.argv) > 2 else 30
for g in range(2 * N + 2):
    which = "tofile" if g % 2 == 0 else "in place"
    ArgumentFiles.write = old_write if which == "tofile" else new_write
    batch = train.subset(batch_indices(len(train), B, 0, g // 2))
    t0 = time.perf_counter()
    l, a = scorer.batch(genomes, batch)
    dt = time.perf_counter() - t0
    if g >= 2:
        res[which].append(dt); walls[which].append(max(ev._servers.last_wall_s))
for k in res:
    print(f"{name} {k:9s}: median {np.median(res[k])*1e3:.1f} ms per evaluation, binary wall {np.median(walls[k])*1e3:.1f} ms, outside {np.median(np.array(res[k])-np.array(walls[k]))*1e3:.1f} ms")
ev.close()
