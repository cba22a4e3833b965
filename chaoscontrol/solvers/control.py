"""One control interval of actuated KS: forcing from actions, ETDRK4 steps, read-out.

A control interval holds the actuation a (one value per actuator) constant,

    f(x) = max_forcing * sum_j a_j psi_j(x) - mean,

advances the spectral state by ``n_steps`` ETDRK4 steps
(:func:`chaoscontrol.solvers.ks.ks_etdrk4_steps`), writes the new grid state,
and returns the energy budget at the end of the interval
(:func:`chaoscontrol.solvers.diagnostics.ks_energy_budget`) with max|u| for
blow-up detection. This is the whole numerical work of one environment step, in
one Numba call; :func:`ks_control_interval_batch` does the same for B systems in
parallel.
"""

from __future__ import annotations

import math

import numba
import numpy as np
from rocket_fft import c2r

from chaoscontrol.solvers.diagnostics import ks_energy_budget
from chaoscontrol.solvers.ks import ks_etdrk4_steps

#: Columns of the diagnostics returned by the control-interval kernels.
DIAG_ENERGY, DIAG_PRODUCTION, DIAG_DISSIPATION, DIAG_POWER, DIAG_MAX_ABS_U = range(5)
N_DIAG = 5


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

    The actions are clipped to [-1, 1]; if any is NaN or infinite nothing is
    changed and False is returned (the caller raises).

    :param v: spectral state (rfft of u), complex128 (M,); overwritten.
    :param action: actuation, float64 (n_act,); clipped to [-1, 1] here.
    :param forcing_basis: :func:`~chaoscontrol.solvers.actuation.forcing_basis_spectral`, (n_act, M).
    :param max_forcing: forcing amplitude multiplying the actions.
    :param coeffs: :func:`~chaoscontrol.solvers.ks.ks_coefficients`, (7, M).
    :param n_steps: solver steps per interval.
    :param k: wavenumbers, (M,).
    :param u_out: receives the grid state at the end of the interval, float64 (N,).
    :param diag_out: receives (E, P, D, P_f, max|u|) at the end, float64 (5,);
        max|u| is +inf if the state is not finite.
    :return: True, or False (and nothing done) if an action is not finite.
    """
    for j in range(action.size):
        if not math.isfinite(action[j]):
            return False
    m_modes = v.size
    fhat = np.zeros(m_modes, dtype=np.complex128)
    for j in range(action.size):
        aj = max_forcing * min(1.0, max(-1.0, action[j]))
        for m in range(m_modes):
            fhat[m] += aj * forcing_basis[j, m]
    ks_etdrk4_steps(v, fhat, coeffs, n_steps)
    axes = np.zeros(1, dtype=np.int64)
    c2r(v, u_out, axes, False, 1.0 / u_out.size, 1)
    e, p, d, pf = ks_energy_budget(v, fhat, k)
    umax = 0.0
    for i in range(u_out.size):
        a = abs(u_out[i])
        if not a <= umax:  # also catches NaN
            umax = a if math.isfinite(a) else math.inf
    diag_out[0] = e
    diag_out[1] = p
    diag_out[2] = d
    diag_out[3] = pf
    diag_out[4] = umax if math.isfinite(e + p + d + pf) else math.inf
    return True


@numba.njit(cache=True, parallel=True)
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
    """:func:`ks_control_interval` for B systems, in parallel over the batch.

    All actions are checked before any state changes.

    :param v: complex128 (B, M); overwritten.
    :param actions: float64 (B, n_act).
    :param u_out: float64 (B, N).
    :param diag_out: float64 (B, 5).
    :return: -1, or the index of the first system whose action is not finite (nothing done).
    """
    for i in range(actions.shape[0]):
        for j in range(actions.shape[1]):
            if not math.isfinite(actions[i, j]):
                return i
    for i in numba.prange(v.shape[0]):
        ks_control_interval(
            v[i], actions[i], forcing_basis, max_forcing, coeffs, n_steps, k, u_out[i], diag_out[i]
        )
    return -1
