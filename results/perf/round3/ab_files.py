"""A/B in one process: argument files written by tofile (A) or in place (B), alternated."""
import sys
import time

import numpy as np

from bioevo.evolve import batch_indices
from bioevo.sim.evaluator import ArgumentFiles
from preset_scorer import preset_scorer

name = sys.argv[1]
ev, scorer, train, B, genomes = preset_scorer(name)
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
