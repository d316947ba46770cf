"""Synthetic SHD-layout files of realistic per-sample size (timing only; not real data)."""
import sys
import numpy as np
sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parents[2] / "tests"))
from test_data_shd import write_shd
rng = np.random.default_rng(0)
def rows(n):
    ts, us = [], []
    for _ in range(n):
        k = int(rng.integers(4000, 12000))  # real SHD: ~ several thousand spikes per ~1 s sample
        ts.append(np.sort(rng.uniform(0, 0.9, k))); us.append(rng.integers(0, 700, k))
    return ts, us
n_train, n_test = 2000, 500
t, u = rows(n_train)
write_shd("/tmp/shd/shd_train.h5", t, u, np.arange(n_train) % 20, np.arange(n_train) % 10, "float16")
t, u = rows(n_test)
write_shd("/tmp/shd/shd_test.h5", t, u, np.arange(n_test) % 20, np.full(n_test, 11), "float16")
