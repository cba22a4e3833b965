r"""2-D Kolmogorov flow: incompressible Navier-Stokes in vorticity form by Fourier pseudo-spectral ETDRK4.

.. math::

    \omega_t + \mathbf u \cdot \nabla \omega = \frac{1}{Re} \nabla^2 \omega - \alpha\, \omega
        - \chi\, n \cos(n y) + f_a(x, y, t),
    \qquad \mathbf u = (\psi_y, -\psi_x), \quad \nabla^2 \psi = -\omega,

on the 2 pi-periodic square [0, 2 pi)^2: the curl of the momentum equation with
the Kolmogorov body force chi sin(n y) e_x (vorticity forcing -chi n cos(n y)),
as in Chandler & Kerswell (2013, J. Fluid Mech. 722, 554: chi = 1, domain
2 pi, Re = 1/nu), with an optional linear drag alpha (Rayleigh friction) and
the actuation f_a (:mod:`chaoscontrol.solvers.kolmogorov_control`). Defaults
n = 4, Re = 40 (chaotic). The laminar flow

.. math:: \mathbf u_L = \frac{\chi}{n^2/Re + \alpha} \sin(n y)\, \mathbf e_x, \qquad
          \omega_L = -\frac{\chi\, n}{n^2/Re + \alpha} \cos(n y)

(u_L = (Re / n^2) sin(n y), omega_L = -(Re / n) cos(n y) at alpha = 0, chi = 1)
is an exact steady solution (u . grad omega vanishes for a unidirectional flow)
and is linearly unstable at the defaults
(:mod:`chaoscontrol.solvers.kolmogorov_stability`).

Discretisation: N x N equispaced points, x_i = 2 pi i / N, y_j = 2 pi j / N;
a field is stored as ``w[j, i] = omega(x_i, y_j)`` (axis 0 is y, axis 1 is x).
Spectral states are numpy's unnormalised ``rfft2`` over (y, x): shape
(N, M), M = N/2 + 1, integer wavenumbers k_y in FFT order along axis 0 and
k_x = 0..N/2 along axis 1. In Fourier space, with |k|^2 = k_x^2 + k_y^2,

.. math::

    \hat\omega_t = \lambda_k \hat\omega + N(\hat\omega), \qquad
    \lambda_k = -|k|^2 / Re - \alpha, \qquad
    N(\hat\omega) = -P\, \widehat{(\psi_y \omega_x - \psi_x \omega_y)} + \hat f,
    \qquad \hat\psi = \hat\omega / |k|^2 \; (\hat\psi_0 = 0),

the advection evaluated on the grid from four inverse transforms (u, v,
omega_x, omega_y) and one forward transform, P the 2/3-rule de-aliasing
projection (Orszag 1971, J. Atmos. Sci. 28, 1074): modes with
max(|k_x|, |k_y|) > K = (N - 1) // 3 are set to zero, so that 3 K < N and the
quadratic product is exact on the kept modes (the semi-discrete system
conserves the energy and enstrophy of the advection exactly, which the energy
budget test relies on). States are kept de-aliased (:func:`dealias`). The
mean vorticity (k = 0) is zero and stays zero (every forcing is mean-free).

Time stepping: ETDRK4 of Cox & Matthews (2002, J. Comput. Phys. 176, 430)
with the diagonal linear operator lambda_k and the Kassam & Trefethen (2005)
contour weights (:mod:`chaoscontrol.solvers.etdrk4`), computed once per
:class:`KolmogorovConfig` by :func:`kolmogorov_coefficients`. The forcing is
in N, so with f held constant over a control interval the scheme stays fourth
order; a steady state of constant N (the laminar flow) and a single Laplacian
eigenfunction (N = 0) are advanced exactly. The default step dt = 0.02 at
N = 64 (dt = 0.01 at N = 128) is justified in ``docs/systems.md``: advective
stability needs |u|_max K dt below ~2.8 (RK4's imaginary-axis bound).

Two implementations of the same scheme live here:

- :func:`kolmogorov_etdrk4_steps_rows` (a block of states; 2-D FFTs inside
  Numba through rocket-fft, one transform call per stage for the whole block);
- :func:`kolmogorov_etdrk4_step_reference`: plain NumPy (``numpy.fft.rfft2``),
  the readable reference the tests compare the kernel against.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numba
import numpy as np
from rocket_fft import c2r, r2c

from chaoscontrol.solvers.etdrk4 import (
    N_ROWS,
    etdrk4_coefficients,
    etdrk4_stage_rows,
    etdrk4_step_reference,
    etdrk4_third_stage_rows,
    etdrk4_update_rows,
)
from chaoscontrol.validation import check_int, check_non_negative, check_positive, is_int, is_real

#: Rows of the packed spectral operators (:func:`kolmogorov_operators`): k_x, k_y, 1/|k|^2 (0 at k = 0), the mask.
OP_KX, OP_KY, OP_INV_K2, OP_MASK = range(4)
#: Largest grid accepted (memory and time of one step grow as N^2 log N).
MAX_N = 512
#: Smallest time step accepted (a smaller one only makes a burn-in or an interval take forever).
MIN_DT = 1e-4


def default_dt(N: int) -> float:
    """The default step at N x N points: 0.02 at N = 64, scaled as 1/N (the advective CFL bound), at most 0.02."""
    return min(0.02, 0.02 * 64 / N)


@dataclass(frozen=True)
class KolmogorovConfig:
    """Parameters, grid and time step of a Kolmogorov-flow simulation on [0, 2 pi)^2.

    The default is Chandler & Kerswell's (2013) n = 4, Re = 40 (chaotic) on a
    64 x 64 grid with dt = 0.02.
    """

    Re: float = 40.0
    """Reynolds number 1/nu; > 0."""
    n: int = 4
    """Forcing wavenumber: vorticity forcing -chi n cos(n y); >= 1 and resolved (n <= (N - 1) // 3)."""
    alpha: float = 0.0
    """Linear drag (Rayleigh friction) coefficient; >= 0."""
    chi: float = 1.0
    """Amplitude of the Kolmogorov body force chi sin(n y) e_x; finite (0: unforced)."""
    N: int = 64
    """Grid points per direction; even, 8..512."""
    dt: float | None = None
    """Solver time step in [1e-4, 1]; None: :func:`default_dt` of N."""
    n_contour: int = field(default=32, repr=False)
    """Points of the Kassam-Trefethen contour integral for the ETDRK4 weights."""

    def __post_init__(self) -> None:
        check_positive("Re", self.Re)
        check_non_negative("alpha", self.alpha)
        if not (is_real(self.chi) and math.isfinite(self.chi)):
            raise ValueError(f"chi must be a finite real number, got {self.chi!r}")
        if not is_int(self.N) or not 8 <= self.N <= MAX_N or self.N % 2:
            raise ValueError(f"N must be an even integer in [8, {MAX_N}], got {self.N!r}")
        if not is_int(self.n) or not 1 <= self.n <= (self.N - 1) // 3:
            raise ValueError(f"n must be an integer in [1, {(self.N - 1) // 3}] (resolved on N={self.N}), got {self.n!r}")
        if self.dt is None:
            object.__setattr__(self, "dt", default_dt(self.N))
        if not (is_real(self.dt) and math.isfinite(self.dt) and MIN_DT <= self.dt <= 1.0):
            raise ValueError(f"dt must be a time step in [{MIN_DT:g}, 1], got {self.dt!r}")
        check_int("n_contour", self.n_contour, minimum=8)

    @property
    def nu(self) -> float:
        """Kinematic viscosity 1/Re."""
        return 1.0 / self.Re

    @property
    def n_modes(self) -> int:
        """rfft modes along x, N/2 + 1."""
        return self.N // 2 + 1

    @property
    def x(self) -> np.ndarray:
        """Grid coordinates 2 pi i / N, i = 0..N-1 (the same along y)."""
        return 2.0 * np.pi * np.arange(self.N) / self.N

    @property
    def kmax(self) -> int:
        """Largest kept wavenumber of the 2/3 rule, K = (N - 1) // 3."""
        return (self.N - 1) // 3


def wavenumbers(config: KolmogorovConfig) -> tuple[np.ndarray, np.ndarray]:
    """Integer wavenumbers (k_x, k_y) of the rfft2 modes, each float64 (N, M) (k_y in FFT order along axis 0)."""
    kx = np.arange(config.n_modes, dtype=np.float64)
    ky = np.fft.fftfreq(config.N, 1.0 / config.N)
    return np.broadcast_to(kx, (config.N, config.n_modes)).copy(), np.broadcast_to(ky[:, None], (config.N, config.n_modes)).copy()


def kolmogorov_linear_rates(config: KolmogorovConfig) -> np.ndarray:
    """lambda_k = -|k|^2 / Re - alpha of the rfft2 modes, float64 (N, M)."""
    kx, ky = wavenumbers(config)
    return -(kx**2 + ky**2) / config.Re - config.alpha


def kolmogorov_operators(config: KolmogorovConfig) -> np.ndarray:
    """Packed spectral operators, float64 (4, N, M): rows :data:`OP_KX`, :data:`OP_KY`, :data:`OP_INV_K2`,
    :data:`OP_MASK` (1 on the kept modes of the 2/3 rule, else 0); read-only."""
    kx, ky = wavenumbers(config)
    k2 = kx**2 + ky**2
    ops = np.empty((4, config.N, config.n_modes))
    ops[OP_KX], ops[OP_KY] = kx, ky
    ops[OP_INV_K2] = np.divide(1.0, k2, out=np.zeros_like(k2), where=k2 > 0)
    ops[OP_MASK] = (np.abs(kx) <= config.kmax) & (np.abs(ky) <= config.kmax)
    ops.setflags(write=False)
    return ops


def kolmogorov_coefficients(config: KolmogorovConfig) -> np.ndarray:
    """ETDRK4 weights E, E2, Q, f1, f2, f3 of :func:`kolmogorov_linear_rates`, float64 (6, N, M), read-only."""
    rates = kolmogorov_linear_rates(config)
    coeffs = etdrk4_coefficients(rates.ravel(), config.dt, config.n_contour).reshape(N_ROWS, *rates.shape)
    coeffs.setflags(write=False)
    return coeffs


def to_spectral(w: np.ndarray) -> np.ndarray:
    """rfft2 over the last two axes (y, x) (numpy's unnormalised convention)."""
    return np.fft.rfft2(w, axes=(-2, -1))


def to_physical(v: np.ndarray) -> np.ndarray:
    """Inverse rfft2 onto the N x N grid (N = 2 (M - 1))."""
    n = 2 * (v.shape[-1] - 1)
    return np.fft.irfft2(v, s=(n, n), axes=(-2, -1))


def dealias(v: np.ndarray, config: KolmogorovConfig) -> np.ndarray:
    """``v`` (..., N, M) with the modes outside the 2/3 rule (and the mean) set to zero (a new array)."""
    out = v * kolmogorov_operators(config)[OP_MASK]
    out[..., 0, 0] = 0.0
    return out


def kolmogorov_forcing(config: KolmogorovConfig) -> np.ndarray:
    """The vorticity forcing -chi n cos(n y) on the grid, float64 (N, N) (constant along x)."""
    y = config.x
    return np.broadcast_to(-config.chi * config.n * np.cos(config.n * y)[:, None], (config.N, config.N)).copy()


def laminar_vorticity(config: KolmogorovConfig) -> np.ndarray:
    """The laminar steady state omega_L = -chi n cos(n y) / (n^2 / Re + alpha) on the grid, float64 (N, N)."""
    return kolmogorov_forcing(config) / (config.n**2 / config.Re + config.alpha)


def streamfunction_velocity(w: np.ndarray, config: KolmogorovConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """psi, u = psi_y, v = -psi_x of vorticity fields (..., N, N) on the grid (spectral, NumPy).

    :return: three float64 arrays of the shape of ``w``.
    """
    ops = kolmogorov_operators(config)
    psi_hat = to_spectral(w) * ops[OP_INV_K2]
    return (to_physical(psi_hat), to_physical(1j * ops[OP_KY] * psi_hat), to_physical(-1j * ops[OP_KX] * psi_hat))


# --------------------------------------------------------------------------- kernels
#
# The scheme is written once, for a block of R states (R, N, M): ``kolmogorov_etdrk4_steps_rows``.
# A block transforms all its rows in one 2-D FFT call per transform; a state gives the same
# bits alone (a block of one row) or in a larger block (tests/solvers/test_kolmogorov_solver.py).


@numba.njit(cache=True)
def _nonlinear_rows(
    w: np.ndarray, fhat: np.ndarray, ops: np.ndarray, spec: np.ndarray, grid: np.ndarray, out: np.ndarray,
    axes: np.ndarray,
) -> None:
    """out = -P FFT(psi_y omega_x - psi_x omega_y) + fhat of a block w (R, N, M).

    ``spec`` (R, N, M) complex and ``grid`` (4, R, N, N) float are workspace.
    """
    rows, n, m_modes = w.shape
    kx, ky, inv_k2, mask = ops[0], ops[1], ops[2], ops[3]
    scale = 1.0 / (n * n)
    for q in range(4):  # u = psi_y, v = -psi_x, omega_x, omega_y: i k_y psi, -i k_x psi, i k_x w, i k_y w
        for r in range(rows):
            for j in range(n):
                for m in range(m_modes):
                    z = w[r, j, m]
                    if q == 0:
                        c = ky[j, m] * inv_k2[j, m]
                    elif q == 1:
                        c = -kx[j, m] * inv_k2[j, m]
                    elif q == 2:
                        c = kx[j, m]
                    else:
                        c = ky[j, m]
                    spec[r, j, m] = complex(-c * z.imag, c * z.real)
        c2r(spec, grid[q], axes, False, scale, 1)
    gu, gv, gx, gy = grid[0], grid[1], grid[2], grid[3]
    for r in range(rows):
        for j in range(n):
            for i in range(n):
                gu[r, j, i] = -(gu[r, j, i] * gx[r, j, i] + gv[r, j, i] * gy[r, j, i])
    r2c(gu, out, axes, True, 1.0, 1)
    for r in range(rows):
        for j in range(n):
            for m in range(m_modes):
                out[r, j, m] = out[r, j, m] * mask[j, m] + fhat[r, j, m]


@numba.njit(cache=True)
def kolmogorov_etdrk4_steps_rows(w: np.ndarray, fhat: np.ndarray, coeffs: np.ndarray, ops: np.ndarray,
                                 n_steps: int) -> None:
    """Advance a block of spectral vorticity states by ``n_steps`` ETDRK4 steps, in place (the scheme).

    ETDRK4 of Cox & Matthews (2002), see :mod:`chaoscontrol.solvers.etdrk4`, with
    N(w) = -P FFT(u . grad omega) + fhat (module docstring).

    :param w: complex128 rfft2 coefficients of omega, (R, N, M), de-aliased; overwritten.
    :param fhat: complex128 rfft2 of the whole vorticity forcing of each row (Kolmogorov + actuation; held
        constant), (R, N, M), zero mean and de-aliased.
    :param coeffs: :func:`kolmogorov_coefficients`, float64 (6, N, M).
    :param ops: :func:`kolmogorov_operators`, float64 (4, N, M).
    :param n_steps: number of solver steps.
    """
    rows, n, m_modes = w.shape
    size = n * m_modes
    flat = coeffs.reshape(coeffs.shape[0], size)
    e, e2, q, f1, f2, f3 = flat[0], flat[1], flat[2], flat[3], flat[4], flat[5]
    axes = np.array([1, 2], dtype=np.int64)
    grid = np.empty((4, rows, n, n), dtype=np.float64)
    work = np.empty((8, rows, n, m_modes), dtype=np.complex128)  # spectral scratch, N(v), N(a), N(b), N(c), a, b, c
    spec = work[0]
    v = w.reshape(rows, size)
    nv, na, nb, nc = (work[1].reshape(rows, size), work[2].reshape(rows, size), work[3].reshape(rows, size),
                      work[4].reshape(rows, size))
    a3, b3, c3 = work[5], work[6], work[7]
    a, b, c = a3.reshape(rows, size), b3.reshape(rows, size), c3.reshape(rows, size)
    for _ in range(n_steps):
        _nonlinear_rows(w, fhat, ops, spec, grid, work[1], axes)
        etdrk4_stage_rows(a, v, nv, e2, q)
        _nonlinear_rows(a3, fhat, ops, spec, grid, work[2], axes)
        etdrk4_stage_rows(b, v, na, e2, q)
        _nonlinear_rows(b3, fhat, ops, spec, grid, work[3], axes)
        etdrk4_third_stage_rows(c, a, nv, nb, e2, q)
        _nonlinear_rows(c3, fhat, ops, spec, grid, work[4], axes)
        etdrk4_update_rows(v, nv, na, nb, nc, e, f1, f2, f3)


@numba.njit(cache=True)
def kolmogorov_grid_rows(w: np.ndarray, grid_out: np.ndarray) -> None:
    """The vorticity on the grid of a block of spectral states: ``grid_out`` (R, N, N) = irfft2(w (R, N, M))."""
    n = grid_out.shape[1]
    spec = w.copy()  # the multi-axis inverse transform may use its input as scratch
    c2r(spec, grid_out, np.array([1, 2], dtype=np.int64), False, 1.0 / (n * n), 1)


# --------------------------------------------------------------------------- reference


def kolmogorov_etdrk4_step_reference(w: np.ndarray, fhat: np.ndarray, coeffs: np.ndarray,
                                     config: KolmogorovConfig) -> np.ndarray:
    """One ETDRK4 step of the forced vorticity equation in plain NumPy (the readable reference).

    :param w: rfft2 coefficients of omega, (..., N, M).
    :param fhat: rfft2 of the whole vorticity forcing, broadcastable to ``w``.
    :param coeffs: :func:`kolmogorov_coefficients`, (6, N, M).
    :param config: the configuration (for the operators).
    :return: the new spectral state (a new array).
    """
    ops = kolmogorov_operators(config)
    kx, ky, inv_k2, mask = ops

    def nonlinear(v: np.ndarray) -> np.ndarray:
        psi = v * inv_k2
        u, vel_y = to_physical(1j * ky * psi), to_physical(-1j * kx * psi)
        wx, wy = to_physical(1j * kx * v), to_physical(1j * ky * v)
        return -mask * to_spectral(u * wx + vel_y * wy) + fhat

    return etdrk4_step_reference(w, nonlinear, coeffs)


__all__ = [
    "KolmogorovConfig",
    "MAX_N",
    "MIN_DT",
    "OP_INV_K2",
    "OP_KX",
    "OP_KY",
    "OP_MASK",
    "dealias",
    "default_dt",
    "kolmogorov_coefficients",
    "kolmogorov_etdrk4_step_reference",
    "kolmogorov_etdrk4_steps_rows",
    "kolmogorov_forcing",
    "kolmogorov_grid_rows",
    "kolmogorov_linear_rates",
    "kolmogorov_operators",
    "laminar_vorticity",
    "streamfunction_velocity",
    "to_physical",
    "to_spectral",
    "wavenumbers",
]
