"""Resume a tuning run (tuning_runner.py) at another temperature ($CE_T, default 1): how the
t8-then-t1 runs went on from their T 8 checkpoints at T 1.  Its config.toml has no temperature key
(the runner set it outside the config), so the resume accepts it."""
import os, sys
import bioevo.fitness as F
T = float(os.environ.get("CE_T", "1"))
if T != 1:
    F.LOSSES["max_cross_entropy"] = F.Loss(lambda v, l: F.cross_entropy(v / T, l), "vmax", False)
from bioevo.pipeline import resume
r = resume(sys.argv[1], progress=False)
print(sys.argv[1], r.summary["test"]["accuracy"])
