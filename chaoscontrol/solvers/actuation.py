"""Actuator shapes and sensor read-out on the periodic KS grid.

Actuators (Bucci et al. 2019, Proc. R. Soc. A 475, 20190351): n Gaussians

    psi_j(x) = exp(-d(x, x_j)^2 / (2 sigma^2)),   x_j = (2j + 1) L / (2n),

with d the periodic distance and peak 1. The forcing is
f(x) = max_forcing * sum_j a_j psi_j(x) minus its spatial mean, so that the mean
of u is conserved. Sensors are point values of u at x_i = i L / m, read by
trigonometric (Fourier) interpolation, which is exact at grid points.
"""

from __future__ import annotations

import numpy as np


def periodic_distance(x: np.ndarray, centre: float, L: float) -> np.ndarray:
    """Distance on the circle of circumference ``L`` between ``x`` and ``centre``."""
    d = np.mod(np.asarray(x, dtype=np.float64) - centre, L)
    return np.minimum(d, L - d)


def actuator_centres(L: float, n_actuators: int) -> np.ndarray:
    """Centres x_j = (2j + 1) L / (2 n) of ``n_actuators`` evenly spaced actuators."""
    if n_actuators < 1:
        raise ValueError(f"actuators must be >= 1, got {n_actuators}")
    return (2.0 * np.arange(n_actuators) + 1.0) * L / (2.0 * n_actuators)


def sensor_positions(L: float, n_sensors: int) -> np.ndarray:
    """Positions x_i = i L / m of ``n_sensors`` evenly spaced point sensors."""
    if n_sensors < 1:
        raise ValueError(f"sensors must be >= 1, got {n_sensors}")
    return np.arange(n_sensors) * L / n_sensors


def gaussian_actuator_shapes(x: np.ndarray, L: float, centres: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian actuator profiles psi_j(x) with peak 1 and width ``sigma``.

    :param x: grid points, shape (N,).
    :param L: domain length.
    :param centres: actuator centres, shape (n,).
    :param sigma: Gaussian width, > 0.
    :return: float64 array (n, N); row j is psi_j on the grid (not mean-removed).
    """
    if not (np.isfinite(sigma) and sigma > 0):
        raise ValueError(f"actuator_width must be a positive finite width, got {sigma!r}")
    return np.stack([np.exp(-periodic_distance(x, c, L) ** 2 / (2.0 * sigma**2)) for c in centres])


def forcing_basis_spectral(shapes: np.ndarray) -> np.ndarray:
    """rfft of mean-removed actuator profiles: the forcing is ``a @ basis`` (times max_forcing).

    :param shapes: actuator profiles on the grid, shape (n, N).
    :return: complex128 array (n, N/2 + 1) with column 0 (the mean) equal to zero.
    """
    basis = np.fft.rfft(shapes, axis=-1)
    basis[:, 0] = 0.0
    return basis


def fourier_interpolation_matrix(N: int, L: float, points: np.ndarray) -> np.ndarray:
    """Matrix W with (W @ u)_i the trigonometric interpolant of grid values u at ``points``.

    The Nyquist mode is interpolated by its cosine (real) part, so rows at grid
    points are the unit vectors up to round-off.

    :param N: number of grid points (even).
    :param L: domain length.
    :param points: positions in [0, L), shape (m,).
    :return: float64 array (m, N).
    """
    m = np.arange(N // 2 + 1)
    weights = np.full(m.size, 2.0)
    weights[0] = 1.0
    weights[-1] = 1.0
    # u(x) = (1/N) sum_m w_m Re(v_m exp(i k_m x)),  v = rfft(u) = F u
    phase = np.exp(1j * 2.0 * np.pi / L * np.outer(points, m))  # (p, M)
    dft = np.exp(-2j * np.pi * np.outer(m, np.arange(N)) / N)  # (M, N)
    return np.real((phase * weights) @ dft) / N
