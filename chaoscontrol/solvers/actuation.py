"""Actuator shapes and sensor read-out on the periodic KS grid.

Actuators (Bucci et al. 2019, Proc. R. Soc. A 475, 20190351): n Gaussians

    psi_j(x) = exp(-d(x, x_j)^2 / (2 sigma^2)),   x_j = (2j + 1) L / (2n),

with d the periodic distance and peak 1. The forcing law is

    f(x) = max_forcing * sum_j clip(a_j, -1, 1) (psi_j(x) - <psi_j>),

the mean removed so that the mean of u is conserved. It is written once here, in
two forms of the same arithmetic: :func:`forcing_law` on arrays (NumPy or torch,
grid or spectral basis) and :func:`spectral_forcing_rows` inside the Numba
kernels. Sensors are point values of u at x_i = i L / m, read by
trigonometric (Fourier) interpolation, which is exact at grid points.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numba
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


def mean_free_shapes(shapes: np.ndarray) -> np.ndarray:
    """Actuator profiles with their spatial means removed, (n, N): the grid basis of :func:`forcing_law`."""
    return shapes - shapes.mean(axis=1, keepdims=True)


def forcing_law(actions: Any, basis: Any, max_forcing: float) -> Any:
    """The forcing of ``actions``: ``(max_forcing * clip(a, -1, 1)) @ basis``.

    One function for NumPy arrays and torch tensors (``.clip`` and ``@`` are
    shared), on the grid (``basis`` = :func:`mean_free_shapes`, (n_act, N)) or in
    Fourier space (``basis`` = :func:`forcing_basis_spectral`, (n_act, M)).

    :param actions: actuations, (..., n_act); clipped to [-1, 1].
    :param basis: mean-free actuator profiles, (n_act, ...).
    :param max_forcing: amplitude multiplying the clipped actions.
    :return: forcing fields, (..., N) or (..., M).
    """
    return (max_forcing * actions.clip(-1.0, 1.0)) @ basis


@numba.njit(cache=True)
def spectral_forcing_rows(actions: np.ndarray, basis: np.ndarray, max_forcing: float, fhat_out: np.ndarray) -> None:
    """:func:`forcing_law` in Fourier space inside Numba: ``fhat_out[r] = sum_j max_forcing clip(a_rj) basis_j``.

    :param actions: finite actuations, float64 (R, n_act).
    :param basis: :func:`forcing_basis_spectral`, complex128 (n_act, M).
    :param max_forcing: forcing amplitude.
    :param fhat_out: receives the spectral forcing of each row, complex128 (R, M) (overwritten).
    """
    rows, m_modes = fhat_out.shape
    for r in range(rows):
        for m in range(m_modes):
            fhat_out[r, m] = 0.0
        for j in range(actions.shape[1]):
            aj = max_forcing * min(1.0, max(-1.0, actions[r, j]))
            for m in range(m_modes):
                fhat_out[r, m] += aj * basis[j, m]


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


@numba.njit(cache=True, fastmath={"reassoc", "contract"})
def interpolate_rows(fields: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """``fields @ matrix.T`` for fields (B, N) and an interpolation matrix (m, N): (B, m) float64.

    The off-grid sensor read-out (``matrix`` from :func:`fourier_interpolation_matrix`), in one thread
    and without BLAS: right after a parallel Numba kernel, OpenBLAS's own threads contend with Numba's
    spinning ones on a small machine, and the product of 256 KS-L100 states took 14 ms of a 14 ms
    batched step instead of 0.4 ms (docs/performance.md). Each row is summed in the same order whatever
    B is, so a state reads the same alone or in a batch.
    """
    n_rows, n = fields.shape
    m = matrix.shape[0]
    out = np.empty((n_rows, m))
    for b in range(n_rows):
        for s in range(m):
            acc = 0.0
            for j in range(n):
                acc += fields[b, j] * matrix[s, j]
            out[b, s] = acc
    return out


def resolve_positions(
    name: str, spec: int | Sequence[float], L: float, N: int, evenly_spaced: Callable[[float, int], np.ndarray]
) -> np.ndarray:
    """Positions in [0, L) from a count (``evenly_spaced(L, n)``) or an explicit sequence.

    :param name: the argument's name, for the error message (``"actuators"``, ``"sensors"``).
    :param spec: a count in 1..N, or a 1-D sequence of 1..N positions in [0, L).
    :raises ValueError: naming ``name`` for anything else.
    """
    if isinstance(spec, bool):
        raise ValueError(f"{name} must be a count in 1..N or a sequence of positions in [0, L), got {spec!r}")
    if isinstance(spec, (int, np.integer)):
        if not 1 <= spec <= N:
            raise ValueError(f"{name} must be a count in 1..N={N}, got {spec}")
        return evenly_spaced(float(L), int(spec))
    try:
        pos = np.array(spec, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be a count in 1..N or a sequence of positions in [0, L), got {spec!r}") from exc
    if pos.ndim != 1 or not 1 <= pos.size <= N:
        raise ValueError(f"{name} positions must be a 1-D sequence of 1..N={N} values, got shape {pos.shape}")
    if not np.all(np.isfinite(pos)) or np.any(pos < 0) or np.any(pos >= L):
        raise ValueError(f"{name} positions must lie in [0, L={L}), got {pos.tolist()}")
    return pos


def grid_indices(points: np.ndarray, L: float, N: int) -> np.ndarray | None:
    """Grid indices of ``points`` if they all lie on grid points x_j = j L / N, else None."""
    idx = points * N / L
    rounded = np.rint(idx)
    if np.all(np.abs(idx - rounded) < 1e-9):
        return rounded.astype(np.int64) % N
    return None
