r"""The controlled Lorenz-96 model by classical fourth-order Runge-Kutta.

.. math:: \dot x_i = (x_{i+1} - x_{i-2})\, x_{i-1} - x_i + F + f_i, \qquad i = 0..K-1 \text{ periodic}

(Lorenz 1996, "Predictability: a problem partly solved", ECMWF Seminar on
Predictability; Lorenz & Emanuel 1998, J. Atmos. Sci. 55, 399): K sites on a
latitude circle, advection that conserves the energy sum x_i^2 / 2, linear
damping and a constant forcing F; chaotic (extensively) for F = 8, K = 40. The
control f_i = max_forcing * clip(a_j, -1, 1) acts at the actuated sites
i = s_j (0 elsewhere) and is held constant over a control interval of
``n_steps`` RK4 steps of size ``dt``.

Why dt = 0.01 (the default): about 1/60 of the Lyapunov time (leading exponent
~1.7) and well inside RK4's stability bound (the Jacobian's spectral radius on
the attractor is <= ~15, so |lambda| dt <= 0.15 < 2.78); Lorenz's dt = 0.05
("6 hours") is stable, but its RK4 error is ~600 times larger. At dt = 0.01
the global error of x over one time unit is ~1e-5 of the attractor's size
(measured, ``tests/solvers/test_lorenz96.py``; it falls as dt^4) and the sum
of the exponents is off -K by 3e-5.

Exact properties the tests use: the divergence of the flow is tr J = -K (each
site damps itself; advection has no diagonal), so the Lyapunov exponents sum to
-K; x_i = F (for every i) is the uniform steady state, unstable for F > 8/9
(the Fourier mode of angle theta grows at F (cos theta - cos 2 theta) - 1, at
most 9F/8 - 1 = 8 at F = 8; 7.94 for the modes of K = 40); with the site
average <.>, energy E = <x^2>/2, mean m = <x> and actuator power P = <x f>,
dE/dt = -2E + F m + P exactly.

Implementations of the same scheme:

- :func:`lorenz96_control_rows`: the Numba kernel, a block of R states, with
  one (4, K) workspace per block (no allocation in the step loop);
  :func:`lorenz96_control_interval` (one state, 1-D arrays) and
  :func:`lorenz96_control_interval_batch` (parallel over blocks) run it;
- :func:`lorenz96_rk4_reference`: plain NumPy (``np.roll``), the same
  operations in the same order;
- :func:`lorenz96_rhs` / :func:`lorenz96_jvp`: the right-hand side and the
  tangent-linear map, and :func:`lorenz96_tangent_qr` the QR method over them
  (:mod:`chaoscontrol.solvers.lyapunov_ode`); :func:`lorenz96_jacobian` the matrix.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numba
import numpy as np

from chaoscontrol.solvers.lyapunov_ode import tangent_rk4_qr
from chaoscontrol.solvers.blocks import advance_in_blocks, block_span, first_nonfinite_row
from chaoscontrol.validation import check_int, check_positive, is_real

#: Columns of the Lorenz-96 diagnostics: energy <x^2>/2, mean <x>, variance <(x - <x>)^2>, power <x f>, max|x|.
L96_ENERGY, L96_MEAN, L96_VARIANCE, L96_POWER, L96_MAX_ABS = range(5)
L96_N_DIAG = 5
#: Rows per block at least in the batch kernel: one row at K = 40 is ~3 us an interval, so a block of 8 pays
#: for its thread launch (5-10 us).
L96_MIN_BLOCK_ROWS = 8

#: Most sites K: 65,536, far beyond the K = 36 and 40 of Lorenz (1996) and the extensive-chaos studies; a state is
#: then 0.5 MB, and the site lists built from K (``resolve_sites``) stay small.
MAX_SITES = 2**16


@dataclass(frozen=True)
class Lorenz96Config:
    """Size, forcing and solver step of Lorenz-96 (the classical chaotic case by default)."""

    K: int = 40
    """Number of sites; in [4, :data:`MAX_SITES`]."""
    F: float = 8.0
    """Constant forcing; finite."""
    dt: float = 0.01
    """RK4 step; > 0."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "K", check_int("K", self.K, minimum=4, maximum=MAX_SITES))
        if not (is_real(self.F) and math.isfinite(self.F)):
            raise ValueError(f"F must be a finite number, got {self.F!r}")
        object.__setattr__(self, "F", float(self.F))
        object.__setattr__(self, "dt", check_positive("dt", self.dt))

    @property
    def steady_state(self) -> np.ndarray:
        """The uniform steady state x_i = F, (K,)."""
        return np.full(self.K, self.F)

    def steady_state_rates(self) -> np.ndarray:
        """Eigenvalues of the Jacobian at x_i = F: F (e^{i theta_k} - e^{-2 i theta_k}) - 1, theta_k = 2 pi k / K, (K,)."""
        theta = 2.0 * np.pi * np.arange(self.K) / self.K
        return self.F * (np.exp(1j * theta) - np.exp(-2j * theta)) - 1.0


