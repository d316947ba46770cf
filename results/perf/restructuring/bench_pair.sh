#!/bin/bash
# Issue 31 changed sim/ (readout statistics from one declaration): the benchmark before (2658bfd, checked out
# with git worktree add --detach /tmp/wb 2658bfd) and after (this checkout), alternated twice, back to back.
# Usage from the repository root: bash results/perf/restructuring/bench_pair.sh
here="$(cd "$(dirname "$0")" && pwd)"
for round in 1 2; do
  for side in before after; do
    dir=/tmp/wb; [ $side = after ] && dir="$(cd "$here/../../.." && pwd)"
    (cd $dir && PYTHONPATH=$dir timeout 600 python -m bioevo.bench --quick --presets digits,hh-randman-2 > "$here/bench-${side}-$round.txt" 2>&1)
    echo "$side $round rc=$?"
  done
done
