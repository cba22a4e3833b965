r"""The controlled Lorenz-63 system by classical fourth-order Runge-Kutta.

.. math::

    \dot x = \sigma (y - x) + f_x, \qquad
    \dot y = x (\rho - z) - y + f_y, \qquad
    \dot z = x y - \beta z + f_z

(Lorenz 1963, J. Atmos. Sci. 20, 130), chaotic at sigma = 10, rho = 28,
beta = 8/3. The forcing f = max_forcing * clip(a, -1, 1) acts on the
``controlled`` components (the others get 0) and is held constant over a
control interval of ``n_steps`` RK4 steps of size ``dt``.

Why a fixed step dt = 0.01 (the default): about 1/110 of the Lyapunov time
1/0.906, and inside RK4's stability bound |lambda| dt < 2.78 by a factor of
ten (the Jacobian's spectral radius is <= 22 on the attractor, 22.8 at the
origin). The scheme's error then stays small against what is measured and
controlled: over one time unit the global error of x is ~1e-5 of the
attractor's size (measured; it falls as dt^4), and the sum of the Lyapunov
exponents is off the exact -(sigma + 1 + beta) by 1e-4. Halving dt would
double the cost of every env step for no visible change in the physics. A
fixed step keeps every control interval the same arithmetic, so a state
advances bit for bit alike alone or in a batch.

Fixed points: the origin and, for rho > 1, C+- = (+-c, +-c, rho - 1) with
c = sqrt(beta (rho - 1)); the Jacobian at C+- has the characteristic polynomial
lambda^3 + (sigma + beta + 1) lambda^2 + beta (sigma + rho) lambda
+ 2 sigma beta (rho - 1) (at the defaults: -13.855 and 0.0940 +- 10.195 i, an
unstable focus). The divergence of the flow is the constant -(sigma + 1 + beta),
so the Lyapunov exponents sum to -13.667 exactly (Sprott: 0.9056, 0, -14.5723).

Implementations of the same scheme:

- :func:`lorenz63_control_rows`: the Numba kernel, a block of R states, scalar
  arithmetic in registers (no allocation); :func:`lorenz63_control_interval`
  (one state, 1-D arrays) and :func:`lorenz63_control_interval_batch` (parallel
  over blocks of rows) run it;
- :func:`lorenz63_rk4_reference`: plain NumPy, the same operations in the same
  order (the tests compare the kernel against it);
- :func:`lorenz63_rhs` / :func:`lorenz63_jvp`: the right-hand side and its
  tangent-linear map on arrays, and :func:`lorenz63_tangent_qr` the QR method over
  them (:mod:`chaoscontrol.solvers.lyapunov_ode`); :func:`lorenz63_jacobian` the matrix.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numba
import numpy as np

from chaoscontrol.solvers.lyapunov_ode import tangent_rk4_qr
from chaoscontrol.solvers.blocks import advance_in_blocks, block_span, first_nonfinite_row
from chaoscontrol.validation import check_positive, is_real

#: Columns of the Lorenz-63 diagnostics: energy |x|^2 / 2, actuator power x . f, max|x|.
L63_ENERGY, L63_POWER, L63_MAX_ABS = range(3)
L63_N_DIAG = 3
#: Rows per block at least in the batch kernel. A row costs ~0.15 us an interval (5 steps; 7e6 env-steps/s on one
#: thread), a thread launch 5-10 us on a quiet machine and far more on a loaded one: below 2 x 256 rows one thread.
L63_MIN_BLOCK_ROWS = 256


@dataclass(frozen=True)
class Lorenz63Config:
    """Parameters and solver step of Lorenz-63 (the classical chaotic case by default)."""

    sigma: float = 10.0
    """Prandtl number; > 0."""
    rho: float = 28.0
    """Rayleigh number ratio; finite (C+- exist for rho > 1)."""
    beta: float = 8.0 / 3.0
    """Geometric factor; > 0."""
    dt: float = 0.01
    """RK4 step; > 0."""

    def __post_init__(self) -> None:
        for name in ("sigma", "beta", "dt"):
            object.__setattr__(self, name, check_positive(name, getattr(self, name)))
        if not (is_real(self.rho) and math.isfinite(self.rho)):
            raise ValueError(f"rho must be a finite number, got {self.rho!r}")
        object.__setattr__(self, "rho", float(self.rho))

    @property
    def params(self) -> np.ndarray:
        """(sigma, rho, beta) as the kernels take them, float64 (3,)."""
        return np.array([self.sigma, self.rho, self.beta])

    @property
    def divergence(self) -> float:
        """The (constant) divergence of the unforced flow, -(sigma + 1 + beta): the sum of the exponents."""
        return -(self.sigma + 1.0 + self.beta)

    def fixed_points(self) -> dict[str, np.ndarray]:
        """The unforced fixed points: ``origin`` and, for rho > 1, ``C+`` and ``C-`` = (+-c, +-c, rho - 1)."""
        points = {"origin": np.zeros(3)}
        if self.rho > 1.0:
            c = math.sqrt(self.beta * (self.rho - 1.0))
            points["C+"] = np.array([c, c, self.rho - 1.0])
            points["C-"] = np.array([-c, -c, self.rho - 1.0])
        return points

    def characteristic_polynomial(self) -> np.ndarray:
        """Coefficients of the Jacobian's characteristic polynomial at C+- (highest power first), (4,)."""
        s, r, b = self.sigma, self.rho, self.beta
        return np.array([1.0, s + b + 1.0, b * (s + r), 2.0 * s * b * (r - 1.0)])


