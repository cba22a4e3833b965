"""LQR and LQG controllers about a system's target (any registered system).

LQR (e.g. Anderson & Moore, *Optimal Control: Linear Quadratic Methods*, 1990): for
z_{n+1} = A z_n + B a_n (:mod:`chaoscontrol.baselines.linearization`), the feedback
a_n = -K z_n minimising sum_n z_n^T Q z_n + a_n^T R a_n is

    K = (R + B^T P B)^{-1} B^T P A,   P = A^T P A - A^T P B (R + B^T P B)^{-1} B^T P A + Q,

the discrete algebraic Riccati equation (``scipy.linalg.solve_discrete_are``).
Q = I in the orthonormal coordinates z, so z^T Q z = |u - u*|^2 on the grid (within the kept directions).

LQG: the same gain on the estimate of a steady-state Kalman filter that sees only
the sensors, y_n = C z_n + v_n, with process noise covariance W = w I and sensor
noise covariance V = v I:

    predict  z^-_n = A z_{n-1} + B a_{n-1},
    update   z_n = z^-_n + M (y_n - y* - C z^-_n),   M = P C^T (C P C^T + V)^{-1},

P the solution of the dual Riccati equation. Both are local controllers: the
actions are clipped to [-1, 1], and far from u* the linear model is wrong, so
from chaotic states they need another controller to bring the state near u*
first (:func:`chaoscontrol.baselines.basin.basin_of_attraction` measures how near).

About a relative equilibrium (CGLE's uniform oscillation) both work in the co-rotating frame of
:mod:`chaoscontrol.baselines.phase_frame`: the observation is rotated to phase 0, y~ = R_{-phi(y)} y, the
controller acts on y~ with the model of that frame, and its action is rotated back, a = clip(R_{phi(y)} a~);
the filter is told the applied action in the frame of its step, R_{-phi} a.
"""

from __future__ import annotations

from dataclasses import dataclass
import numpy as np

