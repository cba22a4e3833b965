"""The env core: one Gymnasium env over any :class:`~chaoscontrol.solvers.dynamics.Dynamics`.

:class:`ControlEnv` owns the episode: seeding, resets (random starts from the
dynamics, or a given field ``u0``), time, observation (an observer of
:mod:`chaoscontrol.envs.observation`), reward (an objective of
:mod:`chaoscontrol.envs.objectives`), blow-up termination and the ``info``
dict. The physics is the dynamics object's: the env never imports torch or
anything above ``envs``, and a learned surrogate is just another dynamics.

A system's env is a subclass that parses its keywords into (dynamics,
observer, objective) and adds what only it has (rendering, named targets):
:class:`chaoscontrol.envs.ks_control.KSControlEnv` is the worked example, and
its docstring is the spec of the contract every env here follows:

- ``step`` advances one control interval; actions outside [-1, 1] are clipped
  by the dynamics, NaN/inf or a wrong shape raise ``ValueError``;
- ``terminated`` only on a blow-up (non-finite state or max|field| above
  ``blowup_threshold``; reward ``-blowup_penalty``, ``info["blowup"] = True``);
  truncation is the TimeLimit's (never ``terminated``);
- ``info`` holds ``t``, the dynamics' ``diagnostic_names``, ``blowup`` and the
  objective's ``info_key`` (if any), plus the dynamics' ``step_info()`` (if any);
- ``reset(seed=s, options={"u0": field})``; the generator is ``self.np_random``.

The batched twin is :class:`chaoscontrol.envs.vector_core.ControlVectorEnv`.
"""

from __future__ import annotations

import math
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from chaoscontrol.solvers.dynamics import Dynamics
from chaoscontrol.validation import check_non_negative, check_positive


def real_array(name: str, value: Any, shape: tuple[int, ...]) -> np.ndarray:
    """``value`` as a float64 array, or a ``ValueError`` naming ``name`` (not numeric, ragged, or complex: a complex
    array would lose its imaginary part in the cast). The shape is checked by the caller; ``shape`` is for the message.
    """
    if isinstance(value, np.ndarray) and value.dtype.kind in "fiub":  # the common case, at the least cost
        return value.astype(np.float64, copy=False)
    try:
        raw = np.asarray(value)
        if np.iscomplexobj(raw):
            raise ValueError(f"{name} must be real, got a complex array {value!r}")
        return raw.astype(np.float64, copy=False)
    except (TypeError, ValueError) as exc:
        if "must be real" in str(exc):
            raise
        raise ValueError(f"{name} must be a real array of shape {shape}, got {value!r}") from exc


