r"""The forced 1-D complex Ginzburg-Landau equation by Fourier pseudo-spectral ETDRK4.

.. math::

    A_t = A + (1 + i\alpha) A_{xx} - (1 + i\beta) |A|^2 A + f(x, t),
    \qquad x \in [0, L) \text{ periodic},

the normal form of a spatially extended system near a supercritical Hopf
bifurcation (Aranson & Kramer 2002, Rev. Mod. Phys. 74, 99, eq. 1 with
b = alpha, c = beta). Its uniform oscillation A = exp(-i beta t) and plane
waves A = sqrt(1 - q^2) exp(i(q x - omega t)), omega = beta + (alpha - beta) q^2,
are exact solutions (:mod:`chaoscontrol.solvers.cgle_waves`); all of them are
unstable when 1 + alpha beta < 0 (Benjamin-Feir-Newell criterion), where the
attractor is phase or defect turbulence (Shraiman et al. 1992, Physica D 57,
241; Chate 1994, Nonlinearity 7, 185).

Discretisation: N equispaced points, complex FFTs (numpy's unnormalised
``fft`` convention, wavenumbers k_m = 2 pi m / L in FFT order, m = -N/2..N/2-1).
In Fourier space, with g = -(1 + i beta),

.. math::

    \hat A_t = \lambda_k \hat A + N(\hat A), \qquad
    \lambda_k = c_k + g s_k, \qquad
    N(\hat A) = \widehat{g |A|^2 A} - g s_k \hat A + \hat f,

    c_k = 1 - (1 + i\alpha) k^2, \qquad s_k = \max(0, 1 - k^2).

The physical linear rates c_k are shifted by g s_k, which the nonlinear part
takes back (the equation is unchanged): for |k| < 1, lambda_k = -i omega(k) is
the frequency of the plane wave of wavenumber k, and on every plane wave
(|A|^2 = 1 - q^2 = s_q, one Fourier mode) N vanishes identically, so the
scheme advances plane waves and the uniform oscillation exactly (to round-off)
at any step. The shift is bounded (|g s_k| <= |g|), so the explicit part stays
non-stiff; on the turbulent attractor it also halves the time-stepping error
against the plain splitting (measured at dt = 0.05). The forcing is in N, so
with f held constant over a control interval the ETDRK4 scheme of Cox &
Matthews (2002, J. Comput. Phys. 176, 430) stays fourth order. The weights of
a complex linear rate are complex; they come from the contour integral of
Kassam & Trefethen (2005, SIAM J. Sci. Comput. 26, 1214) over the full circle
(:func:`etdrk4_coefficients_complex`; the upper half circle of
:func:`chaoscontrol.solvers.etdrk4.etdrk4_coefficients` only serves real rates)
and are computed once per :class:`CGLEConfig` by :func:`cgle_coefficients`.
Products are not de-aliased: the default grid resolves the attractor's spectrum
to round-off well before the Nyquist mode (``docs/systems.md``).

Two implementations of the same scheme live here:

- :func:`cgle_etdrk4_steps_rows` (the scheme, on a block of states) and
  :func:`cgle_etdrk4_steps` (one state): the Numba kernels (complex FFTs inside
  Numba through rocket-fft), in place on spectral states; batches run in
  parallel over blocks of rows in the control-interval kernel
  (:func:`chaoscontrol.solvers.cgle_control.cgle_control_interval_batch`);
- :func:`cgle_etdrk4_step_reference`: plain NumPy, the readable reference that
  the tests compare the kernels against.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numba
import numpy as np
from rocket_fft import c2c

from chaoscontrol.solvers.etdrk4 import (
    N_ROWS,
    ROW_E,
    ROW_E2,
    ROW_F1,
    ROW_F2,
    ROW_F3,
    ROW_Q,
    etdrk4_stage_rows,
    etdrk4_step_reference,
    etdrk4_third_stage_rows,
    etdrk4_update_rows,
)
from chaoscontrol.validation import check_periodic_grid, is_int, is_real

#: Row of the packed CGLE coefficient array that holds -g s_k (the shift taken back by the nonlinear part).
ROW_SHIFT = N_ROWS


@dataclass(frozen=True)
class CGLEConfig:
    """Coefficients, grid and time step of a CGLE simulation.

    The default is the Benjamin-Feir-unstable point alpha = 2, beta = -2
    (1 + alpha beta = -3, defect turbulence) on L = 8 pi with N = 64, dt = 0.05
    (justified in ``docs/systems.md``).
    """

    alpha: float = 2.0
    """Linear dispersion coefficient (b of Aranson & Kramer 2002)."""
    beta: float = -2.0
    """Nonlinear dispersion coefficient (c of Aranson & Kramer 2002)."""
    L: float = 8.0 * math.pi
    """Domain length; the domain is [0, L) with periodic boundaries. Must be > 0."""
    N: int = 64
    """Number of grid points; even and >= 8."""
    dt: float = 0.05
    """Solver time step; > 0."""
    n_contour: int = field(default=64, repr=False)
    """Points of the Kassam-Trefethen contour integral for the ETDRK4 weights."""

    def __post_init__(self) -> None:
        for name in ("alpha", "beta"):
            value = getattr(self, name)
            if not (is_real(value) and math.isfinite(value)):
                raise ValueError(f"{name} must be a finite real number, got {value!r}")
        check_periodic_grid(self.L, self.N, self.dt)
        if not is_int(self.n_contour) or self.n_contour < 8:
            raise ValueError(f"n_contour must be an integer >= 8, got {self.n_contour!r}")

    @property
    def x(self) -> np.ndarray:
        """Grid points x_j = j L / N, j = 0..N-1."""
        return self.L * np.arange(self.N) / self.N

    @property
    def k(self) -> np.ndarray:
        """Wavenumbers 2 pi m / L of the FFT modes in numpy's order (m = 0..N/2-1, -N/2..-1)."""
        return 2.0 * np.pi / self.L * np.fft.fftfreq(self.N, 1.0 / self.N)

    @property
    def nonlinear_coefficient(self) -> complex:
        """g = -(1 + i beta), the coefficient of |A|^2 A."""
        return complex(-1.0, -self.beta)


