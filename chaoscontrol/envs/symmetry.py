"""Discrete symmetries of controlled KS, symmetry-reduced observations and data augmentation.

KS on a periodic domain is equivariant under translations x -> x + d and under
the reflection u(x) -> -u(-x). With n_a evenly spaced actuators at
(2j + 1) L / (2 n_a) and n_s evenly spaced sensors at i L / n_s (n_s a multiple
of n_a, N a multiple of n_a), the translations by multiples of L / n_a map
actuators onto actuators and sensors onto sensors, and so does the reflection
u(x) -> -u(L - x). Each group element g = (s, r) (shift by s L / n_a after a
reflection if r = 1) acts on

- the grid state:    (T_g u)_j  = u'_j with u' = roll(R^r u, s N / n_a), (R u)_j = -u_{-j mod N};
- sensor readings:   the same on the n_s sensor ring (shift s n_s / n_a);
- actions:           roll(R_a^r a, s), (R_a a)_j = -a_{n_a - 1 - j};

and the dynamics commute with it: starting from T_g u0 and applying T_g a_t
gives T_g u_t (:func:`~KSSymmetry.transform_state`). The dissipation reward
-(D + P_f) is invariant; the target reward -rms(u - u*) is invariant under the
elements that fix u* (for the sine-series equilibria E1-E3 of
:mod:`chaoscontrol.solvers.equilibria`: the reflection), so the group is
restricted to those for ``objective="target"``.

:class:`SymmetryReducedObservation` maps each observation to a canonical
representative of its orbit (the element whose first Fourier coefficient of the
readings has the smallest phase in [0, 2 pi)) and maps the agent's action back,
in the spirit of Zeng & Graham (2021, Phys. Rev. E 104, 014210), who reduce the
continuous translation symmetry; here the reduction uses the discrete subgroup
that the actuators respect; :func:`canonical_indices` and :func:`transform_rows` do the
same for a batch of rows at once. :func:`symmetric_transitions` yields the symmetric
copies of a transition for data augmentation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator

import gymnasium as gym
import numpy as np
from gymnasium.utils import RecordConstructorArgs

from chaoscontrol.solvers.actuation import actuator_centres, sensor_positions


@dataclass(frozen=True)
class KSSymmetry:
    """The discrete symmetry group of a KS-Control configuration (see the module docstring)."""

    N: int
    """Grid points."""
    n_actuators: int
    """Evenly spaced actuators."""
    n_obs: int
    """Length of the observation ring: n_sensors (sensor observations) or N (full state)."""
    elements: tuple[tuple[int, int], ...]
    """The group elements (s, r) kept (all 2 n_a, or those fixing the target)."""

    @classmethod
    def from_env(cls, env: gym.Env) -> KSSymmetry:
        """The symmetry group of a `KS-Control-v0` env (single or the template of a batched env).

        :raises ValueError: if actuators or sensors are not evenly spaced grids compatible with the shifts.
        """
        base = env.unwrapped
        base = getattr(base, "template", base)
        cfg = base.config
        n_a = base.actuator_positions.size
        if not np.allclose(base.actuator_positions, actuator_centres(cfg.L, n_a)):
            raise ValueError("symmetry needs evenly spaced actuators at (2j+1)L/(2n) (actuators given as a count)")
        if cfg.N % n_a:
            raise ValueError(f"symmetry needs N divisible by the number of actuators, got N={cfg.N}, actuators={n_a}")
        if base.observe == "full":
            n_obs = cfg.N
        else:
            n_s = base.sensor_positions.size
            if not np.allclose(base.sensor_positions, sensor_positions(cfg.L, n_s)):
                raise ValueError("symmetry needs evenly spaced sensors at iL/n (sensors given as a count)")
            if n_s % n_a:
                raise ValueError(f"symmetry needs the sensor count to be a multiple of the actuator count, got {n_s}, {n_a}")
            n_obs = n_s
        group = cls(cfg.N, n_a, n_obs, tuple((s, r) for r in (0, 1) for s in range(n_a)))
        if base.objective == "target":
            target = np.asarray(base.target)
            kept = tuple(g for g in group.elements if np.allclose(group.transform_state(target, g), target, atol=1e-10))
            group = cls(cfg.N, n_a, n_obs, kept)
        return group

    # -- actions of the group

    @staticmethod
    def _act(x: np.ndarray, g: tuple[int, int], shift: int) -> np.ndarray:
        s, r = g
        if r:
            x = -np.roll(x[..., ::-1], 1, axis=-1)  # x'_j = -x_{-j mod n}
        return np.roll(x, s * shift, axis=-1)

    def transform_state(self, u: np.ndarray, g: tuple[int, int]) -> np.ndarray:
        """T_g on grid states (..., N)."""
        return self._act(np.asarray(u), g, self.N // self.n_actuators)

    def transform_observation(self, obs: np.ndarray, g: tuple[int, int]) -> np.ndarray:
        """T_g on observations (..., n_obs): sensor readings or the full state."""
        return self._act(np.asarray(obs), g, self.n_obs // self.n_actuators)

    def transform_action(self, a: np.ndarray, g: tuple[int, int]) -> np.ndarray:
        """T_g on actions (..., n_a)."""
        a = np.asarray(a)
        s, r = g
        if r:
            a = -a[..., ::-1]
        return np.roll(a, s, axis=-1)

    def inverse(self, g: tuple[int, int]) -> tuple[int, int]:
        """g^-1: reflections composed with shifts are involutions; (s, 0)^-1 = (-s, 0)."""
        s, r = g
        return g if r else ((-s) % self.n_actuators, 0)

    def canonical_element(self, obs: np.ndarray) -> tuple[int, int]:
        """The element g that maps ``obs`` to the canonical representative of its orbit.

        Canonical: the smallest phase in [0, 2 pi) of the first Fourier
        coefficient of the readings (the next harmonic if it vanishes; the
        identity for a state with neither).
        """
        obs = np.asarray(obs, dtype=np.float64)
        ring = np.exp(-2j * np.pi * np.arange(self.n_obs) / self.n_obs)
        for harmonic in (1, 2, 3):
            best, best_phase = None, np.inf
            for g in self.elements:
                c = np.dot(self.transform_observation(obs, g), ring**harmonic)
                if abs(c) < 1e-9 * (1.0 + np.abs(obs).sum()):
                    best = None
                    break
                phase = np.angle(c) % (2.0 * np.pi)
                if phase < best_phase - 1e-12:
                    best, best_phase = g, phase
            if best is not None:
                return best
        return (0, 0)


def canonical_indices(symmetry: KSSymmetry, obs: np.ndarray) -> np.ndarray:
    """Index into ``symmetry.elements`` of :meth:`KSSymmetry.canonical_element` for every row of ``obs`` (B, n).

    Vectorised over the batch for the first harmonic; rows where a coefficient vanishes fall back to the
    row-by-row rule, so the result is the single-env wrapper's.
    """
    obs = np.asarray(obs, dtype=np.float64)
    ring = np.exp(-2j * np.pi * np.arange(symmetry.n_obs) / symmetry.n_obs)
    coeff = np.stack([symmetry.transform_observation(obs, g) @ ring for g in symmetry.elements])  # (G, B)
    phase = np.angle(coeff) % (2.0 * np.pi)
    idx = np.argmin(phase, axis=0)
    tiny = np.any(np.abs(coeff) < 1e-9 * (1.0 + np.abs(obs).sum(axis=1)), axis=0)
    for i in np.flatnonzero(tiny):
        idx[i] = symmetry.elements.index(symmetry.canonical_element(obs[i]))
    return idx


def transform_rows(symmetry: KSSymmetry, x: np.ndarray, idx: np.ndarray, kind: str, inverse: bool = False) -> np.ndarray:
    """Row i of ``x`` transformed by element ``symmetry.elements[idx[i]]`` (or its inverse).

    :param symmetry: the group.
    :param x: observations (B, n_obs) or actions (B, n_a).
    :param idx: (B,) indices into ``symmetry.elements`` (e.g. :func:`canonical_indices`).
    :param kind: ``"observation"`` or ``"action"``.
    :param inverse: apply the inverse elements.
    """
    out = np.empty_like(x)
    fn = symmetry.transform_observation if kind == "observation" else symmetry.transform_action
    for k in np.unique(idx):
        g = symmetry.elements[k]
        rows = idx == k
        out[rows] = fn(x[rows], symmetry.inverse(g) if inverse else g)
    return out


class SymmetryReducedObservation(gym.Wrapper, RecordConstructorArgs):
    """Observations reduced to a canonical representative; the agent's actions mapped back.

    At every step the observation o is replaced by T_g o with g =
    :meth:`KSSymmetry.canonical_element` (o), and the agent's action a' (chosen
    in that canonical frame) is applied as T_g^-1 a'. Rewards are invariant.
    ``info["symmetry"]`` is g = (shift, reflection). Works for sensor and
    full-state observations.
    """

    def __init__(self, env: gym.Env) -> None:
        RecordConstructorArgs.__init__(self)
        super().__init__(env)
        self.symmetry = KSSymmetry.from_env(env)
        self._g = (0, 0)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        obs, info = self.env.reset(seed=seed, options=options)
        return self._reduce(obs, info)

    def step(self, action):
        a = np.asarray(action, dtype=np.float64)
        if a.shape != self.action_space.shape:
            raise ValueError(f"action must have shape {self.action_space.shape}, got {a.shape}")
        a = self.symmetry.transform_action(a, self.symmetry.inverse(self._g))
        obs, reward, terminated, truncated, info = self.env.step(a)
        obs, info = self._reduce(obs, info)
        return obs, reward, terminated, truncated, info

    def _reduce(self, obs: np.ndarray, info: dict[str, Any]):
        self._g = self.symmetry.canonical_element(obs)
        info = dict(info)
        info["symmetry"] = self._g
        return self.symmetry.transform_observation(obs, self._g).astype(self.observation_space.dtype), info


def symmetric_transitions(
    symmetry: KSSymmetry,
    obs: np.ndarray,
    action: np.ndarray,
    reward: float | np.ndarray,
    next_obs: np.ndarray,
    done: bool | np.ndarray = False,
) -> Iterator[tuple[np.ndarray, np.ndarray, Any, np.ndarray, Any]]:
    """The symmetric copies (T_g o, T_g a, r, T_g o', done) of a transition, one per group element (identity first).

    Valid for observations that are the bare sensor readings or full state (no
    appended masks or delays). Arrays may carry leading batch axes.
    """
    for g in symmetry.elements:
        yield (
            symmetry.transform_observation(obs, g),
            symmetry.transform_action(action, g),
            reward,
            symmetry.transform_observation(next_obs, g),
            done,
        )