from chaoscontrol.baselines.linearization import LinearModel, spectral_radius, uncontrollable_modes
from chaoscontrol.baselines.phase_frame import rotate_halves


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
    """Full-state feedback a = clip(-K z, -1, 1), z = (C^+)(y - y*) read from batched observations (B, n_obs).

    The observation must determine the state (C injective on the kept directions: the full field, or the
    full ODE state), so that z = C^+ (y - y*) with C^+ the pseudo-inverse (Phi^T for the full field).

    :param model: the linearised map.
    :param action_cost: R = ``action_cost`` * I (Q = I); larger values give gentler actions.
    :raises ValueError: for ``action_cost`` <= 0, observations that do not determine the state, or an
        unstabilisable target.
    """

    def __init__(self, model: LinearModel, action_cost: float = 1.0) -> None:
        if not action_cost > 0:
            raise ValueError(f"action_cost must be > 0, got {action_cost!r}")
        n, m = model.B.shape
        if np.linalg.matrix_rank(model.C, tol=1e-6 * max(1.0, float(np.abs(model.C).max()))) < n:
            raise ValueError(
                f"lqr needs the full state, but the {model.C.shape[0]} observations do not determine the {n} state "
                "coordinates: make the env with observe='full' (or all components as sensors), or use 'lqg' with the sensors"
            )
        self.model = model
        self.readout = np.linalg.pinv(model.C)
        """C^+ (n, n_obs): observation deviations -> coordinates z."""
        self.design = dlqr(model.A, model.B, np.eye(n), action_cost * np.eye(m))

    def frame_phase(self, y: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """(y~, phi): observations rotated into the co-rotating frame and their phases (None without a frame).

        :param y: observations (B, n_obs), float64.
        """
        frame = self.model.frame
        if frame is None:
            return y, None
        phi = frame.observation_phase(y)
        return frame.rotate_observations(y, -phi), phi

    def check_width(self, y: np.ndarray, who: str) -> None:
        """A ``ValueError`` if observations ``y`` do not have the model's width.

        :param y: observations.
        :param who: the controller's name, for the message.
        """
        if y.shape[-1] != self.model.C.shape[0]:
            raise ValueError(
                f"{who} was built for {self.model.C.shape[0]} observations (the full state for lqr, the sensors for lqg), "
                f"got observations with {y.shape[-1]} entries"
            )

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        y = np.asarray(obs, dtype=np.float64)
        self.check_width(y, "LQR")
        y, phi = self.frame_phase(y)
        a = -((y - self.model.y_star) @ self.readout.T) @ self.design.K.T
        return np.clip(a if phi is None else rotate_halves(a, phi), -1.0, 1.0)


class LQGController:
    """LQR gain on a steady-state Kalman estimate from the sensors; one filter per env of the batch.

    The filter starts at z = 0 (the target) on its first call and after :meth:`reset`.

    :param model: the linearised map (its C: the sensors the controller reads, in order).
    :param action_cost: R = ``action_cost`` * I.
    :param process_noise: W = ``process_noise`` * I (model error per interval, in field units squared).
    :param sensor_noise: V = ``sensor_noise`` * I (sensor noise variance, in field units squared).
    :raises ValueError: for noise levels <= 0, an unstabilisable or undetectable target.
    """

    def __init__(self, model: LinearModel, action_cost: float = 1.0, process_noise: float = 1e-4,
                 sensor_noise: float = 1e-2) -> None:
        for name, value in (("process_noise", process_noise), ("sensor_noise", sensor_noise)):
            if not value > 0:
                raise ValueError(f"{name} must be > 0, got {value!r}")
        if not action_cost > 0:
            raise ValueError(f"action_cost must be > 0, got {action_cost!r}")
        self.model = model
        n, m = model.B.shape
        p = model.C.shape[0]
        self.design = dlqr(model.A, model.B, np.eye(n), action_cost * np.eye(m))
        self.gain = steady_kalman_gain(model.A, model.C, process_noise * np.eye(n), sensor_noise * np.eye(p))
        self.estimator_radius = spectral_radius(model.A - model.A @ self.gain @ model.C)
        self._z: np.ndarray | None = None
        self._a: np.ndarray | None = None
        self._phi: np.ndarray | None = None

    frame_phase = LQRController.frame_phase
    check_width = LQRController.check_width

    def reset(self) -> None:
        """Forget the estimates (new episodes)."""
        self._z = self._a = self._phi = None

    def reset_rows(self, rows: np.ndarray) -> None:
        """Restart the filters of the envs ``rows`` (bool mask) whose episodes ended: their next call starts at z = 0.

        :param rows: bool mask (B,).
        """
        if self._z is not None:
            rows = np.asarray(rows, dtype=bool)
            self._z[rows] = 0.0  # z = A 0 + B 0 = 0 before the update: the same as a fresh start
            self._a[rows] = 0.0

    def estimate(self) -> np.ndarray | None:
        """The current estimates of the flattened fields (B, n_field), or None before the first call."""
        if self._z is None:
            return None
        u = self.model.u_star + self._z @ self.model.basis.T
        return u if self._phi is None else rotate_halves(u, self._phi)

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        m = self.model
        y = np.asarray(obs, dtype=np.float64)
        self.check_width(y, "LQG")
        y, phi = self.frame_phase(y)
        if self._z is None or self._z.shape[0] != y.shape[0]:
            z = np.zeros((y.shape[0], m.A.shape[0]))
        else:
            z = self._z @ m.A.T + self._a @ m.B.T
        z = z + (y - m.y_star - z @ m.C.T) @ self.gain.T
        a = -z @ self.design.K.T
        a = np.clip(a if phi is None else rotate_halves(a, phi), -1.0, 1.0)
        self._z, self._phi = z, phi
        self._a = a if phi is None else rotate_halves(a, -phi)  # the applied action, in this step's frame
        return a


__all__ = ["LQGController", "LQRController", "LQRDesign", "dlqr", "steady_kalman_gain"]
