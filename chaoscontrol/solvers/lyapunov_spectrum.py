r"""Lyapunov spectrum of any :class:`~chaoscontrol.solvers.dynamics.Dynamics` by the QR method.

The method (Shimada & Nagashima 1979, Prog. Theor. Phys. 61, 1605; Benettin,
Galgani, Giorgilli & Strelcyn 1980, Meccanica 15, 9 and 21): the k leading
exponents are the growth rates of a k-dimensional volume carried by the
tangent map. Starting from an orthonormal frame Q (n x k), each interval of
time tau maps the frame by the tangent map J, re-orthonormalises it by the QR
decomposition J Q = Q' R and accumulates log |R_jj|; then

.. math:: \lambda_j = \lim_{T \to \infty} \frac{1}{T} \sum_{\text{intervals}} \log |R_{jj}|,

in descending order (in expectation; each ``R_jj`` is the growth of the part of
column j orthogonal to the columns before it).

The tangent map is never written down. It is the finite difference of the
nonlinear map of one :meth:`Dynamics.advance <chaoscontrol.solvers.dynamics.Dynamics.advance>`
call (one control interval, tau = ``control_dt``): the reference field x and
the k perturbed fields x + eps q_j are advanced together, in ONE batched call
(B = k + 1 rows), and J q_j ~ (Phi(x + eps q_j) - Phi(x)) / eps. So the tool
needs nothing from a system but the protocol, and serves every system of the
suite. It works on the physical field (``states_from_fields`` /
``fields_from_states``), flattened to n = prod(field_shape) real coordinates
with the Euclidean norm; optional orthonormal directions ``exclude`` are
projected out of the perturbations, which restricts them to the complement
(for KS the mean-free fields: the mean is conserved, see
:func:`uniform_direction`). The projection costs O(n k) per interval (a basis
of the complement would cost O(n^2 k)). The reference row is advanced from
its own state, so the reference trajectory is the system's trajectory bit for
bit.

Choice of eps, and its error. The difference quotient has two errors:

- truncation, O(eps |D^2 Phi| / |D Phi|) relative per interval: a bias of
  the exponents of order eps / |x| (the nonlinearity of one interval);
- round-off: each row carries an error of about u |x| (u = 2.2e-16 the unit
  round-off, times a modest factor from the FFTs), so a direction contracted
  by exp(lambda tau) is resolved only while eps exp(lambda tau) >> u |x|. Below
  the *resolution floor* ``log(u |x| / eps) / tau`` (:attr:`LyapunovSpectrum.floor`)
  the exponents are meaningless (they saturate near the floor).

The default eps = 1e-6 max(|x_0|, 1) balances the two for what the tool is
for, the leading and the positive exponents: the bias is ~1e-6 relative (far
below the statistical error of any feasible averaging time), and the floor is
log(2.2e-10) / tau ~ -22 / tau (-88 for KS with tau = 0.25), far below the
exponents near zero. The strongly contracting hyper-diffusive modes of a PDE
(KS: rates k^2 - k^4 down to -10^4) are below the floor: the full spectrum
and its sum are out of reach of a finite-difference tangent map, whatever
eps (the sum identity of the semi-discrete ODE is tested on its Jacobian
instead, ``tests/solvers/test_lyapunov_spectrum.py``).

The statistical error is estimated by batch means: the accumulated
log-growths are cut into consecutive blocks, one estimate per block, and the
standard error is their standard deviation over sqrt(blocks)
(:meth:`LyapunovSpectrum.standard_error`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

from chaoscontrol.solvers.dynamics import DIAG_MAX_ABS, Dynamics
from chaoscontrol.validation import check_int, check_positive

#: Default perturbation size relative to max(|x_0|, 1) (Euclidean norm of the flattened field).
EPS_RELATIVE = 1e-6
#: Unit round-off of float64, for the resolution floor.
UNIT_ROUNDOFF = float(np.finfo(np.float64).eps)


@dataclass(frozen=True)
class LyapunovSpectrum:
    """The k leading Lyapunov exponents of a trajectory and the record they were averaged from."""

    exponents: np.ndarray
    """The estimates lambda_1 >= ... >= lambda_k (in expectation), (k,), per unit time."""
    log_growth: np.ndarray
    """log |R_jj| of every averaged interval, (n_intervals, k)."""
    interval: float
    """Time of one interval (the dynamics' ``control_dt``)."""
    eps: float
    """Size of the finite-difference perturbations (Euclidean norm, field units)."""
    floor: float
    """Resolution floor log(u |x_0| / eps) / interval: exponents near or below it are not resolved."""

    @property
    def time(self) -> float:
        """The averaging time T = n_intervals * interval."""
        return self.log_growth.shape[0] * self.interval

    def running(self) -> np.ndarray:
        """The running estimates after each interval, (n_intervals, k): the convergence in time."""
        steps = np.arange(1, self.log_growth.shape[0] + 1)[:, None]
        return np.cumsum(self.log_growth, axis=0) / (steps * self.interval)

    def block_estimates(self, n_blocks: int = 10) -> np.ndarray:
        """The exponents of ``n_blocks`` consecutive equal blocks of the record, (n_blocks, k).

        :param n_blocks: number of blocks, >= 2 and at most the number of intervals.
        """
        n = self.log_growth.shape[0]
        check_int("n_blocks", n_blocks, minimum=2)
        if n_blocks > n:
            raise ValueError(f"n_blocks must be <= the number of intervals ({n}), got {n_blocks}")
        size = n // n_blocks
        blocks = self.log_growth[: size * n_blocks].reshape(n_blocks, size, -1)
        return blocks.sum(axis=1) / (size * self.interval)

    def standard_error(self, n_blocks: int = 10) -> np.ndarray:
        """Batch-means standard error of each exponent, (k,): std over blocks / sqrt(n_blocks).

        :param n_blocks: number of blocks (see :meth:`block_estimates`).
        """
        blocks = self.block_estimates(n_blocks)
        return blocks.std(axis=0, ddof=1) / math.sqrt(n_blocks)

    def n_positive(self, n_sigma: float = 3.0, n_blocks: int = 10) -> int:
        """Number of exponents above ``n_sigma`` standard errors (so that neutral ones are not counted).

        :param n_sigma: margin in standard errors, >= 0.
        :param n_blocks: number of blocks of the standard error.
        """
        return int(np.sum(self.exponents > n_sigma * self.standard_error(n_blocks)))

    def kaplan_yorke_dimension(self) -> float:
        """D_KY = j + (lambda_1 + ... + lambda_j) / |lambda_{j+1}|, j the largest with a non-negative partial sum.

        :raises ValueError: if the partial sums of the k exponents never turn negative (k too small).
        """
        lam = np.sort(self.exponents)[::-1]
        sums = np.cumsum(lam)
        if sums[0] < 0:
            return 0.0
        negative = np.flatnonzero(sums < 0)
        if negative.size == 0:
            raise ValueError(f"the sum of all {lam.size} exponents is >= 0: compute more exponents")
        j = int(negative[0])  # lam[:j] has a non-negative sum, lam[:j + 1] a negative one
        return j + sums[j - 1] / abs(lam[j])


def uniform_direction(n: int) -> np.ndarray:
    """The uniform unit vector of R^n as one row, (1, n): ``exclude`` it to keep the perturbations mean-free.

    For a field on a periodic grid whose spatial mean is conserved (KS), the
    perturbations of the mean are neutral and decoupled; excluding them removes
    that exponent and keeps round-off out of the mean.

    :param n: dimension, >= 2.
    """
    check_int("n", n, minimum=2)
    return np.full((1, n), 1.0 / math.sqrt(n))


def lyapunov_spectrum(
    dynamics: Dynamics,
    state: np.ndarray,
    n_exponents: int,
    n_intervals: int,
    *,
    transient_intervals: int = 0,
    eps: float | None = None,
    action: np.ndarray | None = None,
    exclude: np.ndarray | None = None,
    seed: int = 0,
    progress: Callable[[int, int], None] | None = None,
) -> LyapunovSpectrum:
    """The ``n_exponents`` leading Lyapunov exponents along the trajectory from ``state`` (QR method; module docstring).

    Each interval is one ``dynamics.advance`` call on n_exponents + 1 rows (the
    reference and the perturbed copies), a QR decomposition and the
    accumulation of log |R_jj|. Start ``state`` on the attractor (transients of
    the reference bias the estimate); ``transient_intervals`` first align the
    frame with the leading directions without being averaged.

    :param dynamics: any :class:`~chaoscontrol.solvers.dynamics.Dynamics`.
    :param state: one system's state, ``dynamics.state_shape`` (e.g. ``dynamics.random_states([rng])[0]``).
    :param n_exponents: k, >= 1 and at most the tangent dimension prod(field_shape) - (rows of ``exclude``).
    :param n_intervals: averaged intervals, >= 1 (the averaging time is ``n_intervals * control_dt``).
    :param transient_intervals: intervals run first to align the frame, not averaged, >= 0.
    :param eps: perturbation size (Euclidean norm of the flattened field), > 0; default
        ``EPS_RELATIVE * max(|x_0|, 1)``.
    :param action: the action held during every interval, (n_actions,), finite; default zeros (unforced).
    :param exclude: orthonormal rows (m, n): directions projected out of the perturbations after
        every interval (e.g. :func:`uniform_direction`); the exponents are then those of the
        tangent map on the complement (for an invariant complement, the system's own). Default none.
    :param seed: seed of the random initial frame.
    :param progress: called as ``progress(done, total)`` after every 1 % of the intervals.
    :return: the :class:`LyapunovSpectrum`.
    :raises ValueError: naming the argument, for an invalid value.
    :raises FloatingPointError: if the reference or a perturbed copy stops being finite.
    """
    field_shape = tuple(dynamics.field_shape)
    n = int(np.prod(field_shape))
    state = np.asarray(state, dtype=dynamics.state_dtype)
    if state.shape != tuple(dynamics.state_shape):
        raise ValueError(f"state must have the shape {tuple(dynamics.state_shape)}, got {state.shape}")
    exclude = _check_exclude(exclude, n)
    dim = n if exclude is None else n - exclude.shape[0]
    k = check_int("n_exponents", n_exponents)
    if k > dim:
        raise ValueError(f"n_exponents must be <= the tangent dimension {dim}, got {k}")
    check_int("n_intervals", n_intervals)
    check_int("transient_intervals", transient_intervals, minimum=0)
    act = np.zeros(dynamics.n_actions) if action is None else np.asarray(action, dtype=np.float64)
    if act.shape != (dynamics.n_actions,) or not np.all(np.isfinite(act)):
        raise ValueError(f"action must be finite with shape ({dynamics.n_actions},), got {act.shape}")

    states = np.empty((k + 1, *dynamics.state_shape), dtype=dynamics.state_dtype)
    states[0] = state
    x = dynamics.fields_from_states(states[:1])[0].reshape(n)
    norm_x = float(np.linalg.norm(x))
    if eps is None:
        eps = EPS_RELATIVE * max(norm_x, 1.0)
    eps = check_positive("eps", eps)
    tau = float(dynamics.control_dt)
    floor = math.log(UNIT_ROUNDOFF * max(norm_x, eps) / eps) / tau

    rng = np.random.default_rng(seed)
    frame, _ = np.linalg.qr(_project(rng.standard_normal((k, n)), exclude).T)  # (n, k), orthonormal columns
    fields = np.empty((k + 1, *field_shape), dtype=np.float64)
    actions = np.broadcast_to(act, (k + 1, act.size)).copy()
    diag = np.empty((k + 1, len(dynamics.diagnostic_names) + 1), dtype=np.float64)
    log_growth = np.empty((n_intervals, k))
    total = transient_intervals + n_intervals
    report_every = max(1, total // 100)
    for i in range(total):
        states[1:] = dynamics.states_from_fields((x[None, :] + eps * frame.T).reshape(k, *field_shape))
        dynamics.advance(states, fields, actions, diag)
        if not np.all(np.isfinite(diag[:, DIAG_MAX_ABS])):
            raise FloatingPointError(f"the trajectory stopped being finite at interval {i} (t = {(i + 1) * tau:g})")
        flat = fields.reshape(k + 1, n)
        x = flat[0].copy()
        images = _project((flat[1:] - x[None, :]) / eps, exclude)  # (k, n): J q_j, projected
        frame, r = np.linalg.qr(images.T)
        growth = np.abs(np.diagonal(r))
        if not np.all(growth > 0):
            raise FloatingPointError(f"the perturbations collapsed at interval {i}: increase eps or lower n_exponents")
        if i >= transient_intervals:
            log_growth[i - transient_intervals] = np.log(growth)
        if progress is not None and ((i + 1) % report_every == 0 or i + 1 == total):
            progress(i + 1, total)
    exponents = log_growth.sum(axis=0) / (n_intervals * tau)
    log_growth.setflags(write=False)
    exponents.setflags(write=False)
    return LyapunovSpectrum(exponents, log_growth, tau, eps, floor)


def _check_exclude(exclude: np.ndarray | None, n: int) -> np.ndarray | None:
    if exclude is None:
        return None
    exclude = np.asarray(exclude, dtype=np.float64)
    if exclude.ndim != 2 or exclude.shape[1] != n or not 1 <= exclude.shape[0] < n:
        raise ValueError(f"exclude must have the shape (m, {n}), 1 <= m < {n}, got {exclude.shape}")
    if not np.allclose(exclude @ exclude.T, np.eye(exclude.shape[0]), atol=1e-10):
        raise ValueError("exclude must have orthonormal rows")
    return exclude


def _project(vectors: np.ndarray, exclude: np.ndarray | None) -> np.ndarray:
    """The rows of ``vectors`` (k, n) with their components along the rows of ``exclude`` removed."""
    if exclude is None:
        return vectors
    return vectors - (vectors @ exclude.T) @ exclude


__all__ = ["EPS_RELATIVE", "LyapunovSpectrum", "lyapunov_spectrum", "uniform_direction"]
