r"""Exact plane waves of the CGLE and their linear stability (the analytic reference of the tests).

For :math:`A_t = A + (1 + i\alpha) A_{xx} - (1 + i\beta)|A|^2 A`
(:mod:`chaoscontrol.solvers.cgle`), every |q| < 1 gives an exact solution

.. math:: A = a_q e^{i(q x - \omega t)}, \qquad a_q = \sqrt{1 - q^2}, \qquad
          \omega = \beta + (\alpha - \beta) q^2

(Aranson & Kramer 2002, Rev. Mod. Phys. 74, 99, section II.B); q = 0 is the
uniform oscillation A = exp(-i beta t).

Linear stability: in the wave's frame, A = (a_q + w) e^{i(qx - omega t)} with
w = B_1 e^{ikx + lambda t} + conj(B_2) e^{-ikx + conj(lambda) t}; linearising,
(B_1, B_2) solves (B_1, B_2)' = M (B_1, B_2) with

.. math::

    M = \begin{pmatrix}
        1 + i\omega - (1 + i\alpha)(q + k)^2 - 2(1 + i\beta) a_q^2 & -(1 + i\beta) a_q^2 \\
        -(1 - i\beta) a_q^2 & 1 - i\omega - (1 - i\alpha)(q - k)^2 - 2(1 - i\beta) a_q^2
        \end{pmatrix},

whose eigenvalues are the growth rates lambda(k) (:func:`plane_wave_growth_rates`).
For q = 0 they are lambda = -(1 + k^2) +- sqrt((1 + k^2)^2 - (1 + alpha^2) k^4
- 2 (1 + alpha beta) k^2), so the uniform oscillation is unstable for
0 < k^2 < -2 (1 + alpha beta) / (1 + alpha^2) exactly when 1 + alpha beta < 0:
the Benjamin-Feir-Newell criterion (Newell 1974; Aranson & Kramer 2002,
eq. 19). When 1 + alpha beta > 0 the waves with q^2 > q_E^2 =
(1 + alpha beta) / (2 (1 + beta^2) + 1 + alpha beta) are Eckhaus unstable to
long waves (Aranson & Kramer 2002, eq. 20), and all waves are unstable when
1 + alpha beta < 0.

:func:`measured_growth_rate` measures lambda(k) from the solver: a grid plane
wave perturbed along the leading eigenvector of M, advanced unforced, the
perturbation's amplitude read off its two Fourier modes q +- k.
"""

from __future__ import annotations

import math

import numpy as np

from chaoscontrol.solvers.cgle import CGLEConfig, cgle_coefficients, cgle_etdrk4_steps


def plane_wave_frequency(alpha: float, beta: float, q: float) -> float:
    """omega(q) = beta + (alpha - beta) q^2 of the plane wave a_q exp(i(q x - omega t))."""
    return beta + (alpha - beta) * q * q


def plane_wave(x: np.ndarray, t: float, q: float, alpha: float, beta: float) -> np.ndarray:
    """The exact plane wave sqrt(1 - q^2) exp(i(q x - omega t)) on the points ``x``, complex128.

    :param x: grid points.
    :param t: time.
    :param q: wavenumber, |q| < 1 (on a periodic grid a multiple of 2 pi / L).
    :param alpha: linear dispersion.
    :param beta: nonlinear dispersion.
    :raises ValueError: if |q| >= 1 (no plane wave).
    """
    if not abs(q) < 1.0:
        raise ValueError(f"plane waves exist for |q| < 1, got q={q!r}")
    omega = plane_wave_frequency(alpha, beta, q)
    return math.sqrt(1.0 - q * q) * np.exp(1j * (q * np.asarray(x, dtype=np.float64) - omega * t))


def plane_wave_stability_matrix(alpha: float, beta: float, q: float, k: float) -> np.ndarray:
    """The 2x2 matrix M of the module docstring for the perturbation wavenumber ``k`` of the wave ``q``."""
    a2 = 1.0 - q * q
    omega = plane_wave_frequency(alpha, beta, q)
    m11 = 1.0 + 1j * omega - (1.0 + 1j * alpha) * (q + k) ** 2 - 2.0 * (1.0 + 1j * beta) * a2
    m22 = 1.0 - 1j * omega - (1.0 - 1j * alpha) * (q - k) ** 2 - 2.0 * (1.0 - 1j * beta) * a2
    return np.array([[m11, -(1.0 + 1j * beta) * a2], [-(1.0 - 1j * beta) * a2, m22]], dtype=np.complex128)


