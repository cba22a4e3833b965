"""Equilibria of KS on large domains as periodic copies of the L = 22 family E1, E2, E3, with an explicit count.

If u(x) is an equilibrium on [0, l), the same function repeated c times is an
equilibrium on [0, c l): the equation is local and translation invariant. The
construction (the L = 22 family of Cvitanovic, Davidchack & Siminos 2010,
continued in L to the cell length L / c, copied c times, Newton at (L, N)) is
the definition of the named equilibria, :func:`chaoscontrol.solvers.equilibria.ks_equilibrium`
(its home; :func:`tiled_equilibrium` is the same function). This module adds the
family keyed by member and count, ``"E<q>x<c>"`` (``"E1x3"`` at L = 66), for
comparing cell counts, and re-exports the Newton machinery of
:mod:`chaoscontrol.solvers.ks_newton`.
"""

from __future__ import annotations

import numpy as np

from chaoscontrol.solvers.equilibria import BASE_L, BASE_N, FAMILY, ks_equilibrium, nearest_copies
from chaoscontrol.solvers.ks_newton import (
    CONTINUATION_STEP,
    RESIDUAL_TOLERANCE,
    continue_equilibrium,
    periodic_copies,
    refine_equilibrium,
    sine_jacobian,
)
from chaoscontrol.validation import check_int

#: :func:`chaoscontrol.solvers.equilibria.ks_equilibrium`, under the name of this module's construction.
tiled_equilibrium = ks_equilibrium


def tiled_equilibria(L: float, N: int, copies: int | None = None) -> dict[str, np.ndarray]:
    """Every member of the family that :func:`tiled_equilibrium` finds at (L, N), keyed ``"E<q>x<c>"``.

    :param L: domain length, > 0.
    :param N: grid points, even, >= 8.
    :param copies: the number of cells c; default :func:`nearest_copies`.
    :return: dict of name -> fresh (N,) arrays; members that do not exist at L / c are left out.
    """
    c = nearest_copies(L) if copies is None else check_int("copies", copies)
    out = {}
    for name in FAMILY:
        try:
            out[f"{name}x{c}"] = ks_equilibrium(name, L, N, c)
        except ValueError:
            continue
    return out


__all__ = [
    "BASE_L",
    "BASE_N",
    "CONTINUATION_STEP",
    "FAMILY",
    "RESIDUAL_TOLERANCE",
    "continue_equilibrium",
    "nearest_copies",
    "periodic_copies",
    "refine_equilibrium",
    "sine_jacobian",
    "tiled_equilibria",
    "tiled_equilibrium",
]
