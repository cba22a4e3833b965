"""Argument checks shared by the configs and constructors: each raises ValueError naming the argument."""

from __future__ import annotations

import math

import numpy as np


def is_int(value: object) -> bool:
    """An integer (Python or NumPy), not a bool."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def is_real(value: object) -> bool:
    """A real number (Python or NumPy), not a bool."""
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))


def check_int(name: str, value: object, minimum: int = 1) -> int:
    """``value`` as an int, if it is an integer >= ``minimum``."""
    if not is_int(value) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


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


def check_periodic_grid(L: object, N: object, dt: object) -> None:
    """A periodic spectral grid: L a positive finite length, N an even integer >= 8, dt a positive finite step.

    :raises ValueError: naming ``L``, ``N`` or ``dt``.
    """
    if not (is_real(L) and math.isfinite(L) and L > 0):
        raise ValueError(f"L must be a positive finite domain length, got {L!r}")
    if not is_int(N) or N < 8 or N % 2:
        raise ValueError(f"N must be an even integer >= 8, got {N!r}")
    if not (is_real(dt) and math.isfinite(dt) and dt > 0):
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