def cgle_linear_rates(config: CGLEConfig) -> np.ndarray:
    """Physical linear rates c_k = 1 - (1 + i alpha) k^2 of the Fourier modes (FFT order).

    :param config: coefficients and grid.
    :return: complex128 array of shape (N,).
    """
    k2 = config.k**2
    return (1.0 - k2) - 1j * config.alpha * k2


def plane_wave_shift(config: CGLEConfig) -> np.ndarray:
    """s_k = max(0, 1 - k^2): |A|^2 of the plane wave of wavenumber k (0 where there is none), (N,)."""
    return np.maximum(0.0, 1.0 - config.k**2)


def cgle_split_rates(config: CGLEConfig) -> np.ndarray:
    """Linear rates of the scheme, lambda_k = c_k + g s_k (= -i omega(k) for |k| < 1), complex128 (N,)."""
    return cgle_linear_rates(config) + config.nonlinear_coefficient * plane_wave_shift(config)


def etdrk4_coefficients_complex(
    linear: np.ndarray, h: float, n_contour: int = 64, contour_radius: float = 1.0
) -> np.ndarray:
    """ETDRK4 weights E, E2, Q, f1, f2, f3 for a diagonal operator with complex eigenvalues.

    The formulas of :mod:`chaoscontrol.solvers.etdrk4` (Cox & Matthews 2002)
    evaluated, as Kassam & Trefethen (2005) do for complex problems, as the mean
    over ``n_contour`` points of a full circle of radius ``contour_radius``
    around each ``h * c``: no cancellation for small |h c|, and the weights keep
    their imaginary parts.

    :param linear: complex eigenvalues c of the diagonal linear operator, shape (M,).
    :param h: time step, > 0.
    :param n_contour: number of contour points, >= 8.
    :param contour_radius: radius of the contour around each ``h * c``, > 0.
    :return: complex128 array of shape (6, M); rows in the order of
        :data:`~chaoscontrol.solvers.etdrk4.ROW_E` ... :data:`~chaoscontrol.solvers.etdrk4.ROW_F3`.
    """
    linear = np.asarray(linear, dtype=np.complex128)
    if linear.ndim != 1:
        raise ValueError(f"linear must be 1-D, got shape {linear.shape}")
    if not (np.all(np.isfinite(linear))):
        raise ValueError("linear must be finite")
    if not (is_real(h) and math.isfinite(h) and h > 0):
        raise ValueError(f"h must be a positive finite time step, got {h!r}")
    if not is_int(n_contour) or n_contour < 8:
        raise ValueError(f"n_contour must be an integer >= 8, got {n_contour!r}")
    if not (is_real(contour_radius) and math.isfinite(contour_radius) and contour_radius > 0):
        raise ValueError(f"contour_radius must be positive and finite, got {contour_radius!r}")
    hc = h * linear
    roots = contour_radius * np.exp(2j * np.pi * (np.arange(1, n_contour + 1) - 0.5) / n_contour)
    z = hc[:, None] + roots[None, :]
    ez = np.exp(z)
    out = np.empty((N_ROWS, linear.size), dtype=np.complex128)
    out[ROW_E] = np.exp(hc)
    out[ROW_E2] = np.exp(hc / 2.0)
    out[ROW_Q] = h * np.mean((np.exp(z / 2) - 1.0) / z, axis=1)
    out[ROW_F1] = h * np.mean((-4.0 - z + ez * (4.0 - 3.0 * z + z**2)) / z**3, axis=1)
    out[ROW_F2] = h * np.mean((2.0 + z + ez * (z - 2.0)) / z**3, axis=1)
    out[ROW_F3] = h * np.mean((-4.0 - 3.0 * z - z**2 + ez * (4.0 - z)) / z**3, axis=1)
    return out


