"""The commands: ``bioevo NAME ARGS`` runs ``main(ARGS)`` of ``bioevo.tasks.NAME``
(also ``python -m bioevo.tasks.NAME ARGS``).  Each module's docstring starts with
``python -m bioevo.tasks.NAME: what it does.``, which ``bioevo --help`` shows.

Adding a command: a module here with ``main(argv)``, and its name below."""

COMMANDS = ("train", "randman", "compare", "heterogeneity", "iapp", "landscape", "baselines", "bench", "competition",
            "score_checkpoint", "seed_table", "init_firing", "cache", "docs")
