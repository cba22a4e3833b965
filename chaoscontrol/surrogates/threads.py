"""Keep torch's thread count across Numba parallel calls.

Numba's OpenMP threading layer sets the OpenMP thread count of the whole
process when its first parallel kernel runs, and torch (sharing that OpenMP
runtime) follows: after ``attractor_rms`` or a batched truth env step, a process
started with ``OMP_NUM_THREADS=1`` trains with all cores' threads, which
oversubscribes the CPU when several runs share it. Wrap Numba work in
:func:`torch_threads_kept` to restore the caller's setting afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch


@contextmanager
def torch_threads_kept() -> Iterator[int]:
    """Restore ``torch.get_num_threads()`` on exit; yields the kept count."""
    n = torch.get_num_threads()
    try:
        yield n
    finally:
        torch.set_num_threads(n)


__all__ = ["torch_threads_kept"]
