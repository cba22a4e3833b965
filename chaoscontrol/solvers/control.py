"""One control interval of actuated KS: forcing from actions, ETDRK4 steps, read-out.

A control interval holds the actuation a (one value per actuator) constant,
with the forcing law of :mod:`chaoscontrol.solvers.actuation`

    f(x) = max_forcing * sum_j clip(a_j) psi_j(x) - mean,

advances the spectral state by ``n_steps`` ETDRK4 steps
(:func:`chaoscontrol.solvers.ks.ks_etdrk4_steps`), writes the new grid state,
and returns the energy budget at the end of the interval
(:func:`chaoscontrol.solvers.diagnostics.ks_energy_budget`) with max|u| for
blow-up detection. This is the whole numerical work of one environment step, in
one Numba call; :func:`ks_control_interval_batch` does the same for B systems in
parallel. Both run :func:`ks_control_rows`, the block-of-rows form.
"""

from __future__ import annotations

import math

import numba
import numpy as np
from rocket_fft import c2r

from chaoscontrol.solvers.actuation import spectral_forcing_rows
from chaoscontrol.solvers.diagnostics import ks_energy_budget
from chaoscontrol.solvers.blocks import advance_in_blocks, block_span, first_nonfinite_row
from chaoscontrol.solvers.ks import ks_etdrk4_steps_rows

#: Columns of the diagnostics returned by the control-interval kernels.
DIAG_ENERGY, DIAG_PRODUCTION, DIAG_DISSIPATION, DIAG_POWER, DIAG_MAX_ABS_U = range(5)
N_DIAG = 5


@numba.njit(cache=True)
def ks_control_rows(
    v: np.ndarray,
    actions: np.ndarray,
    forcing_basis: np.ndarray,
    max_forcing: float,
    coeffs: np.ndarray,
    n_steps: int,
    k: np.ndarray,
    u_out: np.ndarray,
    diag_out: np.ndarray,
) -> None:
    """Advance a block of R actuated KS states over one control interval, in place.

    :param v: spectral states (rfft of u), complex128 (R, M); overwritten.
    :param actions: finite actuation, float64 (R, n_act); clipped to [-1, 1] here.
    :param forcing_basis: :func:`~chaoscontrol.solvers.actuation.forcing_basis_spectral`, (n_act, M).
    :param max_forcing: forcing amplitude multiplying the actions.
    :param coeffs: :func:`~chaoscontrol.solvers.ks.ks_coefficients`, (7, M).
    :param n_steps: solver steps per interval.
    :param k: wavenumbers, (M,).
    :param u_out: receives the grid states at the end of the interval, float64 (R, N).
    :param diag_out: receives (E, P, D, P_f, max|u|) of each row at the end, float64 (R, 5);
        max|u| is +inf if the state is not finite.
    """
    rows, m_modes = v.shape
    n = u_out.shape[1]
    fhat = np.empty((rows, m_modes), dtype=np.complex128)
    spectral_forcing_rows(actions, forcing_basis, max_forcing, fhat)
    ks_etdrk4_steps_rows(v, fhat, coeffs, n_steps)
    axes = np.array([0, 1], dtype=np.int64)
    if rows == 1:
        c2r(v[0], u_out[0], axes[:1], False, 1.0 / n, 1)
    else:
        c2r(v, u_out, axes[1:], False, 1.0 / n, 1)
    for r in range(rows):
        e, p, d, pf = ks_energy_budget(v[r], fhat[r], k)
        umax = 0.0
        for i in range(n):
            a = abs(u_out[r, i])
            if not a <= umax:  # also catches NaN
                umax = a if math.isfinite(a) else math.inf
        diag_out[r, 0] = e
        diag_out[r, 1] = p
        diag_out[r, 2] = d
        diag_out[r, 3] = pf
        diag_out[r, 4] = umax if math.isfinite(e + p + d + pf) else math.inf


@numba.njit(cache=True)
def ks_control_interval(
    v: np.ndarray,
    action: np.ndarray,
    forcing_basis: np.ndarray,
    max_forcing: float,
    coeffs: np.ndarray,
    n_steps: int,
    k: np.ndarray,
    u_out: np.ndarray,
    diag_out: np.ndarray,
) -> bool:
    """Advance one actuated KS state over one control interval, in place.

    :func:`ks_control_rows` on a block of one row. The actions are clipped to
    [-1, 1]; if any is NaN or infinite nothing is changed and False is returned
    (the caller raises).

    :param v: spectral state, complex128 (M,); overwritten.
    :param action: actuation, float64 (n_act,).
    :param u_out: receives the grid state, float64 (N,).
    :param diag_out: receives (E, P, D, P_f, max|u|), float64 (5,).
    :return: True, or False (and nothing done) if an action is not finite.
    """
    a = action.reshape(1, action.size)
    if first_nonfinite_row(a) >= 0:
        return False
    ks_control_rows(
        v.reshape(1, v.size), a, forcing_basis, max_forcing, coeffs, n_steps, k,
        u_out.reshape(1, u_out.size), diag_out.reshape(1, diag_out.size),
    )
    return True


@numba.njit(cache=True, parallel=True)
def _control_blocks(v, actions, forcing_basis, max_forcing, coeffs, n_steps, k, u_out, diag_out, rows):
    for i in numba.prange(-(-v.shape[0] // rows)):
        lo, hi = block_span(i, rows, v.shape[0])
        ks_control_rows(
            v[lo:hi], actions[lo:hi], forcing_basis, max_forcing, coeffs, n_steps, k, u_out[lo:hi], diag_out[lo:hi]
        )


def ks_control_interval_batch(
    v: np.ndarray,
    actions: np.ndarray,
    forcing_basis: np.ndarray,
    max_forcing: float,
    coeffs: np.ndarray,
    n_steps: int,
    k: np.ndarray,
    u_out: np.ndarray,
    diag_out: np.ndarray,
) -> int:
    """:func:`ks_control_interval` for B systems, in parallel over blocks of rows.

    All actions are checked before any state changes; each row's result is
    bit-identical to :func:`ks_control_interval` on that row alone.

    :param v: complex128 (B, M); overwritten.
    :param actions: float64 (B, n_act).
    :param u_out: float64 (B, N).
    :param diag_out: float64 (B, 5).
    :return: -1, or the index of the first system whose action is not finite (nothing done).
    """
    return advance_in_blocks(ks_control_rows, _control_blocks, v, actions, forcing_basis, max_forcing, coeffs, n_steps,
                             k, u_out, diag_out)
