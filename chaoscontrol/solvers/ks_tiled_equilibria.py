"""Equilibria of KS on large domains as periodic copies of the L = 22 family E1, E2, E3.

If u(x) is an equilibrium on [0, l), the same function repeated c times is an
equilibrium on [0, c l): the equation is local and translation invariant. On
a large domain L the equilibria of the L = 22 family (Cvitanovic, Davidchack &
Siminos 2010) therefore exist as copies wherever L / c lies in the range of L
over which the family exists. The construction:

1. E1, E2, E3 at L = 22 from :func:`~chaoscontrol.solvers.equilibria.ks_equilibria`;
2. natural-parameter continuation in the domain length from 22 to l = L / c
   (c the number of copies, the one that puts l nearest 22 unless given): the
   field is stretched to the new length and re-solved by Newton's method at
   each small step (:func:`refine_equilibrium`);
3. c copies on the N-point grid of length L by Fourier interpolation (mode m of
   the cell becomes mode c m of the domain; modes beyond N/2 are dropped), and
   a last Newton solve at (L, N).

Newton's method is the existing machinery of :mod:`chaoscontrol.solvers.equilibria`:
scipy's Powell hybrid solver on the residual in the antisymmetric (sine)
subspace u(x) = -u(-x), which removes the translation symmetry. Each result is
checked (max |F(u)| <= 1e-9) and a failure is a ``ValueError``.

Names: the copy of E<q> at L = c l is ``"E<q>x<c>"`` (so ``"E1x3"`` at L = 66).
Note that :func:`~chaoscontrol.solvers.equilibria.ks_equilibria` names an
equilibrium by its dominant wavenumber on the domain it is given, so the same
``E1x3`` is its ``"E3"`` at L = 66 (dominant wavenumber 3).
"""

from __future__ import annotations

import functools
import math

import numpy as np

from chaoscontrol.solvers.equilibria import _grid_to_sine, _sine_to_grid, ks_equilibria, ks_residual
from chaoscontrol.validation import check_int, check_positive

#: The family continued to large domains, and the domain length it is known at.
FAMILY = ("E1", "E2", "E3")
BASE_L = 22.0
BASE_N = 64
#: Largest |F(u)| accepted for an equilibrium (as in chaoscontrol.solvers.equilibria).
RESIDUAL_TOLERANCE = 1e-9
#: Largest relative change of L in one continuation step.
CONTINUATION_STEP = 0.01


