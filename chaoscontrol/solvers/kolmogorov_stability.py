r"""Linear stability of the laminar Kolmogorov flow, assembled in Fourier space (NumPy).

About the laminar state u_L = A sin(n y) e_x, omega_L = -A n cos(n y),
A = chi / (n^2 / Re + alpha) (:mod:`chaoscontrol.solvers.kolmogorov`), a
perturbation omega' obeys

.. math:: \omega'_t = -U(y)\, \partial_x \omega' - v'\, \partial_y \Omega_L + \frac{1}{Re}\nabla^2\omega' - \alpha\omega',
          \qquad v' = -\psi'_x,\ \nabla^2 \psi' = -\omega',

(Meshalkin & Sinai 1961, J. Appl. Math. Mech. 25, 1700). Writing
omega' = e^{i k_x x} sum_q c_q e^{i q y}, |k_q|^2 = k_x^2 + q^2, the laminar flow
couples c_q to c_{q +- n} only:

.. math:: \dot c_{q+n} \mathrel{+}= \frac{A k_x}{2} \Big(\frac{n^2}{|k_q|^2} - 1\Big) c_q, \qquad
          \dot c_{q-n} \mathrel{-}= \frac{A k_x}{2} \Big(\frac{n^2}{|k_q|^2} - 1\Big) c_q, \qquad
          \dot c_q \mathrel{+}= -\Big(\frac{|k_q|^2}{Re} + \alpha\Big) c_q,

so each k_x gives a real, block-tridiagonal eigenproblem over q (blocks of
q mod n). :func:`laminar_operator` assembles it on the wavenumbers kept by
the 2/3 rule, |q|, k_x <= K = (N - 1) // 3, which is exactly the operator the
de-aliased pseudo-spectral solver linearises to (the products it truncates
are those the matrix leaves out). :func:`leading_mode` returns the fastest
growing eigenmode over all k_x as a field on the grid.
"""

from __future__ import annotations

import numpy as np

from chaoscontrol.solvers.kolmogorov import KolmogorovConfig
from chaoscontrol.validation import check_int


def laminar_amplitude(config: KolmogorovConfig) -> float:
    """A = chi / (n^2 / Re + alpha), the laminar velocity amplitude (Re / n^2 at alpha = 0, chi = 1)."""
    return config.chi / (config.n**2 / config.Re + config.alpha)


def laminar_operator(config: KolmogorovConfig, kx: int) -> tuple[np.ndarray, np.ndarray]:
    """The linearised operator about the laminar flow at streamwise wavenumber ``kx`` (module docstring).

    :param config: parameters and grid (the kept wavenumbers |q| <= K).
    :param kx: streamwise wavenumber, an integer in [1, K].
    :return: the wavenumbers q = -K..K and the real matrix (2K + 1, 2K + 1) acting on (c_q).
    :raises ValueError: naming ``kx``.
    """
    kmax = config.kmax
    kx = check_int("kx", kx, minimum=1)
    if kx > kmax:
        raise ValueError(f"kx must be an integer in [1, {kmax}], got {kx}")
    q = np.arange(-kmax, kmax + 1)
    k2 = kx**2 + q.astype(np.float64) ** 2
    a, n = laminar_amplitude(config), config.n
    op = np.diag(-(k2 / config.Re + config.alpha))
    coupling = 0.5 * a * kx * (n**2 / k2 - 1.0)
    for i in range(q.size):
        if i + n < q.size:
            op[i + n, i] += coupling[i]
        if i - n >= 0:
            op[i - n, i] -= coupling[i]
    return q, op


def growth_rates(config: KolmogorovConfig) -> np.ndarray:
    """The largest real part of the eigenvalues of :func:`laminar_operator` for each k_x = 1..K, (K,)."""
    return np.array([np.linalg.eigvals(laminar_operator(config, kx)[1]).real.max()
                     for kx in range(1, config.kmax + 1)])


def leading_mode(config: KolmogorovConfig) -> tuple[complex, int, np.ndarray]:
    """The fastest growing eigenmode of the laminar flow.

    :return: its eigenvalue sigma, its k_x, and the field Re(e^{i k_x x} sum_q c_q e^{i q y}) on the grid,
        float64 (N, N) (axis 0 y), normalised to rms 1.
    """
    best = None
    for kx in range(1, config.kmax + 1):
        q, op = laminar_operator(config, kx)
        values, vectors = np.linalg.eig(op)
        i = int(np.argmax(values.real))
        if best is None or values[i].real > best[0].real:
            best = (complex(values[i]), kx, q, vectors[:, i])
    sigma, kx, q, c = best
    x = config.x
    field = np.real(np.exp(1j * kx * x)[None, :] * (np.exp(1j * np.outer(x, q)) @ c)[:, None])
    return sigma, kx, field / np.sqrt(np.mean(field**2))


__all__ = ["growth_rates", "laminar_amplitude", "laminar_operator", "leading_mode"]
