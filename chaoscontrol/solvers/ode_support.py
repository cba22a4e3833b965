"""Helpers shared by the ODE systems (Lorenz-63, Lorenz-96): index keywords.

- :func:`resolve_indices`: the components or sites a keyword names.

Their batches run in blocks of rows through :mod:`chaoscontrol.solvers.blocks`; a
block of cheap ODE rows should carry enough work to pay for a thread launch (a few
microseconds): each system's ``min_rows`` says how many rows that takes.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from chaoscontrol.validation import is_int


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


__all__ = ["resolve_indices"]
