"""SIGTERM handled as Ctrl-C by the long commands of the surrogate layer (dataset generation, surrogate training).

A scheduler's or ``kill``'s stop is SIGTERM; inside :func:`sigterm_as_interrupt` it raises :class:`Terminated`, a
``KeyboardInterrupt`` that remembers the signal, so that the code that keeps its finished work on Ctrl-C keeps it on
SIGTERM too, and the command can exit with the conventional status 128 + signal (130 for SIGINT, 143 for SIGTERM).
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class Terminated(KeyboardInterrupt):
    """SIGTERM received inside :func:`sigterm_as_interrupt`."""


def exit_status(exc: BaseException) -> int:
    """The exit status of a command stopped by ``exc``: 128 + the signal, 143 for SIGTERM (:class:`Terminated`), 130
    for Ctrl-C (any other ``KeyboardInterrupt``).

    :param exc: the ``KeyboardInterrupt``.
    """
    return 128 + (int(signal.SIGTERM) if isinstance(exc, Terminated) else int(signal.SIGINT))


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Inside the block SIGTERM raises :class:`Terminated`; the previous handler is restored after it.

    Outside the main thread, where handlers cannot be set, the block runs unchanged.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        raise Terminated(f"signal {signum}")

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous if previous is not None else signal.SIG_DFL)


__all__ = ["Terminated", "exit_status", "sigterm_as_interrupt"]
