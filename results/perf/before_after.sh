#!/usr/bin/env bash
# Before/after measurements of issue "Throughput" (results/perf/README.md), one right after the other
# on the same machine.  "Before" is commit 525050a (the last commit before the issue), installed in
# its own virtual environment; "after" is this checkout (pip install -e . or pip install .).
#
#   git worktree add /tmp/bioevo-before 525050a
#   python -m venv /tmp/venv-before && /tmp/venv-before/bin/pip install /tmp/bioevo-before
#   bash results/perf/before_after.sh /tmp/venv-before/bin/python /tmp/bioevo-before
#
# Writes bench-before-{1,2}.txt and bench-after-{1,2}.txt (python -m bioevo.bench of each, alternated
# twice), presets-before.jsonl and presets-after.jsonl (results/cost/gen_time.py of each on the same
# synthetic mnist and shd files, alternated three times per preset): this machine's speed drifts by
# tens of percent over minutes, so before and after alternate and the READMEs quote medians.
#
# OUT_DIR=folder writes there instead (a later round of the same measurements); AFTER_PRECISIONS="float32-weights
# float32" also times every preset of this checkout in those precisions (presets-after-<precision>.jsonl),
# in the same alternation.
set -euo pipefail
old_python=$1
old_tree=$2
script_dir="$(cd "$(dirname "$0")" && pwd)"
here="${OUT_DIR:-$script_dir}"
mkdir -p "$here"
new_python=${NEW_PYTHON:-python}
data="$($new_python -c 'from bioevo.sim.evaluator import cache_root; print(cache_root() / "bench-data")')"
$new_python -c "from pathlib import Path; from bioevo.bench_presets import synthetic_mnist, synthetic_shd
synthetic_mnist(Path('$data') / 'mnist'); synthetic_shd(Path('$data') / 'shd')"
cd /tmp  # so that neither Python imports bioevo from a source folder by accident
for round in 1 2; do
    $old_python -m bioevo.bench > "$here/bench-before-$round.txt"
    $new_python -m bioevo.bench > "$here/bench-after-$round.txt"
done
: > "$here/presets-before.jsonl"
: > "$here/presets-after.jsonl"
for precision in ${AFTER_PRECISIONS:-}; do : > "$here/presets-after-$precision.jsonl"; done
for preset in digits mnist shd hh-randman-2; do
    case $preset in
        mnist) set -- "data.path=\"$data/mnist\"" ;;
        shd) set -- "data.path=\"$data/shd\"" ;;
        *) set -- ;;
    esac
    for round in 1 2 3; do
        $old_python "$old_tree/results/cost/gen_time.py" "$preset" "$@" >> "$here/presets-before.jsonl"
        $new_python "$script_dir/../cost/gen_time.py" "$preset" "$@" >> "$here/presets-after.jsonl"
        for precision in ${AFTER_PRECISIONS:-}; do
            $new_python "$script_dir/../cost/gen_time.py" "$preset" "$@" "evolve.precision=\"$precision\"" \
                >> "$here/presets-after-$precision.jsonl"
        done
    done
done
