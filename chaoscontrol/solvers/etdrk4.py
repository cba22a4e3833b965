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
"""

from __future__ import annotations

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
