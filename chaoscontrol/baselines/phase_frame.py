r"""Phase equivariance, relative equilibria and the co-rotating frame of a linear controller.

A system whose field is a complex amplitude stored as two real rows, u = (Re A, Im A), field shape (2, ...), is
*phase-equivariant* when its control-interval map F commutes with the rotation A -> e^{i phi} A of the field and of
the actions, stored as (a^re, a^im) halves (n_act = 2 n, forcing f = sum_j (a_j^re + i a_j^im) phi_j):

    F(R_phi u, R_phi a) = R_phi F(u, a),    R_phi (p, q) = (cos phi p - sin phi q, sin phi p + cos phi q).

The complex Ginzburg-Landau equation A_t = A + (1 + i alpha) A_xx - (1 + i beta) |A|^2 A + f is (Aranson & Kramer
2002, Rev. Mod. Phys. 74, 99): the nonlinearity is, and so are ETDRK4's per-mode complex coefficients. Its uniform
oscillation A = e^{-i beta t} is not a fixed point of F but a *relative equilibrium*, F(u*, 0) = R_theta u* with
theta = -beta T over a control interval T. A linear controller works about it in the co-rotating frame (method of
slices; Rowley & Marsden 2000, Physica D 142, 1; Budanur et al. 2015, Phys. Rev. Lett. 114, 084102):

- the phase of an observation y = (y^re, y^im) (equivariant sensors: obs(R_phi u) = R_phi obs(u)) is
  phi(y) = arg(s(y)) - arg(s(y*)), s(y) = sum_i (y_i^re + i y_i^im), the phase of the sensors' mean, so that
  phi(obs(R_psi u)) = phi(obs(u)) + psi;
- the controller rotates the observation to phase 0, y~ = R_{-phi} y (the sensors of u~ = R_{-phi} u, near u*),
  computes a~ = -K z~ from it and applies a = R_phi a~. By equivariance F(u, a) = R_phi F(u~, a~), so the normalised
  state evolves by G(u~, a~) = R_{-phi(obs F(u~, a~))} F(u~, a~), whose fixed point is u*: G(u*, 0) = u*;
- to first order, with J_u, J_a the Jacobians of F at (u*, 0), t = d/dpsi R_psi u* the phase direction and
  w^T = dphi/du at u* (w^T t = 1), G(u* + z, a~) = u* + P R_{-theta} (J_u z + J_a a~), P = I - t w^T. The
  co-rotating linearisation is therefore

      A = Phi^T P R_{-theta} J_u Phi,   B = Phi^T P R_{-theta} J_a,   Phi an orthonormal basis of ker w^T,

  the slice through u* (phi = 0). The neutral phase direction (R_{-theta} J_u t = t, the orbit of u*) is not a
  coordinate: no controller has to hold the phase, only the shape of the state relative to its orbit.

:func:`phase_symmetry` detects the symmetry numerically (the identity above at random states and actions, to 1e-9),
so no system is named here; a real-forced CGLE (``forcing="real"``) fails the test and gets no frame.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from chaoscontrol.baselines.control_map import control_map

#: Relative mismatch of F(R u, R a) and R F(u, a) below which a system counts as phase-equivariant.
EQUIVARIANCE_TOL = 1e-9


def rotate_halves(v: np.ndarray, phi: np.ndarray | float) -> np.ndarray:
    """R_phi applied to vectors (..., 2n) stored as (real half, imaginary half): multiplication of p + i q by e^{i phi}.

    :param v: vectors (..., 2n), float.
    :param phi: rotation angles, a scalar or (...,) broadcast over the leading axes.
    """
    v = np.asarray(v, dtype=np.float64)
    n = v.shape[-1] // 2
    c, s = np.cos(phi), np.sin(phi)
    c, s = np.asarray(c)[..., None], np.asarray(s)[..., None]
    p, q = v[..., :n], v[..., n:]
    return np.concatenate([c * p - s * q, s * p + c * q], axis=-1)


def rotation_matrix(size: int, phi: float) -> np.ndarray:
    """The matrix of :func:`rotate_halves` on vectors of length ``size`` (even).

    :param size: vector length.
    :param phi: angle.
    """
    return rotate_halves(np.eye(size), phi).T


def generator(v: np.ndarray) -> np.ndarray:
    """d/dpsi R_psi v at psi = 0: (p, q) -> (-q, p), the phase direction at ``v`` (..., 2n).

    :param v: vectors in the (real half, imaginary half) layout.
    """
    n = v.shape[-1] // 2
    return np.concatenate([-v[..., n:], v[..., :n]], axis=-1)


def phase_of(y: np.ndarray) -> np.ndarray:
    """arg(sum_i (y_i^re + i y_i^im)) of observations (..., 2p) stored as (real half, imaginary half).

    :param y: the observations.
    """
    y = np.asarray(y, dtype=np.float64)
    p = y.shape[-1] // 2
    return np.arctan2(y[..., p:].sum(axis=-1), y[..., :p].sum(axis=-1))


def phase_gradient(y_star: np.ndarray) -> np.ndarray:
    """dphi/dy at ``y_star`` (2p,): (a 1^T dy^im - b 1^T dy^re) / (a^2 + b^2), s(y*) = a + i b.

    :param y_star: the observation of the target, (real half, imaginary half).

    :raises ValueError: if the sensors' mean at the target is 0 (its phase is undefined there).
    """
    p = y_star.size // 2
    a, b = y_star[:p].sum(), y_star[p:].sum()
    r2 = a * a + b * b
    if not r2 > 1e-12 * max(1.0, float(np.sum(y_star**2))):
        raise ValueError("the sensors' mean is 0 at the target: its phase, which the co-rotating frame needs, is undefined")
    return np.concatenate([np.full(p, -b), np.full(p, a)]) / r2


@dataclass(frozen=True)
class PhaseFrame:
    """The co-rotating frame of a relative equilibrium u*, F(u*, 0) = R_theta u* (module docstring)."""

    theta: float
    """Rotation of u* over one control interval (CGLE's uniform oscillation: -beta T, mod 2 pi)."""
    phase_star: float
    """arg of the sensors' mean at u*: observations are rotated to this phase."""
    obs_pairs: np.ndarray | None = None
    """For a sensor subset, the (re, im) index pairs into the kept readings; None: the first half Re, the second Im."""

    def observation_phase(self, y: np.ndarray) -> np.ndarray:
        """phi(y) of observations (B, n_obs) relative to u*'s.

        :param y: observations in the env's layout (or the subset's).
        """
        return phase_of(self._halves(y)) - self.phase_star

    def rotate_observations(self, y: np.ndarray, phi: np.ndarray) -> np.ndarray:
        """R_phi of observations (B, n_obs), kept in their own layout.

        :param y: observations.
        :param phi: angles (B,) or a scalar.
        """
        if self.obs_pairs is None:
            return rotate_halves(y, phi)
        out = np.array(y, dtype=np.float64)
        out[..., np.concatenate(self.obs_pairs)] = rotate_halves(self._halves(y), phi)
        return out

    def _halves(self, y: np.ndarray) -> np.ndarray:
        y = np.asarray(y, dtype=np.float64)
        return y if self.obs_pairs is None else y[..., np.concatenate(self.obs_pairs)]

    def subset(self, rows: np.ndarray, n_obs: int) -> PhaseFrame:
        """The frame for the observation rows ``rows`` of ``n_obs`` (a sensor subset).

        :param rows: the kept rows of the env's observation, in the subset's order.
        :param n_obs: the env's observation size.

        :raises ValueError: if a kept Re reading lost its Im partner or vice versa (its phase is then unknown).
        """
        rows = np.asarray(rows)
        half = n_obs // 2
        kept = {int(r): k for k, r in enumerate(rows)}
        re = [kept[r] for r in sorted(kept) if r < half and r + half in kept]
        im = [kept[r + half] for r in sorted(kept) if r < half and r + half in kept]
        if 2 * len(re) != rows.size:
            raise ValueError("a sensor subset of a phase-equivariant system must keep the Re and Im readings of each sensor "
                             f"together (rows r and r + {half}), got {rows.tolist()}")
        return PhaseFrame(self.theta, self.phase_star, (np.array(re), np.array(im)))


def phase_symmetry(template: Any, rng: np.random.Generator | None = None) -> bool:
    """Whether ``template``'s dynamics and observer are phase-equivariant (module docstring), tested numerically.

    Requires a field of two rows (Re, Im), an even number of actions and observations, and both identities
    F(R u, R a) = R F(u, a), obs(R u) = R obs(u) at a random state near the uniform unit field and random actions.

    :param template: a ``ControlEnv``.
    :param rng: the generator of the test state (default: a fixed seed, so that the answer is reproducible).
    """
    d = template.dynamics
    shape = tuple(d.field_shape)
    n_obs = int(template.observation_space.shape[0])
    if len(shape) < 2 or shape[0] != 2 or d.n_actions % 2 or n_obs % 2:
        return False
    rng = np.random.default_rng(12345) if rng is None else rng
    size = int(np.prod(shape))
    u = np.concatenate([np.ones(size // 2), np.zeros(size // 2)]) + 0.1 * rng.standard_normal(size)
    a = rng.uniform(-0.5, 0.5, d.n_actions)
    phi = 0.7
    out = control_map(d, np.stack([rotate_halves(u, phi), u]).reshape(2, *shape),
                   np.stack([rotate_halves(a, phi), a])).reshape(2, size)
    mismatch = np.max(np.abs(out[0] - rotate_halves(out[1], phi))) / max(1.0, np.max(np.abs(out[1])))
    if not mismatch < EQUIVARIANCE_TOL:
        return False
    obs = template.observer(np.stack([rotate_halves(u, phi), u]).reshape(2, *shape), False).astype(np.float64)
    return bool(np.max(np.abs(obs[0] - rotate_halves(obs[1], phi))) < 1e-5 * max(1.0, np.max(np.abs(obs[1]))))


def uniform_unit_field(field_shape: tuple[int, ...]) -> np.ndarray:
    """The uniform field A = 1 (row Re = 1, row Im = 0), flattened: CGLE's uniform oscillation at phase 0.

    :param field_shape: the dynamics' field shape (2, ...).
    """
    size = int(np.prod(field_shape))
    return np.concatenate([np.ones(size // 2), np.zeros(size // 2)])


def best_rotation(u_star: np.ndarray, image: np.ndarray) -> float:
    """The angle theta minimising |image - R_theta u*|: atan2(t . image, u* . image), t = generator(u*).

    :param u_star: the flattened target.
    :param image: the flattened field to compare, e.g. F(u*, 0).
    """
    return float(np.arctan2(generator(u_star) @ image, u_star @ image))


__all__ = ["EQUIVARIANCE_TOL", "PhaseFrame", "best_rotation", "generator", "phase_gradient", "phase_of",
           "phase_symmetry", "rotate_halves", "rotation_matrix", "uniform_unit_field"]
