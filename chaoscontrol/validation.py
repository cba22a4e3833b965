"""Argument checks shared by the configs and constructors: each raises ValueError naming the argument.

Integers are bounded above as well as below: a count, size or step number beyond :data:`MAX_INT` (the largest
int32, 2**31 - 1) is refused before it reaches NumPy, Numba or C, where a value beyond int64 overflows or wraps
silently (``frame_skip=2**63``). Grids have a bound of their own (:data:`MAX_GRID_POINTS`, :data:`MAX_DOMAIN_LENGTH`).
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

#: Largest integer :func:`check_int` accepts by default: 2**31 - 1, so that sums and products of a few such values
#: stay inside int64 and no count, size or step number wraps.
MAX_INT = 2**31 - 1
#: Most grid points of a periodic 1-D grid (:func:`check_periodic_grid`): 65,536 resolve k up to 2 pi 32768 / L,
#: far beyond any 1-D system here (N = 64 to 256 registered).
MAX_GRID_POINTS = 2**16
#: Longest periodic domain (:func:`check_periodic_grid`): on :data:`MAX_GRID_POINTS` points a longer one has a grid
#: spacing above 15, which resolves none of the unstable KS (k < 1) or CGLE modes.
MAX_DOMAIN_LENGTH = 1e6


def is_int(value: object) -> bool:
    """An integer (Python or NumPy), not a bool."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def is_real(value: object) -> bool:
    """A real number (Python or NumPy), not a bool."""
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))


def check_int(name: str, value: object, minimum: int = 1, maximum: int = MAX_INT) -> int:
    """``value`` as an int, if it is an integer in [``minimum``, ``maximum``].

    :param name: the argument's name, for the error.
    :param value: the value to check.
    :param minimum: smallest value accepted.
    :param maximum: largest value accepted (default :data:`MAX_INT`).
    :raises ValueError: naming ``name``.
    """
    if not is_int(value) or not minimum <= value <= maximum:
        raise ValueError(f"{name} must be an integer in [{minimum}, {maximum}], got {value!r}")
    return int(value)


def check_choice(name: str, value: Any, choices: Sequence[str]) -> str:
    """``value`` if it is one of the strings ``choices`` (a non-string, an array say, is refused before any ``in``).

    :param name: the argument's name, for the error.
    :param value: the value to check.
    :param choices: the names accepted.
    :raises ValueError: naming ``name`` and the choices.
    """
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name} must be one of {tuple(choices)}, got {value!r}")
    return value


def check_positive(name: str, value: object) -> float:
    """``value`` as a float, if it is a finite number > 0."""
    if not (is_real(value) and math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be positive and finite, got {value!r}")
    return float(value)


def check_non_negative(name: str, value: object) -> float:
    """``value`` as a float, if it is a finite number >= 0."""
    if not (is_real(value) and math.isfinite(value) and value >= 0):
        raise ValueError(f"{name} must be non-negative and finite, got {value!r}")
    return float(value)


def check_periodic_grid(L: object, N: object, dt: object = None) -> None:
    """A periodic spectral grid: L a length in (0, :data:`MAX_DOMAIN_LENGTH`], N an even integer in
    [8, :data:`MAX_GRID_POINTS`], dt (unless None) a positive finite step.

    :param L: domain length.
    :param N: grid points.
    :param dt: time step, or None for a grid without one.
    :raises ValueError: naming ``L``, ``N`` or ``dt``.
    """
    if not (is_real(L) and 0 < L <= MAX_DOMAIN_LENGTH):
        raise ValueError(f"L must be a positive finite domain length <= {MAX_DOMAIN_LENGTH:g}, got {L!r}")
    if not is_int(N) or not 8 <= N <= MAX_GRID_POINTS or N % 2:
        raise ValueError(f"N must be an even integer in [8, {MAX_GRID_POINTS}], got {N!r}")
    if dt is not None and not (is_real(dt) and math.isfinite(dt) and dt > 0):
        raise ValueError(f"dt must be a positive finite time step, got {dt!r}")


def parse_json_object(name: str, text: str) -> dict:
    """A JSON object from ``text`` (plain values only); a clear ``ValueError`` naming ``name`` otherwise."""
    import json

    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{name} must be a JSON object, got {text!r}: {exc}") from exc
    if not isinstance(value, dict):
        raise ValueError(f"{name} must be a JSON object, got {text!r}")
    return value
