"""Time per generation of a preset's pipeline pieces (evaluation of the population on one batch,
the strategy's generate and update, validation of the mean), on whatever data the preset finds."""
import sys, time, json
import numpy as np
import bioevo
from bioevo.assemble import assemble
from bioevo.evolve import batch_indices
from bioevo.strategies.base import deap_classes

preset, *overrides = sys.argv[1:]
cfg = bioevo.load_config(preset, overrides)
t = time.time(); parts = assemble(cfg); build = time.time() - t
train, val = parts.splits["train"], parts.splits["val"]
_, Ind = deap_classes()
ev, rows = [], []
for gen in range(4):
    batch = train.subset(batch_indices(len(train), cfg["evolve"]["batch_size"], 0, gen))
    t = time.time(); pop = parts.strategy.generate(Ind); tg = time.time() - t
    t = time.time(); losses, accs = parts.scorer.batch(np.asarray(pop), batch); te = time.time() - t
    for ind, l in zip(pop, losses): ind.fitness.values = (float(l),)
    t = time.time(); parts.strategy.update(pop); tu = time.time() - t
    rows.append((te, tu, tg))
t = time.time(); parts.scorer.dataset(parts.strategy.centroid, val); tv = time.time() - t
ev = np.array(rows[1:])
out = {"preset": preset, "P": parts.scorer.evaluator.population, "B": cfg["evolve"]["batch_size"], "T": parts.n_steps,
       "inputs": train.n_units, "params": parts.layout.size, "build_s": round(build, 1),
       "eval_s": round(float(ev[:, 0].mean()), 3), "update_s": round(float(ev[:, 1].mean()), 4),
       "generate_s": round(float(ev[:, 2].mean()), 4),
       "validation_s": round(tv, 2), "n_val": len(val), "eval_every": cfg["evolve"]["eval_every"]}
print(json.dumps(out))