def sine_jacobian(b: np.ndarray, L: float, n: int) -> np.ndarray:
    """The exact Jacobian of the KS residual in the sine subspace at the sine coefficients ``b``.

    F(u) = -u u_x - u_xx - u_xxxx has the derivative DF(u) d = -(u d)_x - d_xx - d_xxxx
    (spectral, as :func:`~chaoscontrol.solvers.equilibria.ks_residual`), applied here
    to every sine mode sin(k_j x), j = 1..n/2 - 1, and projected back on the sines.

    :param b: sine coefficients, (n/2 - 1,).
    :param L: domain length.
    :param n: grid points.
    :return: (n/2 - 1, n/2 - 1), column j the image of mode j.
    """
    u = _sine_to_grid(b, L, n)
    modes = np.sin(2.0 * np.pi / L * np.outer(np.arange(1, b.size + 1), L * np.arange(n) / n))  # (n/2 - 1, n)
    k = 2.0 * np.pi / L * np.arange(n // 2 + 1)
    kodd = k.copy()
    kodd[-1] = 0.0
    image = (k**2 - k**4) * np.fft.rfft(modes, axis=-1) - 1j * kodd * np.fft.rfft(u * modes, axis=-1)
    return -2.0 / n * np.fft.rfft(np.fft.irfft(image, n, axis=-1), axis=-1)[:, 1 : n // 2].imag.T


def refine_equilibrium(u_guess: np.ndarray, L: float) -> np.ndarray:
    """Newton's method (scipy ``root``, Powell hybrid) from ``u_guess`` in the antisymmetric subspace.

    The solver is given the exact Jacobian (:func:`sine_jacobian`): with
    finite-difference Jacobians the hybrid method stalls on this stiff residual
    (k^4 up to 10^4) even from a guess 1 % away in L.

    :param u_guess: grid values (N,), N even; only its sine (antisymmetric) part is used.
    :param L: domain length, > 0.
    :return: the equilibrium on the grid, (N,).
    :raises ValueError: if Newton's method does not reach max |F(u)| <= 1e-9 or returns u = 0.
    """
    from scipy.optimize import root  # imported here: scipy.optimize is slow to import

    u_guess = np.asarray(u_guess, dtype=np.float64)
    n = u_guess.size
    L = check_positive("L", L)

    def residual(b: np.ndarray) -> np.ndarray:
        return _grid_to_sine(ks_residual(_sine_to_grid(b, L, n), L))

    sol = root(residual, _grid_to_sine(u_guess), jac=lambda b: sine_jacobian(b, L, n), method="hybr",
               options={"xtol": 1e-14})
    u = _sine_to_grid(sol.x, L, n)
    res = float(np.max(np.abs(ks_residual(u, L)))) if np.all(np.isfinite(u)) else math.inf
    if not res <= RESIDUAL_TOLERANCE or np.max(np.abs(u)) < 1e-3:
        raise ValueError(f"Newton's method did not converge to a non-trivial equilibrium at L={L:g} "
                         f"(max |F(u)| = {res:.1e}, max |u| = {np.max(np.abs(u)):.1e})")
    return u


def continue_equilibrium(u: np.ndarray, L_from: float, L_to: float) -> np.ndarray:
    """Natural-parameter continuation of the equilibrium ``u`` (N,) from domain length ``L_from`` to ``L_to``.

    The grid values are kept (the field is stretched with the domain) and
    re-solved by :func:`refine_equilibrium` every relative change of
    ``CONTINUATION_STEP`` in L.

    :raises ValueError: if Newton's method fails on the way (the branch ends or turns).
    """
    L_from = check_positive("L_from", L_from)
    L_to = check_positive("L_to", L_to)
    steps = max(1, math.ceil(abs(math.log(L_to / L_from)) / CONTINUATION_STEP))
    for L in np.geomspace(L_from, L_to, steps + 1)[1:]:
        u = refine_equilibrium(u, float(L))
    return u


def periodic_copies(u: np.ndarray, copies: int, N: int) -> np.ndarray:
    """``copies`` repetitions of the periodic field ``u`` (n,) on an N-point grid (Fourier interpolation).

    Mode m of ``u`` becomes mode ``copies * m``; modes beyond the new Nyquist are dropped.

    :param u: grid values of one cell, (n,).
    :param copies: number of copies, >= 1.
    :param N: grid points of the result, even, >= 8.
    :return: (N,) grid values over the ``copies`` cells.
    """
    u = np.asarray(u, dtype=np.float64)
    c = check_int("copies", copies)
    N = check_int("N", N, minimum=8)
    v = np.fft.rfft(u)
    out = np.zeros(N // 2 + 1, dtype=np.complex128)
    m = np.arange(v.size)
    keep = (c * m < N // 2) & (m < u.size // 2)  # the Nyquist modes of both grids are dropped
    out[c * m[keep]] = v[keep] * (N / u.size)
    return np.fft.irfft(out, N)


def nearest_copies(L: float, base_L: float = BASE_L) -> int:
    """The number of copies c that puts the cell length L / c nearest ``base_L`` (>= 1)."""
    return max(1, int(round(check_positive("L", L) / base_L)))


@functools.lru_cache(maxsize=32)
def _tiled(name: str, L: float, N: int, copies: int) -> np.ndarray:
    cell = L / copies
    u = ks_equilibria(BASE_L, BASE_N)[name]
    if cell != BASE_L:
        u = continue_equilibrium(u, BASE_L, cell)
    u = refine_equilibrium(periodic_copies(u, copies, N), L)
    u.setflags(write=False)
    return u


def tiled_equilibrium(name: str, L: float, N: int, copies: int | None = None) -> np.ndarray:
    """The equilibrium of ``copies`` cells of E1, E2 or E3 continued to the cell length L / copies, at (L, N).

    :param name: ``"E1"``, ``"E2"`` or ``"E3"`` (the L = 22 family).
    :param L: domain length, > 0.
    :param N: grid points, even, >= 8 (resolve the copies: about N/L >= 64/22 points per unit length).
    :param copies: the number of cells; default :func:`nearest_copies` (3 at L = 66, 5 at L = 100).
    :return: a fresh (N,) float64 array.
    :raises ValueError: for an unknown name, or if the branch cannot be continued to L / copies
        (the family does not exist at that cell length) or Newton's method fails at (L, N).
    """
    if name not in FAMILY:
        raise ValueError(f"name must be one of {FAMILY}, got {name!r}")
    L = check_positive("L", L)
    N = check_int("N", N, minimum=8)
    if N % 2:
        raise ValueError(f"N must be even, got {N}")
    c = nearest_copies(L) if copies is None else check_int("copies", copies)
    try:
        return _tiled(name, L, N, c).copy()
    except ValueError as exc:
        raise ValueError(f"{name}x{c} (cell length {L / c:g}) not found at L={L:g}, N={N}: {exc}") from exc


def tiled_equilibria(L: float, N: int, copies: int | None = None) -> dict[str, np.ndarray]:
    """Every member of the family that :func:`tiled_equilibrium` finds at (L, N), keyed ``"E<q>x<c>"``."""
    c = nearest_copies(L) if copies is None else check_int("copies", copies)
    out = {}
    for name in FAMILY:
        try:
            out[f"{name}x{c}"] = tiled_equilibrium(name, L, N, c)
        except ValueError:
            continue
    return out


__all__ = [
    "continue_equilibrium",
    "nearest_copies",
    "periodic_copies",
    "refine_equilibrium",
    "sine_jacobian",
    "tiled_equilibria",
    "tiled_equilibrium",
]
