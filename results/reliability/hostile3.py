"""Hostile inputs, round 3 (issue 32): aimed at what was added recently (CR-FM-NES, PGPE, the
clicks data kind and its presets, Morris-Lecar models, the BPTT baseline, bench --strategies,
the compiled-project cache). Each attempt runs in a fresh folder with a time limit; the table
gives its exit code, stderr lines, whether a traceback was printed, and the files it created.
A clean end is exit 2 with one stderr line and nothing created, or a correct run (exit 0).

Run from the repository root: python results/reliability/hostile3.py [> results/reliability/hostile3.md]
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LIMIT_S = 120
T = "bioevo.tasks.train"
B = "bioevo.tasks.baselines"
Q = ["--backend", "runtime", "--quiet", "--set", "evolve.generations=1", "--set", "evolve.eval_every=1"]
CL = [*Q, "--preset", "lif-clicks", "--set", "strategy.es.popsize=4", "--set", "evolve.batch_size=8",
      "--set", "data.split=[8, 4, 4]"]  # the clicks presets, the runtime backend (no compiler)


def model(d: Path, base: str, old: str, new: str) -> str:
    text = (ROOT / "models" / f"{base}.toml").read_text()
    assert old in text, (base, old)
    path = d / f"{base}-bad.toml"
    path.write_text(text.replace(old, new, 1))
    return f'model.name="{path}"'


def preset(d: Path, text: str) -> str:
    path = d / "p.toml"
    path.write_text(text)
    return str(path)


def fifo(d: Path) -> str:
    os.mkfifo(d / "f.toml")
    return str(d / "f.toml")


# (name, module, argv builder (d -> args), extra environment builder (d -> dict) or None)
ATTEMPTS = [
    # CR-FM-NES
    ("crfmnes popsize 1", T, lambda d: [*Q, "--strategy", "cr-fm-nes", "--set", "strategy.cr-fm-nes.popsize=1"], None),
    ("crfmnes popsize odd", T, lambda d: [*Q, "--strategy", "cr-fm-nes", "--set", "strategy.cr-fm-nes.popsize=7"], None),
    ("crfmnes sigma 0", T, lambda d: [*Q, "--strategy", "cr-fm-nes", "--set", "strategy.cr-fm-nes.sigma=0"], None),
    ("crfmnes sigma nan", T, lambda d: [*Q, "--strategy", "cr-fm-nes", "--set", "strategy.cr-fm-nes.sigma=nan"], None),
    ("crfmnes sigma -1", T, lambda d: [*Q, "--strategy", "cr-fm-nes", "--set", "strategy.cr-fm-nes.sigma=-1.0"], None),
    ("crfmnes sigma 1e308", T, lambda d: [*Q, "--strategy", "cr-fm-nes", "--set", "strategy.cr-fm-nes.sigma=1e308"], None),
    ("crfmnes popsize 1e9", T, lambda d: [*Q, "--strategy", "cr-fm-nes", "--set", "strategy.cr-fm-nes.popsize=1000000000"],
     None),
    ("crfmnes popsize string", T, lambda d: [*Q, "--strategy", "cr-fm-nes", "--set", 'strategy.cr-fm-nes.popsize="8"'],
     None),
    ("crfmnes unknown key", T, lambda d: [*Q, "--strategy", "cr-fm-nes", "--set", "strategy.cr-fm-nes.lr=0.1"], None),
    # PGPE
    ("pgpe popsize 3", T, lambda d: [*Q, "--strategy", "pgpe", "--set", "strategy.pgpe.popsize=3"], None),
    ("pgpe optimizer bogus", T, lambda d: [*Q, "--strategy", "pgpe", "--set", 'strategy.pgpe.optimizer="lbfgs"'], None),
    ("pgpe stdev_max_change 1", T, lambda d: [*Q, "--strategy", "pgpe", "--set", "strategy.pgpe.stdev_max_change=1"],
     None),
    ("pgpe stdev_init inf", T, lambda d: [*Q, "--strategy", "pgpe", "--set", "strategy.pgpe.stdev_init=inf"], None),
    ("pgpe center_lr -1", T, lambda d: [*Q, "--strategy", "pgpe", "--set", "strategy.pgpe.center_lr=-1.0"], None),
    ("pgpe momentum 2", T, lambda d: [*Q, "--strategy", "pgpe", "--set", "strategy.pgpe.momentum=2.0"], None),
    ("pgpe ranking bogus", T, lambda d: [*Q, "--strategy", "pgpe", "--set", 'strategy.pgpe.ranking="zscore"'], None),
    ("pgpe popsize 1e9", T, lambda d: [*Q, "--strategy", "pgpe", "--set", "strategy.pgpe.popsize=1000000000"], None),
    ("pgpe table not a table", T, lambda d: [*Q, "--strategy", "pgpe", "--set", "strategy.pgpe=3"], None),
    # clicks data kind and presets
    ("clicks n_steps 1", T, lambda d: [*CL, "--set", "data.n_steps=1"], None),
    ("clicks stimulus > n_steps", T, lambda d: [*CL, "--set", "data.stimulus_steps=10000"], None),
    ("clicks difficulty 0", T, lambda d: [*CL, "--set", "data.difficulty=0.0"], None),
    ("clicks difficulty nan", T, lambda d: [*CL, "--set", "data.difficulty=nan"], None),
    ("clicks rate_sum huge", T, lambda d: [*CL, "--set", "data.rate_sum=1e9"], None),
    ("clicks dt_ms 0", T, lambda d: [*CL, "--set", "data.dt_ms=0.0"], None),
    ("clicks dt_ms != model dt", T, lambda d: [*CL, "--set", "data.dt_ms=0.5"], None),
    ("clicks split [0,1,1]", T, lambda d: [*CL, "--set", "data.split=[0, 1, 1]"], None),
    ("clicks split huge", T, lambda d: [*CL, "--set", "data.split=[100000000, 1, 1]"], None),
    ("clicks n_steps 1e6 x split", T, lambda d: [*CL, "--set", "data.n_steps=1000000",
                                                 "--set", "data.split=[10000, 100, 100]"], None),
    ("clicks units_per_side 0", T, lambda d: [*CL, "--set", "data.units_per_side=0"], None),
    ("clicks units_per_side 1e6", T, lambda d: [*CL, "--set", "data.units_per_side=1000000"], None),
    ("clicks seed -1", T, lambda d: [*CL, "--set", "data.seed=-1"], None),
    ("clicks seed 2**40", T, lambda d: [*CL, "--set", "data.seed=1099511627776"], None),
    ("clicks unknown key", T, lambda d: [*CL, "--set", "data.path=\"/tmp\""], None),
    ("clicks last_steps > n_steps", T, lambda d: [*CL, "--set", "fitness.last_steps=100000"], None),
    ("competition-clicks popsize 0", T, lambda d: [*Q, "--preset", "competition-clicks",
                                                   "--set", "strategy.es.popsize=0"], None),
    # Morris-Lecar models
    ("ml-clicks hidden 0", T, lambda d: [*Q, "--preset", "ml-clicks", "--set", "model.hidden=0"], None),
    ("ml C_m nan", T, lambda d: [*Q, "--preset", "ml-clicks", "--set", "model.params.hidden.C_m=nan"], None),
    ("ml unknown param", T, lambda d: [*Q, "--preset", "ml-clicks", "--set", "model.params.hidden.nope=1.0"], None),
    ("ml model dt 0", T, lambda d: [*Q, "--preset", "ml-clicks", "--set",
                                    model(d, "morris_lecar", "\ndt = 0.05", "\ndt = 0 #")], None),
    ("ml model size hidden**6", T, lambda d: [*Q, "--preset", "ml-clicks", "--set", "model.hidden=128", "--set",
                                              model(d, "morris_lecar", 'size = "hidden"', 'size = "hidden ** 6"')],
     None),
    ("ml class2 recurrent hidden 1e8", T, lambda d: [*Q, "--preset", "ml-clicks", "--set",
                                                     'model.name="morris_lecar_recurrent"', "--set",
                                                     "model.hidden=100000000"], None),
    # BPTT baseline
    ("bptt unknown method", B, lambda d: ["--preset", "randman-2", "--methods", "bptt,sgd", "--out", str(d / "o")],
     None),
    ("bptt empty methods", B, lambda d: ["--preset", "randman-2", "--methods", "", "--out", str(d / "o")], None),
    ("bptt seed -1", B, lambda d: ["--preset", "randman-2", "--methods", "bptt", "--seed", "-1", "--out", str(d / "o")],
     None),
    ("bptt hh preset", B, lambda d: ["--preset", "hh-randman-2", "--methods", "bptt", "--out", str(d / "o")], None),
    ("bptt bad --run", B, lambda d: ["--preset", "randman-2", "--methods", "bptt", "--run", str(d),
                                     "--out", str(d / "o")], None),
    ("bptt --out is a file", B, lambda d: ["--preset", "randman-2", "--methods", "bptt",
                                           "--out", str(Path(shutil.copy(__file__, d / "file")))], None),
    ("bptt --preset fifo", B, lambda d: ["--preset", fifo(d), "--methods", "bptt", "--out", str(d / "o")], None),
    # bench --strategies
    ("bench --strategies --repeats 0", "bioevo.bench", lambda d: ["--strategies", "--repeats", "0"], None),
    ("bench --strategies --set bad", "bioevo.bench", lambda d: ["--strategies", "--set", "evolve.nope=1"], None),
    ("bench --presets unknown", "bioevo.bench", lambda d: ["--presets", "nope"], None),
    # the compiled-project cache
    ("BIOEVO_CACHE is a file", T, lambda d: ["--preset", "randman-2", "--quiet", "--out", str(d / "o")],
     lambda d: {"BIOEVO_CACHE": shutil.copy(__file__, d / "cachefile")}),
    ("BIOEVO_CACHE under a file", T, lambda d: ["--preset", "randman-2", "--quiet", "--out", str(d / "o")],
     lambda d: {"BIOEVO_CACHE": str(Path(shutil.copy(__file__, d / "cachefile")) / "sub")}),
    ("BIOEVO_CACHE name too long", T, lambda d: ["--preset", "randman-2", "--quiet", "--out", str(d / "o")],
     lambda d: {"BIOEVO_CACHE": str(d / ("c" * 300))}),
    # presets and run directories
    ("--preset fifo", T, lambda d: [*Q, "--preset", fifo(d)], None),
    ("--out name too long", T, lambda d: [*Q, "--preset", "randman-2", "--out", str(d / ("x" * 300))], None),
    ("preset strategy pgpe without table", T, lambda d: [*Q, "--preset", preset(
        d, '[run]\ndescription="x"\n[data]\nkind="clicks"\n[strategy]\nname="pgpe"\n[strategy.pgpe]\npopsize=-2\n')],
     None),
]


def run(name: str, module: str, argv, env_of) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        work = d / "work"
        work.mkdir()
        args = argv(d)
        env = {**os.environ, "PYTHONPATH": str(ROOT), **(env_of(d) if env_of else {})}
        before = {p.name for p in d.iterdir()}
        t = time.perf_counter()
        try:
            res = subprocess.run([sys.executable, "-m", module, *args], cwd=work, capture_output=True, text=True,
                                 timeout=LIMIT_S, env=env, stdin=subprocess.DEVNULL)
            code, err = res.returncode, res.stderr
        except subprocess.TimeoutExpired as exc:
            code, err = "hang", (exc.stderr or b"").decode() if isinstance(exc.stderr, bytes) else (exc.stderr or "")
        created = sorted({p.name for p in d.iterdir()} - before) + [f"work/{p.name}" for p in work.iterdir()]
        lines = [ln for ln in err.strip().splitlines() if ln.strip()]
        return {"name": name, "code": code, "lines": len(lines), "traceback": "Traceback" in err,
                "created": created, "first": (lines[0] if lines else "")[:150], "s": time.perf_counter() - t}


def main() -> None:
    rows = [run(*a) for a in ATTEMPTS]
    print("| # | attempt | exit | stderr lines | traceback | created | first stderr line |")
    print("|---|---|---|---|---|---|---|")
    for k, r in enumerate(rows, 1):
        first = r["first"].replace("|", "\\|")
        print(f"| {k} | {r['name']} | {r['code']} | {r['lines']} | {'yes' if r['traceback'] else 'no'} | "
              f"{', '.join(r['created']) or '-'} | {first} |")
    clean = sum(1 for r in rows if not r["traceback"] and r["code"] != "hang" and not r["created"]
                and ((r["code"] == 2 and r["lines"] == 1) or r["code"] == 0))
    print(f"\nattempts {len(rows)}, clean {clean}, tracebacks {sum(r['traceback'] for r in rows)}, "
          f"hangs {sum(r['code'] == 'hang' for r in rows)}, exit 0 (ran) {sum(r['code'] == 0 for r in rows)}")


if __name__ == "__main__":
    main()
