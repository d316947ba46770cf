"""Seconds per generation of what a training loop repeats: the strategy's generate and the evaluation
of its population on one minibatch (mean of 10 after one warm-up), for the DEAP-individual figures of
results/perf/README.md (second round: digits 82 -> 49 ms, mnist 187 -> 109 ms).  Run it at 3cacd37^
and at 3cacd37 (or later) from the project root:

    python results/perf/round2/whole_generation.py digits
    python results/perf/round2/whole_generation.py mnist 'data.path="<cache>/bench-data/mnist"'
"""
import sys
import time

import numpy as np

import bioevo
from bioevo.assemble import assemble
from bioevo.evolve import batch_indices
from bioevo.strategies.base import deap_classes

preset, *overrides = sys.argv[1:]
cfg = bioevo.load_config(preset, overrides)
parts = assemble(cfg)
train = parts.splits["train"]
_, individual = deap_classes()


def generation(gen: int) -> None:
    batch = train.subset(batch_indices(len(train), cfg["evolve"]["batch_size"], 0, gen))
    population = parts.strategy.generate(individual)
    parts.scorer.batch(np.asarray(population), batch)


generation(0)
t0 = time.perf_counter()
for gen in range(1, 11):
    generation(gen)
print(f"{preset}: {(time.perf_counter() - t0) / 10:.4f} s per generation (generate + evaluate)")
