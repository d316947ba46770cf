"""Shared command-line plumbing: one-line errors (exit 2 for bad input, 1 for a
run that cannot go on, 130 for Ctrl-C), and Ctrl-C that interrupts at once."""
from __future__ import annotations

import argparse
import importlib.abc
import importlib.util
import signal
import sys
from contextlib import ExitStack, contextmanager
from types import ModuleType
from typing import Callable, Iterator, NoReturn, TypeVar

from . import interrupt
from .cluster.connect import cluster_client
from .config import ConfigError
from .errors import Interrupted, RunError

T = TypeVar("T")


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line naming the problem (exit 2)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def _int_at_least(minimum: int):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be an integer >= {minimum}, got '{text}'") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be an integer >= {minimum}, got {value}")
        return value
    parse.__name__ = f"integer >= {minimum}"
    return parse


#: argparse types: seeds are >= 0, counts (workers, steps, updates) >= 1
non_negative_int = _int_at_least(0)
positive_int = _int_at_least(1)


def strategy_list(text: str, allowed: list[str]) -> list[str]:
    """'es,hybrid' -> ['es', 'hybrid']: known names, each once (a ValueError names the problem)."""
    names = [s.strip() for s in text.split(",") if s.strip()]
    if not names:
        raise ValueError(f"no strategy given; allowed: {', '.join(allowed)}")
    for name in names:
        if name not in allowed:
            raise ValueError(f"unknown strategy '{name}'; allowed: {', '.join(allowed)}")
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ValueError(f"strategy '{twice[0]}' is listed twice")
    return names


def add_cluster_arguments(parser: argparse.ArgumentParser) -> None:
    """``--workers N`` / ``--scheduler ADDRESS``: compute on Dask (bioevo.cluster); one or the other."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--workers", type=positive_int, metavar="N",
                       help="score each generation on a local Dask cluster of N worker processes (1 thread each)")
    group.add_argument("--scheduler", metavar="ADDRESS",
                       help="score each generation on a running Dask cluster, e.g. tcp://host:8786")


def fail(prog: str, message: str, status: int = 2) -> NoReturn:
    sys.stderr.write(f"{prog}: error: {message}\n")
    sys.exit(status)


def restore_sigint() -> None:
    """Silence Brian2's warnings about objects never added to a network, and undo
    Brian2's SIGINT handler (installed on import): it turns Ctrl-C during
    a simulation into a silent early stop, and crashes with a TypeError when the
    process started with SIGINT ignored (a background job).  The handler the
    process started with is put back.  Brian2 takes about 2 s to import, so a
    command that fails before it simulates (bad input) does not import it: the
    fix is applied the moment anything imports Brian2."""
    if "brian2" in sys.modules:
        _tame_brian2(sys.modules["brian2"])
    elif not any(isinstance(f, _AfterImport) for f in sys.meta_path):
        sys.meta_path.insert(0, _AfterImport("brian2", _tame_brian2))


def _tame_brian2(brian2: ModuleType) -> None:
    # bioevo builds Brian objects it may drop unrun (a check build, a network built before a refused
    # --out); Brian2 would log a warning of several lines for each at exit, after bioevo's one-line error
    from brian2.utils.logger import BrianLogger

    BrianLogger.suppress_name("unused_brian_object")
    handler = getattr(brian2, "_int_handler", None)
    if handler is not None and signal.getsignal(signal.SIGINT) is handler:
        signal.signal(signal.SIGINT, handler.previous_handler)


class _AfterImport(importlib.abc.MetaPathFinder):
    """Calls ``then(module)`` once, right after the module ``name`` is first imported
    (the standard library has no post-import hook)."""

    def __init__(self, name: str, then: Callable[[ModuleType], None]):
        self.name, self.then = name, then

    def find_spec(self, fullname: str, path=None, target=None):
        if fullname != self.name:
            return None
        sys.meta_path.remove(self)  # once, and no recursion into this finder below
        spec = importlib.util.find_spec(fullname)
        if spec is None or spec.loader is None:
            return spec
        load, then = spec.loader.exec_module, self.then

        def exec_module(module: ModuleType) -> None:
            load(module)
            then(module)

        spec.loader.exec_module = exec_module
        return spec


def run_command(prog: str, body: Callable[[], T]) -> T:
    """Run a command's body; user-facing errors become one line on stderr."""
    interrupt.install()
    restore_sigint()
    try:
        return body()
    except ConfigError as err:
        fail(prog, str(err), 2)
    except RunError as err:
        fail(prog, str(err), 130 if isinstance(err, Interrupted) else 1)
    except KeyboardInterrupt:
        fail(prog, "interrupted", 130)
    finally:
        interrupt.clear()


@contextmanager
def study_cluster(prog: str, workers: int | None, scheduler: str | None) -> Iterator[object | None]:
    """:func:`cluster_client` for a study command: a bad request ends in one line (exit 2), before anything is written."""
    with ExitStack() as stack:
        try:
            client = stack.enter_context(cluster_client(workers, scheduler))
        except ConfigError as err:
            fail(prog, str(err))
        yield client