# --------------------------------------------------------------------------- kernels


@numba.njit(cache=True, inline="always")
def _rhs(x, y, z, fx, fy, fz, sigma, rho, beta):
    """The Lorenz-63 right-hand side at (x, y, z) under forcing (fx, fy, fz), as three scalars."""
    return sigma * (y - x) + fx, x * (rho - z) - y + fy, x * y - beta * z + fz


@numba.njit(cache=True, inline="always")
def _rk4_step(x, y, z, fx, fy, fz, sigma, rho, beta, half, h, sixth):
    """One classical RK4 step of size h (half = h/2, sixth = h/6) of the scalars (x, y, z)."""
    ax, ay, az = _rhs(x, y, z, fx, fy, fz, sigma, rho, beta)
    bx, by, bz = _rhs(x + half * ax, y + half * ay, z + half * az, fx, fy, fz, sigma, rho, beta)
    cx, cy, cz = _rhs(x + half * bx, y + half * by, z + half * bz, fx, fy, fz, sigma, rho, beta)
    dx, dy, dz = _rhs(x + h * cx, y + h * cy, z + h * cz, fx, fy, fz, sigma, rho, beta)
    return (x + sixth * (ax + 2.0 * bx + 2.0 * cx + dx),
            y + sixth * (ay + 2.0 * by + 2.0 * cy + dy),
            z + sixth * (az + 2.0 * bz + 2.0 * cz + dz))


@numba.njit(cache=True)
def lorenz63_control_rows(
    x: np.ndarray,
    actions: np.ndarray,
    controlled: np.ndarray,
    max_forcing: float,
    params: np.ndarray,
    dt: float,
    n_steps: int,
    field_out: np.ndarray,
    diag_out: np.ndarray,
) -> None:
    """Advance a block of R controlled Lorenz-63 states over one control interval, in place (the scheme).

    :param x: states, float64 (R, 3); overwritten.
    :param actions: finite actions, float64 (R, n_act); clipped to [-1, 1] here.
    :param controlled: the component (0, 1, 2 for x, y, z) each action forces, distinct, int64 (n_act,).
    :param max_forcing: forcing amplitude multiplying the clipped actions.
    :param params: (sigma, rho, beta), float64 (3,).
    :param dt: RK4 step.
    :param n_steps: RK4 steps in the interval.
    :param field_out: receives the states at the end, float64 (R, 3).
    :param diag_out: receives (|x|^2 / 2, x . f, max|x|) at the end, float64 (R, 3); max|x| is +inf if not finite.
    """
    sigma = params[0]
    rho = params[1]
    beta = params[2]
    half = 0.5 * dt
    sixth = dt / 6.0
    for r in range(x.shape[0]):
        f0 = 0.0
        f1 = 0.0
        f2 = 0.0
        for j in range(controlled.size):
            value = max_forcing * min(max(actions[r, j], -1.0), 1.0)
            c = controlled[j]
            if c == 0:
                f0 = value
            elif c == 1:
                f1 = value
            else:
                f2 = value
        a = x[r, 0]
        b = x[r, 1]
        c = x[r, 2]
        for _ in range(n_steps):
            a, b, c = _rk4_step(a, b, c, f0, f1, f2, sigma, rho, beta, half, dt, sixth)
        x[r, 0] = a
        x[r, 1] = b
        x[r, 2] = c
        field_out[r, 0] = a
        field_out[r, 1] = b
        field_out[r, 2] = c
        diag_out[r, 0] = 0.5 * (a * a + b * b + c * c)
        diag_out[r, 1] = a * f0 + b * f1 + c * f2
        peak = max(abs(a), abs(b), abs(c))
        diag_out[r, 2] = peak if math.isfinite(diag_out[r, 0]) else math.inf


@numba.njit(cache=True)
def lorenz63_control_interval(
    x: np.ndarray,
    action: np.ndarray,
    controlled: np.ndarray,
    max_forcing: float,
    params: np.ndarray,
    dt: float,
    n_steps: int,
    field_out: np.ndarray,
    diag_out: np.ndarray,
) -> bool:
    """One state's control interval with 1-D arrays: :func:`lorenz63_control_rows` on a block of one row.

    :param x: float64 (3,); overwritten.
    :param action: float64 (n_act,).
    :param field_out: float64 (3,).
    :param diag_out: float64 (3,).
    :return: True, or False (and nothing done) if an action is not finite.
    """
    a = action.reshape(1, action.size)
    if first_nonfinite_row(a) >= 0:
        return False
    lorenz63_control_rows(x.reshape(1, 3), a, controlled, max_forcing, params, dt, n_steps,
                          field_out.reshape(1, 3), diag_out.reshape(1, diag_out.size))
    return True


