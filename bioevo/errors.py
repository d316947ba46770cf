"""Errors a command reports as one line instead of a traceback.

``ConfigError`` (in :mod:`bioevo.config`) is bad input: exit 2, nothing
written.  ``RunError`` is a run that started and cannot go on (a full disk,
every individual blowing up, a corrupt file met on resume): exit 1, the last
checkpoint kept.  :func:`writing` turns the operating system's write failures
into a ``RunError`` that names the file."""
from __future__ import annotations

import errno
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator


class RunError(RuntimeError):
    """A run that cannot continue; the message is one line for the user."""


class Interrupted(RunError):
    """Ctrl-C: the message says whether and how the run can be resumed."""


class DiskFullError(RunError):
    """No space left on the device while writing a run's files."""


@contextmanager
def writing(path: str | Path, hint: str = "the last checkpoint is intact; free space and --resume") -> Iterator[None]:
    """Report ``ENOSPC`` (and other write failures) while writing ``path`` as one line.

    ``hint`` tells the user what still holds and how to continue."""
    try:
        yield
    except OSError as err:
        if err.errno in (errno.ENOSPC, errno.EDQUOT) or "No space left" in str(err):
            raise DiskFullError(f"no space left on device while writing {path}; {hint}") from None
        if err.errno in (errno.EACCES, errno.EROFS, errno.EPERM):
            raise RunError(f"cannot write {path}: {err.strerror}; {hint}") from None
        raise
