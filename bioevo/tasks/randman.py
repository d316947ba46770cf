"""python -m bioevo.tasks.randman: evolve a Brian2 network on Randman.

The training command (:mod:`bioevo.tasks.train`) with the Randman-2 preset as
its default; every preset and option works the same way."""
from __future__ import annotations

from .train import main as train_main

PROG = "python -m bioevo.tasks.randman"


def main(argv: list[str] | None = None) -> dict:
    return train_main(argv, prog=PROG, default_preset="randman-2")


if __name__ == "__main__":
    main()