# --------------------------------------------------------------------------- kernels


@numba.njit(cache=True)
def lorenz96_rhs(x: np.ndarray, forcing: np.ndarray, out: np.ndarray) -> None:
    """The right-hand side (x_{i+1} - x_{i-2}) x_{i-1} - x_i + forcing_i into ``out`` (K,).

    :param x: state, (K,), K >= 4.
    :param forcing: the total forcing F + f_i of each site, (K,).
    :param out: receives the time derivative, (K,).
    """
    k = x.size
    out[0] = (x[1] - x[k - 2]) * x[k - 1] - x[0] + forcing[0]
    out[1] = (x[2] - x[k - 1]) * x[0] - x[1] + forcing[1]
    for i in range(2, k - 1):
        out[i] = (x[i + 1] - x[i - 2]) * x[i - 1] - x[i] + forcing[i]
    out[k - 1] = (x[0] - x[k - 3]) * x[k - 2] - x[k - 1] + forcing[k - 1]


@numba.njit(cache=True)
def lorenz96_rk4_steps(x: np.ndarray, forcing: np.ndarray, dt: float, n_steps: int, work: np.ndarray) -> None:
    """``n_steps`` classical RK4 steps of one state ``x`` (K,) in place; ``work`` is (3, K) scratch."""
    k = x.size
    half = 0.5 * dt
    sixth = dt / 6.0
    slope = work[0]
    acc = work[1]
    stage = work[2]
    for _ in range(n_steps):
        lorenz96_rhs(x, forcing, slope)
        for i in range(k):
            acc[i] = slope[i]
            stage[i] = x[i] + half * slope[i]
        lorenz96_rhs(stage, forcing, slope)
        for i in range(k):
            acc[i] = acc[i] + 2.0 * slope[i]
            stage[i] = x[i] + half * slope[i]
        lorenz96_rhs(stage, forcing, slope)
        for i in range(k):
            acc[i] = acc[i] + 2.0 * slope[i]
            stage[i] = x[i] + dt * slope[i]
        lorenz96_rhs(stage, forcing, slope)
        for i in range(k):
            x[i] = x[i] + sixth * (acc[i] + slope[i])


@numba.njit(cache=True)
def lorenz96_diagnostics(x: np.ndarray, sites: np.ndarray, site_forcing: np.ndarray, out: np.ndarray) -> None:
    """(E, m, V, P, max|x|) of one state into ``out`` (5,): energy <x^2>/2, mean <x>, variance
    <(x - m)^2>, power <x f> (``site_forcing`` f_j at ``sites``), max|x| (+inf if not finite)."""
    k = x.size
    total = 0.0
    square = 0.0
    peak = 0.0
    for i in range(k):
        total += x[i]
        square += x[i] * x[i]
        a = abs(x[i])
        if not a <= peak:  # also catches NaN
            peak = a if math.isfinite(a) else math.inf
    mean = total / k
    spread = 0.0
    for i in range(k):
        d = x[i] - mean
        spread += d * d
    power = 0.0
    for j in range(sites.size):
        power += x[sites[j]] * site_forcing[j]
    out[0] = 0.5 * square / k
    out[1] = mean
    out[2] = spread / k
    out[3] = power / k
    out[4] = peak if math.isfinite(square) else math.inf


