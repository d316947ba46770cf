"""python -m bioevo.tasks.cache: list the compiled projects in the build cache, or remove the unused ones.

Every network shape compiles once into ``$BIOEVO_CACHE`` (default ``~/.cache/bioevo``) and is reused
from there; nothing removes old shapes by itself.  Without options this prints how many projects
there are, their size, and the least recently used; ``--remove-unused-for DAYS`` removes those not
built or run for that long (a project in use by a run or a build is skipped and named).  A removed
project is compiled again the next time a run needs it."""
from __future__ import annotations

import argparse
import time

from ..cli import Parser, run_command
from ..errors import RunError
from ..sim.cache import CachedProject, cache_root, cached_projects, remove_project

PROG = "python -m bioevo.tasks.cache"
SECONDS_PER_DAY = 86400.0
LISTED = 5  # least recently used projects named in the listing


def positive_days(text: str) -> float:
    """argparse type: a number of days > 0 (0 would remove a project between two generations of a run)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number of days > 0, got '{text}'") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a number of days > 0, got {text}")
    return value


def megabytes(n_bytes: int) -> str:
    return f"{n_bytes / 1e6:,.1f} MB"


def describe(projects: list[CachedProject], now: float) -> list[str]:
    """The listing: totals per backend and the least recently used projects."""
    root = cache_root()
    if not projects:
        return [f"{root}: no compiled projects"]
    lines = [f"{root}: {len(projects)} compiled projects, {megabytes(sum(p.size_bytes for p in projects))}"]
    for backend in sorted({p.backend for p in projects}):
        mine = [p for p in projects if p.backend == backend]
        lines.append(f"  {backend}: {len(mine)} projects, {megabytes(sum(p.size_bytes for p in mine))}")
    lines.append("least recently used (days since last built or run):")
    for p in projects[:LISTED]:
        lines.append(f"  {(now - p.last_used) / SECONDS_PER_DAY:8.1f}  {p.backend}/{p.path.name}  {megabytes(p.size_bytes)}")
    return lines


def remove_unused(days: float, now: float, dry_run: bool) -> list[str]:
    """Remove (or, dry, name) every project unused for ``days``; the report's lines."""
    old = [p for p in cached_projects() if now - p.last_used > days * SECONDS_PER_DAY]
    removed, in_use = [], []
    for p in old:
        if dry_run or remove_project(p):
            removed.append(p)
        else:
            in_use.append(p)
    verb = "would remove" if dry_run else "removed"
    lines = [f"{verb} {len(removed)} projects unused for more than {days:g} days, "
             f"{megabytes(sum(p.size_bytes for p in removed))}"]
    lines += [f"  kept {p.backend}/{p.path.name}: in use by a run or a build" for p in in_use]
    return lines


def main(argv: list[str] | None = None) -> None:
    p = Parser(prog=PROG, description=__doc__.split("\n\n")[0].split(": ", 1)[1])
    p.add_argument("--remove-unused-for", type=positive_days, metavar="DAYS",
                   help="remove the projects not built or run for more than DAYS days (a number > 0)")
    p.add_argument("--dry-run", action="store_true", help="with --remove-unused-for: name what would go")
    args = p.parse_args(argv)
    if args.dry_run and args.remove_unused_for is None:
        p.error("--dry-run needs --remove-unused-for")

    def run() -> None:
        now = time.time()
        try:
            if args.remove_unused_for is None:
                lines = describe(cached_projects(), now)
            else:
                lines = remove_unused(args.remove_unused_for, now, args.dry_run)
        except OSError as err:  # an unreadable cache folder, a file where a folder should be
            raise RunError(f"cannot read the build cache {cache_root()}: {err}") from None
        print("\n".join(lines))

    run_command(PROG, run)


if __name__ == "__main__":
    main()
