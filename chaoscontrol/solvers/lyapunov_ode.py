r"""Lyapunov exponents of an ODE x' = F(x) by the QR method on the tangent-linear RK4 map.

The state advances by classical RK4 of step dt; m tangent vectors V = (v_1..v_m)
advance by the *exact derivative of that RK4 step* (the tangent-linear RK4:
each stage's increment differentiated along the stage's state),

.. math::

    d_1 = J(x_1) v,\; d_2 = J(x_2)(v + \tfrac{h}{2} d_1),\; d_3 = J(x_3)(v + \tfrac{h}{2} d_2),\;
    d_4 = J(x_4)(v + h d_3),\quad v \leftarrow v + \tfrac{h}{6}(d_1 + 2 d_2 + 2 d_3 + d_4),

with x_1..x_4 the RK4 stage states and J the Jacobian, given as a
Jacobian-vector kernel. Every ``renorm_steps`` steps V is re-orthonormalised by
modified Gram-Schmidt (V = QR); the logs of the diagonal of R accumulate, and
lambda_i = (1/T) sum log R_ii (Benettin, Galgani, Giorgilli & Strelcyn 1980,
Meccanica 15, 9 and 21; Shimada & Nagashima 1979). The exponents are those of
the discrete RK4 map, which converge to the flow's at the scheme's order.

With m = n vectors, sum_i log R_ii = log|det DPhi| exactly (Q is orthogonal), so
the sum of all exponents carries no statistical error: it equals the time
average of the divergence tr J up to the scheme's error in det DPhi_h (O(h^4)
per unit time) and round-off; for a constant divergence (Lorenz-63, Lorenz-96)
it is that constant at any T.

The scheme is written once, :func:`tangent_rk4_qr`, over the system's
right-hand side ``rhs(x, params, out)`` and tangent map ``jvp(x, v, params,
out)`` (Numba functions passed as arguments). Numba does not cache a function
compiled for function arguments, so each system specialises it in a cached
wrapper of its own module with the signature of :data:`TangentKernel`, e.g.
:func:`chaoscontrol.solvers.lorenz63.lorenz63_tangent_qr`; the scheme is
inlined there (``inline="always"``), so the wrapper calls the system's
functions directly, compiles once and then loads from numba's cache in
milliseconds. :func:`lyapunov_spectrum` runs such a wrapper.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

import numba
import numpy as np

from chaoscontrol.validation import check_int, check_positive


@numba.njit
def _gram_schmidt(vectors: np.ndarray, log_norms: np.ndarray) -> None:
    """Modified Gram-Schmidt on the rows of ``vectors`` (m, n), in place; log of the norms into ``log_norms`` (m,)."""
    m, n = vectors.shape
    for j in range(m):
        for i in range(j):
            dot = 0.0
            for k in range(n):
                dot += vectors[i, k] * vectors[j, k]
            for k in range(n):
                vectors[j, k] -= dot * vectors[i, k]
        norm = 0.0
        for k in range(n):
            norm += vectors[j, k] * vectors[j, k]
        norm = math.sqrt(norm)
        log_norms[j] = math.log(norm)
        for k in range(n):
            vectors[j, k] /= norm


@numba.njit(inline="always")
def tangent_rk4_qr(rhs, jvp, params, x, vectors, dt, renorm_steps, skip_intervals, log_growth):
    """RK4 of x (n,) and its tangent-linear RK4 of the rows of ``vectors`` (m, n), in place, re-orthonormalised
    every ``renorm_steps`` steps; log R_ii of each interval after the first ``skip_intervals`` into ``log_growth``
    (n_intervals, m).

    :param rhs: Numba function ``rhs(x, params, out)``: F(x) into ``out``.
    :param jvp: Numba function ``jvp(x, v, params, out)``: J(x) v into ``out``.
    """
    n = x.size
    m = vectors.shape[0]
    half = 0.5 * dt
    sixth = dt / 6.0
    x1 = np.empty(n)
    x2 = np.empty(n)
    x3 = np.empty(n)
    x4 = np.empty(n)
    k = np.empty(n)
    acc = np.empty(n)
    tmp = np.empty(n)
    v = np.empty(n)
    log_norms = np.empty(m)
    n_intervals = skip_intervals + log_growth.shape[0]
    for interval in range(n_intervals):
        for _ in range(renorm_steps):
            for i in range(n):
                x1[i] = x[i]
            rhs(x1, params, k)
            for i in range(n):
                acc[i] = k[i]
                x2[i] = x[i] + half * k[i]
            rhs(x2, params, k)
            for i in range(n):
                acc[i] += 2.0 * k[i]
                x3[i] = x[i] + half * k[i]
            rhs(x3, params, k)
            for i in range(n):
                acc[i] += 2.0 * k[i]
                x4[i] = x[i] + dt * k[i]
            rhs(x4, params, k)
            for i in range(n):
                x[i] = x[i] + sixth * (acc[i] + k[i])
            for j in range(m):
                for i in range(n):
                    v[i] = vectors[j, i]
                jvp(x1, v, params, k)
                for i in range(n):
                    acc[i] = k[i]
                    tmp[i] = v[i] + half * k[i]
                jvp(x2, tmp, params, k)
                for i in range(n):
                    acc[i] += 2.0 * k[i]
                    tmp[i] = v[i] + half * k[i]
                jvp(x3, tmp, params, k)
                for i in range(n):
                    acc[i] += 2.0 * k[i]
                    tmp[i] = v[i] + dt * k[i]
                jvp(x4, tmp, params, k)
                for i in range(n):
                    vectors[j, i] = v[i] + sixth * (acc[i] + k[i])
        _gram_schmidt(vectors, log_norms)
        if interval >= skip_intervals:
            for j in range(m):
                log_growth[interval - skip_intervals, j] = log_norms[j]


@dataclass(frozen=True)
class LyapunovRun:
    """The record of a QR run: log R_ii per renormalisation interval."""

    log_growth: np.ndarray
    """log R_ii of each interval, (n_intervals, m)."""
    interval: float
    """Time of one renormalisation interval (renorm_steps * dt)."""
    final_state: np.ndarray
    """The state at the end of the run, (n,)."""

    @property
    def total_time(self) -> float:
        """The averaging time T."""
        return self.log_growth.shape[0] * self.interval

    @property
    def exponents(self) -> np.ndarray:
        """lambda_i = (1/T) sum log R_ii, in decreasing order as the QR method orders them, (m,)."""
        return self.log_growth.sum(axis=0) / self.total_time

    def running(self, n_points: int = 20) -> tuple[np.ndarray, np.ndarray]:
        """Finite-time estimates over [0, t_k] at ``n_points`` times spaced geometrically: (times, (n_points, m))."""
        n = self.log_growth.shape[0]
        ends = np.unique(np.geomspace(1, n, n_points).round().astype(int))
        cumulative = np.cumsum(self.log_growth, axis=0)
        times = ends * self.interval
        return times, cumulative[ends - 1] / times[:, None]

    def standard_error(self, n_blocks: int = 10) -> np.ndarray:
        """Standard error of :attr:`exponents` from ``n_blocks`` consecutive blocks of the run (batch means), (m,)."""
        n = self.log_growth.shape[0] // n_blocks * n_blocks
        if n_blocks < 2 or n == 0:
            raise ValueError(f"n_blocks must be in [2, {self.log_growth.shape[0]}], got {n_blocks}")
        means = self.log_growth[:n].reshape(n_blocks, -1, self.log_growth.shape[1]).sum(axis=1)
        means /= n // n_blocks * self.interval
        return means.std(axis=0, ddof=1) / math.sqrt(n_blocks)


#: A system's cached specialisation of :func:`tangent_rk4_qr`:
#: ``kernel(params, x, vectors, dt, renorm_steps, skip_intervals, log_growth)``.
TangentKernel = Callable[..., None]


def lyapunov_spectrum(
    kernel: TangentKernel,
    params: Any,
    x0: np.ndarray,
    dt: float,
    total_time: float,
    n_exponents: int | None = None,
    renorm_steps: int = 10,
    transient_time: float = 0.0,
) -> LyapunovRun:
    """The leading ``n_exponents`` Lyapunov exponents along the trajectory from ``x0`` (see the module docstring).

    Start ``x0`` on the attractor; ``transient_time`` is run with renormalisation
    but not recorded, so that the tangent vectors align first (they start as the
    first unit vectors).

    :param kernel: the system's :data:`TangentKernel` (e.g. ``lorenz63_tangent_qr``).
    :param params: the system's parameters as its kernel takes them.
    :param x0: initial state, (n,).
    :param dt: RK4 step, > 0.
    :param total_time: recorded time T, > 0 (rounded to whole renormalisation intervals, at least one).
    :param n_exponents: number m of exponents, 1..n (default: all n).
    :param renorm_steps: RK4 steps between re-orthonormalisations, >= 1.
    :param transient_time: unrecorded time before, >= 0 (rounded likewise).
    :return: the :class:`LyapunovRun`.
    """
    x = np.array(x0, dtype=np.float64).ravel()
    n = x.size
    m = n if n_exponents is None else check_int("n_exponents", n_exponents)
    if m > n:
        raise ValueError(f"n_exponents must be <= the state size {n}, got {m}")
    dt = check_positive("dt", dt)
    steps = check_int("renorm_steps", renorm_steps)
    interval = steps * dt
    recorded = max(1, int(round(check_positive("total_time", total_time) / interval)))
    if not (math.isfinite(transient_time) and transient_time >= 0):
        raise ValueError(f"transient_time must be >= 0 and finite, got {transient_time!r}")
    skipped = int(round(transient_time / interval))
    vectors = np.eye(m, n)
    log_growth = np.empty((recorded, m))
    kernel(params, x, vectors, dt, steps, skipped, log_growth)
    return LyapunovRun(log_growth, interval, x)


def kaplan_yorke_dimension(exponents: np.ndarray) -> float:
    """The Kaplan-Yorke dimension j + (lambda_1 + ... + lambda_j) / |lambda_{j+1}|, j the largest with a sum >= 0.

    :param exponents: exponents in decreasing order.
    :return: the dimension (the number of exponents if every partial sum is >= 0).
    """
    lam = np.sort(np.asarray(exponents, dtype=np.float64))[::-1]
    sums = np.cumsum(lam)
    j = int(np.sum(sums >= 0.0))
    if j == 0:
        return 0.0
    if j == lam.size:
        return float(j)
    return j + float(sums[j - 1]) / abs(float(lam[j]))


__all__ = ["LyapunovRun", "TangentKernel", "kaplan_yorke_dimension", "lyapunov_spectrum", "tangent_rk4_qr"]