@numba.njit(cache=True)
def lorenz96_control_rows(
    x: np.ndarray,
    actions: np.ndarray,
    sites: np.ndarray,
    max_forcing: float,
    F: float,
    dt: float,
    n_steps: int,
    field_out: np.ndarray,
    diag_out: np.ndarray,
) -> None:
    """Advance a block of R controlled Lorenz-96 states over one control interval, in place (the scheme).

    :param x: states, float64 (R, K); overwritten.
    :param actions: finite actions, float64 (R, n_act); clipped to [-1, 1] here.
    :param sites: the site each action forces, distinct, int64 (n_act,).
    :param max_forcing: forcing amplitude multiplying the clipped actions.
    :param F: the constant forcing.
    :param dt: RK4 step.
    :param n_steps: RK4 steps in the interval.
    :param field_out: receives the states at the end, float64 (R, K).
    :param diag_out: receives :func:`lorenz96_diagnostics` of each row at the end, float64 (R, 5).
    """
    rows, k = x.shape
    work = np.empty((4, k))
    forcing = work[3]
    site_forcing = np.empty(sites.size)
    for r in range(rows):
        for i in range(k):
            forcing[i] = F
        for j in range(sites.size):
            site_forcing[j] = max_forcing * min(max(actions[r, j], -1.0), 1.0)
            forcing[sites[j]] = F + site_forcing[j]
        lorenz96_rk4_steps(x[r], forcing, dt, n_steps, work[:3])
        for i in range(k):
            field_out[r, i] = x[r, i]
        lorenz96_diagnostics(x[r], sites, site_forcing, diag_out[r])


@numba.njit(cache=True)
def lorenz96_control_interval(
    x: np.ndarray,
    action: np.ndarray,
    sites: np.ndarray,
    max_forcing: float,
    F: float,
    dt: float,
    n_steps: int,
    field_out: np.ndarray,
    diag_out: np.ndarray,
) -> bool:
    """One state's control interval with 1-D arrays: :func:`lorenz96_control_rows` on a block of one row.

    :param x: float64 (K,); overwritten.
    :param action: float64 (n_act,).
    :param field_out: float64 (K,).
    :param diag_out: float64 (5,).
    :return: True, or False (and nothing done) if an action is not finite.
    """
    a = action.reshape(1, action.size)
    if first_nonfinite_row(a) >= 0:
        return False
    lorenz96_control_rows(x.reshape(1, x.size), a, sites, max_forcing, F, dt, n_steps,
                          field_out.reshape(1, field_out.size), diag_out.reshape(1, diag_out.size))
    return True