def cgle_coefficients(config: CGLEConfig) -> np.ndarray:
    """Packed ETDRK4 coefficients for the CGLE: rows E, E2, Q, f1, f2, f3 of the split rates
    :func:`cgle_split_rates` and -g s_k (:data:`ROW_SHIFT`), read-only.

    Computed once per configuration; the kernels take this array as is, with
    :attr:`CGLEConfig.nonlinear_coefficient`.

    :param config: coefficients, grid and time step.
    :return: complex128 array of shape (7, N).
    """
    coeffs = np.empty((N_ROWS + 1, config.N), dtype=np.complex128)
    coeffs[:N_ROWS] = etdrk4_coefficients_complex(cgle_split_rates(config), config.dt, config.n_contour)
    coeffs[ROW_SHIFT] = -config.nonlinear_coefficient * plane_wave_shift(config)
    coeffs.setflags(write=False)
    return coeffs


def to_spectral(a: np.ndarray) -> np.ndarray:
    """Complex FFT along the last axis (numpy's unnormalised convention)."""
    return np.fft.fft(a, axis=-1)


def to_physical(v: np.ndarray) -> np.ndarray:
    """Inverse complex FFT along the last axis."""
    return np.fft.ifft(v, axis=-1)


# --------------------------------------------------------------------------- kernels
#
# The scheme is written once, for a block of R states (R, N): ``cgle_etdrk4_steps_rows``.
# A single state is a block of one row (1-D FFTs); a block of several rows
# transforms them in one FFT call per stage. Both FFT paths give bit-identical
# results (tests/solvers/test_cgle.py), so a state advances identically alone or
# in a batch (the control-interval kernel runs blocks in parallel).


@numba.njit(cache=True)
def fft_rows(src: np.ndarray, dst: np.ndarray, axes: np.ndarray, forward: bool) -> None:
    """dst = FFT (forward) or IFFT (1/N-normalised) of each row of ``src`` (R, N), rocket-fft in Numba.

    :param axes: ``np.array([0, 1])``: axis 0 of a single row, axis 1 of a block.
    """
    rows, n = src.shape
    scale = 1.0 if forward else 1.0 / n
    if rows == 1:
        c2c(src[0], dst[0], axes[:1], forward, scale, 1)
    else:
        c2c(src, dst, axes[1:], forward, scale, 1)


@numba.njit(cache=True)
def shifted_modes(shift: np.ndarray) -> np.ndarray:
    """Indices of the modes where the plane-wave shift -g s_k is not zero (|k| < 1: a few modes), int64."""
    return np.nonzero(shift != 0.0)[0].astype(np.int64)


