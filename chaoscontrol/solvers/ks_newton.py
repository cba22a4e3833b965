r"""Newton's method for equilibria of the unforced KS equation, with the exact Jacobian.

An equilibrium solves the steady equation of the semi-discrete system that the
ETDRK4 solver integrates (:mod:`chaoscontrol.solvers.ks`: Fourier
pseudo-spectral, products not de-aliased, the odd derivative of the Nyquist
mode set to zero),

.. math:: F(u) = -u u_x - u_{xx} - u_{xxxx} = 0 \quad\text{on } [0, L) \text{ periodic},
          \qquad \hat F_m = (k_m^2 - k_m^4)\, \hat u_m - \tfrac{i k_m}{2}\, \widehat{u^2}_m .

A root of this F is exactly a fixed point of the ETDRK4 map (exponential
integrators keep the equilibria of the ODE they integrate: with N(v) = -L v
every stage of Cox & Matthews 2002 returns v). Following Cvitanovic, Davidchack
& Siminos (2010, SIAM J. Appl. Dyn. Syst. 9, 1), the unknowns are the sine
coefficients b_m of u = sum_m b_m sin(k_m x), the flow-invariant antisymmetric
subspace u(-x) = -u(x), which removes the continuous translation symmetry and
makes the Jacobian regular.

- :func:`ks_residual`: F on the grid;
- :func:`sine_jacobian`: the exact Jacobian dF(u) d = -(u d)_x - d_xx - d_xxxx in the sine subspace;
- :func:`newton_equilibrium`: plain Newton's method with that Jacobian (quadratic
  convergence near a regular root), with its residual history;
- :func:`refine_equilibrium`: Newton from a guess, a ``ValueError`` unless it
  reaches max |F(u)| <= :data:`RESIDUAL_TOLERANCE` on a non-trivial u near the guess;
- :func:`continue_equilibrium`: natural-parameter continuation in the domain length;
- :func:`periodic_copies`: c copies of a periodic field (an equilibrium on l
  repeated c times is one on c l: the equation is local and translation invariant).
"""

from __future__ import annotations

import math

import numpy as np

from chaoscontrol.validation import check_int, check_positive

#: Largest max |F(u)| accepted for an equilibrium (the round-off floor is ~1e-12 at N <= 256).
RESIDUAL_TOLERANCE = 1e-10
#: Newton iterations before giving up (from a guess in the basin, 4-6 are needed).
MAX_ITERATIONS = 30
#: Largest relative change rms(u - guess) / rms(guess) that :func:`refine_equilibrium` accepts: beyond it Newton has
#: left the branch of the guess (or the guess was no equilibrium's neighbour), which would be a silent wrong answer.
MAX_RELATIVE_CHANGE = 0.1
#: Largest relative change of L in one continuation step.
CONTINUATION_STEP = 0.01
#: Most Newton solves of one continuation (120 steps of 1 %: a factor 3.3 in L, plus the halvings near a fold).
MAX_CONTINUATION_SOLVES = 200


