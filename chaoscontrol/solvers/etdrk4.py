"""ETDRK4 coefficients for a diagonal linear operator.

For a semilinear system written mode by mode as

    dv/dt = c v + N(v, t),

the fourth-order exponential time-differencing Runge-Kutta scheme of Cox &
Matthews (2002, J. Comput. Phys. 176, 430) advances one step of size h by

    a     = E2 v + Q N(v)
    b     = E2 v + Q N(a)
    c'    = E2 a + Q (2 N(b) - N(v))
    v_new = E v + f1 N(v) + 2 f2 (N(a) + N(b)) + f3 N(c'),

with E = exp(h c), E2 = exp(h c / 2) and the phi-function weights Q, f1, f2, f3
below. Those weights suffer catastrophic cancellation for small |h c|; Kassam &
Trefethen (2005, SIAM J. Sci. Comput. 26, 1214) evaluate them as a mean over
points on a circle of radius ``contour_radius`` in the complex plane centred on
each h c, which is what :func:`etdrk4_coefficients` does. The coefficients
depend only on (c, h): compute them once per configuration and reuse them.

The three combinations of the scheme, on blocks of rows (R, M) inside Numba,
are :func:`etdrk4_stage_rows` (a and b), :func:`etdrk4_third_stage_rows` (c') and
:func:`etdrk4_update_rows` (v_new); each system's kernel supplies N and calls
them (the KS kernel, :mod:`chaoscontrol.solvers.ks`; CGLE, :mod:`chaoscontrol.solvers.cgle`).
"""

from __future__ import annotations

from typing import Callable

import numba
import numpy as np

#: Row indices of the packed coefficient array returned by :func:`etdrk4_coefficients`.
ROW_E, ROW_E2, ROW_Q, ROW_F1, ROW_F2, ROW_F3 = range(6)
N_ROWS = 6


def etdrk4_coefficients(
    linear: np.ndarray, h: float, n_contour: int = 64, contour_radius: float = 1.0
) -> np.ndarray:
    """ETDRK4 weights for the diagonal linear operator ``linear`` and step ``h``.

    :param linear: real eigenvalues c_k of the diagonal linear operator, shape (M,).
    :param h: time step, > 0.
    :param n_contour: number of contour points of the Kassam-Trefethen integral.
    :param contour_radius: radius of the contour around each ``h * c_k``.
    :return: float64 array of shape (6, M); rows are E, E2, Q, f1, f2, f3
        (see :data:`ROW_E` ...). The weights are real because ``linear`` is real.
    """
    linear = np.asarray(linear, dtype=np.float64)
    if linear.ndim != 1:
        raise ValueError(f"linear must be 1-D, got shape {linear.shape}")
    if not (np.isfinite(h) and h > 0):
        raise ValueError(f"h must be a positive finite time step, got {h!r}")
    if n_contour < 8:
        raise ValueError(f"n_contour must be >= 8, got {n_contour}")
    hc = h * linear
    # Points on the upper half circle suffice (weights are real; mean of the real part).
    roots = contour_radius * np.exp(1j * np.pi * (np.arange(1, n_contour + 1) - 0.5) / n_contour)
    z = hc[:, None] + roots[None, :]
    ez = np.exp(z)
    q = h * np.real(np.mean((np.exp(z / 2) - 1.0) / z, axis=1))
    f1 = h * np.real(np.mean((-4.0 - z + ez * (4.0 - 3.0 * z + z**2)) / z**3, axis=1))
    f2 = h * np.real(np.mean((2.0 + z + ez * (z - 2.0)) / z**3, axis=1))
    f3 = h * np.real(np.mean((-4.0 - 3.0 * z - z**2 + ez * (4.0 - z)) / z**3, axis=1))
    out = np.empty((N_ROWS, linear.size), dtype=np.float64)
    out[ROW_E] = np.exp(hc)
    out[ROW_E2] = np.exp(hc / 2.0)
    out[ROW_Q] = q
    out[ROW_F1] = f1
    out[ROW_F2] = f2
    out[ROW_F3] = f3
    return out


@numba.njit(cache=True)
def etdrk4_stage_rows(out: np.ndarray, x: np.ndarray, nx: np.ndarray, e2: np.ndarray, q: np.ndarray) -> None:
    """``out = E2 x + Q N(x)`` for each row: the stages a (x = v) and b (x = v, N(a) for N(x)); (R, M)."""
    for r in range(out.shape[0]):
        for m in range(out.shape[1]):
            out[r, m] = e2[m] * x[r, m] + q[m] * nx[r, m]


@numba.njit(cache=True)
def etdrk4_third_stage_rows(out: np.ndarray, a: np.ndarray, nv: np.ndarray, nb: np.ndarray, e2: np.ndarray,
                            q: np.ndarray) -> None:
    """``out = E2 a + Q (2 N(b) - N(v))`` for each row: the stage c'; (R, M)."""
    for r in range(out.shape[0]):
        for m in range(out.shape[1]):
            out[r, m] = e2[m] * a[r, m] + q[m] * (2.0 * nb[r, m] - nv[r, m])


@numba.njit(cache=True)
def etdrk4_update_rows(v: np.ndarray, nv: np.ndarray, na: np.ndarray, nb: np.ndarray, nc: np.ndarray, e: np.ndarray,
                       f1: np.ndarray, f2: np.ndarray, f3: np.ndarray) -> None:
    """``v = E v + f1 N(v) + 2 f2 (N(a) + N(b)) + f3 N(c')`` for each row, in place; (R, M)."""
    for r in range(v.shape[0]):
        for m in range(v.shape[1]):
            v[r, m] = e[m] * v[r, m] + f1[m] * nv[r, m] + 2.0 * f2[m] * (na[r, m] + nb[r, m]) + f3[m] * nc[r, m]


def etdrk4_step_reference(v: np.ndarray, nonlinear: Callable[[np.ndarray], np.ndarray], weights: np.ndarray) -> np.ndarray:
    """One ETDRK4 step in plain NumPy (the readable reference of the scheme above).

    :param v: the state in the diagonalising basis, (..., M).
    :param nonlinear: N(w) of a state of the same shape (forcing included).
    :param weights: the rows E, E2, Q, f1, f2, f3 of :func:`etdrk4_coefficients` (further rows are ignored).
    :return: the new state (a new array).
    """
    e, e2, q, f1, f2, f3 = weights[:N_ROWS]
    nv = nonlinear(v)
    a = e2 * v + q * nv
    na = nonlinear(a)
    b = e2 * v + q * na
    nb = nonlinear(b)
    c = e2 * a + q * (2.0 * nb - nv)
    nc = nonlinear(c)
    return e * v + f1 * nv + 2.0 * f2 * (na + nb) + f3 * nc