@numba.njit(cache=True)
def _cubic_rows(a: np.ndarray, gr: float, gi: float) -> None:
    """a = g |a|^2 a in place on the float64 view (R, 2N) of complex rows (Re, Im interleaved), g = gr + i gi."""
    rows, n2 = a.shape
    for r in range(rows):
        row = a[r]
        for j in range(n2 // 2):
            re = row[2 * j]
            im = row[2 * j + 1]
            s = re * re + im * im
            wr = s * re
            wi = s * im
            row[2 * j] = gr * wr - gi * wi
            row[2 * j + 1] = gr * wi + gi * wr


@numba.njit(cache=True)
def _nonlinear_rows(
    v: np.ndarray, fhat: np.ndarray, g: complex, shift: np.ndarray, modes: np.ndarray, a: np.ndarray,
    out: np.ndarray, axes: np.ndarray,
) -> None:
    """out = FFT(g |A|^2 A) + fhat + shift v with A = IFFT(v), row by row; ``a`` is workspace (R, N).

    The cube and the forcing run on the float64 views (one pass each over Re, Im interleaved); the shift
    only on ``modes`` (:func:`shifted_modes`), where it is not zero.
    """
    rows, n = v.shape
    fft_rows(v, a, axes, False)
    _cubic_rows(a.view(np.float64), g.real, g.imag)
    fft_rows(a, out, axes, True)
    of = out.view(np.float64)
    ff = fhat.view(np.float64)
    for r in range(rows):
        orow = of[r]
        frow = ff[r]
        for j in range(2 * n):
            orow[j] += frow[j]
        for m in modes:
            out[r, m] += shift[m] * v[r, m]


@numba.njit(cache=True)
def cgle_etdrk4_steps_rows(v: np.ndarray, fhat: np.ndarray, coeffs: np.ndarray, g: complex, n_steps: int) -> None:
    """Advance a block of spectral CGLE states by ``n_steps`` ETDRK4 steps, in place (the scheme).

    ETDRK4 of Cox & Matthews (2002), see :mod:`chaoscontrol.solvers.etdrk4`, with
    N(v) = FFT(g |IFFT(v)|^2 IFFT(v)) - g s_k v + fhat (module docstring).

    :param v: complex128 FFT coefficients of A, shape (R, N); overwritten.
    :param fhat: complex128 FFT of the forcing of each row (held constant), shape (R, N).
    :param coeffs: :func:`cgle_coefficients` of the configuration, complex128 (7, N).
    :param g: the nonlinear coefficient -(1 + i beta).
    :param n_steps: number of solver steps.
    """
    rows, n = v.shape
    e, e2, q, f1, f2, f3, shift = coeffs[0], coeffs[1], coeffs[2], coeffs[3], coeffs[4], coeffs[5], coeffs[6]
    fhat = np.ascontiguousarray(fhat)  # the float64 view below needs it (no copy when it is)
    modes = shifted_modes(shift)
    axes = np.array([0, 1], dtype=np.int64)  # FFT axis of a single row, of a block
    work = np.empty((8, rows, n), dtype=np.complex128)  # the grid field, N(v), N(a), N(b), N(c), a, b, c
    phys, nv, na, nb, nc, a, b, c = work[0], work[1], work[2], work[3], work[4], work[5], work[6], work[7]
    for _ in range(n_steps):
        _nonlinear_rows(v, fhat, g, shift, modes, phys, nv, axes)
        etdrk4_stage_rows(a, v, nv, e2, q)
        _nonlinear_rows(a, fhat, g, shift, modes, phys, na, axes)
        etdrk4_stage_rows(b, v, na, e2, q)
        _nonlinear_rows(b, fhat, g, shift, modes, phys, nb, axes)
        etdrk4_third_stage_rows(c, a, nv, nb, e2, q)
        _nonlinear_rows(c, fhat, g, shift, modes, phys, nc, axes)
        etdrk4_update_rows(v, nv, na, nb, nc, e, f1, f2, f3)


@numba.njit(cache=True)
def cgle_etdrk4_steps(v: np.ndarray, fhat: np.ndarray, coeffs: np.ndarray, g: complex, n_steps: int) -> None:
    """Advance one spectral CGLE state by ``n_steps`` ETDRK4 steps, in place.

    :param v: complex128 FFT coefficients of A, shape (N,); overwritten.
    :param fhat: complex128 FFT of the forcing (held constant), shape (N,).
    :param coeffs: :func:`cgle_coefficients`, (7, N).
    :param g: the nonlinear coefficient -(1 + i beta).
    :param n_steps: number of solver steps.
    """
    cgle_etdrk4_steps_rows(v.reshape(1, v.size), fhat.reshape(1, fhat.size), coeffs, g, n_steps)


# --------------------------------------------------------------------------- reference


def cgle_etdrk4_step_reference(v: np.ndarray, fhat: np.ndarray, coeffs: np.ndarray, g: complex) -> np.ndarray:
    """One ETDRK4 step of the forced CGLE in plain NumPy (the readable reference).

    :param v: FFT coefficients of A, shape (..., N).
    :param fhat: FFT of the forcing, broadcastable to ``v``.
    :param coeffs: :func:`cgle_coefficients`, (7, N).
    :param g: the nonlinear coefficient -(1 + i beta).
    :return: the new spectral state (a new array).
    """
    shift = coeffs[ROW_SHIFT]

    def nonlinear(w: np.ndarray) -> np.ndarray:
        a = np.fft.ifft(w, axis=-1)
        return np.fft.fft(g * np.abs(a) ** 2 * a, axis=-1) + shift * w + fhat

    return etdrk4_step_reference(v, nonlinear, coeffs)


__all__ = [
    "CGLEConfig",
    "ROW_SHIFT",
    "cgle_coefficients",
    "cgle_etdrk4_step_reference",
    "cgle_etdrk4_steps",
    "cgle_etdrk4_steps_rows",
    "cgle_linear_rates",
    "cgle_split_rates",
    "plane_wave_shift",
    "shifted_modes",
    "etdrk4_coefficients_complex",
    "fft_rows",
    "to_physical",
    "to_spectral",
]
