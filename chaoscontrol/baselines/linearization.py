r"""The control-interval map of any :class:`~chaoscontrol.solvers.dynamics.Dynamics`, linearised about its target.

One env step is the map u_{n+1} = F(u_n, a_n) on the flattened physical field (``dynamics.field_shape``),
the action held over the interval. About a fixed point u* of the unforced map, F(u*, 0) = u*, the deviations
z = Phi^T (u - u*) obey to first order

    z_{n+1} = A z_n + B a_n,    y_n - y* = C z_n,

with A = Phi^T J_u Phi, B = Phi^T J_a, C = S Phi, J_u = dF/du and J_a = dF/da at (u*, 0) by central differences
of the dynamics' own ``advance`` (the Numba solver, or a surrogate when the env runs one: the model the
controller will face), all 2 n_field + 2 n_act probes in one batched call, and S the sensor matrix of the
env's observer (:func:`sensor_matrix`). About a relative equilibrium (F(u*, 0) = R_theta u* for a phase
symmetry R) the same is done in the co-rotating frame, A = Phi^T P R_{-theta} J_u Phi
(:mod:`chaoscontrol.baselines.phase_frame`).

Phi is an orthonormal basis of the directions kept: the complement of

- the *conserved, unactuated* directions: linear functionals w with w^T J_u = w^T and w^T J_a = 0, the left
  null space of [J_u - I, J_a] (the PBH test at lambda = 1; Hautus 1969), found by an SVD. w^T (u - u*) is
  then invariant under the linearised map for any action, so it stays at its initial value and no controller
  can move it; keeping it would leave an uncontrollable eigenvalue 1 (KS: the spatial mean, conserved because the
  forcing has its mean removed; a unit eigenvalue of a Jordan block with the Galilean mode, so an eigenvector
  test would be ill-conditioned, while the left null space is well separated);
- in the co-rotating frame, the phase of the sensors (the slice).

ETDRK4 keeps the equilibria of the semi-discrete KS equation as exact fixed points, so E1, E2, E3 of
:func:`chaoscontrol.solvers.equilibria.ks_equilibrium` qualify; so do C+-, the origin of Lorenz-63 and x_i = F of
Lorenz-96 (RK4 has the ODE's fixed points), and CGLE's uniform oscillation as a relative equilibrium.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from chaoscontrol.baselines.control_map import control_map
from chaoscontrol.baselines.phase_frame import (
    PhaseFrame,
    best_rotation,
    generator,
    phase_gradient,
    phase_of,
    rotation_matrix,
)

#: rms(F(u*, 0) - u*) above which the target is not a fixed point of the map (surrogates: SURROGATE_FIXED_POINT_TOL).
FIXED_POINT_TOL = 1e-6
SURROGATE_FIXED_POINT_TOL = 1e-3
#: Singular values of [J_u - I, J_a]^T below this (relative to its norm) mark conserved, unactuated directions.
CONSERVED_TOL = 1e-6


def zero_mean_basis(N: int) -> np.ndarray:
    """Orthonormal real-Fourier basis of the zero-mean grid functions on N points, (N, N - 1).

    Columns: sqrt(2/N) cos(2 pi m j / N), sqrt(2/N) sin(2 pi m j / N) for m = 1 .. N/2 - 1, then the
    Nyquist mode (-1)^j / sqrt(N); ordered by wavenumber, so truncating keeps the large scales.

    :param N: grid points, even, >= 4.
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
class LinearModel:
    """z_{n+1} = A z_n + B a_n, y - y* = C z, z = basis^T (u - u_star) on flattened fields (module docstring)."""

    A: np.ndarray
    """State matrix, (n, n)."""
    B: np.ndarray
    """Input matrix, (n, n_act)."""
    C: np.ndarray
    """Sensor matrix in the coordinates z, (n_obs, n)."""
    basis: np.ndarray
    """Orthonormal basis Phi of the kept directions, (n_field, n)."""
    u_star: np.ndarray
    """The target, flattened field (n_field,)."""
    sensor_matrix: np.ndarray
    """Flattened field -> observation, (n_obs, n_field)."""
    fixed_point_residual: float
    """rms(F(u*, 0) - u*) (relative equilibrium: rms(F(u*, 0) - R_theta u*))."""
    removed: np.ndarray
    """The conserved, unactuated directions taken out, orthonormal columns (n_field, k)."""
    frame: PhaseFrame | None = None
    """The co-rotating frame of a relative equilibrium, or None for a fixed point."""

    @property
    def y_star(self) -> np.ndarray:
        """Sensor readings of the target."""
        return self.sensor_matrix @ self.u_star

    def coordinates(self, u: np.ndarray) -> np.ndarray:
        """z = Phi^T (u - u*) for flattened fields (..., n_field).

        :param u: the fields.
        """
        return (np.asarray(u, dtype=np.float64) - self.u_star) @ self.basis

    def eigenvalues(self) -> np.ndarray:
        """Eigenvalues of A, by decreasing modulus."""
        lam = np.linalg.eigvals(self.A)
        return lam[np.argsort(-np.abs(lam))]

    def with_sensor_rows(self, rows: np.ndarray) -> LinearModel:
        """The same model reading only the observation rows ``rows`` (a sensor subset).

        :param rows: indices into the env's observation.
        """
        from dataclasses import replace

        frame = None if self.frame is None else self.frame.subset(rows, self.sensor_matrix.shape[0])
        return replace(self, C=self.C[rows], sensor_matrix=self.sensor_matrix[rows], frame=frame)


