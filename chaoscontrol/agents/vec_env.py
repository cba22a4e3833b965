"""Stable-Baselines3 `VecEnv` over the batched env of any registered id (one dynamics call per step)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
from gymnasium.vector import AutoresetMode
from stable_baselines3.common.vec_env.base_vec_env import VecEnv, VecEnvIndices, VecEnvStepReturn

from chaoscontrol.envs.registration import default_max_episode_steps, make_vector_env

#: Attributes that differ between envs; every other attribute is the shared configuration's.
PER_ENV_ATTRIBUTES = ("u", "t", "episode_seeds")
#: The id of :class:`KSVecEnv` and :func:`make_ks_vec_env`.
KS_ENV_ID = "KS-Control-v0"
#: ``max_episode_steps`` of :class:`ControlSB3VecEnv` that stands for the id's registered time limit.
REGISTERED_LIMIT = "registered"


class ControlSB3VecEnv(VecEnv):
    """A registered chaoscontrol id as an SB3 `VecEnv`: ``num_envs`` systems stepped by one dynamics call.

    The batched env underneath (``engine``) is the id's vector entry point
    (:func:`~chaoscontrol.envs.registration.make_vector_env`, a
    :class:`~chaoscontrol.envs.vector_core.ControlVectorEnv`), so any system of
    the suite works with no code of its own here.

    Semantics are those of SB3's ``DummyVecEnv`` over ``gym.make(env_id)``
    (and bit-identical to it for the same seeds and actions): an env whose
    episode ends is reset within the same ``step``; the last observation is in
    ``infos[i]["terminal_observation"]`` and ``infos[i]["TimeLimit.truncated"]``
    says whether the time limit ended it. Rewards are float32 as in
    ``DummyVecEnv``. ``seed(s)`` seeds env i with s + i at the next ``reset()``;
    ``set_options({"u0": u0})`` sets initial states. Works with ``VecNormalize``,
    ``VecMonitor`` and PPO/SAC/TD3 ``learn``.

    ``get_attr`` returns per-env values for ``u``, ``t`` and ``episode_seeds``
    and the shared configuration's value for anything else (all envs share one
    configuration, so ``set_attr`` must address all of them); ``env_method``
    calls methods of that shared configuration (the batched env's template, a
    single env that is never stepped).

    :param env_id: a registered chaoscontrol id (``chaoscontrol.envs.registration.ENV_SPECS``).
    :param num_envs: number of systems B.
    :param max_episode_steps: time limit in env steps (None: no limit; default: the id's registered limit).
    :param env_kwargs: the id's constructor keywords (``surrogate=`` where its entry point takes one).
    :raises ValueError: an unknown id, or a bad keyword (naming it).
    """

    def __init__(self, env_id: str = KS_ENV_ID, num_envs: int = 8, max_episode_steps: int | None | str = REGISTERED_LIMIT,
                 **env_kwargs: Any) -> None:
        if max_episode_steps == REGISTERED_LIMIT:
            max_episode_steps = default_max_episode_steps(env_id)
        self.env_id = env_id
        self.engine = make_vector_env(env_id, num_envs, max_episode_steps=max_episode_steps,
                                      autoreset_mode=AutoresetMode.DISABLED, **env_kwargs)
        self.template = self.engine.template
        super().__init__(num_envs, self.template.observation_space, self.template.action_space)
        self._actions: np.ndarray | None = None

    # ------------------------------------------------------------------ VecEnv API

    def reset(self):
        seeds = list(self._seeds)
        u0_rows = [opts.get("u0") if opts else None for opts in self._options]
        for i, opts in enumerate(self._options):
            if opts and set(opts) - {"u0"}:
                raise ValueError(f"options of env {i} have unknown keys {sorted(set(opts) - {'u0'})}; allowed: ['u0']")
        given = np.array([u is not None for u in u0_rows])
        obs = None
        infos: dict[str, Any] = {}
        if (~given).any():
            obs, infos = self.engine.reset(seed=seeds, options={"reset_mask": ~given})
        if given.any():
            u0 = np.zeros((self.num_envs, *self.engine.dynamics.field_shape))
            for i in np.flatnonzero(given):
                u0[i] = u0_rows[i]
            obs_u0, infos_u0 = self.engine.reset(seed=seeds, options={"reset_mask": given, "u0": u0})
            obs = obs_u0 if obs is None else np.where(given[:, None], obs_u0, obs)
            infos = infos_u0 if not infos else _merge(infos, infos_u0, given)
        self.reset_infos = _info_dicts(infos, self.num_envs)
        self._reset_seeds()
        self._reset_options()
        return obs

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = actions

    def step_wait(self) -> VecEnvStepReturn:
        if self._actions is None:
            raise RuntimeError("step_wait() called without step_async()")
        obs, rewards, terminated, truncated, info_arrays = self.engine.step(self._actions)
        self._actions = None
        dones = terminated | truncated
        info_arrays["TimeLimit.truncated"] = truncated & ~terminated
        infos = _info_dicts(info_arrays, self.num_envs)
        if dones.any():
            idx = np.flatnonzero(dones)
            for i in idx:
                infos[i]["terminal_observation"] = obs[i].copy()
            new_obs, reset_infos = self.engine.reset(options={"reset_mask": dones})
            obs[idx] = new_obs[idx]
            reset_dicts = _info_dicts(reset_infos, self.num_envs)
            for i in idx:
                self.reset_infos[i] = reset_dicts[i]
        return obs, rewards.astype(np.float32), dones, infos

    def close(self) -> None:
        self.engine.close()

    def get_attr(self, attr_name: str, indices: VecEnvIndices = None) -> list[Any]:
        idx = self._get_indices(indices)
        if attr_name == "u":
            u = self.engine.u
            return [u[i] for i in idx]
        if attr_name == "t":
            return [float(self.engine._t[i]) for i in idx]
        if attr_name == "episode_seeds":
            return [self.engine.episode_seeds[i] for i in idx]
        value = getattr(self.template, attr_name)
        return [value for _ in idx]

    def set_attr(self, attr_name: str, value: Any, indices: VecEnvIndices = None) -> None:
        idx = list(self._get_indices(indices))
        if sorted(idx) != list(range(self.num_envs)):
            raise ValueError(
                f"set_attr({attr_name!r}) must address all envs: they share one configuration (got indices {idx})"
            )
        if attr_name in PER_ENV_ATTRIBUTES:
            raise ValueError(f"{attr_name!r} is state; set initial states with set_options({{'u0': ...}}) and reset()")
        setattr(self.template, attr_name, value)

    def env_method(self, method_name: str, *method_args, indices: VecEnvIndices = None, **method_kwargs) -> list[Any]:
        method = getattr(self.template, method_name)
        return [method(*method_args, **method_kwargs) for _ in self._get_indices(indices)]

    def env_is_wrapped(self, wrapper_class: type, indices: VecEnvIndices = None) -> list[bool]:
        return [isinstance(self.template, wrapper_class) for _ in self._get_indices(indices)]

    def get_images(self) -> Sequence[np.ndarray | None]:
        return [None for _ in range(self.num_envs)]

    def _get_indices(self, indices: VecEnvIndices) -> Iterable[int]:
        if indices is None:
            return range(self.num_envs)
        if isinstance(indices, (int, np.integer)):
            return [int(indices)]
        return indices


_NOT_PER_ENV = ("reset", "final_obs", "final_info")


def _info_dicts(info_arrays: dict[str, Any], num_envs: int) -> list[dict[str, Any]]:
    """Gymnasium vector info (dict of arrays with ``_key`` masks) to SB3's list of per-env dicts."""
    keys = [k for k in info_arrays if k[:1] != "_" and k not in _NOT_PER_ENV]
    columns = [np.asarray(info_arrays[k]).tolist() for k in keys]
    masks = [info_arrays.get("_" + k) for k in keys]
    present = [m for m in masks if m is not None]
    if not present or np.logical_and.reduce(present, axis=None):  # the common case: every env has every key (one reduction)
        return [dict(zip(keys, row)) for row in zip(*columns)] if keys else [{} for _ in range(num_envs)]
    out: list[dict[str, Any]] = [{} for _ in range(num_envs)]
    for key, column, mask in zip(keys, columns, masks):
        for i in range(num_envs):
            if mask is None or mask[i]:
                out[i][key] = column[i]
    return out


def _merge(a: dict[str, Any], b: dict[str, Any], take_b: np.ndarray) -> dict[str, Any]:
    """Vector infos with the entries of ``b`` where ``take_b`` and of ``a`` elsewhere."""
    out = {}
    for key in a:
        if key.startswith("_"):
            out[key] = a[key] | b[key]
        else:
            out[key] = np.where(take_b, b[key], a[key])
    return out


class KSVecEnv(ControlSB3VecEnv):
    """:class:`ControlSB3VecEnv` of ``KS-Control-v0`` (the name the suite's first system gave it).

    :param num_envs: number of systems B.
    :param max_episode_steps: time limit in env steps (None: no limit).
    :param env_kwargs: keywords of ``KS-Control-v0``.
    """

    def __init__(self, num_envs: int = 8, max_episode_steps: int | None = 400, **env_kwargs: Any) -> None:
        super().__init__(KS_ENV_ID, num_envs, max_episode_steps, **env_kwargs)


def make_control_vec_env(env_id: str, num_envs: int = 8, seed: int | None = None, **kwargs: Any) -> ControlSB3VecEnv:
    """A seeded :class:`ControlSB3VecEnv` of ``env_id`` (env i gets ``seed + i`` at its first reset).

    :param env_id: a registered chaoscontrol id.
    :param num_envs: number of systems.
    :param seed: base seed, or None.
    :param kwargs: ``max_episode_steps`` and the id's constructor keywords.
    """
    env = ControlSB3VecEnv(env_id, num_envs, **kwargs)
    if seed is not None:
        env.seed(seed)
    return env


def make_ks_vec_env(num_envs: int = 8, seed: int | None = None, **kwargs: Any) -> KSVecEnv:
    """A seeded :class:`KSVecEnv` (env i gets ``seed + i`` at its first reset).

    :param num_envs: number of systems.
    :param seed: base seed, or None.
    :param kwargs: ``max_episode_steps`` and the keywords of ``KS-Control-v0``.
    """
    env = KSVecEnv(num_envs=num_envs, **kwargs)
    if seed is not None:
        env.seed(seed)
    return env


__all__ = ["ControlSB3VecEnv", "KSVecEnv", "PER_ENV_ATTRIBUTES", "REGISTERED_LIMIT", "make_control_vec_env", "make_ks_vec_env"]
