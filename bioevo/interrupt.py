"""Ctrl-C that is never lost.  Python raises KeyboardInterrupt wherever the main
thread happens to be when SIGINT arrives; inside a weakref callback or a
``__del__`` run by the garbage collector it is printed as "Exception ignored"
with a traceback and dropped, and the run goes on to its end.  The handler here
also records the signal, the training loop raises it again at its next
generation (:func:`raise_if_pending`), and the dropped one is not printed."""
from __future__ import annotations

import signal
import sys

_pending = False


def _on_sigint(signum, frame) -> None:
    global _pending
    _pending = True
    raise KeyboardInterrupt


def install() -> None:
    """Use the recording handler where SIGINT has Python's default; a process started
    with SIGINT ignored (a background job) keeps ignoring it."""
    if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        return
    signal.signal(signal.SIGINT, _on_sigint)
    previous = sys.unraisablehook

    def quiet_dropped_interrupt(unraisable) -> None:
        if not (_pending and isinstance(unraisable.exc_value, KeyboardInterrupt)):
            previous(unraisable)

    sys.unraisablehook = quiet_dropped_interrupt


def raise_if_pending() -> None:
    """Raise the KeyboardInterrupt a Ctrl-C started, if it was dropped on the way."""
    if _pending:
        raise KeyboardInterrupt


def clear() -> None:
    """The interrupt was handled (or the command ended): a later command in the same process starts afresh."""
    global _pending
    _pending = False
