"""``python -m bioevo COMMAND ...``: the ``bioevo`` console script."""
from .console import main

raise SystemExit(main())
