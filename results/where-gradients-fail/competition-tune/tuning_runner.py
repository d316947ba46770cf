"""How the tuning runs in this folder were made, before fitness.temperature existed: the preset
competition-clicks with max_cross_entropy's scores divided by $CE_T (the formula fitness.temperature
now applies; 20 generations of seed 1 with --set fitness.temperature=8.0 gave metrics.csv identical
to t8-s1's) and, optionally, the shared recurrent strengths starting at set values (argv[3], e.g.
"exc_exc=0.8,exc_inh=1.0,inh_exc=0.3"; tried on seed 0 and dropped: ES drove the window to ties).

    CE_T=8 PYTHONPATH=. python tuning_runner.py SEED OUT_DIR "" evolve.generations=400
"""
import sys, numpy as np
import bioevo.genome as G
START = dict(kv.split("=") for kv in sys.argv[3].split(",")) if len(sys.argv) > 3 and sys.argv[3] else {}
START = {k: float(v) for k, v in START.items()}
orig = G.Segment.initial
def initial(self, rng):
    x = orig(self, rng)
    key = self.name[2:]
    if self.kind == "weight" and key in START:
        x = np.full(self.size, START[key] / self.weight_scale)
    return x
G.Segment.initial = initial
import os
import bioevo.fitness as F
T = float(os.environ.get("CE_T", "1"))
if T != 1:
    F.LOSSES["max_cross_entropy"] = F.Loss(lambda v, l: F.cross_entropy(v / T, l), "vmax", False)
from bioevo.pipeline import load_config, run
seed, out = int(sys.argv[1]), sys.argv[2]
cfg = load_config("competition-clicks", sys.argv[4:], seed=seed)
cfg["evolve"]["progress"] = False
r = run(cfg, out)
print(out, r.summary["test"]["accuracy"] if hasattr(r, "summary") else r)
