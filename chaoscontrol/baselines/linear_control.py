"""LQR and LQG controllers of KS about an equilibrium.

LQR (e.g. Anderson & Moore, *Optimal Control: Linear Quadratic Methods*, 1990): for
z_{n+1} = A z_n + B a_n (:mod:`chaoscontrol.baselines.linearization`), the feedback
a_n = -K z_n minimising sum_n z_n^T Q z_n + a_n^T R a_n is

    K = (R + B^T P B)^{-1} B^T P A,   P = A^T P A - A^T P B (R + B^T P B)^{-1} B^T P A + Q,

the discrete algebraic Riccati equation (``scipy.linalg.solve_discrete_are``).
Q = I in the orthonormal coordinates z, so z^T Q z = |u - u*|^2 on the grid.

LQG: the same gain on the estimate of a steady-state Kalman filter that sees only
the sensors, y_n = C z_n + v_n, with process noise covariance W = w I and sensor
noise covariance V = v I:

    predict  z^-_n = A z_{n-1} + B a_{n-1},
    update   z_n = z^-_n + M (y_n - y* - C z^-_n),   M = P C^T (C P C^T + V)^{-1},

P the solution of the dual Riccati equation. Both are local controllers: the
actions are clipped to [-1, 1], and far from u* the linear model is wrong, so
from chaotic states they need another controller to bring the state near u*
first (:func:`chaoscontrol.baselines.basin.basin_of_attraction` measures how near).
"""

from __future__ import annotations

from dataclasses import dataclass
import numpy as np

from chaoscontrol.baselines.linearization import LinearisedKS, spectral_radius, uncontrollable_modes


@dataclass(frozen=True)
class LQRDesign:
    """The gain of an LQR design and its closed loop."""

    K: np.ndarray
    """Feedback gain (n_act, n): a = -K z."""
    P: np.ndarray
    """Riccati solution (n, n)."""
    open_loop_radius: float
    """Spectral radius of A."""
    closed_loop_radius: float
    """Spectral radius of A - B K (< 1: the linearised closed loop is stable)."""


def dlqr(A: np.ndarray, B: np.ndarray, Q: np.ndarray, R: np.ndarray) -> LQRDesign:
    """Discrete-time LQR gain by the algebraic Riccati equation.

    :raises ValueError: if an unstable mode of A is not controllable (no stabilising gain exists), or the
        Riccati solver fails.
    """
    from scipy.linalg import solve_discrete_are

    bad = uncontrollable_modes(A, B)
    if bad:
        raise ValueError(
            f"the actuators cannot stabilise this equilibrium: unstable eigenvalue(s) "
            f"{', '.join(f'{lam:.4g}' for lam in bad[:4])} of the linearised map are not controllable from the actuators"
        )
    try:
        P = solve_discrete_are(A, B, Q, R)
    except (np.linalg.LinAlgError, ValueError) as exc:
        raise ValueError(f"the Riccati equation has no stabilising solution: {exc}") from exc
    K = np.linalg.solve(R + B.T @ P @ B, B.T @ P @ A)
    return LQRDesign(K=K, P=P, open_loop_radius=spectral_radius(A), closed_loop_radius=spectral_radius(A - B @ K))


def steady_kalman_gain(A: np.ndarray, C: np.ndarray, W: np.ndarray, V: np.ndarray) -> np.ndarray:
    """Steady-state Kalman gain M (n, n_sens) of the update z += M (y - C z^-).

    :raises ValueError: if an unstable mode of A is invisible to the sensors (not detectable).
    """
    from scipy.linalg import solve_discrete_are

    bad = uncontrollable_modes(A.T, C.T)
    if bad:
        raise ValueError(
            f"the sensors do not observe the unstable mode(s) with eigenvalue(s) {', '.join(f'{lam:.4g}' for lam in bad[:4])}; "
            "no estimator can track them (use more or other sensors)"
        )
    try:
        P = solve_discrete_are(A.T, C.T, W, V)
    except (np.linalg.LinAlgError, ValueError) as exc:
        raise ValueError(f"the Kalman filter's Riccati equation has no stabilising solution: {exc}") from exc
    return P @ C.T @ np.linalg.inv(C @ P @ C.T + V)


