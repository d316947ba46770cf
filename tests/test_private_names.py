"""No module of bioevo, and no script under results/, reaches into another bioevo module's private
names (a leading underscore, dunders excepted): ``from bioevo.x import _name``, ``from .x import
_name`` and ``module._name`` on a bioevo module are refused.  A private name may change without
notice, so a script that leans on one breaks silently; whatever another module needs is made public
by its owner.

Scope: every .py file under bioevo/ and results/, read with ``ast`` (nothing is imported).  tests/
is left out on purpose: a test may look at its module's internals.  Only names bound to bioevo
*modules* are checked for attribute access (``parts._x`` on an object is not a module access)."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "bioevo"


def is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def module_name(path: Path) -> str | None:
    """Dotted name of a file inside bioevo/ (None for a script elsewhere)."""
    rel = path.relative_to(ROOT)
    if rel.parts[0] != PACKAGE:
        return None
    parts = list(rel.with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def is_module(dotted: str) -> bool:
    """Whether a dotted bioevo name is a module or package on disk."""
    path = ROOT.joinpath(*dotted.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def resolve(node: ast.ImportFrom, here: str | None, is_package: bool) -> str | None:
    """Absolute module name of a ``from ... import`` (None when relative outside the package)."""
    if not node.level:
        return node.module
    if here is None:
        return None
    base = here.split(".")
    base = base if is_package else base[:-1]
    base = base[:len(base) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def violations(source: str, here: str | None = None, is_package: bool = False) -> list[str]:
    """``line: text`` for each private bioevo name imported from or reached on another module."""
    tree = ast.parse(source)
    modules: dict[str, str] = {}  # local name -> bioevo module it is bound to
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == PACKAGE:
                    if alias.asname:
                        modules[alias.asname] = alias.name
                    else:
                        modules[PACKAGE] = PACKAGE
        elif isinstance(node, ast.ImportFrom):
            origin = resolve(node, here, is_package)
            if origin is None or origin.split(".")[0] != PACKAGE:
                continue
            for alias in node.names:
                if is_private(alias.name):
                    found.append(f"{node.lineno}: from {origin} import {alias.name}")
                elif is_module(f"{origin}.{alias.name}"):
                    modules[alias.asname or alias.name] = f"{origin}.{alias.name}"
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and is_private(node.attr):
            owner = dotted(node.value, modules)
            if owner is not None:
                found.append(f"{node.lineno}: {owner}.{node.attr}")
    return found


def dotted(node: ast.expr, modules: dict[str, str]) -> str | None:
    """The bioevo module an expression names (``m``, ``bioevo.sim``), or None."""
    if isinstance(node, ast.Name):
        return modules.get(node.id)
    if isinstance(node, ast.Attribute):
        inner = dotted(node.value, modules)
        if inner is not None and is_module(f"{inner}.{node.attr}"):
            return f"{inner}.{node.attr}"
    return None


FILES = sorted([*ROOT.joinpath(PACKAGE).rglob("*.py"), *ROOT.joinpath("results").rglob("*.py")])


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_private_names_across_modules(path: Path) -> None:
    found = violations(path.read_text(encoding="utf-8"), module_name(path), path.name == "__init__.py")
    assert not found, f"{path.relative_to(ROOT)} uses private names of other modules:\n" + "\n".join(found)


def test_the_check_sees_each_form() -> None:
    """The check is not vacuous: each refused form is caught, public and non-module uses are not."""
    script = ("from bioevo.bench import _quiet_brian, bench_point\n"
              "import bioevo.sim.network as net\n"
              "from bioevo import rundir\n"
              "import bioevo\n"
              "net._unit_namespace\n"
              "rundir._x\n"
              "bioevo.sim.network._y\n"
              "bioevo.__file__\n"
              "parts = object(); parts._private\n"
              "rundir.claim_run_dir\n")
    assert violations(script) == ["1: from bioevo.bench import _quiet_brian", "5: bioevo.sim.network._unit_namespace",
                                  "6: bioevo.rundir._x", "7: bioevo.sim.network._y"]
    assert violations("from .figures import _save\nfrom . import figures\nfigures._save\n",
                      "bioevo.report.competition") == ["1: from bioevo.report.figures import _save",
                                                       "3: bioevo.report.figures._save"]
    assert violations("from ..sim.network import _unit\n", "bioevo.tasks.x") == ["1: from bioevo.sim.network import _unit"]
    assert violations("from .model import _m\n", "bioevo", is_package=True) == ["1: from bioevo.model import _m"]