def jacobians(dynamics: Any, u_star: np.ndarray, eps: float = 1e-5) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(F(u*, 0), J_u, J_a) by central differences, every probe in one batch of 2 n_field + 2 n_act + 1 rows.

    J_u[:, i] = (F(u* + eps e_i, 0) - F(u* - eps e_i, 0)) / (2 eps), J_a likewise over the actions.

    :param dynamics: the dynamics.
    :param u_star: the flattened field about which to differentiate, (n_field,).
    :param eps: the difference step, in field and action units.
    """
    n, m = u_star.size, int(dynamics.n_actions)
    steps = np.concatenate([np.eye(n), -np.eye(n)]) * eps
    fields = np.concatenate([u_star + steps, np.repeat(u_star[None], 2 * m + 1, axis=0)])
    actions = np.zeros((2 * n + 2 * m + 1, m))
    actions[2 * n : 2 * n + m] = eps * np.eye(m)
    actions[2 * n + m : 2 * n + 2 * m] = -eps * np.eye(m)
    out = control_map(dynamics, fields.reshape(-1, *dynamics.field_shape), actions).reshape(fields.shape[0], n)
    J_u = (out[:n] - out[n : 2 * n]).T / (2.0 * eps)
    J_a = (out[2 * n : 2 * n + m] - out[2 * n + m : 2 * n + 2 * m]).T / (2.0 * eps)
    return out[-1], J_u, J_a


def conserved_directions(J_u: np.ndarray, J_a: np.ndarray, tol: float = CONSERVED_TOL) -> np.ndarray:
    """Orthonormal w (n, k) with w^T J_u = w^T and w^T J_a = 0 to ``tol``: the left null space of [J_u - I, J_a].

    :param J_u: state Jacobian (n, n).
    :param J_a: input Jacobian (n, m).
    :param tol: relative threshold on the singular values.
    """
    M = np.hstack([J_u - np.eye(J_u.shape[0]), J_a])
    U, s, _ = np.linalg.svd(M, full_matrices=True)
    s = np.concatenate([s, np.zeros(U.shape[0] - s.size)])
    return U[:, s < tol * max(1.0, float(s.max()) if s.size else 1.0)]


def complement_basis(W: np.ndarray, n: int) -> np.ndarray:
    """An orthonormal basis (n, n - k) of the orthogonal complement of the columns of ``W`` (n, k); I for k = 0."""
    if W.shape[1] == 0:
        return np.eye(n)
    U, _, _ = np.linalg.svd(W, full_matrices=True)
    return U[:, W.shape[1] :]


def sensor_matrix(template: Any) -> np.ndarray:
    """The env's observer as a matrix S (n_obs, n_field): y = S u, from the observer applied to h e_i.

    Every observer of the suite is linear in the field (sampling, Fourier interpolation, Re/Im parts), so its
    matrix is obtained exactly up to the float32 rounding of the observations (relative 6e-8), with h the
    largest step that the observation bound (``blowup_threshold``) cannot clip.

    :param template: a ``ControlEnv``.
    :raises ValueError: if the observer is not linear (S u differs from obs(u) at a test field).
    """
    d = template.dynamics
    n = int(np.prod(d.field_shape))
    h = min(1.0, 0.1 * float(template.blowup_threshold))
    probes = np.concatenate([h * np.eye(n), np.zeros((1, n))])
    obs = template.observer(probes.reshape(n + 1, *d.field_shape), False).astype(np.float64)
    S = (obs[:n] - obs[n]).T / h
    test = np.random.default_rng(0).uniform(-h, h, n)
    expected = template.observer(test.reshape(1, *d.field_shape), False).astype(np.float64)[0]
    if not np.allclose(S @ test + obs[n], expected, rtol=1e-5, atol=1e-5 * h):
        raise ValueError("the env's observer is not linear in the field: LQR/LQG need a linear sensor model")
    return S


def linearise(template: Any, u_star: np.ndarray, eps: float = 1e-5, relative: bool = False) -> LinearModel:
    """Linearise ``template``'s control-interval map about the target ``u_star`` (module docstring).

    :param template: a ``ControlEnv`` (its ``dynamics``, ``observer`` and ``blowup_threshold``).
    :param u_star: the target field, ``dynamics.field_shape`` (or flattened).
    :param eps: central-difference step in field and action units.
    :param relative: linearise about a relative equilibrium in the co-rotating frame
        (:mod:`chaoscontrol.baselines.phase_frame`; the system must be phase-equivariant).
    :raises ValueError: if ``u_star`` has the wrong shape, is not finite, or is not a fixed point (relative
        equilibrium) of the unforced map (then there is nothing to linearise about).
    """
    d = template.dynamics
    shape = tuple(d.field_shape)
    n = int(np.prod(shape))
    u_star = np.asarray(u_star, dtype=np.float64)
    if u_star.shape not in (shape, (n,)) or not np.all(np.isfinite(u_star)):
        raise ValueError(f"target must be a finite array of shape {shape}, got shape {u_star.shape}")
    u_star = u_star.reshape(n).copy()
    image, J_u, J_a = jacobians(d, u_star, eps)
    S = sensor_matrix(template)
    tol = FIXED_POINT_TOL if getattr(template, "surrogate", None) is None else SURROGATE_FIXED_POINT_TOL
    frame = None
    if relative:
        theta = best_rotation(u_star, image)
        rot = rotation_matrix(n, -theta)
        image, J_u, J_a = rot @ image, rot @ J_u, rot @ J_a
        y_star = S @ u_star
        frame = PhaseFrame(theta=theta, phase_star=float(phase_of(y_star)))
    residual = float(np.sqrt(np.mean((image - u_star) ** 2)))
    if not residual <= tol:
        kind = "a relative equilibrium (up to a phase rotation)" if relative else "an equilibrium"
        raise ValueError(
            f"target is not {kind} of the unforced dynamics: one control interval moves it by rms {residual:.3g} "
            f"(> {tol:g}); LQR/LQG linearise about a fixed point (a named target of the env, or a Newton solution)"
        )
    W = conserved_directions(J_u, J_a)
    if frame is None:
        basis = complement_basis(W, n)
        A, B = basis.T @ J_u @ basis, basis.T @ J_a
    else:
        w = phase_gradient(S @ u_star) @ S  # dphi/du at u*
        t = generator(u_star)
        P = np.eye(n) - np.outer(t, w) / (w @ t)
        keep = np.hstack([W, w[:, None] / np.linalg.norm(w)])
        basis = complement_basis(np.linalg.qr(keep)[0], n)
        A, B = basis.T @ P @ J_u @ basis, basis.T @ P @ J_a
    return LinearModel(A=A, B=B, C=S @ basis, basis=basis, u_star=u_star, sensor_matrix=S,
                       fixed_point_residual=residual, removed=W, frame=frame)


def uncontrollable_modes(A: np.ndarray, B: np.ndarray, radius: float = 1.0, tol: float = 1e-7) -> list[complex]:
    """Eigenvalues of A with modulus >= ``radius`` that B cannot reach (PBH test: rank [A - lambda I, B] < n).

    An empty list means (A, B) is stabilisable. Applied to (A^T, C^T) it lists the unstable modes that the
    sensors do not see (detectability).

    :param A: state matrix (n, n).
    :param B: input matrix (n, m).
    :param radius: modes with |lambda| >= radius count as unstable.
    :param tol: relative rank threshold.
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
    """max |eigenvalue| of a square matrix (0 for an empty one).

    :param M: the matrix.
    """
    return float(np.max(np.abs(np.linalg.eigvals(M)))) if M.size else 0.0


__all__ = [
    "CONSERVED_TOL",
    "FIXED_POINT_TOL",
    "LinearModel",
    "complement_basis",
    "conserved_directions",
    "jacobians",
    "linearise",
    "sensor_matrix",
    "spectral_radius",
    "uncontrollable_modes",
    "zero_mean_basis",
]