def plane_wave_growth_rates(alpha: float, beta: float, q: float, k: float) -> tuple[np.ndarray, np.ndarray]:
    """Growth rates lambda(k) of perturbations of the plane wave ``q``, largest real part first.

    :return: (eigenvalues (2,), eigenvectors (2, 2) as columns, each (B_1, B_2) of unit norm).
    """
    rates, vectors = np.linalg.eig(plane_wave_stability_matrix(alpha, beta, q, k))
    order = np.argsort(-rates.real)
    return rates[order], vectors[:, order]


def uniform_growth_rate(alpha: float, beta: float, k: np.ndarray | float) -> np.ndarray:
    """The larger growth rate of the uniform oscillation (q = 0) in closed form, real for real k."""
    k2 = np.asarray(k, dtype=np.float64) ** 2
    disc = (1.0 + k2) ** 2 - (1.0 + alpha * alpha) * k2 * k2 - 2.0 * (1.0 + alpha * beta) * k2
    return -(1.0 + k2) + np.sqrt(disc.astype(np.complex128)).real


def benjamin_feir_unstable(alpha: float, beta: float) -> bool:
    """Benjamin-Feir-Newell criterion: the uniform oscillation is long-wave unstable iff 1 + alpha beta < 0."""
    return 1.0 + alpha * beta < 0.0


def benjamin_feir_band(alpha: float, beta: float) -> float:
    """Largest unstable wavenumber sqrt(-2 (1 + alpha beta) / (1 + alpha^2)) of the uniform oscillation (0 if stable)."""
    return math.sqrt(max(0.0, -2.0 * (1.0 + alpha * beta) / (1.0 + alpha * alpha)))


def eckhaus_wavenumber(alpha: float, beta: float) -> float:
    """q_E = sqrt((1 + alpha beta) / (2 (1 + beta^2) + 1 + alpha beta)): waves with |q| > q_E are
    Eckhaus unstable; 0 when the Benjamin-Feir criterion makes every wave unstable."""
    s = 1.0 + alpha * beta
    return math.sqrt(s / (2.0 * (1.0 + beta * beta) + s)) if s > 0 else 0.0


def measured_growth_rate(config: CGLEConfig, p: int, m: int, t_end: float | None = None,
                         eps: float = 1e-7) -> tuple[complex, complex]:
    """The leading growth rate of the plane wave q = 2 pi p / L at k = 2 pi m / L, measured from the solver.

    A = (a_q + w) e^{iqx}, w = eps (B_1 e^{ikx} + conj(B_2) e^{-ikx}) along the leading eigenvector
    (B_1, B_2) of M, is advanced unforced for ``t_end`` (whole solver steps); the projection z of the
    final (B_1, B_2) (modes p + m and p - m in the wave's frame) on the eigenvector gives
    lambda = log(z / eps) / t, its imaginary part taken on the branch nearest the theory. The default
    ``t_end`` = min(10, 5 / |Re lambda|) keeps a damped perturbation far above round-off and a growing
    one linear (its amplitude grows by e^5 at most).

    :param config: equation, grid and step; |p| < L / (2 pi) and p +- m must be grid modes.
    :param p: wavenumber index of the plane wave.
    :param m: wavenumber index of the perturbation, != 0.
    :param t_end: time of the run, > 0 (default: see above).
    :param eps: amplitude of the perturbation (small: the growth must stay linear).
    :return: (measured lambda, theory lambda).
    """
    n = config.N
    q, k = 2.0 * np.pi * p / config.L, 2.0 * np.pi * m / config.L
    rates, vectors = plane_wave_growth_rates(config.alpha, config.beta, q, k)
    b1, b2 = eps * vectors[:, 0]
    x = config.x
    a0 = (math.sqrt(1.0 - q * q) + b1 * np.exp(1j * k * x) + np.conj(b2) * np.exp(-1j * k * x)) * np.exp(1j * q * x)
    v = np.fft.fft(a0)
    if t_end is None:
        t_end = min(10.0, 5.0 / max(abs(rates[0].real), 1e-12))
    n_steps = max(1, int(round(t_end / config.dt)))
    cgle_etdrk4_steps(v, np.zeros_like(v), cgle_coefficients(config), config.nonlinear_coefficient, n_steps)
    t = n_steps * config.dt
    w = v * np.exp(1j * plane_wave_frequency(config.alpha, config.beta, q) * t) / n  # the wave's frame
    z = np.vdot(vectors[:, 0], np.array([w[(p + m) % n], np.conj(w[(p - m) % n])])) / eps
    theory = complex(rates[0])
    measured = complex(math.log(abs(z)) / t, theory.imag + float(np.angle(z / np.exp(theory * t))) / t)
    return measured, theory


__all__ = [
    "benjamin_feir_band",
    "benjamin_feir_unstable",
    "eckhaus_wavenumber",
    "measured_growth_rate",
    "plane_wave",
    "plane_wave_frequency",
    "plane_wave_growth_rates",
    "plane_wave_stability_matrix",
    "uniform_growth_rate",
]