def _wavenumbers(L: float, n: int) -> tuple[np.ndarray, np.ndarray]:
    """k_m = 2 pi m / L of the rfft modes, and the same with the Nyquist mode's zeroed (its odd derivative)."""
    k = 2.0 * np.pi / L * np.arange(n // 2 + 1)
    kodd = k.copy()
    kodd[-1] = 0.0
    return k, kodd


def ks_residual(u: np.ndarray, L: float) -> np.ndarray:
    """F(u) = -u u_x - u_xx - u_xxxx on grid values (spectral derivatives, as the ETDRK4 solver).

    :param u: grid values, shape (N,).
    :param L: domain length.
    :return: F(u) on the grid, shape (N,).
    """
    n = u.size
    v = np.fft.rfft(u)
    k, kodd = _wavenumbers(L, n)
    rhs = (k**2 - k**4) * v - 0.5j * kodd * np.fft.rfft(u * u)
    return np.fft.irfft(rhs, n)


def _sine_to_grid(b: np.ndarray, L: float, N: int) -> np.ndarray:
    """u(x_j) = sum_m b_m sin(k_m x_j) on the N-point grid, m = 1..len(b)."""
    x = L * np.arange(N) / N
    m = np.arange(1, b.size + 1)
    return np.sin(2.0 * np.pi / L * np.outer(x, m)) @ b


def _grid_to_sine(u: np.ndarray) -> np.ndarray:
    """The sine coefficients b_m, m = 1..N/2 - 1, of grid values (the antisymmetric part)."""
    n = u.size
    return -2.0 / n * np.fft.rfft(u)[1 : n // 2].imag


def sine_jacobian(b: np.ndarray, L: float, n: int) -> np.ndarray:
    """The exact Jacobian of the KS residual in the sine subspace at the sine coefficients ``b``.

    F(u) = -u u_x - u_xx - u_xxxx has the derivative dF(u) d = -(u d)_x - d_xx - d_xxxx
    (spectral, as :func:`ks_residual`), applied here to every sine mode sin(k_j x),
    j = 1..n/2 - 1, and projected back on the sines.

    :param b: sine coefficients, (n/2 - 1,).
    :param L: domain length.
    :param n: grid points.
    :return: (n/2 - 1, n/2 - 1), column j the image of mode j.
    """
    u = _sine_to_grid(b, L, n)
    modes = np.sin(2.0 * np.pi / L * np.outer(np.arange(1, b.size + 1), L * np.arange(n) / n))  # (n/2 - 1, n)
    k, kodd = _wavenumbers(L, n)
    image = (k**2 - k**4) * np.fft.rfft(modes, axis=-1) - 1j * kodd * np.fft.rfft(u * modes, axis=-1)
    return -2.0 / n * np.fft.rfft(np.fft.irfft(image, n, axis=-1), axis=-1)[:, 1 : n // 2].imag.T


def newton_equilibrium(u_guess: np.ndarray, L: float, max_iterations: int = MAX_ITERATIONS
                       ) -> tuple[np.ndarray, list[float]]:
    """Newton's method b <- b - J(b)^-1 F(b) in the sine subspace, J the exact :func:`sine_jacobian`.

    Iterates until max |F(u)| is at most :data:`RESIDUAL_TOLERANCE` and stops falling (the round-off floor), the
    iterate is not finite or the Jacobian singular, or ``max_iterations``. It does not judge the result: see
    :func:`refine_equilibrium`.

    :param u_guess: grid values (N,), N even; only the antisymmetric (sine) part is used.
    :param L: domain length, > 0.
    :param max_iterations: most Newton steps, >= 1.
    :return: the last iterate on the grid (N,), and max |F(u)| at the guess and after each step.
    """
    u_guess = np.asarray(u_guess, dtype=np.float64)
    L = check_positive("L", L)
    steps = check_int("max_iterations", max_iterations)
    n = u_guess.size
    b = _grid_to_sine(u_guess)
    history: list[float] = []
    for i in range(steps + 1):
        u = _sine_to_grid(b, L, n)
        f = ks_residual(u, L)
        res = float(np.max(np.abs(f))) if np.all(np.isfinite(f)) else math.inf
        history.append(res)
        floor = len(history) > 1 and res > 0.1 * history[-2]
        if not math.isfinite(res) or (res <= RESIDUAL_TOLERANCE and (floor or res < 1e-13)) or i == steps:
            break
        try:
            b = b - np.linalg.solve(sine_jacobian(b, L, n), _grid_to_sine(f))
        except np.linalg.LinAlgError:
            break
    return u, history


def refine_equilibrium(u_guess: np.ndarray, L: float) -> np.ndarray:
    """The equilibrium near ``u_guess`` by :func:`newton_equilibrium`, checked.

    :param u_guess: grid values (N,), N even; only its sine (antisymmetric) part is used.
    :param L: domain length, > 0.
    :return: the equilibrium on the grid, (N,).
    :raises ValueError: if Newton's method does not reach max |F(u)| <= :data:`RESIDUAL_TOLERANCE`, returns u = 0,
        or moves the field by more than :data:`MAX_RELATIVE_CHANGE` of its norm (it left the guess's branch).
    """
    u_guess = np.asarray(u_guess, dtype=np.float64)
    u, history = newton_equilibrium(u_guess, L)
    res = history[-1]
    size = float(np.sqrt(np.mean(u_guess**2)))
    change = float(np.sqrt(np.mean((u - u_guess) ** 2))) / size if size > 0 else math.inf
    if not res <= RESIDUAL_TOLERANCE or np.max(np.abs(u)) < 1e-3 or not change <= MAX_RELATIVE_CHANGE:
        raise ValueError(f"Newton's method did not converge to a non-trivial equilibrium near the guess at L={L:g} "
                         f"(after {len(history) - 1} steps max |F(u)| = {res:.1e}, max |u| = {np.max(np.abs(u)):.1e}, "
                         f"relative change {change:.1e})")
    return u


def continue_equilibrium(u: np.ndarray, L_from: float, L_to: float) -> np.ndarray:
    """Natural-parameter continuation of the equilibrium ``u`` (N,) from domain length ``L_from`` to ``L_to``.

    The grid values are kept (the field is stretched with the domain) and re-solved by :func:`refine_equilibrium`
    every relative change of :data:`CONTINUATION_STEP` in L; a step that Newton refuses is halved, down to
    :data:`CONTINUATION_STEP` / 64 (then the branch ends or turns: an error), and a step that succeeds lets the next
    one grow back. At most :data:`MAX_CONTINUATION_SOLVES` Newton solves, so a failure is fast.

    :param u: an equilibrium at ``L_from`` on an N-point grid.
    :param L_from: its domain length, > 0.
    :param L_to: the domain length wanted, > 0.
    :return: the equilibrium at ``L_to``, (N,).
    :raises ValueError: if Newton's method fails on the way (the branch ends or turns before ``L_to``).
    """
    L_from = check_positive("L_from", L_from)
    L_to = check_positive("L_to", L_to)
    s, s_end = math.log(L_from), math.log(L_to)
    direction = 1.0 if s_end >= s else -1.0
    step = CONTINUATION_STEP
    for _ in range(MAX_CONTINUATION_SOLVES):
        if s == s_end:
            return u
        s_next = s_end if abs(s_end - s) <= step * 1.000001 else s + direction * step
        try:
            u = refine_equilibrium(u, math.exp(s_next) if s_next != s_end else L_to)
        except ValueError as exc:
            step /= 2.0
            if step < CONTINUATION_STEP / 64:
                raise ValueError(f"the branch ends or turns near L={math.exp(s):g} on the way from L={L_from:g} to "
                                 f"L={L_to:g}: {exc}") from exc
            continue
        s, step = s_next, min(CONTINUATION_STEP, 2.0 * step)
    raise ValueError(f"continuation from L={L_from:g} to L={L_to:g} took more than {MAX_CONTINUATION_SOLVES} Newton "
                     f"solves (stopped at L={math.exp(s):g})")


def periodic_copies(u: np.ndarray, copies: int, N: int) -> np.ndarray:
    """``copies`` repetitions of the periodic field ``u`` (n,) on an N-point grid (Fourier interpolation).

    Mode m of ``u`` becomes mode ``copies * m``; modes beyond the new Nyquist are dropped.

    :param u: grid values of one cell, (n,).
    :param copies: number of copies, >= 1.
    :param N: grid points of the result, even, >= 8.
    :return: (N,) grid values over the ``copies`` cells.
    """
    u = np.asarray(u, dtype=np.float64)
    c = check_int("copies", copies)
    N = check_int("N", N, minimum=8)
    v = np.fft.rfft(u)
    out = np.zeros(N // 2 + 1, dtype=np.complex128)
    m = np.arange(v.size)
    keep = (c * m < N // 2) & (m < u.size // 2)  # the Nyquist modes of both grids are dropped
    out[c * m[keep]] = v[keep] * (N / u.size)
    return np.fft.irfft(out, N)


__all__ = [
    "CONTINUATION_STEP",
    "MAX_CONTINUATION_SOLVES",
    "MAX_RELATIVE_CHANGE",
    "RESIDUAL_TOLERANCE",
    "continue_equilibrium",
    "ks_residual",
    "newton_equilibrium",
    "periodic_copies",
    "refine_equilibrium",
    "sine_jacobian",
]
