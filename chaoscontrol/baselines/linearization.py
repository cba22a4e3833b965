"""The control-interval map of actuated KS linearised about an equilibrium.

One env step is the map u_{n+1} = F(u_n, a_n) (``frame_skip`` ETDRK4 steps with
the action held constant). About a fixed point u* of the unforced map,
F(u*, 0) = u*, the deviations z = u - u* obey to first order

    z_{n+1} = A z_n + B a_n,    y_n - y* = C z_n,

with A = dF/du, B = dF/da at (u*, 0) and C the sensor read-out (Fourier
interpolation at the sensor positions). The spatial mean of u is conserved
(the forcing has its mean removed), so A has the eigenvalue 1 on the constant
mode, which no actuator can move; the model is therefore written in the
orthonormal real-Fourier basis Phi of zero-mean grid functions (N - 1
coordinates, z = Phi^T (u - u*)), where that mode is absent. A and B are
computed by central differences of the env's own step (the Numba solver, or a
surrogate when the env runs one), so the linear model is the one the
controller will face. ETDRK4 keeps the equilibria of the semi-discrete equation
as exact fixed points, so E1, E2, E3 from
:func:`chaoscontrol.solvers.equilibria.ks_equilibrium` qualify.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from chaoscontrol.solvers.actuation import fourier_interpolation_matrix

#: rms(F(u*, 0) - u*) above which the target is not a fixed point of the map.
FIXED_POINT_TOL = 1e-6


def zero_mean_basis(N: int) -> np.ndarray:
    """Orthonormal real-Fourier basis of the zero-mean grid functions on N points, (N, N - 1).

    Columns: sqrt(2/N) cos(2 pi m j / N), sqrt(2/N) sin(2 pi m j / N) for m = 1 .. N/2 - 1, then the
    Nyquist mode (-1)^j / sqrt(N); ordered by wavenumber, so truncating keeps the large scales.
    """
    if N < 4 or N % 2:
        raise ValueError(f"N must be an even integer >= 4, got {N!r}")
    j = np.arange(N)
    cols = []
    for m in range(1, N // 2):
        cols.append(np.sqrt(2.0 / N) * np.cos(2.0 * np.pi * m * j / N))
        cols.append(np.sqrt(2.0 / N) * np.sin(2.0 * np.pi * m * j / N))
    cols.append((-1.0) ** j / np.sqrt(N))
    return np.stack(cols, axis=1)


@dataclass(frozen=True)
class LinearisedKS:
    """z_{n+1} = A z_n + B a_n, y - y* = C z with z = basis^T (u - u_star)."""

    A: np.ndarray
    """State matrix, (n, n), n = N - 1."""
    B: np.ndarray
    """Input matrix, (n, n_act)."""
    C: np.ndarray
    """Sensor matrix, (n_sens, n)."""
    basis: np.ndarray
    """Orthonormal zero-mean basis, (N, n)."""
    u_star: np.ndarray
    """The equilibrium, (N,)."""
    sensor_matrix: np.ndarray
    """Grid -> sensor readings, (n_sens, N)."""
    fixed_point_residual: float
    """rms(F(u*, 0) - u*)."""

    @property
    def y_star(self) -> np.ndarray:
        """Sensor readings of the equilibrium."""
        return self.sensor_matrix @ self.u_star

    def coordinates(self, u: np.ndarray) -> np.ndarray:
        """z = Phi^T (u - u*) for grid states (..., N)."""
        return (np.asarray(u, dtype=np.float64) - self.u_star) @ self.basis

    def eigenvalues(self) -> np.ndarray:
        """Eigenvalues of A, by decreasing modulus."""
        lam = np.linalg.eigvals(self.A)
        return lam[np.argsort(-np.abs(lam))]


def dynamics_env(template: Any) -> Any:
    """A fresh single KS env with the dynamics of ``template`` (a ``KSControlEnv``), no burn-in, for probing F."""
    from chaoscontrol.envs.ks_control import KSControlEnv

    c = template.config_dict()
    keys = ("L", "N", "dt", "frame_skip", "actuators", "sensors", "actuator_width", "max_forcing", "blowup_threshold", "surrogate")
    return KSControlEnv(**{k: c[k] for k in keys}, burn_in=0.0)


def control_map(env: Any, u: np.ndarray, a: np.ndarray) -> np.ndarray:
    """F(u, a): the state after one env step from ``u`` under action ``a`` (env from :func:`dynamics_env`)."""
    env.reset(options={"u0": u})
    env.step(np.asarray(a, dtype=np.float32) if env.surrogate else np.asarray(a, dtype=np.float64))
    return env.u


def linearise(template: Any, u_star: np.ndarray, eps: float = 1e-5) -> LinearisedKS:
    """Linearise the control-interval map of ``template``'s dynamics about the fixed point ``u_star``.

    :param template: a ``KSControlEnv`` (its L, N, dt, frame_skip, actuators, sensors, width, forcing, surrogate).
    :param u_star: the equilibrium on the grid, (N,).
    :param eps: central-difference step in state and action units.
    :raises ValueError: if ``u_star`` has the wrong shape, is not finite, or is not a fixed point of the
        unforced map (then there is no equilibrium to linearise about).
    """
    n_grid = template.config.N
    u_star = np.asarray(u_star, dtype=np.float64)
    if u_star.shape != (n_grid,) or not np.all(np.isfinite(u_star)):
        raise ValueError(f"target must be a finite array of shape ({n_grid},), got shape {u_star.shape}")
    env = dynamics_env(template)
    n_act = env.action_space.shape[0]
    zero = np.zeros(n_act)
    residual = float(np.sqrt(np.mean((control_map(env, u_star, zero) - u_star) ** 2)))
    tol = FIXED_POINT_TOL if env.surrogate is None else 1e-3
    if not residual <= tol:
        raise ValueError(
            f"target is not an equilibrium of the unforced dynamics: one control interval moves it by rms {residual:.3g} "
            f"(> {tol:g}); LQR/LQG linearise about a fixed point (use 'E1', 'E2', 'E3' or a Newton solution)"
        )
    basis = zero_mean_basis(n_grid)
    n = basis.shape[1]
    A = np.empty((n, n))
    for i in range(n):
        up = control_map(env, u_star + eps * basis[:, i], zero)
        down = control_map(env, u_star - eps * basis[:, i], zero)
        A[:, i] = (up - down) @ basis / (2.0 * eps)
    B = np.empty((n, n_act))
    for j in range(n_act):
        e = np.zeros(n_act)
        e[j] = eps
        B[:, j] = (control_map(env, u_star, e) - control_map(env, u_star, -e)) @ basis / (2.0 * eps)
    S = fourier_interpolation_matrix(n_grid, template.config.L, template.sensor_positions)
    return LinearisedKS(A=A, B=B, C=S @ basis, basis=basis, u_star=u_star.copy(), sensor_matrix=S,
                        fixed_point_residual=residual)


def resolve_equilibrium(template: Any, target: str | np.ndarray | None) -> np.ndarray:
    """The equilibrium a baseline works about: ``target`` if given, else the env's target, else E1.

    For the dissipation objective E1 (the lowest-dissipation equilibrium) is the natural set point.
    """
    from chaoscontrol.solvers.equilibria import ks_equilibrium

    if target is None:
        if template.target is not None:
            return np.asarray(template.target, dtype=np.float64)
        target = "E1"
    if isinstance(target, str):
        return ks_equilibrium(target, template.config.L, template.config.N)
    return np.asarray(target, dtype=np.float64)


def uncontrollable_modes(A: np.ndarray, B: np.ndarray, radius: float = 1.0, tol: float = 1e-7) -> list[complex]:
    """Eigenvalues of A with modulus >= ``radius`` that B cannot reach (PBH test: rank [A - lambda I, B] < n).

    An empty list means (A, B) is stabilisable. Applied to (A^T, C^T) it lists the unstable modes that the
    sensors do not see (detectability).
    """
    n = A.shape[0]
    out = []
    scale = max(1.0, float(np.linalg.norm(A, 2)), float(np.linalg.norm(B, 2)))
    for lam in np.linalg.eigvals(A):
        if abs(lam) < radius - 1e-9:
            continue
        s = np.linalg.svd(np.hstack([A - lam * np.eye(n), B]), compute_uv=False)
        if s[n - 1] < tol * scale:
            out.append(complex(lam))
    return out


def spectral_radius(M: np.ndarray) -> float:
    """max |eigenvalue| of a square matrix."""
    return float(np.max(np.abs(np.linalg.eigvals(M)))) if M.size else 0.0


__all__ = [
    "FIXED_POINT_TOL",
    "LinearisedKS",
    "control_map",
    "dynamics_env",
    "linearise",
    "resolve_equilibrium",
    "spectral_radius",
    "uncontrollable_modes",
    "zero_mean_basis",
]
