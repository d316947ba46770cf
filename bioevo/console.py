"""The ``bioevo`` console script: one entry point for every command in
:mod:`bioevo.tasks`, so a user learns one name and ``bioevo --help`` lists them all."""
from __future__ import annotations

import ast
import importlib
import importlib.util
import re
from pathlib import Path

from .cli import Parser
from .tasks import COMMANDS


def describe(name: str) -> str:
    """The command's one line, from its module docstring (``python -m bioevo.tasks.NAME: WHAT.``),
    read without importing the module: ``bioevo --help`` stays fast and needs no optional extra."""
    source = Path(importlib.util.find_spec(f"{__package__}.tasks.{name}").origin).read_text()
    doc = ast.get_docstring(ast.parse(source)) or ""
    first = " ".join(doc.split("\n\n")[0].split()).split(": ", 1)[-1]
    return re.match(r".+?[.?!](?=\s|$)|.*", first).group(0)  # its first sentence


def main(argv: list[str] | None = None) -> int:
    parser = Parser(
        prog="bioevo", description="Gradient-free training of biophysical spiking networks (Brian2, DEAP).",
        epilog="'bioevo COMMAND --help' gives a command's options; 'python -m bioevo.tasks.COMMAND' is the same "
               "command.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        commands.add_parser(name, help=describe(name), add_help=False)  # the command's own parser does --help
    args, rest = parser.parse_known_args(argv)
    importlib.import_module(f"{__package__}.tasks.{args.command}").main(rest)
    return 0
