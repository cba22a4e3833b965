"""SIGINT and SIGTERM as Ctrl-C, so that a stopped training run checkpoints the same way however it was stopped.

A scheduler's or ``kill``'s stop is SIGTERM. SIGINT needs a handler too: a shell starts a background job (``&``) with
SIGINT ignored, and Python then leaves it ignored, so ``kill -INT`` would do nothing to a run started that way.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

#: The signals that stop a run as Ctrl-C does.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextmanager
def stop_signals_as_keyboard_interrupt() -> Iterator[None]:
    """Inside the block, SIGINT and SIGTERM raise ``KeyboardInterrupt`` (even where SIGINT was ignored); the previous
    handlers are restored after it.

    Outside the main thread, where signal handlers cannot be set, the block runs unchanged.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    previous = {signum: signal.signal(signum, handler) for signum in STOP_SIGNALS}
    try:
        yield
    finally:
        for signum, before in previous.items():
            if before is not None:
                signal.signal(signum, before)


__all__ = ["STOP_SIGNALS", "stop_signals_as_keyboard_interrupt"]
