r"""One control interval of the actuated Kolmogorov flow: forcing from actions, ETDRK4 steps, field and diagnostics.

A control interval holds the actuation a (one value per jet) constant, with
the forcing law of :mod:`chaoscontrol.solvers.actuation` on the jets' vortical
profiles g_j (mean-free, de-aliased; :mod:`chaoscontrol.solvers.kolmogorov_dynamics`),

.. math:: f_a(x, y) = \text{max\_forcing} \sum_j \operatorname{clip}(a_j, -1, 1)\, g_j(x, y),

advances the spectral vorticity by ``n_steps`` ETDRK4 steps with the whole
forcing f = -chi n cos(n y) + f_a (:func:`chaoscontrol.solvers.kolmogorov.kolmogorov_etdrk4_steps_rows`),
writes omega on the grid and the diagnostics at the end of the interval. With
the space average <g> = (2 pi)^-2 integral g dx dy (by Parseval over the
rfft2 modes, each k_x > 0 column counted twice), psi the streamfunction and
u = (psi_y, -psi_x):

- ``energy`` E = <|u|^2> / 2 = <psi omega> / 2;
- ``dissipation`` D = <|omega|^2> / Re (= <|grad u|^2> / Re on the periodic square);
- ``forcing_power`` P_K = <u . chi sin(n y) e_x> = <psi f_K>, the input of the Kolmogorov force;
- ``power`` P_a = <psi f_a>, the actuator power (a vorticity forcing g = curl F does the work
  <u . F> = <psi g>);
- ``laminar_distance`` rms(omega - omega_L), the distance to the laminar state (0 exactly on it);

and, last, max |omega| on the grid (+inf if the state is not finite) for
blow-up detection. The energy budget of the equation is

.. math:: \frac{dE}{dt} = P_K + P_a - D - 2 \alpha E

(the advection does no work; exact for the de-aliased semi-discrete system).
:func:`kolmogorov_control_interval` (one system) and
:func:`kolmogorov_control_interval_batch` (B systems, parallel over blocks of
rows) both run :func:`kolmogorov_control_rows`, so a system gives the same bits
alone or in a batch.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from chaoscontrol.solvers.actuation import spectral_forcing_rows
from chaoscontrol.solvers.blocks import advance_in_blocks, block_span, first_nonfinite_row
from chaoscontrol.solvers.kolmogorov import kolmogorov_etdrk4_steps_rows, kolmogorov_grid_rows

#: Names of the Kolmogorov diagnostics columns (before max|omega|).
KOLMOGOROV_DIAGNOSTICS = ("energy", "dissipation", "forcing_power", "power", "laminar_distance")
DIAG_ENERGY, DIAG_DISSIPATION, DIAG_FORCING_POWER, DIAG_POWER, DIAG_LAMINAR, DIAG_MAX_ABS_OMEGA = range(6)
N_DIAG = 6
#: Blocks of at most this many states (a 64 x 64 state is 33 kB; a block's FFT work is large already).
MAX_BLOCK_ROWS = 8
MIN_BLOCK_ROWS = 1


@numba.njit(cache=True)
def kolmogorov_diagnostics_rows(w: np.ndarray, fa: np.ndarray, fk: np.ndarray, laminar: np.ndarray,
                                inv_k2: np.ndarray, nu: float, grid: np.ndarray, diag_out: np.ndarray) -> None:
    """The diagnostics (module docstring) of a block of spectral states and their grid vorticity.

    :param w: rfft2 of omega, complex128 (R, N, M).
    :param fa: rfft2 of the actuation of each row, complex128 (R, N, M).
    :param fk: rfft2 of the Kolmogorov forcing, complex128 (N, M).
    :param laminar: rfft2 of omega_L, complex128 (N, M).
    :param inv_k2: 1/|k|^2 (0 at k = 0), float64 (N, M).
    :param nu: viscosity 1/Re.
    :param grid: omega on the grid, float64 (R, N, N) (for max|omega|).
    :param diag_out: receives the diagnostics and max|omega|, float64 (R, 6).
    """
    rows, n, m_modes = w.shape
    scale = 1.0 / (float(n) ** 4)
    for r in range(rows):
        ens = 0.0
        en = 0.0
        pk = 0.0
        pa = 0.0
        dist = 0.0
        for j in range(n):
            for m in range(m_modes):
                wt = 1.0 if (m == 0 or m == m_modes - 1) else 2.0
                z = w[r, j, m]
                a2 = z.real * z.real + z.imag * z.imag
                ens += wt * a2
                en += wt * a2 * inv_k2[j, m]
                pk += wt * (z.real * fk[j, m].real + z.imag * fk[j, m].imag) * inv_k2[j, m]
                pa += wt * (z.real * fa[r, j, m].real + z.imag * fa[r, j, m].imag) * inv_k2[j, m]
                dr = z.real - laminar[j, m].real
                di = z.imag - laminar[j, m].imag
                dist += wt * (dr * dr + di * di)
        amax = 0.0
        for j in range(n):
            for i in range(n):
                g = abs(grid[r, j, i])
                if not g <= amax:  # also catches NaN
                    amax = g if math.isfinite(g) else math.inf
        diag_out[r, 0] = 0.5 * en * scale
        diag_out[r, 1] = nu * ens * scale
        diag_out[r, 2] = pk * scale
        diag_out[r, 3] = pa * scale
        diag_out[r, 4] = math.sqrt(dist * scale)
        diag_out[r, 5] = amax if math.isfinite(ens + en + pk + pa) else math.inf


@numba.njit(cache=True)
def kolmogorov_control_rows(
    w: np.ndarray, actions: np.ndarray, forcing_basis: np.ndarray, max_forcing: float, fk: np.ndarray,
    laminar: np.ndarray, coeffs: np.ndarray, ops: np.ndarray, nu: float, n_steps: int, field_out: np.ndarray,
    diag_out: np.ndarray,
) -> None:
    """Advance a block of R actuated states over one control interval, in place.

    :param w: spectral states (rfft2 of omega), complex128 (R, N, M); overwritten.
    :param actions: finite actuation, float64 (R, n_act); clipped to [-1, 1] here.
    :param forcing_basis: rfft2 of the jet profiles g_j (mean-free, de-aliased), complex128 (n_act, N * M).
    :param max_forcing: forcing amplitude multiplying the actions.
    :param fk: rfft2 of the Kolmogorov forcing, complex128 (N, M).
    :param laminar: rfft2 of omega_L, complex128 (N, M).
    :param coeffs: :func:`~chaoscontrol.solvers.kolmogorov.kolmogorov_coefficients`, (6, N, M).
    :param ops: :func:`~chaoscontrol.solvers.kolmogorov.kolmogorov_operators`, (4, N, M).
    :param nu: viscosity 1/Re (for the dissipation).
    :param n_steps: solver steps per interval.
    :param field_out: receives omega on the grid at the end of the interval, float64 (R, N, N).
    :param diag_out: receives the diagnostics and max|omega| at the end, float64 (R, 6).
    """
    rows, n, m_modes = w.shape
    fa = np.empty((rows, n, m_modes), dtype=np.complex128)
    spectral_forcing_rows(actions, forcing_basis, max_forcing, fa.reshape(rows, n * m_modes))
    total = np.empty_like(fa)
    for r in range(rows):
        for j in range(n):
            for m in range(m_modes):
                total[r, j, m] = fa[r, j, m] + fk[j, m]
    kolmogorov_etdrk4_steps_rows(w, total, coeffs, ops, n_steps)
    kolmogorov_grid_rows(w, field_out)
    kolmogorov_diagnostics_rows(w, fa, fk, laminar, ops[2], nu, field_out, diag_out)


@numba.njit(cache=True)
def kolmogorov_control_interval(
    w: np.ndarray, action: np.ndarray, forcing_basis: np.ndarray, max_forcing: float, fk: np.ndarray,
    laminar: np.ndarray, coeffs: np.ndarray, ops: np.ndarray, nu: float, n_steps: int, field_out: np.ndarray,
    diag_out: np.ndarray,
) -> bool:
    """One system's control interval (:func:`kolmogorov_control_rows` on a block of one row), in place.

    :param w: complex128 (N, M); overwritten.
    :param action: float64 (n_act,).
    :param field_out: receives omega on the grid, float64 (N, N).
    :param diag_out: receives the diagnostics and max|omega|, float64 (6,).
    :return: True, or False (and nothing done) if an action is not finite.
    """
    a = action.reshape(1, action.size)
    if first_nonfinite_row(a) >= 0:
        return False
    n, m_modes = w.shape
    kolmogorov_control_rows(w.reshape(1, n, m_modes), a, forcing_basis, max_forcing, fk, laminar, coeffs, ops, nu,
                            n_steps, field_out.reshape(1, n, n), diag_out.reshape(1, diag_out.size))
    return True


@numba.njit(cache=True, parallel=True)
def _control_blocks(w, actions, forcing_basis, max_forcing, fk, laminar, coeffs, ops, nu, n_steps, field_out,
                    diag_out, rows):
    for i in numba.prange(-(-w.shape[0] // rows)):
        lo, hi = block_span(i, rows, w.shape[0])
        kolmogorov_control_rows(w[lo:hi], actions[lo:hi], forcing_basis, max_forcing, fk, laminar, coeffs, ops, nu,
                                n_steps, field_out[lo:hi], diag_out[lo:hi])


def kolmogorov_control_interval_batch(
    w: np.ndarray, actions: np.ndarray, forcing_basis: np.ndarray, max_forcing: float, fk: np.ndarray,
    laminar: np.ndarray, coeffs: np.ndarray, ops: np.ndarray, nu: float, n_steps: int, field_out: np.ndarray,
    diag_out: np.ndarray,
) -> int:
    """:func:`kolmogorov_control_interval` for B systems, in parallel over blocks of rows.

    All actions are checked before any state changes; each row's result is
    bit-identical to the single-system kernel on that row alone.

    :param w: complex128 (B, N, M); overwritten.
    :param actions: float64 (B, n_act).
    :param field_out: float64 (B, N, N).
    :param diag_out: float64 (B, 6).
    :return: -1, or the index of the first system whose action is not finite (nothing done).
    """
    return advance_in_blocks(kolmogorov_control_rows, _control_blocks, w, actions, forcing_basis, max_forcing, fk,
                             laminar, coeffs, ops, nu, n_steps, field_out, diag_out, min_rows=MIN_BLOCK_ROWS,
                             max_rows=MAX_BLOCK_ROWS)


def kolmogorov_diagnostics_reference(w: np.ndarray, fa: np.ndarray, fk: np.ndarray, laminar: np.ndarray,
                                     Re: float) -> np.ndarray:
    """The diagnostics and max|omega| of grid fields in plain NumPy (the readable reference, on the grid).

    :param w: vorticity on the grid, (..., N, N).
    :param fa: actuation on the grid, broadcastable to ``w``.
    :param fk: Kolmogorov forcing on the grid, (N, N).
    :param laminar: omega_L on the grid, (N, N).
    :param Re: Reynolds number.
    :return: float64 (..., 6) in the order of :data:`KOLMOGOROV_DIAGNOSTICS`, max|omega| last.
    """
    n = w.shape[-1]
    k = np.fft.fftfreq(n, 1.0 / n)
    k2 = k[None, :] ** 2 + k[:, None] ** 2
    inv = np.divide(1.0, k2, out=np.zeros_like(k2), where=k2 > 0)
    psi = np.real(np.fft.ifft2(np.fft.fft2(w, axes=(-2, -1)) * inv, axes=(-2, -1)))
    mean = lambda g: g.mean(axis=(-2, -1))  # noqa: E731
    return np.stack([0.5 * mean(psi * w), mean(w * w) / Re, mean(psi * fk), mean(psi * fa),
                     np.sqrt(mean((w - laminar) ** 2)), np.abs(w).max(axis=(-2, -1))], axis=-1)


__all__ = [
    "KOLMOGOROV_DIAGNOSTICS",
    "N_DIAG",
    "kolmogorov_control_interval",
    "kolmogorov_control_interval_batch",
    "kolmogorov_control_rows",
    "kolmogorov_diagnostics_reference",
    "kolmogorov_diagnostics_rows",
]