class LQRController:
    """Full-state feedback a = clip(-K Phi^T (u - u*), -1, 1) on batched grid observations (B, N).

    :param model: the linearised map.
    :param action_cost: R = ``action_cost`` * I (Q = I); larger values give gentler actions.
    """

    def __init__(self, model: LinearisedKS, action_cost: float = 1.0) -> None:
        if not action_cost > 0:
            raise ValueError(f"action_cost must be > 0, got {action_cost!r}")
        self.model = model
        n, m = model.B.shape
        self.design = dlqr(model.A, model.B, np.eye(n), action_cost * np.eye(m))

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        obs = np.asarray(obs, dtype=np.float64)
        if obs.shape[-1] != self.model.u_star.size:
            raise ValueError(
                f"LQR needs the full state ({self.model.u_star.size} grid values) as observation, got {obs.shape[-1]} entries; "
                "make the env with observe='full', or use 'lqg' with sensors"
            )
        return np.clip(-self.model.coordinates(obs) @ self.design.K.T, -1.0, 1.0)


class LQGController:
    """LQR gain on a steady-state Kalman estimate from the sensors; one filter per env of the batch.

    The filter starts at z = 0 (the equilibrium) on its first call and after :meth:`reset`.

    :param model: the linearised map (its C: the sensors the controller reads, in order).
    :param action_cost: R = ``action_cost`` * I.
    :param process_noise: W = ``process_noise`` * I (model error per interval, in u units squared).
    :param sensor_noise: V = ``sensor_noise`` * I (sensor noise variance, in u units squared).
    """

    def __init__(self, model: LinearisedKS, action_cost: float = 1.0, process_noise: float = 1e-4,
                 sensor_noise: float = 1e-2) -> None:
        for name, value in (("process_noise", process_noise), ("sensor_noise", sensor_noise)):
            if not value > 0:
                raise ValueError(f"{name} must be > 0, got {value!r}")
        self.model = model
        self.lqr = LQRController(model, action_cost)
        n, p = model.A.shape[0], model.C.shape[0]
        self.gain = steady_kalman_gain(model.A, model.C, process_noise * np.eye(n), sensor_noise * np.eye(p))
        self.estimator_radius = spectral_radius(model.A - model.A @ self.gain @ model.C)
        self._z: np.ndarray | None = None
        self._a: np.ndarray | None = None

    def reset(self) -> None:
        """Forget the estimates (new episodes)."""
        self._z = self._a = None

    def reset_rows(self, rows: np.ndarray) -> None:
        """Restart the filters of the envs ``rows`` (bool mask) whose episodes ended: their next call starts at z = 0."""
        if self._z is not None:
            rows = np.asarray(rows, dtype=bool)
            self._z[rows] = 0.0  # z = A 0 + B 0 = 0 before the update: the same as a fresh start
            self._a[rows] = 0.0

    def estimate(self) -> np.ndarray | None:
        """The current grid-state estimates (B, N), or None before the first call."""
        return None if self._z is None else self.model.u_star + self._z @ self.model.basis.T

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        m = self.model
        y = np.asarray(obs, dtype=np.float64)
        if y.shape[-1] != m.C.shape[0]:
            raise ValueError(f"LQG was built for {m.C.shape[0]} sensors, got observations with {y.shape[-1]} entries")
        if self._z is None or self._z.shape[0] != y.shape[0]:
            z = np.zeros((y.shape[0], m.A.shape[0]))
        else:
            z = self._z @ m.A.T + self._a @ m.B.T
        z = z + (y - m.y_star - z @ m.C.T) @ self.gain.T
        a = np.clip(-z @ self.lqr.design.K.T, -1.0, 1.0)
        self._z, self._a = z, a
        return a


__all__ = ["LQGController", "LQRController", "LQRDesign", "dlqr", "steady_kalman_gain"]
