"""Shared command-line plumbing: one-line errors (exit 2 for bad input, 1 for a
run that cannot go on, 130 for Ctrl-C), and Ctrl-C that interrupts at once."""
from __future__ import annotations

import argparse
import signal
import sys
from typing import Callable, NoReturn, TypeVar

T = TypeVar("T")


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line naming the problem (exit 2)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def fail(prog: str, message: str, status: int = 2) -> NoReturn:
    sys.stderr.write(f"{prog}: error: {message}\n")
    sys.exit(status)


def restore_sigint() -> None:
    """Undo Brian2's SIGINT handler (installed on import): it turns Ctrl-C during
    a simulation into a silent early stop, and crashes with a TypeError when the
    process started with SIGINT ignored (a background job).  The handler the
    process started with is put back."""
    import brian2

    handler = getattr(brian2, "_int_handler", None)
    if handler is not None and signal.getsignal(signal.SIGINT) is handler:
        signal.signal(signal.SIGINT, handler.previous_handler)


def run_command(prog: str, body: Callable[[], T]) -> T:
    """Run a command's body; user-facing errors become one line on stderr."""
    from .config import ConfigError
    from .errors import RunError

    restore_sigint()
    try:
        return body()
    except ConfigError as err:
        fail(prog, str(err), 2)
    except RunError as err:
        from .pipeline import Interrupted

        fail(prog, str(err), 130 if isinstance(err, Interrupted) else 1)
    except KeyboardInterrupt:
        fail(prog, "interrupted", 130)
