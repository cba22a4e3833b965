"""Helpers shared by the ODE systems (Lorenz-63, Lorenz-96): blocks of rows, index keywords.

- :func:`advance_in_blocks`: a batch through a system's block kernel, in
  parallel over blocks of rows, after checking every action;
- :func:`ode_block_rows`: how many rows a block takes;
- :func:`resolve_indices`: the components or sites a keyword names.

The ODE kernels (:mod:`chaoscontrol.solvers.lorenz63`,
:mod:`chaoscontrol.solvers.lorenz96`) advance a block of rows in one call and a
batch in parallel over blocks (``numba.prange``). Every row runs the same
scalar arithmetic whatever its block, so the split changes speed only, never
bits. A block should carry enough work to pay for a thread launch (a few
microseconds): ``min_rows`` says how many rows that takes for a system.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numba
import numpy as np

from chaoscontrol.solvers.control import first_nonfinite_row
from chaoscontrol.validation import is_int


def ode_block_rows(batch: int, min_rows: int, n_threads: int | None = None) -> int:
    """Rows per block: the batch split evenly over the threads, at least ``min_rows`` rows a block.

    :param batch: number of states B, >= 1.
    :param min_rows: fewest rows worth a block of their own.
    :param n_threads: threads to split over (default: numba's).
    :return: rows per block; ``>= batch`` means one block (run without a thread launch).
    """
    n_threads = numba.get_num_threads() if n_threads is None else n_threads
    per_thread = -(-batch // max(1, n_threads))
    return max(1, min_rows, per_thread)


def advance_in_blocks(
    rows_kernel: Callable[..., None],
    blocks_kernel: Callable[..., None],
    min_rows: int,
    x: np.ndarray,
    actions: np.ndarray,
    *args: Any,
) -> int:
    """Advance a batch ``x`` (B, n) by a system's kernels: ``rows_kernel(x, actions, *args)`` on one block, or
    ``blocks_kernel(x, actions, *args, rows)`` (its ``numba.prange`` over blocks of ``rows``) when several pay.

    Every action is checked first, so a bad one changes nothing.

    :param min_rows: the system's fewest rows per block (:func:`ode_block_rows`).
    :return: -1, or the index of the first state whose action is not finite (nothing done).
    """
    bad = first_nonfinite_row(actions)
    if bad >= 0:
        return bad
    rows = ode_block_rows(x.shape[0], min_rows)
    if rows >= x.shape[0]:  # one block: no thread launch
        rows_kernel(x, actions, *args)
    else:
        blocks_kernel(x, actions, *args, rows)
    return -1


def resolve_indices(name: str, value: Sequence[int], size: int) -> np.ndarray:
    """Distinct indices in [0, size) as a read-only int64 array, or a ``ValueError`` naming ``name``.

    :param name: the keyword (``controlled``, ``sensors``, ``actuators``).
    :param value: a non-empty sequence of integers (components of a state, sites of a lattice).
    :param size: the number of components.
    """
    message = f"{name} must be a non-empty sequence of distinct integers in [0, {size}), got {value!r}"
    if isinstance(value, (str, bytes)) or is_int(value):
        raise ValueError(message)
    try:
        items = list(value)
    except TypeError:
        raise ValueError(message) from None
    if not items or not all(is_int(i) and 0 <= i < size for i in items) or len({int(i) for i in items}) != len(items):
        raise ValueError(message)
    out = np.array([int(i) for i in items], dtype=np.int64)
    out.setflags(write=False)
    return out


__all__ = ["advance_in_blocks", "ode_block_rows", "resolve_indices"]
