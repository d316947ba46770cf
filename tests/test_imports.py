"""No import cycles in bioevo: a module's imports form a graph, and it must have
no cycle, neither between modules nor between the subpackages (data, sim,
strategies, report, cluster, baselines, tasks).

Every import statement counts, at module level and inside functions: an
import deferred into a function (to keep start-up light) is still a
dependency, and a cycle hidden that way is still a cycle.  The one exception
is an ``if __name__ == "__main__":`` block: it runs only when the file is the
``-m`` script, and then as ``__main__``, a module no other imports."""
from __future__ import annotations

import ast
import graphlib
from pathlib import Path


PACKAGE = Path(__file__).resolve().parent.parent / "bioevo"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def is_main_block(node: ast.AST) -> bool:
    """``if __name__ == "__main__":``"""
    test = getattr(node, "test", None)
    return (isinstance(node, ast.If) and isinstance(test, ast.Compare) and isinstance(test.left, ast.Name)
            and test.left.id == "__name__" and any(isinstance(c, ast.Constant) and c.value == "__main__"
                                                   for c in test.comparators))


def import_nodes(node: ast.AST):
    for child in ast.iter_child_nodes(node):
        if is_main_block(child):
            continue
        if isinstance(child, (ast.Import, ast.ImportFrom)):
            yield child
        yield from import_nodes(child)


def imports(name: str) -> set[str]:
    """The bioevo modules ``name`` imports (``from P import m`` of a submodule m counts as P.m)."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in import_nodes(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        else:
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([node.module] if node.module else []))
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names]
        found |= {t for t in targets if t in MODULES and t != name}
    return found


GRAPH = {name: imports(name) for name in MODULES}


def cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle as [a, b, ..., a], each importing the next, or None."""
    try:
        graphlib.TopologicalSorter(graph).prepare()
    except graphlib.CycleError as err:
        return err.args[1][::-1]  # graphlib lists it from importer to imported
    return None


def subpackage(name: str) -> str | None:
    parts = name.split(".")
    return ".".join(parts[:2]) if len(parts) > 1 and (PACKAGE / parts[1]).is_dir() else None


def test_the_graph_sees_known_imports():
    assert "bioevo.config" in GRAPH["bioevo.pipeline"]  # module level
    assert "bioevo.report.run_figures" in GRAPH["bioevo.pipeline"]  # inside a function
    assert "bioevo.data" in GRAPH["bioevo.pipeline"]  # from .data import X: the package


def test_no_cycle_between_modules():
    assert cycle(GRAPH) is None, " -> ".join(cycle(GRAPH))


def test_no_cycle_between_subpackages():
    packages: dict[str, set[str]] = {}
    for name, targets in GRAPH.items():
        here = subpackage(name)
        if here:
            packages.setdefault(here, set()).update(t for t in map(subpackage, targets) if t and t != here)
    assert cycle(packages) is None, " -> ".join(cycle(packages))


def test_cycle_finder():
    assert cycle({"a": {"b"}, "b": set()}) is None
    assert cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) in (["a", "b", "c", "a"], ["b", "c", "a", "b"],
                                                             ["c", "a", "b", "c"])


# Every study run, test and command starts a fresh Python process; these SciPy subpackages add
# 0.3-0.9 s each to its start and only a few code paths need them (the I_app demo's tied ranks,
# CR-FM-NES's constant, the paired statistics of a study report, the landscape command).
SLOW_TO_IMPORT = ("scipy.stats", "scipy.optimize")

TRAINING_PROCESS = """
import sys
import bioevo.cli, bioevo.pipeline, bioevo.evolve, bioevo.launch
from bioevo.config import resolve_config
from bioevo.strategies import REGISTRY, strategy_class
cfg = resolve_config("randman-2", [])
for name in REGISTRY:
    strategy_class(name)
print(" ".join(m for m in sys.argv[1:] if m in sys.modules))
"""


def test_a_training_process_does_not_import_the_slow_scipy_subpackages():
    import subprocess
    import sys

    res = subprocess.run([sys.executable, "-c", TRAINING_PROCESS, *SLOW_TO_IMPORT], capture_output=True, text=True,
                         cwd=PACKAGE.parent, timeout=120)
    assert res.returncode == 0, res.stderr
    assert res.stdout.split() == []
