"""Diagnose PSO stalls: log per update how many personal bests improved, whether g moved, swarm spread."""
import sys, json
import numpy as np
from bioevo.strategies import pso
from bioevo.tasks import train

log = open(sys.argv[1], "w")
orig = pso.ParticleSwarm.update

def update(self, population, evaluate=None):
    g_before = self.gbest_loss
    pb_before = self.pbest_loss.copy()
    orig(self, population, evaluate)
    row = dict(t=self.t, gbest=self.gbest_loss, g_moved=bool(self.gbest_loss < g_before),
               n_improved=int(np.sum(self.pbest_loss < pb_before)),
               spread=float(np.mean(np.std(self.x, axis=0))), speed=float(np.mean(np.abs(self.v))),
               pbest_spread=float(np.mean(np.std(self.pbest_x, axis=0))),
               dist_g=float(np.mean(np.linalg.norm(self.x - self.gbest_x, axis=1))))
    log.write(json.dumps(row) + "\n"); log.flush()

pso.ParticleSwarm.update = update
train.main(sys.argv[2:])
