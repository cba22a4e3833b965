"""`KS-Control-v0`: control of the chaotic forced Kuramoto-Sivashinsky equation."""

from __future__ import annotations

import math
from collections import deque
from typing import Any, Sequence

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from chaoscontrol.solvers.actuation import (
    actuator_centres,
    forcing_basis_spectral,
    fourier_interpolation_matrix,
    gaussian_actuator_shapes,
    sensor_positions,
)
from chaoscontrol.solvers.control import N_DIAG, ks_control_interval
from chaoscontrol.solvers.diagnostics import ks_energy_budget, rms_distance_rows
from chaoscontrol.solvers.equilibria import ks_equilibrium
from chaoscontrol.solvers.ks import KSConfig, ks_coefficients, ks_etdrk4_steps
from chaoscontrol.validation import check_int, check_non_negative, check_positive

OBJECTIVES = ("dissipation", "target")
OBSERVATIONS = ("sensors", "full")
TARGETS = ("E1", "E2", "E3")


class KSControlEnv(gym.Env):
    r"""Control of the chaotic Kuramoto-Sivashinsky equation with localised actuators.

    ## Description

    The forced Kuramoto-Sivashinsky (KS) equation on a periodic domain [0, L),

    .. math:: u_t + u u_x + u_{xx} + u_{xxxx} = f(x, t),

    is a model of chaotic flame fronts and thin films; at L = 22 it is chaotic
    with one positive Lyapunov exponent (~0.048). The agent actuates the system
    through ``actuators`` Gaussian jets and observes it through ``sensors``
    point sensors, as in Bucci et al. (2019, Proc. R. Soc. A 475, 20190351) and
    Zeng & Graham (2021, Phys. Rev. E 104, 014210). The equation is solved by
    Fourier pseudo-spectral ETDRK4 (``chaoscontrol.solvers.ks``); one env step
    is ``frame_skip`` solver steps of size ``dt`` with the action held constant.

    ## Action Space

    ``Box(-1, 1, (n_act,), float32)``, n_act = 4 by default: the amplitudes a_j of
    the actuators. The forcing is f(x) = max_forcing * sum_j a_j psi_j(x) minus its
    spatial mean, psi_j(x) = exp(-d(x, x_j)^2 / (2 actuator_width^2)), centres
    x_j = (2j + 1) L / (2 n_act). Actions outside [-1, 1] are clipped; NaN/inf or
    a wrong shape raise ``ValueError``.

    ## Observation Space

    ``observe="sensors"`` (default): ``Box(-b, b, (n_sens,), float32)``, u at the
    sensor positions x_i = i L / n_sens (8 by default), by Fourier interpolation
    (exact at grid points). ``observe="full"``: ``Box(-b, b, (N,), float32)``, u on
    the grid. b = ``blowup_threshold``. The full float64 state is
    ``env.unwrapped.u`` (a copy).

    ## Rewards

    Computed from the state at the end of the step, under the forcing f of the step:

    - ``objective="dissipation"``: r = -(D + P_f), dissipation D = <u_xx^2> plus
      actuation power P_f = <u f> (Zeng & Graham 2021), <.> the space average;
    - ``objective="target"``: r = -rms(u - u*), u* the equilibrium E1, E2 or E3 of
      unforced KS at this L and N (Newton, ``chaoscontrol.solvers.equilibria``) or
      a user array of shape (N,) (Bucci et al. 2019). r = 0 exactly at the target.

    On a blow-up the reward is ``-blowup_penalty``.

    ## Starting State

    ``reset(seed=s, options={"u0": u0})`` sets the state to ``u0`` (shape (N,))
    exactly. Without ``u0``, u(x, 0) = sum_{q=1..4} A_q cos(2 pi q x / L + phi_q),
    A_q ~ U(-1, 1), phi_q ~ U(0, 2 pi) from ``self.np_random``, is run unforced for
    ``burn_in`` time units (rounded to whole solver steps) so that the episode
    starts on the attractor. A ``u0`` with max|u0| above ``blowup_threshold`` is
    a ``ValueError``. The
    spatial mean of u is conserved (0 for random starts).

    ## Episode End

    - Truncation: the time limit, ``max_episode_steps=400`` at registration
      (100 time units); never reported as ``terminated``.
    - Termination: only on blow-up, a non-finite state or max|u| > ``blowup_threshold``;
      then ``info["blowup"] = True``. A blow-up never raises.

    ``info`` holds ``t`` (time since reset), ``energy`` <u^2>/2, ``production``
    <u_x^2>, ``dissipation`` <u_xx^2>, ``power`` <u f>, ``blowup`` and, for the
    target objective, ``target_distance`` rms(u - u*).

    ## Arguments

    ``gym.make("KS-Control-v0", L=22.0, N=64, dt=0.05, frame_skip=5, actuators=4,
    sensors=8, actuator_width=0.4, max_forcing=0.5, objective="dissipation",
    target=None, observe="sensors", burn_in=100.0, blowup_threshold=100.0,
    blowup_penalty=1000.0, render_mode=None, render_history=200, surrogate=None)``.
    ``surrogate`` (a checkpoint of ``chaoscontrol surrogate train``) replaces the
    solver by the learned model for every step (resets still start on the true
    attractor); it must come from the same L, N, dt, frame_skip, actuators and
    max_forcing, and a diverging surrogate ends the episode as a blow-up.
    ``actuators`` and ``sensors`` take a count or a sequence of positions in
    [0, L). ``target`` (``"E1"``, ``"E2"``, ``"E3"`` or an array) is only for
    ``objective="target"``, where it defaults to ``"E1"``. Invalid arguments
    raise ``ValueError`` naming the argument. ``render_mode="rgb_array"`` renders
    the space-time diagram of the last ``render_history`` steps with the
    actuator (red) and sensor (white) positions marked.

    ## Version History

    - v0: initial version.
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 20}

    def __init__(
        self,
        L: float = 22.0,
        N: int = 64,
        dt: float = 0.05,
        frame_skip: int = 5,
        actuators: int | Sequence[float] = 4,
        sensors: int | Sequence[float] = 8,
        actuator_width: float = 0.4,
        max_forcing: float = 0.5,
        objective: str = "dissipation",
        target: str | np.ndarray | None = None,
        observe: str = "sensors",
        burn_in: float = 100.0,
        blowup_threshold: float = 100.0,
        blowup_penalty: float = 1000.0,
        render_mode: str | None = None,
        render_history: int = 200,
        surrogate: str | None = None,
    ) -> None:
        self.config = KSConfig(L=check_positive("L", L), N=N, dt=check_positive("dt", dt))
        self.frame_skip = check_int("frame_skip", frame_skip)
        self.actuator_positions = _positions("actuators", actuators, L, N, actuator_centres)
        self.sensor_positions = _positions("sensors", sensors, L, N, sensor_positions)
        self.actuator_width = check_positive("actuator_width", actuator_width)
        self.max_forcing = check_non_negative("max_forcing", max_forcing)
        if objective not in OBJECTIVES:
            raise ValueError(f"objective must be one of {OBJECTIVES}, got {objective!r}")
        self.objective = objective
        if observe not in OBSERVATIONS:
            raise ValueError(f"observe must be one of {OBSERVATIONS}, got {observe!r}")
        self.observe = observe
        self.burn_in = check_non_negative("burn_in", burn_in)
        self.blowup_threshold = check_positive("blowup_threshold", blowup_threshold)
        self.blowup_penalty = check_non_negative("blowup_penalty", blowup_penalty)
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be None or one of {self.metadata['render_modes']}, got {render_mode!r}")
        self.render_mode = render_mode
        check_int("render_history", render_history, minimum=2)
        self.target = self._resolve_target(target)

        cfg = self.config
        self._coeffs = ks_coefficients(cfg)
        self._k = cfg.k
        self.actuator_shapes = gaussian_actuator_shapes(cfg.x, cfg.L, self.actuator_positions, self.actuator_width)
        self._forcing_basis = forcing_basis_spectral(self.actuator_shapes)
        self._sensor_index = _grid_indices(self.sensor_positions, cfg.L, cfg.N)
        self._sensor_matrix = (
            None if self._sensor_index is not None else fourier_interpolation_matrix(cfg.N, cfg.L, self.sensor_positions)
        )

        b = np.float32(self.blowup_threshold)
        n_act = self.actuator_positions.size
        n_obs = self.sensor_positions.size if observe == "sensors" else cfg.N
        self.action_space = spaces.Box(-1.0, 1.0, (n_act,), np.float32)
        self.observation_space = spaces.Box(-b, b, (n_obs,), np.float32)

        self._v = np.zeros(cfg.n_modes, dtype=np.complex128)
        self._u = np.zeros(cfg.N, dtype=np.float64)
        self._diag = np.zeros(N_DIAG, dtype=np.float64)
        self._zero_forcing = np.zeros(cfg.n_modes, dtype=np.complex128)
        self.surrogate = None if surrogate is None else str(surrogate)
        self._dynamics = None
        if surrogate is not None:  # torch is imported only here
            from chaoscontrol.surrogates.backend import SurrogateDynamics

            try:
                self._dynamics = SurrogateDynamics(str(surrogate), self.config_dict())
            except ValueError as exc:
                raise ValueError(f"surrogate: {exc}") from exc
        self._t = 0.0
        self._dt_step = self.frame_skip * cfg.dt
        self._history: deque[np.ndarray] = deque(maxlen=int(render_history))

    # ------------------------------------------------------------------ API

    def config_dict(self) -> dict[str, Any]:
        """The resolved configuration as plain JSON values (datasets and checkpoints record it)."""
        return {
            "L": self.config.L,
            "N": self.config.N,
            "dt": self.config.dt,
            "frame_skip": self.frame_skip,
            "actuators": self.actuator_positions.tolist(),
            "sensors": self.sensor_positions.tolist(),
            "actuator_width": self.actuator_width,
            "max_forcing": self.max_forcing,
            "objective": self.objective,
            "target": None if self.target is None else self.target.tolist(),
            "observe": self.observe,
            "burn_in": self.burn_in,
            "blowup_threshold": self.blowup_threshold,
            "blowup_penalty": self.blowup_penalty,
            "surrogate": self.surrogate,
        }

    def forcing_fields(self, actions: np.ndarray) -> np.ndarray:
        """Forcing f(x) on the grid for actions (..., n_act), clipped as in ``step``: (..., N)."""
        a = np.clip(np.asarray(actions, dtype=np.float64), -1.0, 1.0)
        shapes = self.actuator_shapes - self.actuator_shapes.mean(axis=1, keepdims=True)
        return self.max_forcing * a @ shapes

    @property
    def u(self) -> np.ndarray:
        """A copy of the full grid state (float64, shape (N,))."""
        return self._u.copy()

    @property
    def t(self) -> float:
        """Time since the last reset."""
        return self._t

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        u0 = self.parse_reset_options(options)
        if u0 is not None:
            self._u = u0
            self._v = np.fft.rfft(u0)
        else:
            self._v = self.random_start(self.np_random)
            if self.burn_in_steps:
                ks_etdrk4_steps(self._v, self._zero_forcing, self._coeffs, self.burn_in_steps)
            self._u = np.fft.irfft(self._v, self.config.N)
        self._t = 0.0
        self._history.clear()
        if self.render_mode is not None:
            self._history.append(self._u.copy())
        info = self.reset_info(self._v, self._u)
        return self.observe_states(self._u, True), info  # clipped: a random start may exceed a small threshold

    # -- pieces of reset shared with the batched environments (chaoscontrol.envs.ks_vector)

    @property
    def burn_in_steps(self) -> int:
        """Solver steps of the burn-in (``burn_in / dt``, rounded)."""
        return int(round(self.burn_in / self.config.dt))

    def parse_reset_options(self, options: dict[str, Any] | None) -> np.ndarray | None:
        """The validated ``u0`` of reset ``options`` (a float64 copy), or None for a random start."""
        if options is None:
            return None
        if not isinstance(options, dict):
            raise ValueError(f"options must be a dict or None, got {type(options).__name__}")
        unknown = set(options) - {"u0"}
        if unknown:
            raise ValueError(f"options has unknown keys {sorted(unknown)}; allowed: ['u0']")
        if options.get("u0") is None:
            return None
        n = self.config.N
        u0 = np.array(options["u0"], dtype=np.float64)
        if u0.shape != (n,):
            raise ValueError(f"options['u0'] must have shape ({n},), got {u0.shape}")
        if not np.all(np.isfinite(u0)):
            raise ValueError("options['u0'] must be finite")
        if np.max(np.abs(u0)) > self.blowup_threshold:
            raise ValueError(
                f"options['u0'] has max|u0| = {np.max(np.abs(u0)):.3g} above blowup_threshold={self.blowup_threshold:g}"
            )
        return u0

    def random_start(self, rng: np.random.Generator) -> np.ndarray:
        """Spectral random smooth state sum_{q=1..4} A_q cos(2 pi q x / L + phi_q), before burn-in."""
        cfg = self.config
        q = np.arange(1, 5)
        amp = rng.uniform(-1.0, 1.0, q.size)
        phase = rng.uniform(0.0, 2.0 * np.pi, q.size)
        u = np.cos(2.0 * np.pi / cfg.L * np.outer(cfg.x, q) + phase) @ amp
        return np.fft.rfft(u)

    def reset_info(self, v: np.ndarray, u: np.ndarray) -> dict[str, Any]:
        """The ``info`` of a reset to the spectral state ``v`` (grid values ``u``)."""
        e, p, d, _ = ks_energy_budget(v, self._zero_forcing, self._k)
        info = {"t": 0.0, "energy": e, "production": p, "dissipation": d, "power": 0.0, "blowup": False}
        if self.target is not None:
            info["target_distance"] = self._target_distance(u)
        return info

    def step(self, action):
        a = np.asarray(action, dtype=np.float64)
        if a.shape != self.action_space.shape:
            raise ValueError(f"action must have shape {self.action_space.shape}, got {a.shape}")
        if self._dynamics is not None:
            if not np.all(np.isfinite(a)):
                raise ValueError(f"action must be finite (no NaN or inf), got {action!r}")
            self._u = self._dynamics.advance(
                self._u[None], a[None], self._forcing_basis, self.max_forcing, self._k, self._diag[None]
            )[0]
            self._v = np.fft.rfft(self._u)
        elif not ks_control_interval(
            self._v, a, self._forcing_basis, self.max_forcing, self._coeffs, self.frame_skip, self._k, self._u, self._diag
        ):
            raise ValueError(f"action must be finite (no NaN or inf), got {action!r}")
        self._t += self._dt_step
        energy, production, dissipation, power, max_abs_u = self._diag.tolist()
        blowup = not max_abs_u <= self.blowup_threshold
        info = {
            "t": self._t,
            "energy": energy,
            "production": production,
            "dissipation": dissipation,
            "power": power,
            "blowup": blowup,
        }
        if blowup:
            reward = -self.blowup_penalty
            if self.target is not None:
                info["target_distance"] = math.inf
        elif self.objective == "dissipation":
            reward = -(dissipation + power)
        else:
            reward = -self._target_distance(self._u)
            info["target_distance"] = -reward
        if self._dynamics is not None and self._dynamics.converged is not None:
            info["surrogate_converged"] = self._dynamics.converged  # implicit surrogates: did the solver converge?
        if self.render_mode is not None:
            self._history.append(self._u.copy())
        return self.observe_states(self._u, blowup), reward, blowup, False, info

    def render(self) -> np.ndarray | None:
        if self.render_mode is None:
            gym.logger.warn("render() called without a render_mode; pass render_mode='rgb_array' to gym.make")
            return None
        from chaoscontrol.envs.rendering import space_time_rgb

        history = np.array(self._history) if self._history else self._u[None, :]
        return space_time_rgb(
            history,
            L=self.config.L,
            dt_frame=self.frame_skip * self.config.dt,
            t_end=self._t,
            actuator_positions=self.actuator_positions,
            sensor_positions=self.sensor_positions,
        )

    # ------------------------------------------------------------------ helpers

    def observe_states(self, u: np.ndarray, clip: bool | np.ndarray) -> np.ndarray:
        """Observations of grid states ``u`` (..., N) as float32 (..., n_obs), C-contiguous.

        Rows flagged by ``clip`` (after a blow-up) have NaN set to 0 and are
        clipped into the observation space; off-grid sensors are always clipped
        (interpolated values can overshoot max|u| slightly).
        """
        if self.observe == "full":
            obs = u.astype(np.float32)
        elif self._sensor_index is not None:
            picked = u[self._sensor_index] if u.ndim == 1 else u[:, self._sensor_index]
            obs = np.ascontiguousarray(picked, dtype=np.float32)
        else:
            obs = (u @ self._sensor_matrix.T).astype(np.float32)
            clip = True
        if clip is False or (clip is not True and not clip.any()):
            return obs
        b = self.blowup_threshold
        fixed = np.clip(np.nan_to_num(obs, nan=0.0), -b, b)
        return fixed if clip is True else np.where(np.asarray(clip)[:, None], fixed, obs)

    def _target_distance(self, u: np.ndarray) -> float:
        """rms(u - u*) for the target objective."""
        return float(rms_distance_rows(u.reshape(1, -1), self.target)[0])

    def _resolve_target(self, target: str | np.ndarray | None) -> np.ndarray | None:
        cfg = self.config
        if self.objective != "target":
            if target is not None:
                raise ValueError(f"target is only used with objective='target' (objective={self.objective!r})")
            return None
        if target is None:
            target = "E1"
        if isinstance(target, str):
            if target not in TARGETS:
                raise ValueError(f"target must be one of {TARGETS} or an array of shape ({cfg.N},), got {target!r}")
            try:
                u_star = ks_equilibrium(target, cfg.L, cfg.N)
            except ValueError as exc:
                raise ValueError(f"target={target!r} is not available: {exc}") from exc
        else:
            u_star = np.array(target, dtype=np.float64)
            if u_star.shape != (cfg.N,) or not np.all(np.isfinite(u_star)):
                raise ValueError(f"target array must be finite with shape ({cfg.N},), got shape {u_star.shape}")
        u_star.setflags(write=False)
        return u_star


def _positions(name: str, spec: int | Sequence[float], L: float, N: int, default) -> np.ndarray:
    """Positions from a count (evenly spaced, ``default(L, n)``) or an explicit sequence."""
    if isinstance(spec, bool):
        raise ValueError(f"{name} must be a count in 1..N or a sequence of positions in [0, L), got {spec!r}")
    if isinstance(spec, (int, np.integer)):
        if not 1 <= spec <= N:
            raise ValueError(f"{name} must be a count in 1..N={N}, got {spec}")
        return default(float(L), int(spec))
    try:
        pos = np.array(spec, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be a count in 1..N or a sequence of positions in [0, L), got {spec!r}") from exc
    if pos.ndim != 1 or not 1 <= pos.size <= N:
        raise ValueError(f"{name} positions must be a 1-D sequence of 1..N={N} values, got shape {pos.shape}")
    if not np.all(np.isfinite(pos)) or np.any(pos < 0) or np.any(pos >= L):
        raise ValueError(f"{name} positions must lie in [0, L={L}), got {pos.tolist()}")
    return pos


def _grid_indices(points: np.ndarray, L: float, N: int) -> np.ndarray | None:
    """Grid indices of ``points`` if they all lie on grid points, else None."""
    idx = points * N / L
    rounded = np.rint(idx)
    if np.all(np.abs(idx - rounded) < 1e-9):
        return rounded.astype(np.int64) % N
    return None