@numba.njit(cache=True, parallel=True)
def _control_blocks(x, actions, controlled, max_forcing, params, dt, n_steps, field_out, diag_out, rows):
    for i in numba.prange(-(-x.shape[0] // rows)):
        lo, hi = block_span(i, rows, x.shape[0])
        lorenz63_control_rows(x[lo:hi], actions[lo:hi], controlled, max_forcing, params, dt, n_steps,
                              field_out[lo:hi], diag_out[lo:hi])


def lorenz63_control_interval_batch(x: np.ndarray, actions: np.ndarray, controlled: np.ndarray, max_forcing: float,
                                    params: np.ndarray, dt: float, n_steps: int, field_out: np.ndarray,
                                    diag_out: np.ndarray) -> int:
    """:func:`lorenz63_control_rows` for B states, in parallel over blocks of rows.

    All actions are checked before any state changes; each row's result is
    bit-identical to :func:`lorenz63_control_interval` on that row alone.

    :param x: float64 (B, 3); overwritten.
    :param actions: float64 (B, n_act).
    :param field_out: float64 (B, 3).
    :param diag_out: float64 (B, 3).
    :return: -1, or the index of the first state whose action is not finite (nothing done).
    """
    return advance_in_blocks(lorenz63_control_rows, _control_blocks, x, actions, controlled, max_forcing, params, dt,
                             n_steps, field_out, diag_out, min_rows=L63_MIN_BLOCK_ROWS, max_rows=None)


# --------------------------------------------------------------------------- arrays: Lyapunov tool, tests


@numba.njit(cache=True)
def lorenz63_rhs(x: np.ndarray, params: np.ndarray, out: np.ndarray) -> None:
    """The unforced right-hand side of the state ``x`` (3,) into ``out`` (3,); params = (sigma, rho, beta)."""
    out[0], out[1], out[2] = _rhs(x[0], x[1], x[2], 0.0, 0.0, 0.0, params[0], params[1], params[2])


@numba.njit(cache=True)
def lorenz63_jvp(x: np.ndarray, v: np.ndarray, params: np.ndarray, out: np.ndarray) -> None:
    """The tangent-linear map J(x) v into ``out`` (3,), J = [[-s, s, 0], [rho - z, -1, -x], [y, x, -beta]]."""
    sigma = params[0]
    out[0] = sigma * (v[1] - v[0])
    out[1] = (params[1] - x[2]) * v[0] - v[1] - x[0] * v[2]
    out[2] = x[1] * v[0] + x[0] * v[1] - params[2] * v[2]


@numba.njit(cache=True)
def lorenz63_tangent_qr(params, x, vectors, dt, renorm_steps, skip_intervals, log_growth):
    """:func:`~chaoscontrol.solvers.lyapunov_ode.tangent_rk4_qr` of Lorenz-63, compiled once and cached
    (for :func:`~chaoscontrol.solvers.lyapunov_ode.lyapunov_spectrum`); params = (sigma, rho, beta)."""
    tangent_rk4_qr(lorenz63_rhs, lorenz63_jvp, params, x, vectors, dt, renorm_steps, skip_intervals, log_growth)


def lorenz63_jacobian(x: np.ndarray, config: Lorenz63Config) -> np.ndarray:
    """The Jacobian matrix of the unforced flow at ``x`` (3,), (3, 3)."""
    s, r, b = config.sigma, config.rho, config.beta
    return np.array([[-s, s, 0.0], [r - x[2], -1.0, -x[0]], [x[1], x[0], -b]])


def lorenz63_rk4_reference(x: np.ndarray, forcing: np.ndarray, config: Lorenz63Config, n_steps: int) -> np.ndarray:
    """``n_steps`` RK4 steps of forced Lorenz-63 in plain NumPy (the readable reference).

    :param x: states, (..., 3).
    :param forcing: forcing (f_x, f_y, f_z), broadcastable to ``x``, held constant.
    :param config: parameters and step.
    :param n_steps: number of steps.
    :return: the new states (a new array).
    """
    s, r, b, h = config.sigma, config.rho, config.beta, config.dt
    half, sixth = 0.5 * h, h / 6.0
    f = np.broadcast_to(np.asarray(forcing, dtype=np.float64), np.shape(x))

    def rhs(w: np.ndarray) -> np.ndarray:
        u, v, z = w[..., 0], w[..., 1], w[..., 2]
        return np.stack([s * (v - u) + f[..., 0], u * (r - z) - v + f[..., 1], u * v - b * z + f[..., 2]], axis=-1)

    x = np.array(x, dtype=np.float64)
    for _ in range(n_steps):
        k1 = rhs(x)
        k2 = rhs(x + half * k1)
        k3 = rhs(x + half * k2)
        k4 = rhs(x + h * k3)
        x = x + sixth * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
    return x


__all__ = [
    "L63_N_DIAG",
    "Lorenz63Config",
    "lorenz63_control_interval",
    "lorenz63_control_interval_batch",
    "lorenz63_control_rows",
    "lorenz63_jacobian",
    "lorenz63_jvp",
    "lorenz63_rhs",
    "lorenz63_rk4_reference",
    "lorenz63_tangent_qr",
]
