"""The ``bioevo`` console script: every command of bioevo.tasks listed with one
line, and each one's ``--help`` answering (its module imports and parses)."""
from __future__ import annotations

import pytest

from bioevo import console
from bioevo.tasks import COMMANDS


def test_help_lists_every_command_with_its_line(capsys):
    with pytest.raises(SystemExit) as exit_:
        console.main(["--help"])
    out = capsys.readouterr().out
    assert exit_.value.code == 0
    for name in COMMANDS:
        line = console.describe(name)
        assert line and line[-1] in ".?!" and "python -m" not in line, (name, line)
        assert f"    {name} " in out or f"    {name}\n" in out, name


@pytest.mark.parametrize("name", COMMANDS)
def test_each_command_answers_help(capsys, name):
    with pytest.raises(SystemExit) as exit_:
        console.main([name, "--help"])
    assert exit_.value.code == 0
    assert f"bioevo.tasks.{name}" in capsys.readouterr().out  # its own parser answered


def test_arguments_reach_the_command(capsys):
    with pytest.raises(SystemExit) as exit_:
        console.main(["landscape", "--steps", "0"])
    assert exit_.value.code == 2 and "--steps: must be an integer >= 1" in capsys.readouterr().err


def test_unknown_command_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_:
        console.main(["nope"])
    err = capsys.readouterr().err.strip().splitlines()
    assert exit_.value.code == 2 and len(err) == 1 and "invalid choice: 'nope'" in err[0], err
    with pytest.raises(SystemExit) as exit_:
        console.main([])
    err = capsys.readouterr().err.strip().splitlines()
    assert exit_.value.code == 2 and len(err) == 1 and "required: COMMAND" in err[0], err


def test_every_task_module_is_a_command():
    from pathlib import Path

    import bioevo.tasks

    helpers = {"__init__", "run_queue"}  # library code the commands share, not commands
    modules = {p.stem for p in Path(bioevo.tasks.__file__).parent.glob("*.py")} - helpers
    assert modules == set(COMMANDS)
