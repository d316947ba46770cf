"""The heterogeneity study's numbers: per-condition statistics over seeds, each
condition's paired difference to condition a with a 95% bootstrap interval, and
the tables and figures of the study directory.  Simulation (robustness, time
constants) happens in ``bioevo.tasks.heterogeneity``; this module only reads
and summarises."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .seeds import first_generation, summarise
from .paired import coefficient_of_variation, common_target, paired_difference, verdict

REFERENCE = "a"
#: per-run numbers compared with condition a: (key, word when higher, word when lower)
COMPARED = (("test_accuracy", "higher", "lower"), ("generations_to_common", "slower", "faster"),
            ("robustness_change", "more robust", "less robust"))
CAP_REASON = "generation budget"
#: heterogeneity at equal training: (per-neuron condition, shared condition, what both do with tau)
HETEROGENEITY_PAIRS = (("b", "a", "fixed"), ("d", "c", "evolved"))


def robustness_change(robustness: dict[str, float]) -> float:
    """Mean change of test accuracy over the perturbations (every tau scaled by 1 + delta), against
    the unperturbed network: 0 is perfectly robust, negative is what the perturbations cost."""
    base = robustness["+0.00"]
    return float(np.mean([acc - base for key, acc in robustness.items() if key != "+0.00"]))


def summarise_dataset(runs: dict[str, list[dict]]) -> dict:
    """Runs of one dataset (condition -> per-seed run records, same seed order in every condition)
    -> per-condition statistics and differences to condition a."""
    target = common_target([r["best_val_accuracy"] for rs in runs.values() for r in rs])
    for rs in runs.values():
        for r in rs:
            r["generations_to_common"] = first_generation(r["rows"], "val_acc", target)
            r["robustness_change"] = robustness_change(r["robustness"])
    out = {"common_target": target, "conditions": {}}
    for c, rs in runs.items():
        keys = rs[0]["robustness"].keys()
        entry = {
            "condition": c,
            "test_accuracy": summarise([r["test_accuracy"] for r in rs]),
            "generations_to_target": summarise([r["generations_to_target"] for r in rs]),
            "generations_to_common": summarise([r["generations_to_common"] for r in rs]),
            "generations": summarise([r["generations"] for r in rs]),
            "wall_seconds": summarise([r["wall_seconds"] for r in rs]),
            "at_cap": sum(r["stop_reason"] == CAP_REASON for r in rs),
            "robustness": {k: summarise([r["robustness"][k] for r in rs]) for k in keys},
            "robustness_change": summarise([r["robustness_change"] for r in rs]),
            "runs": [{k: v for k, v in r.items() if k not in ("rows", "distributions")} for r in rs],
        }
        if REFERENCE in runs and c != REFERENCE and len(rs) > 1:  # an interval needs two seeds
            entry["vs_a"] = _compare(rs, runs[REFERENCE])
        dist = {k: sum((r["distributions"].get(k, []) for r in rs), []) for k in rs[0]["distributions"]}
        entry["distributions"] = dist
        entry["tau_stats"] = {k: {"median": float(np.median(v)), "cv": coefficient_of_variation(v)}
                              for k, v in dist.items()}
        out["conditions"][c] = entry
    # c - a measures evolving one shared tau; d - c isolates per-neuron values among evolved ones
    out["heterogeneity"] = {f"{het}-{hom}": {"trained": how, **_compare(runs[het], runs[hom])}
                            for het, hom, how in HETEROGENEITY_PAIRS
                            if het in runs and hom in runs and len(runs[het]) > 1}
    return out


def _compare(runs: list[dict], reference: list[dict]) -> dict:
    """Paired (by seed) differences ``runs - reference`` of every COMPARED number, with verdicts."""
    out = {}
    for key, higher, lower in COMPARED:
        diff = paired_difference([r[key] for r in runs], [r[key] for r in reference])
        out[key] = {**diff, "verdict": verdict(diff, higher, lower)}
    return out


def _ms(stat: dict, scale: float = 1.0, digits: int = 0) -> str:
    if stat["mean"] is None:
        return "never"
    sd = "" if stat["sd"] is None else f" ± {stat['sd'] * scale:.{digits}f}"
    text = f"{stat['mean'] * scale:.{digits}f}{sd}"
    return text if stat["n"] == stat["of"] else f"{text} ({stat['n']}/{stat['of']} reached)"


def _diff(entry: dict, key: str, scale: float = 1.0, digits: int = 0) -> str:
    if "vs_a" not in entry:
        return "(reference)" if entry.get("condition") == REFERENCE else "(one seed: no interval)"
    return _interval(entry["vs_a"][key], scale, digits)


def _interval(d: dict, scale: float = 1.0, digits: int = 0) -> str:
    return (f"{d['mean'] * scale:+.{digits}f} [{d['low'] * scale:+.{digits}f}, {d['high'] * scale:+.{digits}f}]: "
            f"{d['verdict']} (sign-flip p = {d['p_sign_flip']:.3g})")


def _entries(results: dict):
    """(dataset, condition, its statistics) in table order."""
    for ds, res in results.items():
        for c, e in res["conditions"].items():
            yield ds, c, e


def markdown(results: dict, labels: dict[str, str], target: float, pending: dict[str, str]) -> str:
    """The study's tables: accuracy, speed, robustness, time constants, and every run's stop."""
    out = ["## Test accuracy (%), mean ± sd over seeds; difference to a: mean [95% bootstrap interval]", "",
           "| dataset | condition | test accuracy | min | difference to a |", "|---|---|---|---|---|"]
    for ds, c, e in _entries(results):
        out.append(f"| {ds} | {c}: {labels[c]} | {_ms(e['test_accuracy'], 100, 2)} "
                   f"| {100 * e['test_accuracy']['min']:.2f} | {_diff(e, 'test_accuracy', 100, 2)} |")
    pairs = [(ds, pair, d) for ds, res in results.items() for pair, d in res.get("heterogeneity", {}).items()]
    if pairs:  # needs b and a, or d and c, on two seeds or more
        out += ["", "## Heterogeneity at equal training: per-neuron minus shared time constants, paired by seed", "",
                "b - a: both fixed; d - c: both evolved. c - a above measures evolving one shared value per layer; "
                "d - c asks only whether making the evolved values per-neuron helps.", "",
                "| dataset | comparison | test accuracy (points) | generations to the common target "
                "| robustness: mean change (points) |", "|---|---|---|---|---|"]
        for ds, pair, d in pairs:
            out.append(f"| {ds} | {pair} ({d['trained']}) | {_interval(d['test_accuracy'], 100, 2)} "
                       f"| {_interval(d['generations_to_common'])} | {_interval(d['robustness_change'], 100, 2)} |")
    out += ["", "## Speed of learning: generations to a validation accuracy", "",
            "The common target is the highest multiple of 5% that every run of the dataset reached, so every run "
            f"has a number; {target:.0%} is the study's fixed target.", "",
            "| dataset | condition | generations to the common target | difference to a "
            f"| generations to {target:.0%} | generations run | runs at the cap |", "|---|---|---|---|---|---|---|"]
    for ds, c, e in _entries(results):
        out.append(f"| {ds} ({results[ds]['common_target']:.0%}) | {c} | {_ms(e['generations_to_common'])} "
                   f"| {_diff(e, 'generations_to_common')} | {_ms(e['generations_to_target'])} "
                   f"| {_ms(e['generations'])} | {e['at_cap']} of {e['generations']['of']} |")
    deltas = sorted(next(iter(next(iter(results.values()))["conditions"].values()))["robustness"], key=float)
    out += ["", "## Robustness: test accuracy (%) with every time constant scaled by 1 + delta", "",
            "The change is the mean over the perturbations of (perturbed - unperturbed) test accuracy.", "",
            "| dataset | condition | " + " | ".join(deltas) + " | mean change | difference to a |",
            "|---|---|" + "---|" * (len(deltas) + 2)]
    for ds, c, e in _entries(results):
        cells = " | ".join(f"{100 * e['robustness'][k]['mean']:.1f}" for k in deltas)
        out.append(f"| {ds} | {c} | {cells} | {_ms(e['robustness_change'], 100, 2)} "
                   f"| {_diff(e, 'robustness_change', 100, 2)} |")
    out += ["", "## Hidden time constants, all seeds pooled: median (ms) and coefficient of variation", "",
            "| dataset | condition | tau_mem initial | tau_mem evolved | tau_syn initial | tau_syn evolved |",
            "|---|---|---|---|---|---|"]
    for ds, c, e in _entries(results):
        t = e["tau_stats"]
        if t:
            cells = [f"{t[f'{tag}_{name}']['median']:.2f} (cv {t[f'{tag}_{name}']['cv']:.2f})"
                     for name in ("tau_mem", "tau_syn") for tag in ("initial", "final")]
            out.append(f"| {ds} | {c} | " + " | ".join(cells) + " |")
    out += ["", "## Every run: generations, why it stopped, test accuracy", "",
            "| dataset | condition | seed | generations | stop | best val | test | wall s |",
            "|---|---|---|---|---|---|---|---|"]
    for ds, c, e in _entries(results):
        for r in e["runs"]:
            out.append(f"| {ds} | {c} | {r['seed']} | {r['generations']} | {r['stop_reason']} "
                       f"| {r['best_val_accuracy']:.3f} | {r['test_accuracy']:.4f} | {r['wall_seconds']:.0f} |")
    for ds, why in pending.items():
        out += ["", f"{ds}: {why}"]
    return "\n".join(out) + "\n"


def plot(results: dict, labels: dict[str, str], out: Path) -> None:
    """accuracy.png, robustness.png and time_constants.png of the study directory."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    datasets = list(results)
    fig = Figure(figsize=(3 + 3 * len(datasets), 4))
    FigureCanvasAgg(fig)
    for k, ds in enumerate(datasets):
        ax = fig.add_subplot(1, len(datasets), k + 1)
        conds = results[ds]["conditions"]
        for x, e in enumerate(conds.values()):
            ax.bar(x, e["test_accuracy"]["mean"], color="0.8")
        # one line per seed across the conditions: the comparisons are paired by seed
        seeds = [r["seed"] for r in next(iter(conds.values()))["runs"]]
        for i, seed in enumerate(seeds):
            ax.plot(range(len(conds)), [e["runs"][i]["test_accuracy"] for e in conds.values()], ".-", ms=5,
                    lw=0.8, label=f"seed {seed}")
        lows = min(r["test_accuracy"] for e in conds.values() for r in e["runs"])
        ax.legend(fontsize=7)
        ax.set(title=ds, ylabel="test accuracy (bars: mean, lines: seeds)", ylim=(max(0.0, lows - 0.05), 1.0),
               xticks=range(len(conds)), xticklabels=list(conds))
    fig.tight_layout()
    fig.savefig(out / "accuracy.png", dpi=120)

    fig = Figure(figsize=(3 + 3 * len(datasets), 4))
    FigureCanvasAgg(fig)
    for k, ds in enumerate(datasets):
        ax = fig.add_subplot(1, len(datasets), k + 1)
        for c, e in results[ds]["conditions"].items():
            rob = e["robustness"]
            keys = sorted(rob, key=float)
            ax.errorbar([float(x) for x in keys], [rob[x]["mean"] for x in keys],
                        yerr=[rob[x]["sd"] or 0.0 for x in keys], marker="o", capsize=3, label=f"{c}: {labels[c]}")
        ax.set(title=ds, xlabel="relative change of every time constant", ylabel="test accuracy", ylim=(0, 1))
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "robustness.png", dpi=120)

    fig = Figure(figsize=(8, 3.5 * len(datasets)))
    FigureCanvasAgg(fig)
    for k, ds in enumerate(datasets):
        for m, name in enumerate(("tau_mem", "tau_syn")):
            ax = fig.add_subplot(len(datasets), 2, 2 * k + m + 1)
            shown = [(c, e["distributions"]) for c, e in results[ds]["conditions"].items()
                     if e["distributions"].get(f"initial_{name}")]
            if not shown:
                continue
            values = np.concatenate([d[f"{tag}_{name}"] for _, d in shown for tag in ("initial", "final")])
            bins = np.geomspace(values.min() * 0.95, values.max() * 1.05, 41)  # one set of bins per panel
            for c, dist in shown:
                fixed = dist[f"final_{name}"] == dist[f"initial_{name}"]  # b: initial = final
                line = ax.hist(dist[f"final_{name}"], bins=bins, histtype="step",
                               label=f"{c} {'fixed' if fixed else 'evolved'}")[2][0]
                if not fixed:
                    ax.hist(dist[f"initial_{name}"], bins=bins, histtype="step", ls="--",
                            color=line.get_edgecolor(), label=f"{c} initial")
            ax.set(xlabel="ms", xscale="log", ylabel="neurons")
            ax.set_title(f"{ds}: hidden {name} (all seeds)", fontsize=9)
            ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "time_constants.png", dpi=120)