class ControlEnv(gym.Env):
    """A Gymnasium env over a dynamics object (see the module docstring).

    :param dynamics: the system (:class:`~chaoscontrol.solvers.dynamics.Dynamics`).
    :param observer: fields -> float32 observations, with ``n_obs`` (``chaoscontrol.envs.observation``).
    :param objective: (fields, diag) -> rewards, with ``info_key`` and ``one`` (``chaoscontrol.envs.objectives``).
    :param blowup_threshold: max|field| above which the episode terminates, > 0; also the observation bound.
    :param blowup_penalty: the reward of a blow-up is ``-blowup_penalty``, >= 0.
    """

    metadata = {"render_modes": [], "render_fps": 20}

    def __init__(self, dynamics: Dynamics, observer: Any, objective: Any, blowup_threshold: float = 100.0,
                 blowup_penalty: float = 1000.0) -> None:
        self.dynamics = dynamics
        self.observer = observer
        self.objective_fn = objective
        self.blowup_threshold = check_positive("blowup_threshold", blowup_threshold)
        self.blowup_penalty = check_non_negative("blowup_penalty", blowup_penalty)
        b = np.float32(self.blowup_threshold)
        self.action_space = spaces.Box(-1.0, 1.0, (dynamics.n_actions,), np.float32)
        self.observation_space = spaces.Box(-b, b, (observer.n_obs,), np.float32)
        self._states = np.zeros((1, *dynamics.state_shape), dtype=dynamics.state_dtype)
        self._fields = np.zeros((1, *dynamics.field_shape), dtype=np.float64)
        self._diag = np.zeros((1, len(dynamics.diagnostic_names) + 1), dtype=np.float64)
        self._names = tuple(dynamics.diagnostic_names)
        self._info_keys = ("t", *self._names)  # zip stops before the last diagnostic, max|field|
        self._bind_rows()
        self._advance_one = getattr(dynamics, "advance_one", None) or self._advance_as_batch
        self._step_info = getattr(dynamics, "step_info", None)
        self._t = 0.0
        self._dt_step = dynamics.control_dt

    def _bind_rows(self) -> None:
        """One system: 1-D views of the (1, ...) arrays, which are only ever written in place."""
        self._state, self._field, self._diag_row = self._states[0], self._fields[0], self._diag[0]

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        for view in ("_state", "_field", "_diag_row"):  # pickling would turn the views into copies
            state.pop(view, None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._bind_rows()

    # ------------------------------------------------------------------ API

    @property
    def u(self) -> np.ndarray:
        """A copy of the physical field (float64, ``dynamics.field_shape``)."""
        return self._field.copy()

    @property
    def t(self) -> float:
        """Time since the last reset."""
        return self._t

    def forcing_fields(self, actions: np.ndarray) -> np.ndarray:
        """The forcing of ``actions`` (..., n_act) on the field, clipped as in ``step``."""
        return self.dynamics.forcing_fields(actions)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        u0 = self.parse_reset_options(options)
        if u0 is not None:
            self._fields[0] = u0
            self._states[:] = self.dynamics.states_from_fields(self._fields)
        else:
            self._states[:] = self.dynamics.random_states([self.np_random])
            self._fields[:] = self.dynamics.fields_from_states(self._states)
        self._t = 0.0
        self._on_reset()
        info = self.reset_info(self._state, self._field)
        return self.observer(self._field, True), info  # clipped: a random start may exceed a small threshold

    def step(self, action):
        a = real_array("action", action, self.action_space.shape)
        if a.shape != self.action_space.shape:
            raise ValueError(f"action must have shape {self.action_space.shape}, got {a.shape}")
        if not self._advance_one(self._state, self._field, a, self._diag_row):
            raise ValueError(f"action must be finite (no NaN or inf), got {action!r}")
        self._t += self._dt_step
        diag = self._diag_row.tolist()
        blowup = not diag[-1] <= self.blowup_threshold
        info = dict(zip(self._info_keys, [self._t, *diag]))
        info["blowup"] = blowup
        key = self.objective_fn.info_key
        if blowup:
            reward = -self.blowup_penalty
            if key is not None:
                info[key] = math.inf
        else:
            reward, value = self.objective_fn.one(self._field, diag)
            if key is not None:
                info[key] = value
        if self._step_info is not None:
            info.update(self._step_info())
        self._on_step()
        return self.observer(self._field, blowup), reward, blowup, False, info

    # -- pieces shared with the batched env (chaoscontrol.envs.vector_core)

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
        shape = tuple(self.dynamics.field_shape)
        u0 = np.array(real_array("options['u0']", options["u0"], shape))
        if u0.shape != shape:
            raise ValueError(f"options['u0'] must have shape {shape}, got {u0.shape}")
        if not np.all(np.isfinite(u0)):
            raise ValueError("options['u0'] must be finite")
        if np.max(np.abs(u0)) > self.blowup_threshold:
            raise ValueError(
                f"options['u0'] has max|u0| = {np.max(np.abs(u0)):.3g} above blowup_threshold={self.blowup_threshold:g}"
            )
        return u0

    def reset_info(self, state: np.ndarray, field: np.ndarray) -> dict[str, Any]:
        """The ``info`` of a reset to ``state`` (its field ``field``)."""
        diag = self.dynamics.unforced_diagnostics(state[None])[0].tolist()
        info: dict[str, Any] = {"t": 0.0}
        for name, value in zip(self._names, diag):
            info[name] = value
        info["blowup"] = False
        key = self.objective_fn.info_key
        if key is not None:
            info[key] = self.objective_fn.one(field, diag + [0.0])[1]
        return info

    def observe_states(self, fields: np.ndarray, clip: bool | np.ndarray) -> np.ndarray:
        """Observations of fields (..., *field_shape) as float32 (..., n_obs); see :mod:`chaoscontrol.envs.observation`."""
        return self.observer(fields, clip)

    def _advance_as_batch(self, state: np.ndarray, field: np.ndarray, action: np.ndarray, diag: np.ndarray) -> bool:
        """One system through the dynamics' batched ``advance`` (when it has no ``advance_one``)."""
        return self.dynamics.advance(state[None], field[None], action[None], diag[None]) < 0

    # -- hooks for subclasses (rendering history)

    def _on_reset(self) -> None:
        """Called after every reset, before the observation is returned."""

    def _on_step(self) -> None:
        """Called after every step, before the observation is returned."""


class EntryPoint:
    """The registered ``entry_point`` of a :class:`ControlEnv` subclass: ``EntryPoint(MyEnv)(**kwargs)`` is ``MyEnv(**kwargs)``.

    It has no ``metadata`` on purpose: ``gymnasium.make`` then hands ``render_mode`` to the env as given, so an
    unsupported mode such as ``"human"`` is the env's ``ValueError`` naming the supported modes, not a
    ``HumanRendering`` wrapper that needs pygame. Picklable; name a module-level instance in the registration.

    :param env_class: the env's class.
    """

    def __init__(self, env_class: type[ControlEnv]) -> None:
        self.env_class = env_class

    def __call__(self, **kwargs: Any) -> ControlEnv:
        return self.env_class(**kwargs)


__all__ = ["ControlEnv", "EntryPoint", "real_array"]
