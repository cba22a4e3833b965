r"""The forced Kuramoto-Sivashinsky equation by Fourier pseudo-spectral ETDRK4.

.. math::

    u_t + u u_x + u_{xx} + u_{xxxx} = f(x, t), \qquad x \in [0, L) \text{ periodic}.

Discretisation: N equispaced points, real FFTs (numpy's unnormalised ``rfft``
convention, M = N/2 + 1 modes, wavenumbers k_m = 2 pi m / L). In Fourier space

.. math::

    \hat u_t = (k^2 - k^4)\, \hat u \;-\; \tfrac{i k}{2}\, \widehat{u^2} \;+\; \hat f,

a diagonal linear part plus a nonlinear part that also carries the forcing, so
that with f held constant over a control interval the ETDRK4 scheme of Cox &
Matthews (2002) stays fourth order. The weights come from the contour integral
of Kassam & Trefethen (2005) (:mod:`chaoscontrol.solvers.etdrk4`) and are
computed once per :class:`KSConfig` by :func:`ks_coefficients`.

The k = 0 mode has zero linear rate, zero nonlinear coefficient and (because the
forcing has its mean removed) zero forcing: the spatial mean of u is conserved
exactly. The odd derivative of the Nyquist mode is set to zero, as usual for
real grids. Products are not de-aliased (as in Kassam & Trefethen 2005 and the
KS control literature at N = 64, L = 22).

Two implementations of the same scheme live here:

- :func:`ks_etdrk4_steps_rows` (the scheme, on a block of states), with
  :func:`ks_etdrk4_steps` (one state) and :func:`ks_etdrk4_steps_batch` (a batch,
  parallel over blocks): the Numba kernels (FFTs inside Numba through
  rocket-fft), in place on spectral states;
- :func:`ks_etdrk4_step_reference`: plain NumPy, the readable reference that the
  tests compare the kernels against.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numba
import numpy as np
from rocket_fft import c2r, r2c

from chaoscontrol.solvers.blocks import block_rows, block_span
from chaoscontrol.solvers.etdrk4 import (
    N_ROWS,
    etdrk4_coefficients,
    etdrk4_stage_rows,
    etdrk4_step_reference,
    etdrk4_third_stage_rows,
    etdrk4_update_rows,
)
from chaoscontrol.validation import check_periodic_grid

#: Row of the packed KS coefficient array that holds -k/2 (the nonlinear coefficient).
ROW_G = N_ROWS


@dataclass(frozen=True)
class KSConfig:
    """Grid and time step of a KS simulation."""

    L: float = 22.0
    """Domain length; the domain is [0, L) with periodic boundaries. Must be > 0."""
    N: int = 64
    """Number of grid points; even and >= 8."""
    dt: float = 0.05
    """Solver time step; > 0."""
    n_contour: int = field(default=64, repr=False)
    """Points of the Kassam-Trefethen contour integral for the ETDRK4 weights."""

    def __post_init__(self) -> None:
        check_periodic_grid(self.L, self.N, self.dt)

    @property
    def n_modes(self) -> int:
        """Number of rfft modes, N/2 + 1."""
        return self.N // 2 + 1

    @property
    def x(self) -> np.ndarray:
        """Grid points x_j = j L / N, j = 0..N-1."""
        return self.L * np.arange(self.N) / self.N

    @property
    def k(self) -> np.ndarray:
        """Wavenumbers k_m = 2 pi m / L of the rfft modes m = 0..N/2."""
        return 2.0 * np.pi / self.L * np.arange(self.n_modes)


def ks_linear_rates(config: KSConfig) -> np.ndarray:
    """Linear growth rates k^2 - k^4 of the KS Fourier modes.

    :param config: grid and time step.
    :return: float64 array of shape (N/2 + 1,).
    """
    k = config.k
    return k**2 - k**4


def ks_coefficients(config: KSConfig) -> np.ndarray:
    """Packed ETDRK4 coefficients for KS: rows E, E2, Q, f1, f2, f3 and -k/2.

    Computed once per configuration; the kernels take this array as is.

    :param config: grid and time step.
    :return: float64 array of shape (7, N/2 + 1).
    """
    coeffs = np.empty((N_ROWS + 1, config.n_modes), dtype=np.float64)
    coeffs[:N_ROWS] = etdrk4_coefficients(ks_linear_rates(config), config.dt, config.n_contour)
    g = -0.5 * config.k
    g[-1] = 0.0  # odd derivative of the Nyquist mode
    coeffs[ROW_G] = g
    coeffs.setflags(write=False)
    return coeffs


def to_spectral(u: np.ndarray) -> np.ndarray:
    """Real FFT along the last axis (numpy's unnormalised convention)."""
    return np.fft.rfft(u, axis=-1)


def to_physical(v: np.ndarray, n: int) -> np.ndarray:
    """Inverse real FFT along the last axis onto ``n`` grid points."""
    return np.fft.irfft(v, n, axis=-1)


# --------------------------------------------------------------------------- kernels
#
# The scheme is written once, for a block of R states (R, M): ``ks_etdrk4_steps_rows``.
# A single state is a block of one row (1-D FFTs: least call overhead); a block of
# several rows transforms them in one FFT call per stage (much less overhead per
# row), which is what the batch kernel runs on each thread. Both FFT paths give
# bit-identical results, so a state advances identically alone or in a batch.


@numba.njit(cache=True)
def _nonlinear_rows(
    v: np.ndarray, fhat: np.ndarray, g: np.ndarray, u: np.ndarray, out: np.ndarray, axes: np.ndarray
) -> None:
    """out = -(ik/2) FFT(u^2) + fhat with u = IFFT(v), row by row; g holds -k/2; u is workspace (R, N)."""
    rows, m_modes = v.shape
    n = u.shape[1]
    if rows == 1:
        c2r(v[0], u[0], axes[:1], False, 1.0 / n, 1)
    else:
        c2r(v, u, axes[1:], False, 1.0 / n, 1)
    for r in range(rows):
        for j in range(n):
            u[r, j] = u[r, j] * u[r, j]
    if rows == 1:
        r2c(u[0], out[0], axes[:1], True, 1.0, 1)
    else:
        r2c(u, out, axes[1:], True, 1.0, 1)
    for r in range(rows):
        for m in range(m_modes):
            w = out[r, m]
            out[r, m] = complex(-g[m] * w.imag + fhat[r, m].real, g[m] * w.real + fhat[r, m].imag)


@numba.njit(cache=True)
def ks_etdrk4_steps_rows(v: np.ndarray, fhat: np.ndarray, coeffs: np.ndarray, n_steps: int) -> None:
    """Advance a block of spectral KS states by ``n_steps`` ETDRK4 steps, in place (the scheme).

    ETDRK4 of Cox & Matthews (2002), see :mod:`chaoscontrol.solvers.etdrk4`, with
    N(v) = -(ik/2) FFT(IFFT(v)^2) + fhat.

    :param v: complex128 rfft coefficients of u, shape (R, M), M = N/2 + 1; overwritten.
    :param fhat: complex128 rfft of the forcing of each row (held constant), shape (R, M), fhat[:, 0] = 0.
    :param coeffs: :func:`ks_coefficients` of the configuration, shape (7, M).
    :param n_steps: number of solver steps.
    """
    rows, m_modes = v.shape
    n = 2 * (m_modes - 1)
    e, e2, q, f1, f2, f3, g = coeffs[0], coeffs[1], coeffs[2], coeffs[3], coeffs[4], coeffs[5], coeffs[6]
    u = np.empty((rows, n), dtype=np.float64)
    axes = np.array([0, 1], dtype=np.int64)  # FFT axis of a single row, of a block
    work = np.empty((7, rows, m_modes), dtype=np.complex128)  # N(v), N(a), N(b), N(c), a, b, c
    nv, na, nb, nc, a, b, c = work[0], work[1], work[2], work[3], work[4], work[5], work[6]
    for _ in range(n_steps):
        _nonlinear_rows(v, fhat, g, u, nv, axes)
        etdrk4_stage_rows(a, v, nv, e2, q)
        _nonlinear_rows(a, fhat, g, u, na, axes)
        etdrk4_stage_rows(b, v, na, e2, q)
        _nonlinear_rows(b, fhat, g, u, nb, axes)
        etdrk4_third_stage_rows(c, a, nv, nb, e2, q)
        _nonlinear_rows(c, fhat, g, u, nc, axes)
        etdrk4_update_rows(v, nv, na, nb, nc, e, f1, f2, f3)


@numba.njit(cache=True)
def ks_etdrk4_steps(v: np.ndarray, fhat: np.ndarray, coeffs: np.ndarray, n_steps: int) -> None:
    """Advance one spectral KS state by ``n_steps`` ETDRK4 steps, in place.

    :param v: complex128 rfft coefficients of u, shape (M,), M = N/2 + 1; overwritten.
    :param fhat: complex128 rfft of the forcing (held constant), shape (M,), fhat[0] = 0.
    :param coeffs: :func:`ks_coefficients` of the configuration, shape (7, M).
    :param n_steps: number of solver steps.
    """
    ks_etdrk4_steps_rows(v.reshape(1, v.size), fhat.reshape(1, fhat.size), coeffs, n_steps)


@numba.njit(cache=True, parallel=True)
def _steps_blocks(v: np.ndarray, fhat: np.ndarray, coeffs: np.ndarray, n_steps: int, rows: int) -> None:
    for i in numba.prange(-(-v.shape[0] // rows)):
        lo, hi = block_span(i, rows, v.shape[0])
        ks_etdrk4_steps_rows(v[lo:hi], fhat[lo:hi], coeffs, n_steps)


def ks_etdrk4_steps_batch(v: np.ndarray, fhat: np.ndarray, coeffs: np.ndarray, n_steps: int) -> None:
    """Advance a batch of spectral KS states by ``n_steps`` ETDRK4 steps, in place.

    The batch is cut into blocks of rows (:func:`block_rows`), each advanced by
    :func:`ks_etdrk4_steps_rows` (the same scheme and coefficients), in parallel
    over the blocks (Numba threads). Each row's result is bit-identical to
    :func:`ks_etdrk4_steps` on that row alone.

    :param v: complex128, shape (B, M); overwritten.
    :param fhat: complex128 forcing per state, shape (B, M).
    :param coeffs: :func:`ks_coefficients`, shape (7, M).
    :param n_steps: number of solver steps.
    """
    rows = block_rows(v.shape[0])
    if rows >= v.shape[0]:  # one block: no thread launch
        ks_etdrk4_steps_rows(v, fhat, coeffs, n_steps)
    else:
        _steps_blocks(v, fhat, coeffs, n_steps, rows)


# --------------------------------------------------------------------------- reference


def ks_etdrk4_step_reference(v: np.ndarray, fhat: np.ndarray, coeffs: np.ndarray) -> np.ndarray:
    """One ETDRK4 step of forced KS in plain NumPy (the readable reference).

    :param v: rfft coefficients of u, shape (..., M).
    :param fhat: rfft of the forcing, broadcastable to ``v``.
    :param coeffs: :func:`ks_coefficients`, shape (7, M).
    :return: the new spectral state (a new array).
    """
    g = coeffs[ROW_G]
    n = 2 * (v.shape[-1] - 1)

    def nonlinear(w: np.ndarray) -> np.ndarray:
        u = np.fft.irfft(w, n, axis=-1)
        return 1j * g * np.fft.rfft(u * u, axis=-1) + fhat

    return etdrk4_step_reference(v, nonlinear, coeffs)
