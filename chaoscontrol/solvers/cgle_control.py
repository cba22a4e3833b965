r"""One control interval of the actuated CGLE: forcing from actions, ETDRK4 steps, field and diagnostics.

A control interval holds the actuation a (one value per forcing channel)
constant, with the forcing law of :mod:`chaoscontrol.solvers.actuation`
written for a complex basis,

.. math:: f(x) = \text{max\_forcing} \sum_c \operatorname{clip}(a_c, -1, 1)\, \phi_c(x),

(phi_c the complex channel profiles, :mod:`chaoscontrol.solvers.cgle_dynamics`),
advances the spectral state by ``n_steps`` ETDRK4 steps
(:func:`chaoscontrol.solvers.cgle.cgle_etdrk4_steps_rows`), writes the field
(Re A, Im A) on the grid and the diagnostics at the end of the interval. With
the space average <g> = (1/N) sum_j g(x_j) on the grid:

- ``intensity`` I = <|A|^2>;
- ``uniform_distance`` d_U = min_phi rms(A - e^{i phi}) = sqrt(<|A - <A>|^2> + (|<A>| - 1)^2),
  the distance to the orbit {e^{i phi}} of the uniform oscillation (0 exactly on it);
- ``amplitude_fluctuation`` sigma = rms(|A| - <|A|>), 0 exactly on every plane wave
  (the unforced states of constant modulus), large at defects (amplitude holes);
- ``min_amplitude`` min_j |A(x_j)|, near 0 at a defect (phase slip);
- ``power`` P_f = <Re(conj(A) f)>, the actuator power on the norm: d<|A|^2>/dt
  has the term 2 P_f;

and, last, max_j |A(x_j)| (+inf if the state is not finite) for blow-up
detection. This is the whole numerical work of one environment step, in one
Numba call: :func:`cgle_control_interval` (one system) and
:func:`cgle_control_interval_batch` (B systems, parallel over blocks of rows)
both run :func:`cgle_control_rows`, the block-of-rows form, so a system gives
the same bits alone or in a batch.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from chaoscontrol.solvers.actuation import spectral_forcing_rows
from chaoscontrol.solvers.cgle import cgle_etdrk4_steps_rows, fft_rows
from chaoscontrol.solvers.blocks import advance_in_blocks, block_span, first_nonfinite_row

#: Names of the CGLE diagnostics columns (before max|A|).
CGLE_DIAGNOSTICS = ("intensity", "uniform_distance", "amplitude_fluctuation", "min_amplitude", "power")
#: Columns of the diagnostics, max|A| last.
DIAG_INTENSITY, DIAG_UNIFORM, DIAG_FLUCTUATION, DIAG_MIN_AMPLITUDE, DIAG_POWER, DIAG_MAX_ABS_A = range(6)
N_DIAG = 6
#: Rows per block at most in the batch kernel: a complex FFT of a block costs less per row the more rows it holds
#: (per row-interval at N = 64, one thread: 18.0 us in blocks of 16, 16.0 in 32, 14.8 in 64, 14.3 in 128;
#: ``docs/performance.md``), so CGLE takes blocks of up to 64 rows where KS takes 32.
CGLE_BLOCK_ROWS = 64


@numba.njit(cache=True)
def cgle_field_rows(v: np.ndarray, fhat: np.ndarray, field_out: np.ndarray, diag_out: np.ndarray) -> None:
    """The fields (Re A, Im A) and diagnostics (module docstring) of a block of spectral states.

    :param v: FFT of A, complex128 (R, N).
    :param fhat: FFT of the forcing of each row (for the power), complex128 (R, N).
    :param field_out: receives Re A and Im A on the grid, float64 (R, 2, N).
    :param diag_out: receives the diagnostics and max|A|, float64 (R, 6).
    """
    rows, n = v.shape
    a = np.empty((rows, n), dtype=np.complex128)
    mods = np.empty(n)
    axes = np.array([0, 1], dtype=np.int64)
    fft_rows(v, a, axes, False)
    inv_n = 1.0 / n
    for r in range(rows):
        sre = 0.0
        sim = 0.0
        s2 = 0.0
        s1 = 0.0
        amin = math.inf
        amax = 0.0
        for j in range(n):
            re = a[r, j].real
            im = a[r, j].imag
            field_out[r, 0, j] = re
            field_out[r, 1, j] = im
            sre += re
            sim += im
            m2 = re * re + im * im
            s2 += m2
            mod = math.sqrt(m2)
            mods[j] = mod
            s1 += mod
            if mod < amin:
                amin = mod
            if not mod <= amax:  # also catches NaN
                amax = mod if math.isfinite(mod) else math.inf
        mre = sre * inv_n
        mim = sim * inv_n
        mod_mean = s1 * inv_n
        var = 0.0
        fluct = 0.0
        for j in range(n):
            dre = a[r, j].real - mre
            dim = a[r, j].imag - mim
            var += dre * dre + dim * dim
            dm = mods[j] - mod_mean
            fluct += dm * dm
        power = 0.0
        for m in range(n):
            power += v[r, m].real * fhat[r, m].real + v[r, m].imag * fhat[r, m].imag
        dmean = math.sqrt(mre * mre + mim * mim) - 1.0
        diag_out[r, 0] = s2 * inv_n
        diag_out[r, 1] = math.sqrt(var * inv_n + dmean * dmean)
        diag_out[r, 2] = math.sqrt(fluct * inv_n)
        diag_out[r, 3] = amin
        diag_out[r, 4] = power * inv_n * inv_n
        diag_out[r, 5] = amax if math.isfinite(s2 + var + power) else math.inf


@numba.njit(cache=True)
def cgle_control_rows(
    v: np.ndarray,
    actions: np.ndarray,
    forcing_basis: np.ndarray,
    max_forcing: float,
    coeffs: np.ndarray,
    g: complex,
    n_steps: int,
    field_out: np.ndarray,
    diag_out: np.ndarray,
) -> None:
    """Advance a block of R actuated CGLE states over one control interval, in place.

    :param v: spectral states (FFT of A), complex128 (R, N); overwritten.
    :param actions: finite actuation, float64 (R, n_act); clipped to [-1, 1] here.
    :param forcing_basis: FFT of the channel profiles phi_c, complex128 (n_act, N).
    :param max_forcing: forcing amplitude multiplying the actions.
    :param coeffs: :func:`~chaoscontrol.solvers.cgle.cgle_coefficients`, (7, N).
    :param g: the nonlinear coefficient -(1 + i beta).
    :param n_steps: solver steps per interval.
    :param field_out: receives (Re A, Im A) at the end of the interval, float64 (R, 2, N).
    :param diag_out: receives the diagnostics and max|A| at the end, float64 (R, 6).
    """
    rows, n = v.shape
    fhat = np.empty((rows, n), dtype=np.complex128)
    # The law is real-linear in the basis: on the float64 views (Re, Im interleaved) it gives the same numbers in
    # loops that vectorise (a third of the time of the complex loop at 32 channels).
    basis = np.ascontiguousarray(forcing_basis)  # the view needs it (no copy when it is)
    spectral_forcing_rows(actions, basis.view(np.float64), max_forcing, fhat.view(np.float64))
    cgle_etdrk4_steps_rows(v, fhat, coeffs, g, n_steps)
    cgle_field_rows(v, fhat, field_out, diag_out)


@numba.njit(cache=True)
def cgle_control_interval(
    v: np.ndarray,
    action: np.ndarray,
    forcing_basis: np.ndarray,
    max_forcing: float,
    coeffs: np.ndarray,
    g: complex,
    n_steps: int,
    field_out: np.ndarray,
    diag_out: np.ndarray,
) -> bool:
    """Advance one actuated CGLE state over one control interval, in place.

    :func:`cgle_control_rows` on a block of one row. If an action is NaN or
    infinite nothing is changed and False is returned (the caller raises).

    :param v: spectral state, complex128 (N,); overwritten.
    :param action: actuation, float64 (n_act,).
    :param field_out: receives (Re A, Im A), float64 (2, N).
    :param diag_out: receives the diagnostics and max|A|, float64 (6,).
    :return: True, or False (and nothing done) if an action is not finite.
    """
    a = action.reshape(1, action.size)
    if first_nonfinite_row(a) >= 0:
        return False
    n = v.size
    cgle_control_rows(
        v.reshape(1, n), a, forcing_basis, max_forcing, coeffs, g, n_steps,
        field_out.reshape(1, 2, n), diag_out.reshape(1, diag_out.size),
    )
    return True


@numba.njit(cache=True, parallel=True)
def _control_blocks(v, actions, forcing_basis, max_forcing, coeffs, g, n_steps, field_out, diag_out, rows):
    for i in numba.prange(-(-v.shape[0] // rows)):
        lo, hi = block_span(i, rows, v.shape[0])
        cgle_control_rows(
            v[lo:hi], actions[lo:hi], forcing_basis, max_forcing, coeffs, g, n_steps, field_out[lo:hi], diag_out[lo:hi]
        )


def cgle_control_interval_batch(
    v: np.ndarray,
    actions: np.ndarray,
    forcing_basis: np.ndarray,
    max_forcing: float,
    coeffs: np.ndarray,
    g: complex,
    n_steps: int,
    field_out: np.ndarray,
    diag_out: np.ndarray,
) -> int:
    """:func:`cgle_control_interval` for B systems, in parallel over blocks of rows.

    All actions are checked before any state changes; each row's result is
    bit-identical to :func:`cgle_control_interval` on that row alone.

    :param v: complex128 (B, N); overwritten.
    :param actions: float64 (B, n_act).
    :param field_out: float64 (B, 2, N).
    :param diag_out: float64 (B, 6).
    :return: -1, or the index of the first system whose action is not finite (nothing done).
    """
    return advance_in_blocks(cgle_control_rows, _control_blocks, v, actions, forcing_basis, max_forcing, coeffs, g,
                             n_steps, field_out, diag_out, max_rows=CGLE_BLOCK_ROWS)


def cgle_diagnostics_reference(a: np.ndarray, f: np.ndarray) -> np.ndarray:
    """The diagnostics and max|A| of grid fields in plain NumPy (the readable reference).

    :param a: complex fields A on the grid, (..., N).
    :param f: complex forcing on the grid, broadcastable to ``a``.
    :return: float64 (..., 6) in the order of :data:`CGLE_DIAGNOSTICS`, max|A| last.
    """
    mod = np.abs(a)
    mean = a.mean(axis=-1, keepdims=True)
    uniform = np.sqrt(np.mean(np.abs(a - mean) ** 2, axis=-1) + (np.abs(mean[..., 0]) - 1.0) ** 2)
    fluct = np.sqrt(np.mean((mod - mod.mean(axis=-1, keepdims=True)) ** 2, axis=-1))
    power = np.mean(np.real(np.conj(a) * f), axis=-1)
    return np.stack([np.mean(mod**2, axis=-1), uniform, fluct, mod.min(axis=-1), power, mod.max(axis=-1)], axis=-1)


__all__ = [
    "CGLE_BLOCK_ROWS",
    "CGLE_DIAGNOSTICS",
    "N_DIAG",
    "cgle_control_interval",
    "cgle_control_interval_batch",
    "cgle_control_rows",
    "cgle_diagnostics_reference",
    "cgle_field_rows",
]
