"""Batches in blocks of rows: how every system's kernel runs B states in parallel.

A system's scheme is written once, as a Numba kernel over a block of R rows
(``ks_control_rows``, ``cgle_control_rows``, ``lorenz63_control_rows``, ...). A
batch is cut into blocks (:func:`block_rows`), each block advanced on one
thread by a ``numba.prange`` loop over :func:`block_span`, and a batch that fits
in one block runs without a thread launch (:func:`advance_in_blocks`). Every row
runs the same arithmetic whatever its block, so the split changes speed only,
never bits. :func:`first_nonfinite_row` checks all actions before any state moves.
"""

from __future__ import annotations

import math
from typing import Any, Callable

import numba
import numpy as np

#: Rows per block at most by default (one FFT call per stage per block in the spectral kernels).
MAX_BLOCK_ROWS = 32
#: Rows per block at least by default, while the batch has that many.
MIN_BLOCK_ROWS = 8


def block_rows(batch: int, n_threads: int | None = None, min_rows: int = MIN_BLOCK_ROWS,
               max_rows: int | None = MAX_BLOCK_ROWS) -> int:
    """Rows per block for a batch of ``batch`` states on ``n_threads`` threads (default: numba's).

    The batch is split evenly over the threads, in blocks of ``min_rows`` to
    ``max_rows`` rows (None: no cap). The KS defaults were measured at N = 64:
    blocks of one row cost ~2.4 us per state-step, blocks of 32 rows ~1.0 us on
    2 threads; a cheap system (an ODE) asks for more rows a block so that a block
    pays for its thread launch.

    :return: rows per block, in [1, batch]; ``batch`` means one block.
    """
    n_threads = numba.get_num_threads() if n_threads is None else n_threads
    per_thread = -(-batch // max(1, n_threads))
    rows = per_thread if max_rows is None else min(max_rows, per_thread)
    return max(1, min(batch, max(min_rows, rows)))


@numba.njit(cache=True)
def block_span(i: int, rows: int, batch: int) -> tuple[int, int]:
    """Rows [lo, hi) of block ``i`` of a batch of ``batch`` states in blocks of ``rows``; blocks: ``-(-batch // rows)``."""
    lo = i * rows
    return lo, min(batch, lo + rows)


@numba.njit(cache=True)
def first_nonfinite_row(actions: np.ndarray) -> int:
    """Index of the first row of ``actions`` (B, n) with a NaN or infinite entry, or -1."""
    for i in range(actions.shape[0]):
        for j in range(actions.shape[1]):
            if not math.isfinite(actions[i, j]):
                return i
    return -1


def advance_in_blocks(rows_kernel: Callable[..., None], blocks_kernel: Callable[..., None], x: np.ndarray,
                      actions: np.ndarray, *args: Any, min_rows: int = MIN_BLOCK_ROWS,
                      max_rows: int | None = MAX_BLOCK_ROWS) -> int:
    """Advance a batch ``x`` by a system's kernels, after checking every action.

    ``rows_kernel(x, actions, *args)`` on one block, or ``blocks_kernel(x,
    actions, *args, rows)`` (its ``numba.prange`` over :func:`block_span`) when
    the batch takes several blocks (:func:`block_rows` with ``min_rows``,
    ``max_rows``).

    :return: -1, or the index of the first state whose action is not finite (then nothing is done).
    """
    bad = first_nonfinite_row(actions)
    if bad >= 0:
        return bad
    rows = block_rows(x.shape[0], min_rows=min_rows, max_rows=max_rows)
    if rows >= x.shape[0]:  # one block: no thread launch
        rows_kernel(x, actions, *args)
    else:
        blocks_kernel(x, actions, *args, rows)
    return -1


__all__ = ["MAX_BLOCK_ROWS", "MIN_BLOCK_ROWS", "advance_in_blocks", "block_rows", "block_span", "first_nonfinite_row"]
