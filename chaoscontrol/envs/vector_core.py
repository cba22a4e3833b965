"""The batched env core: B copies of a :class:`~chaoscontrol.envs.core.ControlEnv` advanced together.

One :meth:`Dynamics.advance <chaoscontrol.solvers.dynamics.Dynamics.advance>`
call steps every env (for KS one Numba kernel call, parallel over blocks of
rows); resets that fall on the same step draw their random starts together.
Env i reproduces the single env bit for bit: same seeds, same actions, same
states, rewards, flags and resets as ``gym.make_vec(..., vectorization_mode="sync")``.
A system's batched env is this class handed a template single env
(:class:`chaoscontrol.envs.ks_vector.KSControlVectorEnv` is the worked example).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium.utils import seeding
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from chaoscontrol.envs.core import ControlEnv, real_array
from chaoscontrol.solvers.dynamics import DIAG_MAX_ABS
from chaoscontrol.validation import check_int


class ControlVectorEnv(VectorEnv):
    """``num_envs`` independent copies of a :class:`~chaoscontrol.envs.core.ControlEnv` advanced together.

    :param template: a single env holding the validated configuration, dynamics,
        observer, objective and spaces (never stepped).
    :param num_envs: number of envs B, >= 1.
    :param max_episode_steps: the time limit per episode (None for none).
    :param autoreset_mode: a Gymnasium ``AutoresetMode`` (or its value).

    - Actions: ``(B, n_act)``; out-of-range values clipped; NaN/inf or a wrong
      shape raise ``ValueError`` naming the env index, before any env moves.
    - Observations ``(B, n_obs)`` float32; rewards ``(B,)`` float64.
    - ``terminated[i]`` only on a blow-up of env i (``info["blowup"][i]``); the
      others are not disturbed. ``truncated[i]`` at ``max_episode_steps``.
    - ``info``: arrays of shape (B,) for ``t``, the dynamics' diagnostics (for
      KS ``energy``, ``production``, ``dissipation``, ``power``), ``blowup`` and
      the objective's info key (``target_distance``), each with its Gymnasium
      mask ``_key``.
    - Autoreset (``metadata["autoreset_mode"]``): ``NEXT_STEP`` (default, as
      Gymnasium's sync vector env: the step after an episode ends resets that env,
      ignores its action and returns reward 0 and the reset info); ``SAME_STEP``
      (ended envs reset at once, the last observation and info in
      ``info["final_obs"]`` / ``info["final_info"]``); ``DISABLED`` (call
      ``reset(options={"reset_mask": mask})`` yourself).
    - Seeding: ``reset(seed=s)`` seeds env i with s + i (a list gives one seed per
      env); ``reset()`` continues each env's own stream, as the single env does.
    - Options: ``{"u0": array (B, *field_shape) or (*field_shape,)}`` sets the fields exactly;
      ``{"reset_mask": bool array (B,)}`` resets only the flagged envs.

    Perturbations in batch (noise, faults): wrap with Gymnasium's
    ``VectorObservationWrapper`` / ``VectorActionWrapper`` (or SB3's
    ``VecEnvWrapper`` over the SB3 VecEnv of ``chaoscontrol.agents``), acting on the
    (B, n) arrays with one generator per env derived from the env's reset seed
    (``env.unwrapped.episode_seeds``). With ``NEXT_STEP`` autoreset an env that
    returned ``terminated or truncated`` is reset by the following ``step``; the
    returned ``info["reset"]`` mask flags those envs.
    """

    def __init__(
        self,
        template: ControlEnv,
        num_envs: int = 1,
        max_episode_steps: int | None = 400,
        autoreset_mode: AutoresetMode | str = AutoresetMode.NEXT_STEP,
    ) -> None:
        check_int("num_envs", num_envs)
        if max_episode_steps is not None:
            check_int("max_episode_steps", max_episode_steps)
        try:
            autoreset_mode = AutoresetMode(autoreset_mode)
        except ValueError as exc:
            raise ValueError(
                f"autoreset_mode must be one of {[m.value for m in AutoresetMode]}, got {autoreset_mode!r}"
            ) from exc
        self.template = template
        """A single env holding the validated configuration, dynamics and spaces (never stepped)."""
        t = self.template
        self.dynamics = t.dynamics
        self.num_envs = int(num_envs)
        self.max_episode_steps = None if max_episode_steps is None else int(max_episode_steps)
        self.metadata = {"render_modes": [], "autoreset_mode": autoreset_mode}
        self.render_mode = None
        self.single_observation_space = t.observation_space
        self.single_action_space = t.action_space
        self.observation_space = batch_space(t.observation_space, self.num_envs)
        self.action_space = batch_space(t.action_space, self.num_envs)

        d = self.dynamics
        b = self.num_envs
        self._states = np.zeros((b, *d.state_shape), dtype=d.state_dtype)
        self._fields = np.zeros((b, *d.field_shape), dtype=np.float64)
        self._diag = np.zeros((b, len(d.diagnostic_names) + 1), dtype=np.float64)
        self._names = tuple(d.diagnostic_names)
        self._step_info = getattr(d, "step_info", None)
        self._t = np.zeros(b)
        self._elapsed = np.zeros(b, dtype=np.int64)
        self._needs_reset = np.zeros(b, dtype=bool)
        self._rngs: list[np.random.Generator | None] = [None] * b
        self.episode_seeds: list[int | None] = [None] * b
        """The seed of each env's generator (set when reset with a seed, or drawn on first use)."""
        self._dt_step = d.control_dt
        self._all = np.ones(b, dtype=bool)
        self._last_obs = np.zeros(self.observation_space.shape, dtype=self.observation_space.dtype)

    # ------------------------------------------------------------------ API

    @property
    def u(self) -> np.ndarray:
        """A copy of the physical fields (float64, shape (B, *field_shape))."""
        return self._fields.copy()

    def reset(self, *, seed: int | list[int | None] | None = None, options: dict[str, Any] | None = None):
        b = self.num_envs
        seeds = self._seeds(seed)
        options = {} if options is None else options
        if not isinstance(options, dict):
            raise ValueError(f"options must be a dict or None, got {type(options).__name__}")
        unknown = set(options) - {"u0", "reset_mask"}
        if unknown:
            raise ValueError(f"options has unknown keys {sorted(unknown)}; allowed: ['reset_mask', 'u0']")
        mask = options.get("reset_mask")
        if mask is None:
            mask = self._all
        else:
            mask = np.asarray(mask)
            if mask.dtype != bool or mask.shape != (b,):
                raise ValueError(f"options['reset_mask'] must be a bool array of shape ({b},), got {mask.dtype} {mask.shape}")
            if not mask.any():
                raise ValueError("options['reset_mask'] must flag at least one env")
        idx = np.flatnonzero(mask)
        u0 = options.get("u0")
        if u0 is not None:
            shape = tuple(self.dynamics.field_shape)
            u0 = real_array("options['u0']", u0, (b, *shape))
            if u0.shape not in (shape, (b, *shape)):
                raise ValueError(f"options['u0'] must have shape {shape} or {(b, *shape)}, got {u0.shape}")
            u0 = np.broadcast_to(u0, (b, *shape))
            checked = []
            for i in idx:  # validate every row before any env changes
                try:
                    checked.append(self.template.parse_reset_options({"u0": u0[i]}))
                except ValueError as exc:
                    raise ValueError(f"env {i}: {exc}") from exc
            u0 = np.array(checked)
        for i in idx:
            if seeds[i] is not None or self._rngs[i] is None:
                self._rngs[i], self.episode_seeds[i] = seeding.np_random(seeds[i])
        obs = self._last_obs.copy()  # envs not reset keep their last observation
        infos = self._reset_envs(idx, u0, obs)
        for key in [k for k in infos if k.startswith("_")]:
            infos[key] = mask.copy()
        self._needs_reset[idx] = False
        self._last_obs = obs.copy()
        return obs, infos

    def step(self, actions):
        b = self.num_envs
        a = real_array("actions", actions, self.action_space.shape)
        if a.shape != self.action_space.shape:
            raise ValueError(f"actions must have shape {self.action_space.shape} (num_envs, n_act), got {a.shape}")
        mode = self.metadata["autoreset_mode"]
        resetting = self._needs_reset if mode == AutoresetMode.NEXT_STEP else np.zeros(b, dtype=bool)
        if resetting.any():
            a = a.copy()
            a[resetting] = 0.0  # ignored: these envs are reset below
        bad = self.dynamics.advance(self._states, self._fields, a, self._diag)
        if bad >= 0:
            raise ValueError(f"actions of env {bad} must be finite (no NaN or inf), got {a[bad]!r}")
        self._t += self._dt_step
        self._elapsed += 1
        rewards, blowup, distance = self._rewards()
        terminated = blowup.copy()
        truncated = (
            self._elapsed >= self.max_episode_steps if self.max_episode_steps is not None else np.zeros(b, dtype=bool)
        )
        obs = self.template.observer(self._fields, blowup)
        infos = self._step_infos(blowup, distance)
        if self._step_info is not None:  # per-batch extras of the dynamics (e.g. an implicit surrogate's convergence)
            for key, value in self._step_info().items():
                infos[key] = np.full(b, value)
                infos[f"_{key}"] = self._all.copy()
        ended = terminated | truncated
        if resetting.any():
            idx = np.flatnonzero(resetting)
            self._reset_envs(idx, None, obs, infos)
            rewards[idx] = 0.0
            terminated[idx] = False
            truncated[idx] = False
            ended[idx] = False
        infos["reset"] = resetting.copy()
        if mode == AutoresetMode.NEXT_STEP:
            self._needs_reset = ended
        elif mode == AutoresetMode.SAME_STEP and ended.any():
            idx = np.flatnonzero(ended)
            final_obs = np.full(b, None, dtype=object)
            final_info: dict[str, Any] = {}
            for i in idx:
                final_obs[i] = obs[i].copy()
            for key, value in infos.items():
                final_info[key] = ended.copy() if key.startswith("_") else value.copy()
            self._reset_envs(idx, None, obs, infos)
            infos["final_obs"], infos["_final_obs"] = final_obs, ended.copy()
            infos["final_info"], infos["_final_info"] = final_info, ended.copy()
        self._last_obs = obs.copy()
        return obs, rewards, terminated, truncated, infos

    def close_extras(self, **kwargs: Any) -> None:
        pass

    # ------------------------------------------------------------------ helpers

    def _seeds(self, seed: int | list[int | None] | None) -> list[int | None]:
        b = self.num_envs
        if seed is None:
            return [None] * b
        if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
            return [int(seed) + i for i in range(b)]
        seeds = list(seed)
        if len(seeds) != b:
            raise ValueError(f"seed must be an int, None or a list of {b} seeds, got {len(seeds)} seeds")
        return seeds

    def _reset_envs(
        self, idx: np.ndarray, u0: np.ndarray | None, obs: np.ndarray, infos: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Reset envs ``idx`` (to ``u0`` rows, or random starts with a joint burn-in); write their obs and info."""
        t = self.template
        if idx.size:
            if u0 is not None:  # validated rows, one per env of idx
                self._fields[idx] = u0
                self._states[idx] = self.dynamics.states_from_fields(u0)
            else:
                states = self.dynamics.random_states([self._rngs[i] for i in idx])
                self._states[idx] = states
                self._fields[idx] = self.dynamics.fields_from_states(states)
            self._t[idx] = 0.0
            self._elapsed[idx] = 0
            obs[idx] = t.observer(self._fields[idx], True)
        if infos is None:
            infos = self._step_infos(np.zeros(self.num_envs, dtype=bool), None, empty=True)
        for i in idx:
            info = t.reset_info(self._states[i], self._fields[i])
            for key, value in info.items():
                infos[key][i] = value
        return infos

    def _rewards(self) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        t = self.template
        blowup = ~(self._diag[:, DIAG_MAX_ABS] <= t.blowup_threshold)
        rewards, distance = t.objective_fn(self._fields, self._diag)
        if blowup.any():
            rewards[blowup] = -t.blowup_penalty
            if distance is not None:
                distance[blowup] = np.inf
        return rewards, blowup, distance

    def _step_infos(self, blowup: np.ndarray, distance: np.ndarray | None, empty: bool = False) -> dict[str, Any]:
        b = self.num_envs
        n_diag = len(self._names)
        columns = np.zeros((n_diag, b)) if empty else self._diag[:, :n_diag].T.copy()  # one copy, rows are the info arrays
        infos: dict[str, Any] = {"t": np.zeros(b) if empty else self._t.copy()}
        for name, column in zip(self._names, columns):
            infos[name] = column
        infos["blowup"] = blowup.copy()
        key = self.template.objective_fn.info_key
        if key is not None:
            infos[key] = np.zeros(b) if distance is None else distance
        for key in list(infos):
            infos[f"_{key}"] = self._all.copy()
        return infos


class VectorEntryPoint:
    """The ``vector_entry_point`` of a :class:`ControlEnv` subclass: ``gym.make_vec`` calls it.

    ``VectorEntryPoint(MyEnv)(num_envs=B, max_episode_steps=T, **kwargs)`` is
    ``ControlVectorEnv(MyEnv(**kwargs), B, T, autoreset_mode)``; an instance at
    module level can be named in a registration string. Picklable.

    :param env_class: the single env's class (its keywords are the batched env's).
    """

    def __init__(self, env_class: type[ControlEnv]) -> None:
        self.env_class = env_class

    def __call__(self, num_envs: int = 1, max_episode_steps: int | None = None,
                 autoreset_mode: AutoresetMode | str = AutoresetMode.NEXT_STEP, render_mode: str | None = None,
                 **env_kwargs: Any) -> ControlVectorEnv:
        if render_mode is not None:
            raise ValueError(f"render_mode is not supported by the batched env (got {render_mode!r}); "
                             f"render a single {self.env_class.__name__} instead")
        return ControlVectorEnv(self.env_class(**env_kwargs), num_envs, max_episode_steps, autoreset_mode)


__all__ = ["ControlVectorEnv", "VectorEntryPoint"]

