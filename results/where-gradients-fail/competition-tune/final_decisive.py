"""Decisive test accuracy of a run's final strategy mean (from its checkpoint) and of its kept genome."""
import json, sys
from pathlib import Path
import numpy as np
sys.path.insert(0, "results/clicks")
from control import evaluate, stats
from bioevo.assemble import assemble
from bioevo.checkpoint import read_checkpoint
from bioevo.config import resolve_config
run = Path(sys.argv[1])
state, loop, _ = read_checkpoint(run)
centroid = np.asarray(state["state"]["centroid"], float)
parts = assemble(resolve_config(run / "config.toml"))
test = parts.splits["test"]
out = {"checkpoint_gen": loop.gen, "best_gen": loop.best_gen}
for name, g in (("final_mean", centroid), ("kept", np.asarray(loop.best_genome, float))):
    sc, scale = evaluate(parts, g, test)
    out[name] = stats(sc, test.labels, 1e-3 * scale)
parts.scorer.evaluator.close()
print(json.dumps(out))
