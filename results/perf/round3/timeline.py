"""Where one evaluation's wall time goes: before the request to the servers, until their last
answer (beside the binaries' own wall time), and after.

    PYTHONPATH=. python results/perf/round3/timeline.py PRESET [EVALUATIONS]
"""
import sys
import time

import numpy as np

from bioevo.evolve import batch_indices
from bioevo.sim import evaluator as E
from preset_scorer import preset_scorer

name = sys.argv[1]
ev, scorer, train, B, genomes = preset_scorer(name)
marks = []
# the request goes out right after the last argument file is written, and the first results file
# is read right after the last answer: both are marked through public functions
write_file, read_file = E.ArgumentFiles.write, np.fromfile
def write(self, *a, **k):
    out = write_file(self, *a, **k)
    marks.append(("servers.run", time.perf_counter()))
    return out
def fromfile(*a, **k):
    if not any(name == "answers" for name, _ in marks):
        marks.append(("answers", time.perf_counter()))
    return read_file(*a, **k)
E.ArgumentFiles.write = write
np.fromfile = fromfile
rows = []
for g in range(int(sys.argv[2]) if len(sys.argv) > 2 else 30):
    batch = train.subset(batch_indices(len(train), B, 0, g))
    marks.clear()
    t0 = time.perf_counter()
    scorer.batch(genomes, batch)
    t1 = time.perf_counter()
    d = dict(marks)
    rows.append((d["servers.run"] - t0, d["answers"] - d["servers.run"], t1 - d["answers"], max(ev._servers.last_wall_s), t1 - t0))
r = np.median(np.array(rows[2:]), axis=0) * 1e3
print(f"{name}: before servers {r[0]:.1f} ms, servers {r[1]:.1f} ms (binary wall {r[3]:.1f}), after {r[2]:.1f} ms, total {r[4]:.1f}")
ev.close()