@numba.njit(cache=True, parallel=True)
def _control_blocks(x, actions, sites, max_forcing, F, dt, n_steps, field_out, diag_out, rows):
    for i in numba.prange(-(-x.shape[0] // rows)):
        lo, hi = block_span(i, rows, x.shape[0])
        lorenz96_control_rows(x[lo:hi], actions[lo:hi], sites, max_forcing, F, dt, n_steps,
                              field_out[lo:hi], diag_out[lo:hi])


def lorenz96_control_interval_batch(x: np.ndarray, actions: np.ndarray, sites: np.ndarray, max_forcing: float,
                                    F: float, dt: float, n_steps: int, field_out: np.ndarray,
                                    diag_out: np.ndarray) -> int:
    """:func:`lorenz96_control_rows` for B states, in parallel over blocks of rows.

    All actions are checked before any state changes; each row's result is
    bit-identical to :func:`lorenz96_control_interval` on that row alone.

    :param x: float64 (B, K); overwritten.
    :param actions: float64 (B, n_act).
    :param field_out: float64 (B, K).
    :param diag_out: float64 (B, 5).
    :return: -1, or the index of the first state whose action is not finite (nothing done).
    """
    return advance_in_blocks(lorenz96_control_rows, _control_blocks, x, actions, sites, max_forcing, F, dt, n_steps,
                             field_out, diag_out, min_rows=L96_MIN_BLOCK_ROWS, max_rows=None)


# --------------------------------------------------------------------------- arrays: Lyapunov tool, tests


@numba.njit(cache=True)
def lorenz96_jvp(x: np.ndarray, v: np.ndarray, forcing: np.ndarray, out: np.ndarray) -> None:
    """The tangent-linear map (J v)_i = (v_{i+1} - v_{i-2}) x_{i-1} + (x_{i+1} - x_{i-2}) v_{i-1} - v_i into ``out``.

    ``forcing`` (the rhs's parameters) does not enter: the forcing is additive.
    """
    k = x.size
    for i in range(k):
        ip1 = i + 1 if i + 1 < k else 0
        im1 = i - 1 if i >= 1 else k - 1
        im2 = i - 2 if i >= 2 else i - 2 + k
        out[i] = (v[ip1] - v[im2]) * x[im1] + (x[ip1] - x[im2]) * v[im1] - v[i]


@numba.njit(cache=True)
def lorenz96_tangent_qr(params, x, vectors, dt, renorm_steps, skip_intervals, log_growth):
    """:func:`~chaoscontrol.solvers.lyapunov_ode.tangent_rk4_qr` of Lorenz-96, compiled once and cached
    (for :func:`~chaoscontrol.solvers.lyapunov_ode.lyapunov_spectrum`); params = the total forcing of each site (K,)."""
    tangent_rk4_qr(lorenz96_rhs, lorenz96_jvp, params, x, vectors, dt, renorm_steps, skip_intervals, log_growth)


def lorenz96_jacobian(x: np.ndarray) -> np.ndarray:
    """The Jacobian matrix of the flow at ``x`` (K,), (K, K): d(rhs_i)/dx_j."""
    k = x.size
    i = np.arange(k)
    ip1, im1, im2 = (i + 1) % k, (i - 1) % k, (i - 2) % k
    jac = np.zeros((k, k))
    jac[i, i] = -1.0
    jac[i, ip1] += x[im1]
    jac[i, im2] -= x[im1]
    jac[i, im1] += x[ip1] - x[im2]
    return jac


def lorenz96_rk4_reference(x: np.ndarray, forcing: np.ndarray, dt: float, n_steps: int) -> np.ndarray:
    """``n_steps`` RK4 steps of Lorenz-96 in plain NumPy (the readable reference).

    :param x: states, (..., K).
    :param forcing: the total forcing F + f_i, broadcastable to ``x``, held constant.
    :param dt: RK4 step.
    :param n_steps: number of steps.
    :return: the new states (a new array).
    """
    half, sixth = 0.5 * dt, dt / 6.0

    def rhs(w: np.ndarray) -> np.ndarray:
        return (np.roll(w, -1, axis=-1) - np.roll(w, 2, axis=-1)) * np.roll(w, 1, axis=-1) - w + forcing

    x = np.array(x, dtype=np.float64)
    for _ in range(n_steps):
        k1 = rhs(x)
        k2 = rhs(x + half * k1)
        k3 = rhs(x + half * k2)
        k4 = rhs(x + dt * k3)
        x = x + sixth * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
    return x


__all__ = [
    "L96_N_DIAG",
    "MAX_SITES",
    "Lorenz96Config",
    "lorenz96_control_interval",
    "lorenz96_control_interval_batch",
    "lorenz96_control_rows",
    "lorenz96_diagnostics",
    "lorenz96_jacobian",
    "lorenz96_jvp",
    "lorenz96_rhs",
    "lorenz96_rk4_reference",
    "lorenz96_tangent_qr",
    "lorenz96_rk4_steps",
]
