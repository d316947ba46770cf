"""Gradient norm (before clipping) over BPTT steps, one panel per preset and learning rate,
one line per seed; a run that diverged ends in a cross.

    PYTHONPATH=. python results/where-gradients-fail/figure.py
"""
from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

HERE = Path(__file__).resolve().parent


def main() -> None:
    runs = {}
    for f in sorted(HERE.glob("*/bptt-*s*/baselines.json")):
        variant, seed = f.parent.name.rsplit("-s", 1)
        preset = f.parent.parent.name + ("" if variant == "bptt" else f" ({variant[5:]})")
        candidates = json.loads(f.read_text())["methods"]["bptt"]["candidates"]
        if not any(g is not None for c in candidates for g in c["grad_norm"]):
            continue  # diverged at the first step: no finite norm to draw (README: ml-clicks)
        for c in candidates:
            runs.setdefault(preset, {}).setdefault(c["lr"], []).append((int(seed), c))
    presets = sorted(runs)
    lrs = sorted({lr for p in runs.values() for lr in p})
    fig, axes = plt.subplots(len(presets), len(lrs), figsize=(3.2 * len(lrs), 2.6 * len(presets)),
                             squeeze=False, sharey=True)
    for i, preset in enumerate(presets):
        for j, lr in enumerate(lrs):
            ax = axes[i][j]
            for seed, c in runs[preset].get(lr, []):
                g = np.array([np.nan if v is None else v for v in c["grad_norm"]], float)
                g = np.where(np.isfinite(g) & (g > 0), g, np.nan)
                line, = ax.semilogy(g, lw=0.6, label=f"seed {seed}")
                if c["diverged"]:
                    ax.plot(len(g) - 1, np.nanmax(g), "x", color=line.get_color())
            ax.axhline(1.0, color="k", lw=0.5, ls=":")  # the clip
            ax.set_title(f"{preset}, lr {lr:g}", fontsize=8)
            ax.tick_params(labelsize=7)
            if i == len(presets) - 1:
                ax.set_xlabel("step", fontsize=8)
            if j == 0:
                ax.set_ylabel("gradient norm", fontsize=8)
    axes[0][0].legend(fontsize=6)
    fig.tight_layout()
    fig.savefig(HERE / "grad_norms.png", dpi=70)


if __name__ == "__main__":
    main()
